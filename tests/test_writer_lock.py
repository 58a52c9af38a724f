"""The store's writer lock (filelock: flock on Linux/macOS, msvcrt on Windows) between real
processes: a second writer is refused with the same message, and a killed writer frees it."""
from __future__ import annotations

import subprocess
import sys

import pytest

from rag.store import StoreError, writer_lock
from tests.conftest import PROJECT

HOLD = """
import sys, time
from rag.store import writer_lock
with writer_lock(sys.argv[1]):
    print("held", flush=True)
    sys.stdin.readline()          # hold until the test says so (or the process is killed)
"""


def _holder(root):
    p = subprocess.Popen([sys.executable, "-c", HOLD, str(root)], cwd=PROJECT, text=True,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert p.stdout.readline().strip() == "held"
    return p


def test_a_writer_in_another_process_is_refused_until_it_finishes(tmp_path):
    root = tmp_path / "store"
    p = _holder(root)
    try:
        with pytest.raises(StoreError, match=r"another `rag ingest` is writing to .*wait for it"):
            with writer_lock(root):
                pass
    finally:
        p.communicate("done\n", timeout=30)
    with writer_lock(root):       # released on exit
        pass


def test_a_killed_writer_does_not_leave_the_store_locked(tmp_path):
    root = tmp_path / "store"
    p = _holder(root)
    p.kill()
    p.wait(timeout=30)
    with writer_lock(root):
        pass


def test_the_lock_is_not_reentrant_within_one_process(tmp_path):
    with writer_lock(tmp_path / "store"):
        with pytest.raises(StoreError, match="another `rag ingest`"):
            with writer_lock(tmp_path / "store"):
                pass
