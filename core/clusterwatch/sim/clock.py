"""The simulation clock: real time scaled by ``speed``, plus explicit jumps for tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class SimClock:
    """Simulated epoch seconds.

    ``speed`` 1.0 follows real time; 60 runs a simulated hour per real minute. ``advance``
    jumps forward, so tests can move time without sleeping. The clock never goes back.
    """

    def __init__(
        self,
        speed: float = 1.0,
        start: float | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if speed < 0:
            raise ValueError("clock speed must be >= 0")
        self.speed = speed
        self.start = time.time() if start is None else start
        self._monotonic = monotonic
        self._m0 = monotonic()
        self._offset = 0.0
        self._last = self.start
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            value = self.start + (self._monotonic() - self._m0) * self.speed + self._offset
            self._last = max(self._last, value)
            return self._last

    def elapsed(self) -> float:
        """Simulated seconds since the simulation started."""
        return self.now() - self.start

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._offset += seconds
        return self.now()
