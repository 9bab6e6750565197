"""Mesos masters: cluster-wide metrics from the leader, each master's own health, frameworks.

Fetch (per cycle): the leader (``/master/redirect`` or ZooKeeper), then exactly one
``/metrics/snapshot`` per master (the endpoint is rate-limited: an HTTP 429 is recorded and
that master is skipped this cycle; no filtered or ``jsonp`` snapshots), and the leader's
``/master/state-summary`` for the frameworks (``/master/frameworks``, which lists every
task, only from masters without it).

Cluster data (``mesos_cluster``) is written only from the snapshot of the master discovery
names as the leader *and* whose snapshot says ``master/elected`` 1: a standby answers the
snapshot too, with zeros for every cluster metric, and must never be written as cluster data.
A master that claims to lead (``master/elected`` 1) while discovery names another is a
per-target error and only its own ``mesos_master`` point is written: ZooKeeper's lowest
znode, or the leader most masters' ``/master/redirect`` name, is the authority.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from clusterwatch.collectors.common import (
    MESOS_COUNTS,
    MESOS_SIZES,
    MESOS_SYSTEM,
    Schema,
    as_dict,
    as_list,
    dicts,
    fan_out,
    guarded,
    host_of,
    join,
    merge,
    mesos_resources,
)
from clusterwatch.collectors.discovery import Masters, find_masters
from clusterwatch.collectors.master_summary import SUMMARY, leader_frameworks
from clusterwatch.core.collect import CollectContext, CollectResult, TargetError
from clusterwatch.core.errors import FetchError
from clusterwatch.core.metric_table import COUNTER, FLAG, GAUGE, TEXT, MetricTable
from clusterwatch.core.point import Point

CLUSTER = MetricTable("mesos_cluster", {
    **mesos_resources(lambda r: f"master/{r}_total", "total"),
    **mesos_resources(lambda r: f"master/{r}_used", "used"),
    **{f"master/{r}_percent": (f"{r}_used_ratio", GAUGE) for r in (*MESOS_COUNTS, *MESOS_SIZES)},
    "master/cpus_revocable_total":      ("cpus_revocable_total",       GAUGE),
    "master/cpus_revocable_used":       ("cpus_revocable_used",        GAUGE),
    "master/slaves_active":             ("agents_active",              GAUGE),
    "master/slaves_inactive":           ("agents_inactive",            GAUGE),
    "master/slaves_connected":          ("agents_connected",           GAUGE),
    "master/slaves_disconnected":       ("agents_disconnected",        GAUGE),
    "master/slaves_unreachable":        ("agents_unreachable",         GAUGE),
    "master/slave_registrations":       ("agent_registrations_total",  COUNTER),
    "master/slave_reregistrations":     ("agent_reregistrations_total", COUNTER),
    "master/slave_removals":            ("agent_removals_total",       COUNTER),
    "master/frameworks_active":         ("frameworks_active",          GAUGE),
    "master/frameworks_inactive":       ("frameworks_inactive",        GAUGE),
    "master/frameworks_connected":      ("frameworks_connected",       GAUGE),
    "master/frameworks_disconnected":   ("frameworks_disconnected",    GAUGE),
    "master/tasks_staging":             ("tasks_staging",              GAUGE),
    "master/tasks_starting":            ("tasks_starting",             GAUGE),
    "master/tasks_running":             ("tasks_running",              GAUGE),
    "master/tasks_killing":             ("tasks_killing",              GAUGE),
    "master/tasks_unreachable":         ("tasks_unreachable",          GAUGE),
    "master/tasks_finished":            ("tasks_finished_total",       COUNTER),
    "master/tasks_failed":              ("tasks_failed_total",         COUNTER),
    "master/tasks_killed":              ("tasks_killed_total",         COUNTER),
    "master/tasks_lost":                ("tasks_lost_total",           COUNTER),
    "master/tasks_error":               ("tasks_error_total",          COUNTER),
    "master/tasks_dropped":             ("tasks_dropped_total",        COUNTER),
    "master/tasks_gone":                ("tasks_gone_total",           COUNTER),
    "master/outstanding_offers":        ("offers_outstanding",         GAUGE),
    "master/event_queue_messages":      ("event_queue_messages",       GAUGE),
    "master/event_queue_dispatches":    ("event_queue_dispatches",     GAUGE),
    "master/event_queue_http_requests": ("event_queue_http_requests",  GAUGE),
    "allocator/mesos/allocation_runs":  ("allocation_runs_total",      COUNTER),
})

_MESSAGES = (
    "launch_tasks", "kill_task", "status_update", "status_update_acknowledgement",
    "decline_offers", "revive_offers", "reconcile_tasks", "register_framework",
    "reregister_framework", "unregister_framework", "register_slave", "reregister_slave",
    "unregister_slave", "framework_to_executor", "executor_to_framework", "exited_executor",
)

MASTER = MetricTable("mesos_master", {
    "master/elected":                   ("elected",                    FLAG),
    "master/uptime_secs":               ("uptime_seconds",             GAUGE),
    "registrar/log/recovered":          ("log_recovered",              FLAG),
    "log/recovered":                    ("log_recovered",              FLAG),
    "registrar/log/ensemble_size":      ("log_ensemble_size",          GAUGE),
    "registrar/queued_operations":      ("registrar_queued_operations", GAUGE),
    "registrar/registry_size_bytes":    ("registrar_registry_size_bytes", GAUGE),
    "registrar/state_fetch_ms":         ("registrar_state_fetch_seconds", GAUGE, 1e-3),
    "registrar/state_store_ms":         ("registrar_state_store_seconds", GAUGE, 1e-3),
    "registrar/state_store_ms/p99":     ("registrar_state_store_p99_seconds", GAUGE, 1e-3),
    "master/dropped_messages":          ("messages_dropped_total",     COUNTER),
    "master/valid_status_updates":      ("status_updates_valid_total", COUNTER),
    "master/invalid_status_updates":    ("status_updates_invalid_total", COUNTER),
    **{f"master/messages_{m}": (f"messages_{m}_total", COUNTER) for m in _MESSAGES},
    **MESOS_SYSTEM,
})

FRAMEWORK = MetricTable("mesos_framework", {
    "active":                           ("active",                     FLAG),
    "connected":                        ("connected",                  FLAG),
    "id":                               ("framework_id",               TEXT),
    **mesos_resources(lambda r: ("used_resources", r), "used"),
    **mesos_resources(lambda r: ("offered_resources", r), "offered"),
})

SCHEMAS = (
    Schema("mesos_cluster", ("cluster",),
           "Cluster-wide resources, agents, frameworks, tasks and offers, from the leading "
           "master's /metrics/snapshot only.", (CLUSTER,)),
    Schema("mesos_master", ("cluster", "host"),
           "Every master's own health from its /metrics/snapshot (standbys included).",
           (MASTER,), {"leader": FLAG}),
    Schema("mesos_framework", ("cluster", "framework"),
           "Each registered framework's resources, from the leader's /master/frameworks.",
           (FRAMEWORK,), {"tasks": GAUGE}),
)


def snapshot_dict(doc: Any) -> dict[str, Any]:
    """A ``/metrics/snapshot`` body as a dict; operator-API ``GET_METRICS`` bodies also work."""
    body = as_dict(doc, "/metrics/snapshot")
    if body.get("type") != "GET_METRICS":
        return body
    wrapped = body.get("get_metrics")
    listed = wrapped.get("metrics") if isinstance(wrapped, dict) else None
    return {m["name"]: m.get("value") for m in dicts(listed) if isinstance(m.get("name"), str)}


def map_snapshot(
    doc: Any, host: str, is_leader: bool, tags: Mapping[str, str], time_ns: int
) -> tuple[list[Point], list[str]]:
    """One master's snapshot -> its ``mesos_master`` point, plus ``mesos_cluster`` if it leads.

    Returns the points and the problems found (a "leader" whose snapshot says it is not
    elected yields no cluster point and a problem).
    """
    snapshot = snapshot_dict(doc)
    problems: list[str] = []
    points: list[Point] = []
    own = MASTER.point(snapshot, {**tags, "host": host}, time_ns, {"leader": is_leader})
    if own is not None:
        points.append(own)
    elected = snapshot.get("master/elected")
    claims = elected in (1, 1.0, True)
    if is_leader:
        if claims:
            cluster = CLUSTER.point(snapshot, tags, time_ns)
            if cluster is not None:
                points.append(cluster)
        else:
            problems.append(
                f"named leader by discovery but its snapshot has master/elected={elected!r}: "
                "no cluster data written"
            )
    elif claims:
        problems.append(
            "snapshot says master/elected=1 but discovery names another leader: "
            "its cluster data is not written"
        )
    return points, problems


_ACTIVE_STATES = ("TASK_STAGING", "TASK_STARTING", "TASK_RUNNING", "TASK_KILLING")


def active_tasks(fw: Mapping[str, Any]) -> float | None:
    """A framework's non-terminal tasks: its ``tasks`` list (``/master/frameworks``), else the
    sum of its ``TASK_*`` counts of the active states (``/master/state-summary``)."""
    tasks = fw.get("tasks")
    if isinstance(tasks, list):
        return float(len(tasks))
    counts = [fw.get(state) for state in _ACTIVE_STATES]
    numbers = [c for c in counts if isinstance(c, int | float) and not isinstance(c, bool)]
    return float(sum(numbers)) if numbers else None


def map_frameworks(doc: Any, tags: Mapping[str, str], time_ns: int) -> list[Point]:
    """The leader's ``/master/state-summary``, ``/master/frameworks`` or ``/master/state`` ->
    one point per framework."""
    points: list[Point] = []
    body = as_dict(doc, "/master/frameworks")
    for fw in dicts(as_list(body.get("frameworks"), "frameworks")):
        name = fw.get("name")
        if not isinstance(name, str) or not name:
            continue
        tasks = active_tasks(fw)
        extra = {"tasks": tasks} if tasks is not None else None
        point = FRAMEWORK.point(fw, {**tags, "framework": name}, time_ns, extra)
        if point is not None:
            points.append(point)
    return points


def _fetch_snapshot(ctx: CollectContext, url: str) -> Any:
    try:
        return ctx.http.get_json(url)
    except FetchError as exc:
        if exc.status == 429:
            reason = "snapshot rate limit hit, master skipped this cycle"
            raise FetchError(exc.target, reason, 429) from None
        raise


def _snapshot_of(ctx: CollectContext, masters: Masters, url: str) -> CollectResult:
    result = CollectResult(targets_total=1)
    target = join(url, "/metrics/snapshot")

    def fetch_and_map() -> None:
        points, problems = map_snapshot(
            _fetch_snapshot(ctx, target),
            host_of(url),
            url == masters.leader,
            ctx.base_tags,
            ctx.time_ns,
        )
        result.points.extend(points)
        result.errors.extend(TargetError(target, problem) for problem in problems)

    guarded(result, target, fetch_and_map)
    return result


def collect(ctx: CollectContext) -> CollectResult:
    result = CollectResult()
    masters = guarded(result, "mesos masters", lambda: find_masters(ctx))
    if masters is None:
        result.targets_total = max(1, len(ctx.config.targets or ctx.cluster.mesos_masters))
        return result
    merge(result, fan_out(lambda url: _snapshot_of(ctx, masters, url), masters.urls))
    if masters.leader is not None:
        leader = masters.leader
        target = join(leader, SUMMARY)
        frameworks = guarded(
            result,
            target,
            lambda: map_frameworks(leader_frameworks(ctx, leader), ctx.base_tags, ctx.time_ns),
        )
        result.points.extend(frameworks or [])
    return result

