"""Malloc arenas in long-running processes (issue 9): resident memory grew with every worker
thread until arenas were capped. Checked in child processes, where glibc reports its arenas."""
from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import PROJECT

_CHILD = """
import ctypes, sys, threading
from rag.memory import cap_malloc_arenas
capped = cap_malloc_arenas() if sys.argv[1] == "cap" else False
def work():
    blocks = [bytearray(512) for _ in range(20000)]   # small blocks: from the thread's arena
    del blocks
threads = [threading.Thread(target=work) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
ctypes.CDLL("libc.so.6").malloc_stats()                # one "Arena n:" block per arena
print(capped)
"""


def _arenas(mode: str) -> tuple[int, str]:
    env = {"PATH": "/usr/bin:/bin"}      # no MALLOC_ARENA_MAX from the caller
    r = subprocess.run([sys.executable, "-c", _CHILD, mode], cwd=PROJECT, env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stderr.count("Arena "), r.stdout.strip()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc arenas")
def test_capping_arenas_keeps_threads_from_adding_their_own():
    free, _ = _arenas("free")
    capped, said = _arenas("cap")
    assert said == "True"
    assert capped <= 2 < free, (capped, free)


def test_the_user_choice_wins(monkeypatch):
    from rag.memory import cap_malloc_arenas
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert cap_malloc_arenas() is False
