"""Chronos: each job's success and error counts, errors since the last success, run ages.

Fetch (per cycle, from the source's first target or ``cluster.chronos``): the job list,
``/v1/scheduler/jobs`` (Chronos 3) falling back to ``/scheduler/jobs`` (Chronos 2) on 404, and
``/scheduler/graph/csv`` for each job's last status and state (optional: a failure there is
recorded, the job points are still written).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from clusterwatch.collectors.common import (
    Schema,
    age_seconds,
    as_list,
    base_url,
    dicts,
    guarded,
    join,
)
from clusterwatch.core.collect import CollectContext, CollectResult, TargetError
from clusterwatch.core.errors import FetchError
from clusterwatch.core.metric_table import COUNTER, FLAG, GAUGE, TEXT, FieldValue, MetricTable
from clusterwatch.core.point import Point

CHRONOS_PORT = 4400
JOB_PATHS = ("/v1/scheduler/jobs", "/scheduler/jobs")
GRAPH_PATHS = ("/v1/scheduler/graph/csv", "/scheduler/graph/csv")

JOB = MetricTable("chronos_job", {
    "successCount":             ("successes_total",             COUNTER),
    "errorCount":               ("errors_total",                COUNTER),
    "errorsSinceLastSuccess":   ("errors_since_last_success",   GAUGE),
    "disabled":                 ("disabled",                    FLAG),
    "retries":                  ("retries",                     GAUGE),
})

SCHEMAS = (
    Schema("chronos_job", ("cluster", "job"),
           "Each Chronos job; ages are seconds since the last success, error and either.",
           (JOB,),
           {"last_success_age_seconds": GAUGE, "last_error_age_seconds": GAUGE,
            "last_run_age_seconds": GAUGE, "last_status": TEXT, "state": TEXT}),
)


def parse_graph(text: str) -> dict[str, tuple[str, str]]:
    """``node,<job>,<lastStatus>,<state>`` lines -> job -> (last status, state)."""
    out: dict[str, tuple[str, str]] = {}
    for line in text.splitlines():
        cells = line.strip().split(",")
        if len(cells) == 4 and cells[0] == "node":
            out[cells[1]] = (cells[2], cells[3])
    return out


def map_jobs(doc: Any, graph: Mapping[str, tuple[str, str]], tags: Mapping[str, str],
             time_ns: int, now_ns: int | None = None) -> list[Point]:
    """The job list -> one point per job; ages count to ``now_ns`` (when the list was read;
    default ``time_ns``), not to the cycle's aligned timestamp, which may lie before the run."""
    now_ns = time_ns if now_ns is None else now_ns
    points: list[Point] = []
    for job in dicts(as_list(doc, "/scheduler/jobs")):
        name = job.get("name")
        if not isinstance(name, str) or not name:
            continue
        extra: dict[str, FieldValue] = {}
        ages = {
            "last_success_age_seconds": age_seconds(job.get("lastSuccess"), now_ns),
            "last_error_age_seconds": age_seconds(job.get("lastError"), now_ns),
        }
        extra.update({k: v for k, v in ages.items() if v is not None})
        known = [v for v in ages.values() if v is not None]
        if known:
            extra["last_run_age_seconds"] = min(known)
        if name in graph:
            extra["last_status"], extra["state"] = graph[name]
        point = JOB.point(job, {**tags, "job": name}, time_ns, extra)
        if point is not None:
            points.append(point)
    return points


def _first_found(ctx: CollectContext, base: str, paths: tuple[str, ...], text: bool) -> Any:
    """The body of the first path that is not a 404 (Chronos 3 moved the API under /v1)."""
    for path in paths[:-1]:
        try:
            return _get(ctx, join(base, path), text)
        except FetchError as exc:
            if exc.status != 404:
                raise
    return _get(ctx, join(base, paths[-1]), text)


def _get(ctx: CollectContext, url: str, text: bool) -> Any:
    return ctx.http.get_text(url) if text else ctx.http.get_json(url)


def collect(ctx: CollectContext) -> CollectResult:
    result = CollectResult(targets_total=1)
    listed = ctx.config.targets[:1] or ((ctx.cluster.chronos,) if ctx.cluster.chronos else ())
    if not listed:
        result.errors.append(TargetError("chronos", "no Chronos address configured"))
        return result
    base = base_url(listed[0], CHRONOS_PORT)
    jobs = guarded(result, join(base, JOB_PATHS[0]),
                   lambda: _first_found(ctx, base, JOB_PATHS, text=False))
    read_ns = time.time_ns()
    if jobs is None:
        return result
    graph = guarded(result, join(base, GRAPH_PATHS[0]),
                    lambda: parse_graph(_first_found(ctx, base, GRAPH_PATHS, text=True)))
    points = guarded(result, join(base, JOB_PATHS[0]),
                     lambda: map_jobs(jobs, graph or {}, ctx.base_tags, ctx.time_ns, read_ns))
    result.points.extend(points or [])
    return result
