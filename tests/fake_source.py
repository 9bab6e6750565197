"""A source for daemon tests: counts its cycles; a target named "down" always fails."""

from __future__ import annotations

from clusterwatch.core.collect import CollectContext, CollectResult, TargetError
from clusterwatch.core.point import Point

CALLS: list[int] = []


def collect(ctx: CollectContext) -> CollectResult:
    CALLS.append(ctx.time_ns)
    result = CollectResult(targets_total=len(ctx.config.targets))
    for target in ctx.config.targets:
        if target == "down":
            result.errors.append(TargetError(target, "connection refused"))
            continue
        result.points.append(
            Point("fake", {**ctx.base_tags, "host": target}, {"cycle": len(CALLS)}, ctx.time_ns)
        )
    return result
