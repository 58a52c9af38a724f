"""Benchmarks for the README: ingest time, warm query latency, cold `rag ask`, retrieval hit@k.

usage: .venv/bin/python bench/run.py [--qa eval/data/qa.jsonl] [--out bench/out] [--repeat 3]

Timings are wall clock on whatever machine runs this; compare figures from one run with each
other (ratios), not across machines.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from eval.dataset import evidence_spans, load_qa, load_texts  # noqa: E402
from eval.metrics import retrieval_scores  # noqa: E402
from rag.settings import Settings  # noqa: E402


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def bench_ingest(settings, repeat):
    from ingest.pipeline import ingest_paths
    from rag.embed import make_embedder
    embedder = make_embedder(settings)
    embedder.embed(["warm up"])
    times = []
    for i in range(repeat):
        # The first run fills the store the later benchmarks use; the others go to fresh stores.
        s = settings if i == 0 else settings.with_(store=Path(tempfile.mkdtemp()) / f"store{i}")
        t = time.perf_counter()
        rep = ingest_paths([settings.corpus], s, progress=False, embedder=embedder)
        times.append(time.perf_counter() - t)
    t = time.perf_counter()
    again = ingest_paths([settings.corpus], settings, progress=False, embedder=embedder)
    noop = time.perf_counter() - t
    return {"ingest_s_median": statistics.median(times), "ingest_s_first": times[0],
            "ingest_s_all": times,
            "reingest_noop_s": noop, "files": 5, "chunks": rep.chunks_added,
            "articles": rep.articles, "noop_added": again.chunks_added}


def bench_query(settings, questions):
    from rag.engine import Engine
    engine = Engine(settings.with_(answerer="extractive"))
    engine.ask(questions[0])
    lat = []
    for q in questions:
        t = time.perf_counter()
        engine.ask(q)
        lat.append((time.perf_counter() - t) * 1000)
    return {"query_ms_p50": pct(lat, 50), "query_ms_p95": pct(lat, 95), "n": len(lat)}


def bench_cold_ask(settings, repeat):
    env = dict(os.environ, RAG_STORE=str(settings.store))
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        subprocess.run([str(ROOT / ".venv" / "bin" / "rag"), "ask",
                        "How many times did Hanif Atmar travel to Pakistan to free Baradar?"],
                       env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - t)
    return {"cold_ask_s_median": statistics.median(times), "cold_ask_s_all": times}


def bench_retrieval(settings, items, texts, ks=(1, 3, 5, 10)):
    from rag.engine import Engine
    from rag.tokens import count
    engine = Engine(settings.with_(answerer="extractive"))
    out = {}
    answerable = [it for it in items if it.answerable]
    for mode in ("bm25", "dense", "hybrid"):
        for k in ks:
            hits, ctx, mrr = [], [], []
            for it in answerable:
                q = it.question
                if it.history:   # follow-ups need the conversation; score their rewrite
                    q = engine.rewrite(q, list(it.history))
                passages = [p.to_dict() for p in engine.retrieve(q, k=k, mode=mode)]
                r = retrieval_scores(passages, evidence_spans(it, texts), it.answers, k, count)
                hits.append(r["hit"])
                mrr.append(r["mrr"])
                ctx.append(r["answer_in_context"])
            out[f"{mode}@{k}"] = {"hit": statistics.mean(hits), "mrr": statistics.mean(mrr),
                                  "answer_in_context": statistics.mean(ctx), "n": len(hits)}
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--qa", default=str(ROOT / "eval" / "data" / "qa.jsonl"))
    ap.add_argument("--out", default=str(ROOT / "bench" / "out"))
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    settings = Settings.from_env(store=Path(tempfile.mkdtemp()) / "store")
    items = load_qa(args.qa)
    texts = load_texts(settings.corpus)
    result = {"machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
              "settings": {"embedder": settings.embedder, "k": settings.k,
                           "chunk_tokens": settings.chunk_tokens,
                           "chunk_overlap": settings.chunk_overlap}}
    result["ingest"] = bench_ingest(settings, args.repeat)
    result["query"] = bench_query(settings, [it.question for it in items])
    result["cold_ask"] = bench_cold_ask(settings, args.repeat)
    result["retrieval"] = bench_retrieval(settings, items, texts)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / "bench.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
