"""Hand points to every sink: encoded once per precision, queued in each sink's spool."""

from __future__ import annotations

from collections.abc import Sequence

from clusterwatch.core.lineprotocol import Precision, encode
from clusterwatch.core.point import Point
from clusterwatch.sinks.spooled import DrainResult, SpooledSink


class Publisher:
    def __init__(self, sinks: Sequence[tuple[SpooledSink, Precision]]) -> None:
        """``sinks`` pairs each sink with the timestamp precision it writes."""
        self.sinks = list(sinks)

    def publish(self, points: Sequence[Point]) -> int:
        """Queue the points on every sink; returns the number of lines queued per sink."""
        by_precision: dict[Precision, list[bytes]] = {}
        queued = 0
        for sink, precision in self.sinks:
            records = by_precision.get(precision)
            if records is None:
                records = [(line + "\n").encode() for line in encode(points, precision)]
                by_precision[precision] = records
            queued = sink.submit(records)
        return queued

    def drain(self, *, force: bool = False) -> dict[str, DrainResult]:
        return {sink.name: sink.drain(force=force) for sink, _ in self.sinks}

    def close(self) -> None:
        for sink, _ in self.sinks:
            sink.close()
