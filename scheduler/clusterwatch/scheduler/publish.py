"""Hand points to every sink: encoded once per precision, queued in each sink's spool."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from clusterwatch.core.lineprotocol import Precision, encode_records
from clusterwatch.core.point import Point
from clusterwatch.sinks.spooled import DrainResult, SpooledSink


class Publisher:
    def __init__(self, sinks: Sequence[tuple[SpooledSink, Precision]]) -> None:
        """``sinks`` pairs each sink with the timestamp precision it writes."""
        self.sinks = list(sinks)

    @property
    def precisions(self) -> tuple[Precision, ...]:
        """The precisions the sinks write, each once."""
        return tuple(dict.fromkeys(precision for _, precision in self.sinks))

    def publish_lines(self, by_precision: Mapping[Precision, Sequence[bytes]]) -> int:
        """Queue records encoded elsewhere (in a worker process): for each precision in
        :attr:`precisions`, newline-terminated lines of line protocol."""
        queued = 0
        for sink, precision in self.sinks:
            queued = sink.submit(by_precision[precision])
        return queued

    def publish(self, points: Sequence[Point]) -> int:
        """Queue the points on every sink; returns the number of lines queued per sink."""
        by_precision: dict[Precision, list[bytes]] = {}
        queued = 0
        for sink, precision in self.sinks:
            records = by_precision.get(precision)
            if records is None:
                records = encode_records(points, precision)
                by_precision[precision] = records
            queued = sink.submit(records)
        return queued

    def drain(self, *, force: bool = False) -> dict[str, DrainResult]:
        return {sink.name: sink.drain(force=force) for sink, _ in self.sinks}

    def self_metrics(self, cluster: str, time_ns: int) -> list[Point]:
        """One ``clusterwatch`` point per sink: what waits, what went, what was lost."""
        points = []
        for sink, _ in self.sinks:
            spool = sink.spool.stats
            points.append(
                Point(
                    "clusterwatch",
                    {"cluster": cluster, "sink": sink.name},
                    {
                        "spool_bytes": float(sink.spool.depth_bytes),
                        "spool_records": float(sink.spool.depth_records),
                        "written_points_total": sink.stats.records_sent,
                        "quarantined_points_total": sink.stats.records_quarantined,
                        "dropped_points_total": spool.dropped_full
                        + spool.corrupted_skipped
                        + sink.stats.quarantine_dropped,
                        "send_failures_total": sink.stats.send_failures,
                    },
                    time_ns,
                )
            )
        return points

    def close(self) -> None:
        for sink, _ in self.sinks:
            sink.close()
