"""Cleaning + chunking time and peak memory for one long line without sentence ends.

usage: .venv/bin/python bench/long_line.py [--sizes 500000 1000000 5000000]

Each size runs in a fresh process (parse_articles + chunk_document, 200-token chunks, overlap
40, the same text as tests/test_hostile_input.py); peak RSS is that process's maximum. Linear
work shows as a constant seconds-per-MB column. Wall-clock on a shared machine: compare within
one run.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHILD = """
import resource, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[2])
from tests.test_hostile_input import long_line
from ingest.read import read_source
from ingest.split import parse_articles
from ingest.chunk import chunk_document
from rag.text import sentence_spans
sentence_spans("Warm up. The splitter.")
p = Path(sys.argv[3]); p.write_text(long_line(int(sys.argv[1])))
doc = read_source(p)
t = time.perf_counter()
chunks = chunk_document(doc, parse_articles(doc), 200, 40)
dt = time.perf_counter() - t
print(dt, len(chunks), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[500_000, 1_000_000, 5_000_000])
    args = ap.parse_args()
    print(f"{'chars':>10} {'seconds':>8} {'s per MB':>8} {'chunks':>7} {'peak RSS MB':>11}")
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            out = subprocess.run([sys.executable, "-c", CHILD, str(n), str(ROOT),
                                  str(Path(tmp) / "line.txt")], cwd=ROOT, capture_output=True,
                                 text=True, check=True).stdout.split()
            secs, chunks, rss = float(out[0]), int(out[1]), float(out[2])
            print(f"{n:>10,} {secs:>8.2f} {secs / (n / 1e6):>8.2f} {chunks:>7} {rss:>11.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
