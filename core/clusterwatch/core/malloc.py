"""Fewer C heaps (glibc malloc arenas) for a long-running process with threads.

glibc gives a thread that allocates while another holds the heap's lock a heap (an arena) of
its own, up to eight per core, and memory freed in an arena stays there for that arena's next
allocations. The daemon runs its sources on APScheduler's pool of ten threads, each in turn
decoding megabytes of JSON (Python's objects over 512 bytes, the bodies and the big lists come
from malloc, not from Python's own small-object allocator): its RSS grew cycle after cycle
while holding the same data, from 61 to 125 MiB over twelve 1,000-agent cycles, and stayed at
56 MiB with one arena, at the same CPU (``bench/bench_daemon.py``; the GIL serialises most
allocation anyway).
"""

from __future__ import annotations

import ctypes
import os

M_ARENA_MAX = -8  # glibc's malloc.h
ARENAS = 1  # the main heap alone: the threads take turns under the GIL anyway


def limit_arenas(count: int = ARENAS) -> bool:
    """Ask glibc for at most ``count`` arenas from now on (call it before threads start).

    False, and nothing changed, where the C library has no ``mallopt`` (musl, macOS) or the
    user set ``MALLOC_ARENA_MAX`` in the environment: theirs wins."""
    if "MALLOC_ARENA_MAX" in os.environ:
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (AttributeError, OSError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_ARENA_MAX, count))
