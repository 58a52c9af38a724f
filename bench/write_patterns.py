"""Bytes written by the two SQLite databases an ingest fills, for ids that are content hashes.

    .venv/bin/python -m bench.write_patterns table [--n 188000]
    .venv/bin/python -m bench.write_patterns chroma [--n 188000] [--dim 16]
        [--variants plain sorted16000 sorted32000]

`table`: the chunk table (rag/chunktable.py) filled in ingest's doubling commits with rows of
news-chunk size, as shipped (the id index built at the end) and with the id index kept up row
by row (`UNIQUE` on the column, as before). `chroma`: a local Chroma collection (no HNSW save
during the load: the threshold is set above --n, so only its SQLite side is measured), records
sent in 5,000-record calls in arrival order (`plain`) or in N-record writes sorted by id and
split evenly (`sortedN`, as Store.add does). Bytes written are the kernel's (/proc/self/io):
a page rewritten before it reaches the disk counts once. Each variant runs in its own process.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _written() -> int:
    for line in open("/proc/self/io"):
        if line.startswith("write_bytes"):
            return int(line.split()[1])
    return 0


def _ids(n: int) -> list[str]:
    return [hashlib.sha256(str(i).encode()).hexdigest()[:32] for i in range(n)]


def table(variant: str, n: int, folder: Path) -> str:
    from ingest.pipeline import _FIRST_FLUSH, _MAX_FLUSH
    from rag import chunktable
    from rag.types import Chunk
    rnd = random.Random(0)
    words = [hashlib.md5(str(i).encode()).hexdigest()[:rnd.randint(3, 9)] for i in range(5000)]
    path = folder / "chunks.sqlite"
    if variant == "row-index":      # the schema before: the id index kept up row by row
        import sqlite3
        db = sqlite3.connect(path)
        db.execute(chunktable._TABLE[0].replace("id TEXT NOT NULL,", "id TEXT NOT NULL UNIQUE,"))
        db.execute(chunktable._TABLE[1])
        db.commit()
        db.close()
    t = chunktable.ChunkTable(path, writable=True)
    w0, c0, ids = _written(), time.process_time(), _ids(n)
    i, size = 0, _FIRST_FLUSH
    while i < n:
        rows, terms = [], {}
        for k in range(i, min(n, i + size)):
            text = " ".join(rnd.choice(words) for _ in range(110))
            rows.append(Chunk(ids[k], f"d{k // 5:07d}.txt", "A title of some words", 0, text,
                              (k % 5) * 800, (k % 5) * 800 + len(text), None))
            terms[ids[k]] = " ".join(text.split()[:60])
        t.put_many(rows, terms)
        i, size = i + len(rows), min(size * 2, _MAX_FLUSH)
    t.close()
    return (f"table {variant:>10}: written {(_written() - w0) / 1e6:.0f} MB for a "
            f"{path.stat().st_size / 1e6:.0f} MB file, CPU {time.process_time() - c0:.1f} s")


def chroma(variant: str, n: int, dim: int, folder: Path) -> str:
    import numpy as np
    import chromadb
    from chromadb.config import Settings
    from rag.store import _parts
    col = chromadb.PersistentClient(str(folder), Settings(anonymized_telemetry=False)) \
        .get_or_create_collection("chunks", embedding_function=None, configuration={
            "hnsw": {"space": "cosine", "sync_threshold": n + 1}})
    ids, rng = _ids(n), np.random.default_rng(0)
    if variant == "plain":
        calls = [list(range(i, min(n, i + 5000))) for i in range(0, n, 5000)]
    else:
        size, calls = int(variant[len("sorted"):]), []
        for f in range(0, n, size):
            write = sorted(range(f, min(n, f + size)), key=ids.__getitem__)
            calls += [write[i:j] for i, j in _parts(len(write), 5461)]
    w0, c0 = _written(), time.process_time()
    for part in calls:
        col.upsert(ids=[ids[k] for k in part],
                   embeddings=rng.standard_normal((len(part), dim)).astype(np.float32),
                   metadatas=[{"source": f"d{k // 5:07d}.txt"} for k in part])
    size = (folder / "chroma.sqlite3").stat().st_size
    return (f"chroma {variant:>12}: written {(_written() - w0) / 1e6:.0f} MB, chroma.sqlite3 "
            f"{size / 1e6:.0f} MB, CPU {time.process_time() - c0:.1f} s")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=["table", "chroma"])
    ap.add_argument("--n", type=int, default=188_000)
    ap.add_argument("--dim", type=int, default=16)
    ap.add_argument("--variants", nargs="+")
    ap.add_argument("--one", help=argparse.SUPPRESS)    # run one variant in this process
    a = ap.parse_args(argv)
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    if a.one:
        folder = Path(tempfile.mkdtemp(prefix="write-patterns-"))
        try:
            print(table(a.one, a.n, folder) if a.what == "table"
                  else chroma(a.one, a.n, a.dim, folder), flush=True)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return 0
    variants = a.variants or (["row-index", "now"] if a.what == "table"
                              else ["plain", "sorted16000", "sorted32000"])
    for v in variants:
        subprocess.run([sys.executable, "-m", "bench.write_patterns", a.what, "--n", str(a.n),
                        "--dim", str(a.dim), "--one", v], check=True,
                       cwd=Path(__file__).resolve().parent.parent)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    raise SystemExit(main())
