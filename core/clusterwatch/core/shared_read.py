"""One read shared by the callers that want it at the same time.

Several sources read the same big document in the same cycle (a Mesos leader's agent list:
14 MB at 10,000 agents), and the scheduler starts them together when their intervals line
up. ``SharedReads.get`` makes the first caller of a key read it while later callers of the
key wait for that read and get the same value, or the same failure. The value stays shared
only while some caller still holds it (a weak reference): once every user has dropped it,
the next caller reads anew, so nothing is cached between cycles and no read is ever older
than the cycles still using it.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class _Read(Generic[V]):
    __slots__ = ("done", "error", "value")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: weakref.ref[V] | None = None
        self.error: BaseException | None = None


class SharedReads(Generic[V]):
    """Reads by key, each shared by the callers of its key while one of them holds it.

    ``V`` must accept weak references (a class without ``__slots__``, or with
    ``__weakref__`` among them)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._reads: dict[Hashable, _Read[V]] = {}

    def get(self, key: Hashable, read: Callable[[], V]) -> V:
        """The value of ``key``: the one another caller holds or is reading, else ``read()``.

        A read that raises raises the same to the callers that waited for it; the next
        caller after them reads again."""
        while True:
            with self._lock:
                self._forget_dropped()
                entry = self._reads.get(key)
                if entry is None:
                    entry = self._reads[key] = _Read()
                    break  # ours to read
                value = _alive(entry)
                if value is not None:
                    return value
            entry.done.wait()  # another caller's read
            if entry.error is not None:
                raise entry.error
            value = _alive(entry)
            if value is not None:
                return value
            # read, then dropped by all its users before this caller woke: read again
        try:
            value = read()
        except BaseException as exc:
            entry.error = exc
            with self._lock:
                del self._reads[key]
            raise
        else:
            entry.value = weakref.ref(value)
        finally:
            entry.done.set()
        return value

    def _forget_dropped(self) -> None:
        """Drop the finished reads nobody holds any more (a few keys per cycle)."""
        for key, entry in list(self._reads.items()):
            if entry.done.is_set() and _alive(entry) is None:
                del self._reads[key]


def _alive(entry: _Read[V]) -> V | None:
    return entry.value() if entry.value is not None else None
