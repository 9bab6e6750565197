"""The contract between the daemon and a collector module.

A collector module offers ``collect(ctx: CollectContext) -> CollectResult``: it fetches what
it needs through ``ctx.http`` and maps it with pure, table-driven functions. A target that
fails is recorded in ``errors`` and the rest goes on; a collector never raises for bad input.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from clusterwatch.core.config_schema import ClusterConfig, SourceConfig
from clusterwatch.core.http import Http
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

    @property
    def base_tags(self) -> dict[str, str]:
        return {"cluster": self.cluster.name, **self.config.tags}
