"""Where a first ingest spends its CPU: per-stage CPU and wall seconds, bytes written, store
size, peak RSS, then the cost of a no-op re-ingest.

    .venv/bin/python bench/ingest_stages.py --scale 100        # 100x the default chunk count
    .venv/bin/python bench/ingest_stages.py --corpus DIR --store DIR

The corpus comes from bench.corpus.write_corpus (seeded distractors); the store is deleted
first. CPU seconds are the stable figure on a shared machine; compare wall times within a run.
"""
from __future__ import annotations

import argparse
import collections
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _written() -> int:
    io = dict(line.split(": ") for line in open("/proc/self/io").read().splitlines())
    return int(io["write_bytes"])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=int, default=10, help="times the default corpus's chunks")
    ap.add_argument("--corpus", type=Path, help="ingest this folder instead of generating one")
    ap.add_argument("--store", type=Path, help="store folder (default: a temporary one)")
    ap.add_argument("--parallel", action="store_true",
                    help="parse and chunk in worker processes, as `rag ingest` does for large "
                         "ingests (no per-stage split of those; CPU includes the workers)")
    a = ap.parse_args(argv)
    corpus = a.corpus
    if corpus is None:
        from bench.corpus import write_corpus
        corpus = Path(tempfile.gettempdir()) / f"rag-bench-corpus-{a.scale}x"
        write_corpus(corpus, ROOT / "data" / "articles", ROOT / "eval" / "data" / "qa.jsonl",
                     162 * a.scale)
    store = a.store or Path(tempfile.mkdtemp(prefix="rag-ingest-stages-")) / "store"
    shutil.rmtree(store, ignore_errors=True)

    import chromadb  # noqa: F401  (imported outside the measurement)

    import ingest.parallel as W
    import ingest.pipeline as P
    import rag.store as S
    from rag.embed import WordLlamaEmbedder
    from rag.settings import Settings
    acc: collections.Counter = collections.Counter()

    def wrap(obj, name, label):
        f = getattr(obj, name)

        def timed(*args, **kw):
            c, w = time.process_time(), time.perf_counter()
            try:
                return f(*args, **kw)
            finally:
                acc[f"{label} cpu"] += time.process_time() - c
                acc[f"{label} wall"] += time.perf_counter() - w
        setattr(obj, name, timed)

    stages = [(S.Store, "add", "chroma add"), (P, "ensure_bm25", "bm25")]
    if a.parallel:      # parse and chunk run in worker processes: their CPU is in the total
        W.MIN_FILES = 1
    else:
        W.MIN_FILES = 10 ** 9
        stages += [(W, "read_source", "read"), (W, "parse_articles", "parse"),
                   (W, "chunk_document", "chunk")]
    for obj, name, label in stages:
        wrap(obj, name, label)
    emb = WordLlamaEmbedder()
    emb.embed(["warm up"])
    wrap(emb, "embed", "embed")
    settings = Settings.from_env(env={}, store=store, corpus=corpus)
    w0, c0, t0 = _written(), time.process_time(), time.perf_counter()
    r = P.ingest_paths([corpus], settings, progress=False, embedder=emb)
    wall, written = time.perf_counter() - t0, _written() - w0
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = time.process_time() - c0 + kids.ru_utime + kids.ru_stime
    size = sum(f.stat().st_size for f in store.rglob("*") if f.is_file())
    n = r.chunks_added + r.chunks_unchanged
    mb = sum(f.stat().st_size for f in corpus.iterdir() if f.is_file()) / 1e6
    print(f"files {r.files_seen}, {mb:.1f} MB, {n} chunks: wall {wall:.1f} s ({n / wall:.0f} "
          f"chunks/s), CPU {cpu:.1f} s ({n / cpu:.0f} chunks per CPU-s); written "
          f"{written / 1e6:.0f} MB, store {size / 1e6:.0f} MB ({written / size:.2f}x); peak RSS "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3:.0f} MB (workers: "
          f"{kids.ru_maxrss / 1e3:.0f} MB each at most); load {os.getloadavg()[0]:.1f}")
    for k in sorted(acc):
        print(f"  {k:<16} {acc[k]:7.1f} s")
    t = time.perf_counter()
    again = P.ingest_paths([corpus], settings, progress=False, embedder=emb)
    print(f"no-op re-ingest: {time.perf_counter() - t:.2f} s for {again.files_unchanged} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
