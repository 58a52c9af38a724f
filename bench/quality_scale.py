"""Why retrieval quality falls among distractors: where the evidence is lost, and what the
fusion and re-rank variants do about it, on stores of the bench corpora.

usage: .venv/bin/python -m bench.quality_scale STORE [STORE...] [--half even|odd] [--bm25-params]

A store is any ingest of a bench corpus: `rag bench --keep-stores`, or
`rag ingest DIR --store S` on a folder `bench.corpus.write_corpus` wrote. For the answerable Q&A
questions (follow-ups rewritten as the engine rewrites them) it prints:
- where the evidence chunk is: BM25's and the dense list's top 5 / 10 / 30 / 100 / 300, and the
  fused list's top 10 (what the sentence re-rank sees) and top 30 (the engine's candidates);
- why each miss is a miss: not among the candidates at all, below the re-rank window, or
  re-ranked out of the top 5; and who holds the top 5 then (distractor chunks, near-copies);
- hit@5 / MRR@5 of the engine's retriever as configured and of the variants studied.
Weights were chosen on the tuning half (even id numbers; eval.dataset.half_of, the one definition
every tuner and table uses); `--half odd` scores the held-out half, `--half even` the tuning half.
`--bm25-params` also rebuilds BM25 in memory with other k1 / b / variants (slow at 1000x).
"""
from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEPTHS = (5, 10, 30, 100, 300)


def evidence_rank(ranked, spans) -> int | None:
    """1-based rank of the first (chunk, score) holding a gold evidence span, or None."""
    from eval.metrics import first_relevant_rank
    return first_relevant_rank([{"source": c.source, "start": c.start, "end": c.end}
                                for c, _ in ranked], spans)


def variants(engine):
    """name -> (question, bm25 list, dense list) -> ranked. The first is the engine itself."""
    from rag.retrieve import CANDIDATES, rerank, rrf
    hybrid = engine.retriever_for("hybrid")
    idf, emb = engine.parts.bm25.idf, engine.embedder
    w = engine.settings.dense_weight

    def fused(bm, de, n=CANDIDATES, depth=CANDIDATES, weight=w):
        return rrf([bm[:depth], de[:depth]], n, weights=(1.0, weight))

    return {
        "engine (fused top 10 re-ranked)": lambda q, bm, de: hybrid.search(q, CANDIDATES),
        "re-rank all 30 candidates (before)": lambda q, bm, de: rerank(q, fused(bm, de), 30,
                                                                       emb, idf, depth=30),
        "BM25 only": lambda q, bm, de: bm,
        "fusion only, no re-rank": lambda q, bm, de: fused(bm, de),
        "re-rank window 20": lambda q, bm, de: rerank(q, fused(bm, de), 30, emb, idf, depth=20),
        "fusion depth 100": lambda q, bm, de: rerank(q, fused(bm, de, 10, 100), 10, emb, idf),
        "dense weight 0": lambda q, bm, de: rerank(q, fused(bm, de, 10, weight=0.0), 10, emb,
                                                   idf),
        "dense weight 0.2": lambda q, bm, de: rerank(q, fused(bm, de, 10, weight=0.2), 10, emb,
                                                     idf),
    }


def bm25_variants(engine, rows):
    """hit@5 of BM25 alone rebuilt with other parameters: is it saturation or length?"""
    import bm25s
    from rag.bm25 import document, tokens
    chunks = engine.parts.store.all_chunks()
    corpus = [tokens(document(c)) or [""] for c in chunks]
    for method, k1, b in (("lucene", 1.5, 0.75), ("lucene", 1.2, 0.3), ("lucene", 0.9, 0.4),
                          ("lucene", 2.0, 0.75), ("lucene", 1.2, 1.0), ("bm25l", 1.5, 0.75),
                          ("bm25+", 1.5, 0.75)):
        model = bm25s.BM25(k1=k1, b=b, method=method)
        model.index(corpus, show_progress=False)
        hits = {5: 0, 30: 0}
        for r in rows:
            q = [t for t in tokens(r["q"]) if t in model.vocab_dict]
            ids, scores = model.retrieve([q], k=30, show_progress=False, n_threads=1)
            rank = evidence_rank([(chunks[int(i)], s) for i, s in zip(ids[0], scores[0]) if s > 0],
                         r["spans"])
            for n in hits:
                hits[n] += bool(rank and rank <= n)
        print(f"  BM25 {method} k1={k1} b={b}: evidence in top 5 {hits[5] / len(rows):.3f}, "
              f"top 30 {hits[30] / len(rows):.3f}")


def question_rows(engine, items, texts) -> list[dict]:
    """Per question: the searched-for text, its evidence spans, BM25's and dense's top 300."""
    from eval.dataset import evidence_spans
    rows = []
    for it in items:
        q = engine.rewrite(it.question, list(it.history)) if it.history else it.question
        rows.append({"id": it.id, "q": q, "spans": evidence_spans(it, texts),
                     "bm": engine.retriever_for("bm25").search(q, max(DEPTHS)),
                     "de": engine.retriever_for("dense").search(q, max(DEPTHS))})
    return rows


def load_items(half: str | None):
    from eval.dataset import in_half, load_qa, load_texts
    texts = load_texts(ROOT / "data" / "articles")
    items = load_qa(ROOT / "eval" / "data" / "qa.jsonl")
    return [it for it in in_half(items, half) if it.answerable], texts


def study(engine, items, texts, bm25_params: bool) -> None:
    from rag.bm25 import tokens
    from rag.retrieve import RERANK_DEPTH, rrf
    rows = question_rows(engine, items, texts)
    n = len(rows)
    print(f"{engine.settings.store}: {engine.stats()['chunks']} chunks, {n} questions")
    for name, key in (("BM25", "bm"), ("dense", "de")):
        ranks = [evidence_rank(r[key], r["spans"]) for r in rows]
        print(f"  evidence in {name:5s} top " + " / ".join(map(str, DEPTHS)) + ": "
              + " / ".join(f"{sum(1 for x in ranks if x and x <= d) / n:.3f}" for d in DEPTHS))
    w = engine.settings.dense_weight
    fused = [rrf([r["bm"][:30], r["de"][:30]], 30, weights=(1.0, w)) for r in rows]
    franks = [evidence_rank(f, r["spans"]) for f, r in zip(fused, rows)]
    print(f"  evidence in the fused top {RERANK_DEPTH} / 30: "
          f"{sum(1 for x in franks if x and x <= RERANK_DEPTH) / n:.3f} / "
          f"{sum(1 for x in franks if x) / n:.3f}")

    runs = {name: [f(r["q"], r["bm"], r["de"])[:5] for r in rows]
            for name, f in variants(engine).items()}
    top5 = runs["engine (fused top 10 re-ranked)"]
    misses = {"not among the 30 candidates": 0, f"below the re-rank window (fused 11-30)": 0,
              "in the window, re-ranked out of the top 5": 0}
    held, near = {"distractor": 0, "bundled": 0}, 0
    for r, fr, top in zip(rows, franks, top5):
        if evidence_rank(top, r["spans"]):
            continue
        key = ("not among the 30 candidates" if not fr else
               "in the window, re-ranked out of the top 5" if fr <= RERANK_DEPTH else
               "below the re-rank window (fused 11-30)")
        misses[key] += 1
        for c, _ in top:
            held["distractor" if c.source.startswith("d") else "bundled"] += 1
        terms = [set(tokens(c.text)) for c, _ in top]
        near += sum(1 for a, b in itertools.combinations(terms, 2)
                    if len(a & b) >= 0.5 * len(a | b))
    print("  misses: " + ", ".join(f"{k} {v}" for k, v in misses.items())
          + f"; their top-5 slots hold {held['distractor']} distractor and {held['bundled']} "
          f"bundled chunks, {near} near-copy pairs (term Jaccard >= 0.5)")
    for name, tops in runs.items():
        ranks = [evidence_rank(t, r["spans"]) for t, r in zip(tops, rows)]
        print(f"  {name:38s} hit@5 {sum(1 for x in ranks if x) / n:.3f}  "
              f"MRR@5 {sum(1 / x for x in ranks if x) / n:.3f}")
    if bm25_params:
        bm25_variants(engine, rows)


def study_parser(doc: str, half: bool = True) -> argparse.ArgumentParser:
    """The command line the quality-at-scale studies share: stores, and the half to score."""
    ap = argparse.ArgumentParser(description=doc,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("stores", nargs="+", type=Path)
    if half:
        ap.add_argument("--half", choices=("even", "odd"),
                        help="score only the even- (tuning) or odd-numbered (held-out) questions")
    return ap


def engines(stores):
    """The extractive engine on each store, one at a time (a 1000x store's index is large)."""
    from rag.engine import Engine
    from rag.settings import Settings
    for store in stores:
        with Engine(Settings.from_env(env={}, store=store, answerer="extractive")) as engine:
            yield engine


def main(argv=None) -> int:
    ap = study_parser(__doc__)
    ap.add_argument("--bm25-params", action="store_true",
                    help="also rebuild BM25 with other parameters (k1, b, BM25L, BM25+)")
    args = ap.parse_args(argv)
    items, texts = load_items(args.half)
    for engine in engines(args.stores):
        study(engine, items, texts, args.bm25_params)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
