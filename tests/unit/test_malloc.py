"""limit_arenas: the threads of a process that asked share one C heap (glibc)."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

from clusterwatch.core.malloc import limit_arenas

# Threads that each allocate blocks too big for Python's own allocator, then glibc's
# malloc_stats() (to stderr) lists the arenas in use.
SCRIPT = """
import ctypes, sys, threading
from clusterwatch.core.malloc import limit_arenas
print(limit_arenas() if sys.argv[1] == "limit" else None)
def allocate():
    blocks = [bytes(4000) + bytes([i % 256]) for i in range(200)]
threads = [threading.Thread(target=allocate) for _ in range(6)]
[t.start() for t in threads]
[t.join() for t in threads]
sys.stderr.flush()
ctypes.CDLL(None).malloc_stats()
"""

glibc = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's mallopt only")


def arenas(mode: str, env: dict[str, str] | None = None) -> tuple[str, int]:
    """What limit_arenas said in a fresh interpreter, and the arenas its threads used."""
    base = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    run = subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True,
                         env={**base, **(env or {})}, check=True)  # fmt: skip
    return run.stdout.strip(), run.stderr.count("Arena ")


@glibc
def test_threads_share_one_heap_once_limited() -> None:
    assert arenas("limit") == ("True", 1)
    assert arenas("none")[1] > 1  # what the limit prevents: more heaps as threads allocate


@glibc
def test_the_users_malloc_arena_max_wins() -> None:
    said, used = arenas("limit", {"MALLOC_ARENA_MAX": "3"})
    assert said == "False" and 1 < used <= 3


def test_no_limit_asked_when_the_environment_sets_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert limit_arenas() is False
