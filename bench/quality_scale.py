"""Why retrieval quality falls among distractors: per-list recall and fusion variants, on stores
that `rag bench --keep-stores` (or any ingest of a bench corpus) left behind.

usage: .venv/bin/python -m bench.quality_scale STORE [STORE...] [--odd]

For the answerable Q&A questions (follow-ups rewritten as the engine rewrites them) it prints how
often the evidence is in BM25's and the dense list's top 5 / 30 / 100, then hit@5 and MRR@5 of:
the old fusion (dense weight 0.2, no re-rank), the current default (0.1 + sentence re-rank) and
the variants the README's "Scale" section reports. --odd scores only the odd-numbered questions
(held out from the extractive answerer's tuning).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("stores", nargs="+", type=Path)
    ap.add_argument("--odd", action="store_true")
    args = ap.parse_args(argv)
    from eval.dataset import evidence_spans, load_qa, load_texts
    from eval.metrics import first_relevant_rank
    from rag.engine import Engine
    from rag.retrieve import rerank, rrf
    from rag.settings import Settings

    texts = load_texts(ROOT / "data" / "articles")
    items = [it for it in load_qa(ROOT / "eval" / "data" / "qa.jsonl") if it.answerable
             and (not args.odd or not it.id[1:].isdigit() or int(it.id[1:]) % 2 == 1)]

    def spans_of(ranked):
        return [{"source": c.source, "start": c.start, "end": c.end} for c, _ in ranked]

    for store in args.stores:
        engine = Engine(Settings.from_env(env={}, store=store, answerer="extractive"))
        bm25, dense = engine.retriever_for("bm25"), engine.retriever_for("dense")
        rows = []
        for it in items:
            q = engine.rewrite(it.question, list(it.history)) if it.history else it.question
            rows.append((q, evidence_spans(it, texts), bm25.search(q, 100), dense.search(q, 100)))
        idf = engine.parts.bm25.idf

        def at(lst, n):
            return sum(1 for _, s, *ls in rows if first_relevant_rank(spans_of(lst(ls)[:n]), s))

        n = len(rows)
        print(f"{store}: {engine.stats()['chunks']} chunks, {n} questions")
        for name, pick in (("BM25", lambda ls: ls[0]), ("dense", lambda ls: ls[1])):
            print(f"  {name:6s} evidence in top 5 / 30 / 100: "
                  + " / ".join(f"{at(pick, k) / n:.3f}" for k in (5, 30, 100)))
        variants = {
            "w0.2, no re-rank (before)": lambda q, l, d: rrf([l[:30], d[:30]], 5, weights=(1, .2)),
            "w0.1, no re-rank": lambda q, l, d: rrf([l[:30], d[:30]], 5, weights=(1, .1)),
            "w0.2 + sentence re-rank": lambda q, l, d: rerank(
                q, rrf([l[:30], d[:30]], 10, weights=(1, .2)), 5, engine.embedder, idf),
            "w0.1 + sentence re-rank (default)": lambda q, l, d: rerank(
                q, rrf([l[:30], d[:30]], 10, weights=(1, .1)), 5, engine.embedder, idf),
            "BM25 only": lambda q, l, d: l[:5],
        }
        for name, fuse in variants.items():
            ranks = [first_relevant_rank(spans_of(fuse(q, l, d)), s) for q, s, l, d in rows]
            print(f"  {name:36s} hit@5 {sum(1 for r in ranks if r) / n:.3f}  "
                  f"MRR@5 {sum(1 / r for r in ranks if r) / n:.3f}")
        engine.close()
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
