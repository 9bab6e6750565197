"""Per-agent points streamed through ``ctx.emit`` are the same points, counted the same."""

from __future__ import annotations

import threading

from clusterwatch.collectors.common import collect_each
from clusterwatch.core.collect import CollectContext, CollectResult, TargetError
from clusterwatch.core.config_schema import ClusterConfig, SourceConfig
from clusterwatch.core.http import Http
from clusterwatch.core.point import Point


def per_agent(agent: str) -> CollectResult:
    if agent == "down":
        return CollectResult(errors=[TargetError(agent, "connection refused")], targets_total=1)
    points = [Point("mesos_agent", {"host": agent}, {"n": i}, 1) for i in range(3)]
    return CollectResult(points=points, targets_total=1)


def context(emit: object = None) -> CollectContext:
    return CollectContext(
        source="mesos_agent",
        cluster=ClusterConfig(),
        config=SourceConfig(),
        http=Http(),
        time_ns=1,
        emit=emit,  # type: ignore[arg-type]
    )


AGENTS = [f"a{i}" for i in range(20)] + ["down"]


def test_streamed_and_collected_cycles_carry_the_same_points() -> None:
    collected = collect_each(context(), CollectResult(), per_agent, AGENTS)
    seen: list[Point] = []
    lock = threading.Lock()

    def emit(points: list[Point]) -> None:
        with lock:
            seen.extend(points)

    streamed = collect_each(context(emit), CollectResult(), per_agent, AGENTS)
    assert streamed.points == []
    assert streamed.points_emitted == len(collected.points) == 60
    def key(p: Point) -> tuple[str, object]:
        return (p.tags["host"], p.fields["n"])

    assert sorted(seen, key=key) == sorted(collected.points, key=key)
    assert streamed.points_total == collected.points_total == 60
    assert [e.target for e in streamed.errors] == ["down"]
    assert streamed.targets_total == collected.targets_total == 21
