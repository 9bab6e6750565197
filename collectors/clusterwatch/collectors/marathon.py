"""Marathon: per-app state from the leader, and every instance's own ``/metrics``.

Fetch (per cycle): ``/v2/leader`` on the first instance that answers; from the leader
``/v2/apps`` (embedding counts, deployments, the last task failure and task stats),
``/v2/queue`` and ``/v2/deployments``; from every instance ``/metrics``.

``/metrics`` comes in two formats, one table each (the format is recognised by its names):

- **Codahale** (Marathon up to 1.6): ``service.mesosphere.marathon.*`` gauges, Jetty timers and
  meters, ``jvm.*`` gauges; times in milliseconds.
- **1.7+**: names end with their type and unit (``marathon.apps.active.gauge``,
  ``marathon.uptime.gauge.seconds``, ``marathon.mesos.offers.incoming.counter``,
  ``marathon.http.requests.duration.timer.seconds``).

A queue entry's instances are *unplaceable* when Marathon processed offers for it and used
none (``processedOffersSummary``: ``unusedOffersCount`` equals ``processedOffersCount`` > 0).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from clusterwatch.collectors.common import (
    MB,
    Schema,
    age_seconds,
    as_dict,
    as_list,
    dicts,
    fan_out,
    guarded,
    host_of,
    join,
    merge,
)
from clusterwatch.collectors.discovery import adopt_leader, marathon_instances, marathon_leader
from clusterwatch.core.collect import CollectContext, CollectResult
from clusterwatch.core.metric_table import COUNTER, FLAG, GAUGE, FieldValue, MetricTable
from clusterwatch.core.point import Point

APPS_PATH = (
    "/v2/apps?embed=apps.counts&embed=apps.deployments"
    "&embed=apps.lastTaskFailure&embed=apps.taskStats"
)

APP = MetricTable("marathon_app", {
    "instances":                        ("instances",                 GAUGE),
    "tasksRunning":                     ("tasks_running",             GAUGE),
    "tasksStaged":                      ("tasks_staged",              GAUGE),
    "tasksHealthy":                     ("tasks_healthy",             GAUGE),
    "tasksUnhealthy":                   ("tasks_unhealthy",           GAUGE),
    "cpus":                             ("cpus_per_instance",         GAUGE),
    "gpus":                             ("gpus_per_instance",         GAUGE),
    "mem":                              ("mem_per_instance_bytes",    GAUGE, MB),
    "disk":                             ("disk_per_instance_bytes",   GAUGE, MB),
    ("taskStats", "totalSummary", "stats", "lifeTime", "averageSeconds"):
                                        ("task_lifetime_average_seconds", GAUGE),
})

QUEUE = MetricTable("marathon_app", {
    "count":                            ("instances_waiting",         GAUGE),
    ("delay", "timeLeftSeconds"):       ("launch_delay_seconds",      GAUGE),
    ("delay", "overdue"):               ("launch_overdue",            FLAG),
    ("processedOffersSummary", "processedOffersCount"): ("offers_processed", GAUGE),
    ("processedOffersSummary", "unusedOffersCount"):    ("offers_unused",    GAUGE),
})

_GAUGE = "gauges"
_COUNTER = "counters"
_TIMER = "timers"
_METER = "meters"
_JETTY = "org.eclipse.jetty.servlet.ServletContextHandler"
_OLD = "service.mesosphere.marathon"

# Codahale format (Marathon <= 1.6): times in milliseconds, Jetty request metrics.
METRICS_CODAHALE = MetricTable("marathon", {
    (_GAUGE, f"{_OLD}.uptime", "value"):          ("uptime_seconds",          GAUGE, 1e-3),
    (_GAUGE, f"{_OLD}.leaderDuration", "value"):  ("leader_duration_seconds", GAUGE, 1e-3),
    (_GAUGE, f"{_OLD}.app.count", "value"):       ("apps",                    GAUGE),
    (_GAUGE, f"{_OLD}.group.count", "value"):     ("groups",                  GAUGE),
    (_GAUGE, f"{_OLD}.task.running.count", "value"): ("tasks_running",        GAUGE),
    (_GAUGE, f"{_OLD}.task.staged.count", "value"):  ("tasks_staged",         GAUGE),
    (_GAUGE, "jvm.memory.heap.used", "value"):    ("jvm_heap_used_bytes",     GAUGE),
    (_GAUGE, "jvm.memory.heap.max", "value"):     ("jvm_heap_max_bytes",      GAUGE),
    (_GAUGE, "jvm.threads.count", "value"):       ("jvm_threads",             GAUGE),
    (_COUNTER, f"{_JETTY}.active-requests", "count"): ("http_requests_active", GAUGE),
    (_TIMER, f"{_JETTY}.requests", "count"):      ("http_requests_total",     COUNTER),
    (_TIMER, f"{_JETTY}.requests", "mean"):       ("http_request_mean_seconds", GAUGE),
    (_METER, f"{_JETTY}.4xx-responses", "count"): ("http_responses_4xx_total", COUNTER),
    (_METER, f"{_JETTY}.5xx-responses", "count"): ("http_responses_5xx_total", COUNTER),
})

# 1.7+ format: the type and unit are part of each name; times in seconds.
_NEW = "marathon"
METRICS_1_7 = MetricTable("marathon", {
    (_GAUGE, f"{_NEW}.uptime.gauge.seconds", "value"): ("uptime_seconds",     GAUGE),
    (_GAUGE, f"{_NEW}.leadership.duration.gauge.seconds", "value"):
                                                  ("leader_duration_seconds", GAUGE),
    (_GAUGE, f"{_NEW}.apps.active.gauge", "value"):    ("apps",               GAUGE),
    (_GAUGE, f"{_NEW}.groups.active.gauge", "value"):  ("groups",             GAUGE),
    (_GAUGE, f"{_NEW}.pods.active.gauge", "value"):    ("pods",               GAUGE),
    (_GAUGE, f"{_NEW}.deployments.active.gauge", "value"): ("deployments_active", GAUGE),
    (_GAUGE, f"{_NEW}.instances.running.gauge", "value"):  ("tasks_running",  GAUGE),
    (_GAUGE, f"{_NEW}.instances.staged.gauge", "value"):   ("tasks_staged",   GAUGE),
    (_GAUGE, f"{_NEW}.instances.launch-overdue.gauge", "value"):
                                                  ("instances_launch_overdue", GAUGE),
    (_GAUGE, f"{_NEW}.jvm.memory.heap.used.gauge.bytes", "value"):
                                                  ("jvm_heap_used_bytes",     GAUGE),
    (_GAUGE, f"{_NEW}.jvm.memory.heap.max.gauge.bytes", "value"):
                                                  ("jvm_heap_max_bytes",      GAUGE),
    (_GAUGE, f"{_NEW}.jvm.threads.active.gauge", "value"): ("jvm_threads",    GAUGE),
    (_GAUGE, f"{_NEW}.http.requests.active.gauge", "value"):
                                                  ("http_requests_active",    GAUGE),
    (_TIMER, f"{_NEW}.http.requests.duration.timer.seconds", "count"):
                                                  ("http_requests_total",     COUNTER),
    (_TIMER, f"{_NEW}.http.requests.duration.timer.seconds", "mean"):
                                                  ("http_request_mean_seconds", GAUGE),
    (_METER, f"{_NEW}.http.responses.4xx.rate.meter", "count"):
                                                  ("http_responses_4xx_total", COUNTER),
    (_METER, f"{_NEW}.http.responses.5xx.rate.meter", "count"):
                                                  ("http_responses_5xx_total", COUNTER),
    (_COUNTER, f"{_NEW}.deployments.counter", "count"): ("deployments_total", COUNTER),
    (_COUNTER, f"{_NEW}.mesos.offers.incoming.counter", "count"):
                                                  ("offers_incoming_total",   COUNTER),
    (_COUNTER, f"{_NEW}.mesos.offers.used.counter", "count"):
                                                  ("offers_used_total",       COUNTER),
    (_COUNTER, f"{_NEW}.mesos.offers.declined.counter", "count"):
                                                  ("offers_declined_total",   COUNTER),
})

SCHEMAS = (
    Schema("marathon_app", ("cluster", "app"),
           "Each app from the leader's /v2/apps, with its /v2/queue entry (zeros when it "
           "waits for nothing).", (APP, QUEUE),
           {"deployments": GAUGE, "last_task_failure_age_seconds": GAUGE,
            "instances_unplaceable": GAUGE}),
    Schema("marathon", ("cluster", "host"),
           "Each Marathon instance's own /metrics (either format), whether it leads, and on "
           "the leader the totals of /v2/deployments and /v2/queue.",
           (METRICS_CODAHALE, METRICS_1_7),
           {"leader": FLAG, "deployments": GAUGE, "queue_instances_waiting": GAUGE,
            "queue_instances_unplaceable": GAUGE}),
)


def metrics_table(doc: Mapping[str, Any]) -> MetricTable:
    """The table for this ``/metrics`` body: 1.7+ when any gauge is named ``marathon.*``."""
    gauges = doc.get(_GAUGE)
    names = gauges.keys() if isinstance(gauges, dict) else ()
    return METRICS_1_7 if any(n.startswith(f"{_NEW}.") for n in names) else METRICS_CODAHALE


def map_metrics(
    doc: Any, host: str, is_leader: bool, tags: Mapping[str, str], time_ns: int,
    leader_fields: Mapping[str, FieldValue] | None = None,
) -> Point | None:
    body = as_dict(doc, "/metrics")
    extra: dict[str, FieldValue] = {"leader": is_leader, **(leader_fields or {})}
    return metrics_table(body).point(body, {**tags, "host": host}, time_ns, extra)


def _unplaceable(entry: Mapping[str, Any]) -> float:
    summary = entry.get("processedOffersSummary")
    if not isinstance(summary, dict):
        return 0.0
    processed, unused = summary.get("processedOffersCount"), summary.get("unusedOffersCount")
    waiting = entry.get("count")
    if isinstance(processed, int) and processed > 0 and unused == processed:
        return float(waiting) if isinstance(waiting, int | float) else 0.0
    return 0.0


def _queue_key(entry: Mapping[str, Any]) -> str | None:
    for kind in ("app", "pod"):
        spec = entry.get(kind)
        if isinstance(spec, dict) and isinstance(spec.get("id"), str):
            return str(spec["id"])
    return None


def queue_fields(doc: Any) -> dict[str, dict[str, FieldValue]]:
    """``/v2/queue`` -> app (or pod) id -> its queue fields."""
    out: dict[str, dict[str, FieldValue]] = {}
    for entry in dicts(as_list(as_dict(doc, "/v2/queue").get("queue"), "queue")):
        key = _queue_key(entry)
        if key is not None:
            values = QUEUE.field_values(entry)
            values["instances_unplaceable"] = _unplaceable(entry)
            out[key] = values
    return out


def map_apps(
    doc: Any,
    queue: Mapping[str, Mapping[str, FieldValue]],
    tags: Mapping[str, str],
    time_ns: int,
    now_ns: int | None = None,
) -> list[Point]:
    """``/v2/apps`` (+ the queue by app id) -> one ``marathon_app`` point per app; the last
    failure's age counts to ``now_ns`` (when the apps were read; default ``time_ns``)."""
    now_ns = time_ns if now_ns is None else now_ns
    body = as_dict(doc, "/v2/apps")
    apps = [body["app"]] if isinstance(body.get("app"), dict) else dicts(
        as_list(body.get("apps"), "apps")
    )
    points: list[Point] = []
    seen: set[str] = set()
    idle: dict[str, FieldValue] = {"instances_waiting": 0.0, "instances_unplaceable": 0.0}
    for app in apps:
        app_id = app.get("id")
        if not isinstance(app_id, str) or not app_id:
            continue
        seen.add(app_id)
        extra: dict[str, FieldValue] = {**idle, **queue.get(app_id, {})}
        if isinstance(app.get("deployments"), list):
            extra["deployments"] = float(len(app["deployments"]))
        failure = app.get("lastTaskFailure")
        age = age_seconds(failure.get("timestamp"), now_ns) if isinstance(failure, dict) else None
        if age is not None:
            extra["last_task_failure_age_seconds"] = age
        point = APP.point(app, {**tags, "app": app_id}, time_ns, extra)
        if point is not None:
            points.append(point)
    for key, values in queue.items():  # queued pods and apps not in the list
        if key not in seen:
            points.append(Point("marathon_app", {**tags, "app": key}, dict(values), time_ns))
    return points


def leader_totals(
    deployments: Any, queue: Mapping[str, Mapping[str, FieldValue]]
) -> dict[str, FieldValue]:
    out: dict[str, FieldValue] = {}
    if isinstance(deployments, list):
        out["deployments"] = float(len(deployments))
    out["queue_instances_waiting"] = float(
        sum(float(v.get("instances_waiting", 0.0)) for v in queue.values())
    )
    out["queue_instances_unplaceable"] = float(
        sum(float(v.get("instances_unplaceable", 0.0)) for v in queue.values())
    )
    return out


def _instance_metrics(
    ctx: CollectContext, url: str, leader: str | None, totals: Mapping[str, FieldValue]
) -> CollectResult:
    result = CollectResult(targets_total=1)
    target = join(url, "/metrics")
    is_leader = url == leader
    point = guarded(
        result,
        target,
        lambda: map_metrics(
            ctx.http.get_json(target), host_of(url), is_leader, ctx.base_tags, ctx.time_ns,
            totals if is_leader else None,
        ),
    )
    if point is not None:
        result.points.append(point)
    return result


def collect(ctx: CollectContext) -> CollectResult:
    result = CollectResult()
    instances = marathon_instances(ctx)
    leader = guarded(result, "marathon", lambda: marathon_leader(ctx.http, instances))
    totals: dict[str, FieldValue] = {}
    if leader is not None:
        queue_url, deploy_url, apps_url = (
            join(leader, p) for p in ("/v2/queue", "/v2/deployments", APPS_PATH)
        )
        queue = guarded(result, queue_url, lambda: queue_fields(ctx.http.get_json(queue_url)))
        apps = guarded(
            result,
            apps_url,
            lambda: map_apps(
                ctx.http.get_json(apps_url), queue or {}, ctx.base_tags, ctx.time_ns,
                time.time_ns(),
            ),
        )
        result.points.extend(apps or [])
        deployments = guarded(result, deploy_url, lambda: ctx.http.get_json(deploy_url))
        totals = leader_totals(deployments, queue or {})
        instances, leader = adopt_leader(instances, leader)
    merge(result, fan_out(lambda url: _instance_metrics(ctx, url, leader, totals), instances))
    result.targets_total = max(result.targets_total, 1)
    return result
