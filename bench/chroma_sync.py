"""What Chroma's write settings cost: bytes written, add CPU, and the next open's time.

    .venv/bin/python -m bench.chroma_sync --store STORE [--n 75000] [--variants ...]

Loads the chunk ids and vectors of an existing store (its chunk table and collection), repeats
them with a little noise up to `--n` records, and adds them to fresh local collections the way
ingest does (5,000 records per call, vector plus `source` only), one variant each:

    base           Chroma's defaults (hnsw sync_threshold 1000, batch_size 100)
    docs           also hands Chroma the texts (what ingest did before chunks.sqlite)
    stN            sync_threshold N (e.g. st50000)
    stN-final      sync_threshold N, lowered to 1000 before the last call (no effect: Chroma
                   keeps the threshold a process's HNSW writer was built with)
    stN-pad        sync_threshold N, then deletes of absent ids until Chroma saves the index,
                   as a store writer does on close (rag/hnswsync.py)
    ...-wal        Chroma's sqlite switched to WAL before the first add
    ...-sortedN    records sent as ingest sends them: N-record writes (default: ingest's
                   largest, 32,000), each sorted by id and split evenly into calls
                   (rag/store.py Store.add), so each call lands on its own slice of Chroma's
                   (segment, id) index

then opens each in a fresh process and runs one query: Chroma re-saves its whole HNSW file after
each call that crosses the sync threshold (bytes written grow with the square of the corpus),
and a reader replays whatever was not saved, in its own process, on every open.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

_REOPEN = """
import sys, time, numpy as np, chromadb
from chromadb.config import Settings
t, c = time.perf_counter(), time.process_time()
col = chromadb.PersistentClient(sys.argv[1], Settings(anonymized_telemetry=False)).get_collection(
    "chunks", embedding_function=None)
col.query(query_embeddings=[np.ones(int(sys.argv[2]), dtype=np.float32)], n_results=5)
print(time.perf_counter() - t, time.process_time() - c)
"""


def _written() -> int:
    for line in open("/proc/self/io"):
        if line.startswith("write_bytes"):
            return int(line.split()[1])
    return 0


def load(store: Path, n: int):
    from rag.chunktable import ChunkTable
    from rag.generations import live_generation
    import chromadb
    gen = live_generation(store)
    chunks = list(ChunkTable(gen / "chunks.sqlite", writable=False).iter_chunks())
    col = chromadb.PersistentClient(str(gen / "chroma")).get_collection("chunks",
                                                                         embedding_function=None)
    got = col.get(ids=[c.id for c in chunks], include=["embeddings"])
    vec = dict(zip(got["ids"], got["embeddings"]))
    base = np.array([vec[c.id] for c in chunks], dtype=np.float32)
    rng = np.random.default_rng(0)
    reps = -(-n // len(chunks))
    # Repeats get ids hashed like content hashes (a prefix would sort them by repeat, which
    # hides what random ids cost Chroma's index).
    ids = [c.id if not r else hashlib.sha256(f"{r}-{c.id}".encode()).hexdigest()[:len(c.id)]
           for r in range(reps) for c in chunks][:n]
    srcs = [c.source for _ in range(reps) for c in chunks][:n]
    texts = [c.text for _ in range(reps) for c in chunks][:n]
    vecs = np.vstack([base + (rng.normal(0, 0.02, base.shape) if r else 0)
                      for r in range(reps)]).astype(np.float32)[:n]
    return ids, srcs, texts, vecs


def run(variant: str, data, folder: Path, batch: int = 5000) -> dict:
    import chromadb
    from chromadb.config import Settings
    ids, srcs, texts, vecs = data
    hnsw = {"space": "cosine"}
    for part in variant.split("-"):
        if part.startswith("st"):
            hnsw["sync_threshold"] = int(part[2:])
    path = folder / variant
    shutil.rmtree(path, ignore_errors=True)
    client = chromadb.PersistentClient(str(path), Settings(anonymized_telemetry=False))
    col = client.create_collection("chunks", configuration={"hnsw": hnsw},
                                   embedding_function=None)
    if "wal" in variant.split("-"):
        import sqlite3
        db = sqlite3.connect(path / "chroma.sqlite3")
        print(variant, "journal_mode", db.execute("PRAGMA journal_mode=WAL").fetchone(), flush=True)
        db.close()
    calls = [list(range(i, min(len(ids), i + batch))) for i in range(0, len(ids), batch)]
    sort = [p for p in variant.split("-") if p.startswith("sorted")]
    if sort:        # as ingest writes: a flush at a time, by id
        from ingest.pipeline import _MAX_FLUSH
        from rag.store import _parts
        size, calls = int(sort[0][6:] or _MAX_FLUSH), []
        for f in range(0, len(ids), size):
            flush = sorted(range(f, min(len(ids), f + size)), key=ids.__getitem__)
            calls += [flush[i:j] for i, j in _parts(len(flush), batch)]
    w0, c0, t0, since = _written(), time.process_time(), time.perf_counter(), 0
    for k, part in enumerate(calls):
        if "final" in variant.split("-") and k == len(calls) - 1:
            col.modify(configuration={"hnsw": {"sync_threshold": 1000}})
        col.upsert(ids=[ids[i] for i in part], embeddings=vecs[part],
                   metadatas=[{"source": srcs[i]} for i in part],
                   documents=[texts[i] for i in part] if variant.startswith("docs") else None)
        since += len(part)
        if since >= hnsw.get("sync_threshold", 1000):
            since = 0
    if "pad" in variant.split("-") and since:
        pad = hnsw.get("sync_threshold", 1000) - since
        for k in range(0, pad, batch):
            col.delete(ids=[f"pad-{j}" for j in range(k, min(pad, k + batch))])
    cpu, written, wall = time.process_time() - c0, _written() - w0, time.perf_counter() - t0
    del col, client
    size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    opens = []
    for _ in range(2):
        out = subprocess.run([sys.executable, "-c", _REOPEN, str(path), str(vecs.shape[1])],
                             capture_output=True, text=True, check=True).stdout.split()
        opens.append(tuple(float(x) for x in out))
    return {"variant": variant, "add_cpu_s": cpu, "add_wall_s": wall, "written_mb": written / 1e6,
            "store_mb": size / 1e6, "first_open": opens[0], "second_open": opens[1]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", type=Path, required=True, help="a store built by rag ingest")
    ap.add_argument("--n", type=int, default=75000, help="records to add")
    ap.add_argument("--variants", nargs="+", default=["base", "st50000", "st50000-final"])
    a = ap.parse_args(argv)
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    data = load(a.store, a.n)
    folder = Path(tempfile.mkdtemp(prefix="chroma-sync-"))
    try:
        for v in a.variants:
            r = run(v, data, folder)
            print(f"{v:>16}: add CPU {r['add_cpu_s']:.1f} s (wall {r['add_wall_s']:.1f}), written {r['written_mb']:.0f} MB, "
                  f"store {r['store_mb']:.0f} MB ({r['written_mb'] / r['store_mb']:.2f}x); "
                  f"open+query wall/CPU {r['first_open'][0]:.2f}/{r['first_open'][1]:.2f} s, "
                  f"again {r['second_open'][0]:.2f}/{r['second_open'][1]:.2f} s", flush=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    sys.exit(main())
