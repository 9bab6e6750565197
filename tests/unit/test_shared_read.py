"""SharedReads: one read for the callers of a key at the same time, and never a stale one."""

from __future__ import annotations

import gc
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor

import pytest

from clusterwatch.core.shared_read import SharedReads


class Doc:
    def __init__(self, n: int) -> None:
        self.n = n


class Reader:
    """A read that blocks until released, counting its calls."""

    def __init__(self, fail: bool = False) -> None:
        self.calls = 0
        self.started = threading.Event()
        self.release = threading.Event()
        self.fail = fail

    def __call__(self) -> Doc:
        self.calls += 1
        self.started.set()
        assert self.release.wait(10)
        if self.fail:
            raise OSError("leader down")
        return Doc(self.calls)


def until_waiting(reads: SharedReads[Doc], key: str, callers: int) -> None:
    """Until ``callers`` wait for the read of ``key`` in flight (CPython's Event internals)."""
    done = reads._reads[key].done
    deadline = time.monotonic() + 10
    while len(done._cond._waiters) < callers:  # type: ignore[attr-defined]
        assert time.monotonic() < deadline, "the callers never waited"
        time.sleep(0.005)


def at_once(reads: SharedReads[Doc], key: str, reader: Reader, callers: int) -> list[Future[Doc]]:
    """``callers`` calls of ``key``: the first reads, the others wait for it; then the read
    is let go."""
    pool = ThreadPoolExecutor(callers)
    first = pool.submit(reads.get, key, reader)
    assert reader.started.wait(10)
    others = [pool.submit(reads.get, key, reader) for _ in range(callers - 1)]
    until_waiting(reads, key, callers - 1)
    reader.release.set()
    pool.shutdown()
    return [first, *others]


def test_callers_of_one_key_at_the_same_time_share_one_read() -> None:
    reads: SharedReads[Doc] = SharedReads()
    reader = Reader()
    values = [future.result(10) for future in at_once(reads, "leader@t", reader, 4)]
    assert reader.calls == 1
    assert all(v is values[0] for v in values)


def test_a_value_is_shared_while_held_then_read_anew() -> None:
    reads: SharedReads[Doc] = SharedReads()
    reader = Reader()
    reader.release.set()
    held = reads.get("k", reader)
    assert reads.get("k", reader) is held and reader.calls == 1  # a late caller of the cycle
    del held
    gc.collect()
    fresh = reads.get("k", reader)
    assert fresh.n == 2 and reader.calls == 2  # nobody held it: never served stale
    assert list(reads._reads) == ["k"]


def test_other_keys_are_read_on_their_own() -> None:
    reads: SharedReads[Doc] = SharedReads()
    reader = Reader()
    reader.release.set()
    a, b = reads.get("leader@t1", reader), reads.get("leader@t2", reader)
    assert (a.n, b.n, reader.calls) == (1, 2, 2)


def test_a_failed_read_fails_its_waiters_and_the_next_caller_reads_again() -> None:
    reads: SharedReads[Doc] = SharedReads()
    reader = Reader(fail=True)
    for future in at_once(reads, "k", reader, 3):
        with pytest.raises(OSError, match="leader down"):
            future.result(10)
    assert reader.calls == 1
    reader.fail = False
    assert reads.get("k", reader).n == 2


def test_entries_nobody_holds_are_forgotten() -> None:
    reads: SharedReads[Doc] = SharedReads()
    reader = Reader()
    reader.release.set()
    for cycle in range(5):
        reads.get(f"leader@{cycle}", reader)  # dropped at once
    gc.collect()
    kept = reads.get("leader@5", reader)
    assert list(reads._reads) == ["leader@5"] and kept.n == 6
