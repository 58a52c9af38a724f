"""Bounded resident memory in long-running processes (`rag ui`, `rag chat`, bench/load.py).

glibc gives each thread that allocates its own malloc arena, up to eight per core, and memory
freed into an arena is rarely returned to the system. A server answering on many threads then
grows with every new worker thread (measured: 243 -> 390 MB over four 20 s rounds of 8 threads)
although nothing leaks; with MALLOC_ARENA_MAX=2 it stays flat. The environment variable only
works when set before the process starts, so servers set the same limit at startup through
mallopt(M_ARENA_MAX), before their worker threads exist.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

M_ARENA_MAX = -8        # from glibc's <malloc.h>
DEFAULT_ARENAS = 2


def cap_malloc_arenas(n: int = DEFAULT_ARENAS) -> bool:
    """Limit glibc's malloc arenas for this process; True if the limit was set. Does nothing
    off Linux/glibc, or when the user chose a value with MALLOC_ARENA_MAX themselves."""
    if not sys.platform.startswith("linux") or os.environ.get("MALLOC_ARENA_MAX"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):     # musl and others have no mallopt
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return mallopt(M_ARENA_MAX, n) == 1


def rss_mb(pid: int | None = None) -> float:
    """Resident memory of a process in MB, from /proc (Linux)."""
    with open(f"/proc/{pid or 'self'}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise OSError("no VmRSS in /proc status")
