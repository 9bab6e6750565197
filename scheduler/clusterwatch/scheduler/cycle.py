"""One collection cycle of one source: aligned timestamp, collect, self-metrics.

A collector never raises for bad input (it records per-target errors); should one raise
anyway (a bug), the cycle records that as an error of the source and the daemon goes on.
With ``emit``, per-agent collectors hand points to it as they map them (the daemon passes its
publisher) and the report's result holds only the rest; with ``emit_lines`` too, they may map
them in worker processes, which hand over line protocol for each of ``precisions``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from clusterwatch.core import registry
from clusterwatch.core.collect import CollectContext, CollectResult, TargetError
from clusterwatch.core.config_schema import Config
from clusterwatch.core.http import Http
from clusterwatch.core.lineprotocol import Precision
from clusterwatch.core.log import fields
from clusterwatch.core.point import Point

log = logging.getLogger(__name__)


def aligned_time_ns(now: float, interval_seconds: float) -> int:
    """The start of the interval ``now`` falls in: one timestamp per cycle per source."""
    interval_ns = max(1, int(interval_seconds * 1e9))
    return int(now * 1e9) // interval_ns * interval_ns


@dataclass(slots=True)
class CycleReport:
    source: str
    time_ns: int
    duration_seconds: float
    result: CollectResult = field(default_factory=CollectResult)

    def self_metrics(self, cluster: str) -> Point:
        result = self.result
        targets_down = len({e.target for e in result.errors})
        return Point(
            "clusterwatch",
            {"cluster": cluster, "source": self.source},
            {
                "duration_seconds": round(self.duration_seconds, 6),
                "points": float(len(result.points) + result.points_emitted),
                "errors": float(len(result.errors)),
                "targets_total": float(result.targets_total),
                "targets_up": float(max(0, result.targets_total - targets_down)),
            },
            self.time_ns,
        )


def load_collect(name: str) -> Callable[[CollectContext], CollectResult]:
    """The ``collect`` function of the source registered as ``name``."""
    collect: Callable[[CollectContext], CollectResult] = registry.load("source", name).collect
    return collect


def run_cycle(
    name: str,
    config: Config,
    http: Http,
    now: float | None = None,
    owns_agent: Callable[[str], bool] | None = None,
    emit: Callable[[Sequence[Point]], None] | None = None,
    emit_lines: Callable[[Mapping[Precision, Sequence[bytes]]], None] | None = None,
    precisions: tuple[Precision, ...] = (),
) -> CycleReport:
    """Collect once from source ``name`` as configured in ``config.sources[name]``; points
    the collector streams go to ``emit``, or encoded to ``emit_lines`` (see
    ``CollectContext``)."""
    source_config = config.sources[name]
    now = time.time() if now is None else now
    ctx = CollectContext(
        source=name,
        cluster=config.cluster,
        config=source_config,
        http=http,
        time_ns=aligned_time_ns(now, source_config.interval_seconds),
        owns_agent=owns_agent or (lambda agent_id: True),
        emit=emit,
        emit_lines=emit_lines,
        precisions=precisions,
    )
    started = time.monotonic()
    try:
        result = load_collect(name)(ctx)
        if not isinstance(result, CollectResult):
            raise TypeError(f"collect() returned {type(result).__name__}, not CollectResult")
    except Exception as exc:  # a collector bug must not stop the daemon
        log.exception("collector failed", extra=fields(source=name))
        result = CollectResult(errors=[TargetError(name, f"{type(exc).__name__}: {exc}")])
    report = CycleReport(name, ctx.time_ns, time.monotonic() - started, result)
    for error in result.errors:
        log.warning(
            "target down", extra=fields(source=name, target=error.target, reason=error.reason)
        )
    return report
