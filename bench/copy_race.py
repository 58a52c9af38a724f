"""Copying the live generation while other processes open it: how often the copy carries a
write's rollback journal, and how often the change fails.

usage: .venv/bin/python bench/copy_race.py [--rounds 60] [--readers 2] [--code DIR]

Every Chroma client that starts on a generation writes a row into its chroma.sqlite3, so a
writer (`rag ingest`, `rag remove`, the app's upload and remove) copies the live generation while
engines in other processes may be writing it. Reader processes open and close the live
generation in a loop; meanwhile each round copies it (rag.generations.copy_generation), opens the
copy with Chroma and writes to it, as a writer does. `--code DIR` imports the project from
another checkout (a worktree of an older commit) for a before/after pair on one machine.
"""
from __future__ import annotations

import argparse
import collections
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_READER = """
import sys
sys.path.insert(0, sys.argv[3])
from rag.store import Store
while True:
    with Store(sys.argv[1], sys.argv[2]) as s:
        s.count()
"""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=60)
    ap.add_argument("--readers", type=int, default=2)
    ap.add_argument("--code", default=str(ROOT), help="the checkout to import rag/ from")
    args = ap.parse_args(argv)
    sys.path.insert(0, args.code)
    from ingest.pipeline import ingest_paths
    from rag.embed import make_embedder
    from rag.generations import copy_generation, live_generation
    from rag.settings import Settings
    from rag.store import Store

    work_dir = Path(tempfile.mkdtemp(prefix="copy-race-"))
    root = work_dir / "store"
    settings = Settings.from_env(store=root)
    embedder = make_embedder(settings)
    ingest_paths([settings.corpus], settings, progress=False, embedder=embedder)
    live = live_generation(root)
    readers = [subprocess.Popen([sys.executable, "-c", _READER, str(root), embedder.name,
                                 args.code]) for _ in range(args.readers)]
    time.sleep(3)       # the readers are up
    journals, failed, seen = 0, 0, collections.Counter()
    try:
        for i in range(args.rounds):
            try:
                copy = copy_generation(root, live)
            except Exception as e:
                failed += 1
                seen[f"copy: {type(e).__name__}: {str(e)[:120]}"] += 1
                continue
            journals += bool(list(copy.rglob("*-journal")))
            try:
                with Store(root, embedder.name, create=True, generation=copy, expect=0) as s:
                    s.chunks.delete(ids=[f"none-{i}"])
            except Exception as e:
                failed += 1
                seen[f"write: {type(e).__name__}: {str(e)[:120]}"] += 1
            finally:
                shutil.rmtree(copy, ignore_errors=True)
    finally:
        for p in readers:
            p.kill()
            p.wait()
        shutil.rmtree(work_dir, ignore_errors=True)
    print(f"copies holding a journal: {journals} of {args.rounds}; changes failed: {failed} "
          f"of {args.rounds}")
    for what, n in seen.most_common():
        print(f"  {n} x {what}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
