"""The contract between the daemon and a collector module.

A collector module offers ``collect(ctx: CollectContext) -> CollectResult``: it fetches what
it needs through ``ctx.http`` and maps it with pure, table-driven functions. A target that
fails is recorded in ``errors`` and the rest goes on; a collector never raises for bad input.

With ``ctx.emit`` set, collectors that read many targets (one per agent) hand each target's
points to it as soon as they are mapped instead of holding a whole cycle in memory; those
points are counted in ``points_emitted``, not listed in ``points``. With ``ctx.emit_lines``
too, they may map them in worker processes (``SourceConfig.processes``), which hand over
line protocol, encoded there for each of ``ctx.precisions``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from clusterwatch.core.config_schema import ClusterConfig, SourceConfig
from clusterwatch.core.http import Http
from clusterwatch.core.lineprotocol import Precision
from clusterwatch.core.point import Point


@dataclass(frozen=True, slots=True)
class TargetError:
    target: str  # URL or host:port
    reason: str  # one line, from FetchError or the mapper


@dataclass(slots=True)
class CollectResult:
    points: list[Point] = field(default_factory=list)
    errors: list[TargetError] = field(default_factory=list)
    targets_total: int = 0
    points_emitted: int = 0  # handed to ``ctx.emit`` during the cycle, not in ``points``

    @property
    def points_total(self) -> int:
        return len(self.points) + self.points_emitted


@dataclass(frozen=True, slots=True)
class CollectContext:
    source: str  # the registered name, e.g. "mesos_master"
    cluster: ClusterConfig
    config: SourceConfig
    http: Http
    time_ns: int  # one timestamp per cycle per source, aligned to the interval
    # Whether this daemon collects the agent with this id (several daemons split the agents
    # through ZooKeeper, see core.partition); per-agent sources must skip the others.
    owns_agent: Callable[[str], bool] = field(default=lambda agent_id: True)
    # Where points go as they are mapped (the publisher; thread-safe: called from the fan-out
    # threads); None keeps them in the result.
    emit: Callable[[Sequence[Point]], None] | None = None
    # Where points mapped in worker processes go, already encoded: records (one line of line
    # protocol and its newline, UTF-8) for each precision in ``precisions``. None: no worker
    # processes (everything is mapped in this one).
    emit_lines: Callable[[Mapping[Precision, Sequence[bytes]]], None] | None = None
    precisions: tuple[Precision, ...] = ()

    @property
    def base_tags(self) -> dict[str, str]:
        return {"cluster": self.cluster.name, **self.config.tags}
