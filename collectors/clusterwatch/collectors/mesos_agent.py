"""Mesos agents: every registered agent, its own snapshot, and its executors' resource usage.

Fetch (per cycle): the leader's ``/master/state-summary`` (every registered agent: hostname,
pid ``slave(1)@ip:port``, resources, used resources, active; and the framework names for the
executor tags, without the tasks ``/master/frameworks`` would list; masters without it are
read through ``/master/slaves`` and ``/master/frameworks``; the summary is read once per
cycle for every source that maps it, see ``master_summary``); then, per *active* agent,
``/metrics/snapshot`` and ``/monitor/statistics``. An agent that fails is a per-target error;
its master-side view (resources, ``active``) is still written. Inactive agents are not
fetched: each is a per-target error (the master says it is unreachable or deactivated) and
its ``active`` field is false. When several daemons split the agents (``ctx.owns_agent``),
only this daemon's agents are written, master-side view included.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from clusterwatch.collectors.common import (
    MESOS_SYSTEM,
    Schema,
    as_dict,
    as_list,
    collect_each_async,
    dicts,
    guarded,
    guarded_async,
    join,
    marathon_app_id,
    mesos_resources,
)
from clusterwatch.collectors.discovery import INACTIVE, agent_url, find_leader, owned_agents
from clusterwatch.collectors.master_summary import (
    SUMMARY,
    Summary,
    leader_agents,
    leader_frameworks,
)
from clusterwatch.core.collect import CollectContext, CollectResult, TargetError
from clusterwatch.core.http_async import AsyncHttp
from clusterwatch.core.metric_table import (
    COUNTER,
    CUMULATIVE,
    FLAG,
    GAUGE,
    TEXT,
    FieldValue,
    MetricTable,
)
from clusterwatch.core.point import Point

# The master's view of an agent (an element of /master/slaves).
REGISTERED = MetricTable("mesos_agent", {
    "active":                              ("active",                   FLAG),
    "id":                                  ("agent_id",                 TEXT),
    **mesos_resources(lambda r: ("resources", r), "total"),
    **mesos_resources(lambda r: ("used_resources", r), "used"),
})

# The agent's own /metrics/snapshot (resources come from the master's view above).
SNAPSHOT = MetricTable("mesos_agent", {
    "slave/registered":                    ("registered",               FLAG),
    "slave/uptime_secs":                   ("uptime_seconds",           GAUGE),
    "slave/tasks_staging":                 ("tasks_staging",            GAUGE),
    "slave/tasks_starting":                ("tasks_starting",           GAUGE),
    "slave/tasks_running":                 ("tasks_running",            GAUGE),
    "slave/tasks_killing":                 ("tasks_killing",            GAUGE),
    "slave/tasks_finished":                ("tasks_finished_total",     COUNTER),
    "slave/tasks_failed":                  ("tasks_failed_total",       COUNTER),
    "slave/tasks_killed":                  ("tasks_killed_total",       COUNTER),
    "slave/tasks_lost":                    ("tasks_lost_total",         COUNTER),
    "slave/tasks_gone":                    ("tasks_gone_total",         COUNTER),
    "slave/executors_registering":         ("executors_registering",    GAUGE),
    "slave/executors_running":             ("executors_running",        GAUGE),
    "slave/executors_terminating":         ("executors_terminating",    GAUGE),
    "slave/executors_terminated":          ("executors_terminated_total", COUNTER),
    "slave/executors_preempted":           ("executors_preempted_total", COUNTER),
    "slave/frameworks_active":             ("frameworks_active",        GAUGE),
    "slave/container_launch_errors":       ("container_launch_errors_total", COUNTER),
    "slave/recovery_errors":               ("recovery_errors_total",    COUNTER),
    "slave/valid_status_updates":          ("status_updates_valid_total", COUNTER),
    "slave/invalid_status_updates":        ("status_updates_invalid_total", COUNTER),
    "containerizer/mesos/container_destroy_errors": ("container_destroy_errors_total", COUNTER),
    "gc/path_removals_failed":             ("gc_path_removals_failed_total", COUNTER),
    **MESOS_SYSTEM,
})

# One element's "statistics" of /monitor/statistics (ResourceStatistics).
EXECUTOR = MetricTable("mesos_executor", {
    "cpus_limit":                          ("cpus_limit",               GAUGE),
    "cpus_user_time_secs":                 ("cpu_user_seconds_total",   CUMULATIVE),
    "cpus_system_time_secs":               ("cpu_system_seconds_total", CUMULATIVE),
    "cpus_nr_periods":                     ("cpu_periods_total",        COUNTER),
    "cpus_nr_throttled":                   ("cpu_throttled_periods_total", COUNTER),
    "cpus_throttled_time_secs":            ("cpu_throttled_seconds_total", CUMULATIVE),
    "mem_limit_bytes":                     ("mem_limit_bytes",          GAUGE),
    "mem_rss_bytes":                       ("mem_rss_bytes",            GAUGE),
    "mem_total_bytes":                     ("mem_total_bytes",          GAUGE),
    "mem_cache_bytes":                     ("mem_cache_bytes",          GAUGE),
    "mem_file_bytes":                      ("mem_cache_bytes",          GAUGE),
    "mem_anon_bytes":                      ("mem_anon_bytes",           GAUGE),
    "mem_mapped_file_bytes":               ("mem_mapped_file_bytes",    GAUGE),
    "disk_limit_bytes":                    ("disk_limit_bytes",         GAUGE),
    "disk_used_bytes":                     ("disk_used_bytes",          GAUGE),
    "net_rx_bytes":                        ("net_rx_bytes_total",       COUNTER),
    "net_tx_bytes":                        ("net_tx_bytes_total",       COUNTER),
    "net_rx_errors":                       ("net_rx_errors_total",      COUNTER),
    "net_tx_errors":                       ("net_tx_errors_total",      COUNTER),
    "net_rx_dropped":                      ("net_rx_dropped_total",     COUNTER),
    "net_tx_dropped":                      ("net_tx_dropped_total",     COUNTER),
})

SCHEMAS = (
    Schema("mesos_agent", ("cluster", "host"),
           "Every registered agent: the leader's view (resources, active) merged with the "
           "agent's own /metrics/snapshot.", (REGISTERED, SNAPSHOT)),
    Schema("mesos_executor", ("cluster", "host", "framework", "app"),
           "Each executor's resource usage from its agent's /monitor/statistics; ``app`` is "
           "the Marathon app id when the task id is a Marathon one.", (EXECUTOR,),
           {"executor_id": TEXT, "task_id": TEXT}),
)

def framework_names(doc: Any) -> dict[str, str]:
    """``/master/frameworks`` -> framework id -> name (completed frameworks included)."""
    body = as_dict(doc, "/master/frameworks")
    out: dict[str, str] = {}
    for key in ("frameworks", "completed_frameworks"):
        for fw in dicts(body.get(key)):
            if isinstance(fw.get("id"), str) and isinstance(fw.get("name"), str):
                out[fw["id"]] = fw["name"]
    return out


def map_agent(
    agent: Mapping[str, Any],
    snapshot: Mapping[str, Any] | None,
    tags: Mapping[str, str],
    time_ns: int,
) -> Point | None:
    """One agent's point: the master's view, plus its own snapshot when it answered."""
    extra: dict[str, FieldValue] = SNAPSHOT.field_values(snapshot) if snapshot else {}
    return REGISTERED.point(agent, {**tags, "host": str(agent["hostname"])}, time_ns, extra)


def map_executors(
    doc: Any,
    host: str,
    frameworks: Mapping[str, str],
    tags: Mapping[str, str],
    time_ns: int,
) -> list[Point]:
    """``/monitor/statistics`` -> one point per executor; ids are fields, not tags."""
    points: list[Point] = []
    host_tags = {**tags, "host": host}  # the table copies the tags into each point
    for item in dicts(as_list(doc, "/monitor/statistics")):
        stats = item.get("statistics")
        if not isinstance(stats, dict):
            continue
        executor_id = item.get("executor_id")
        task_id = item.get("source") or executor_id
        point_tags = host_tags
        framework = frameworks.get(str(item.get("framework_id")))
        app = marathon_app_id(task_id)
        if framework or app:
            point_tags = dict(host_tags)
            if framework:
                point_tags["framework"] = framework
            if app:
                point_tags["app"] = app
        ids = {
            name: value
            for name, value in (("executor_id", executor_id), ("task_id", task_id))
            if isinstance(value, str) and value
        }
        point = EXECUTOR.point(stats, point_tags, time_ns, ids)
        if point is not None:
            points.append(point)
    return points


async def _collect_agent(
    ctx: CollectContext, client: AsyncHttp, agent: dict[str, Any], frameworks: Mapping[str, str]
) -> CollectResult:
    result = CollectResult(targets_total=1)
    url = agent_url(agent)
    snapshot: dict[str, Any] | None = None
    if url is None:
        result.errors.append(TargetError(str(agent["hostname"]), "agent has no usable pid"))
    elif not agent.get("active", True):
        result.errors.append(TargetError(url, INACTIVE))
    else:
        target = join(url, "/metrics/snapshot")
        target_stats = join(url, "/monitor/statistics")

        async def snapshot_of() -> dict[str, Any]:
            return as_dict(await client.get_json(target), target)

        async def executors_of() -> list[Point]:
            doc = await client.get_json(target_stats)
            host = str(agent["hostname"])
            return map_executors(doc, host, frameworks, ctx.base_tags, ctx.time_ns)

        snapshot = await guarded_async(result, target, snapshot_of())
        result.points.extend(await guarded_async(result, target_stats, executors_of()) or [])
    point = map_agent(agent, snapshot, ctx.base_tags, ctx.time_ns)
    if point is not None:
        result.points.insert(0, point)
    return result


def agents_and_frameworks(
    ctx: CollectContext, leader: str, result: CollectResult
) -> tuple[Summary, list[dict[str, Any]], dict[str, str] | None]:
    """The leader's summary (shared with the other sources of this cycle), the registered
    agents and the framework names: from the summary, or from ``/master/slaves`` and
    ``/master/frameworks`` when the master has none (a failure reading the frameworks is
    recorded in ``result`` and the names are None)."""
    summary, agents = leader_agents(ctx, leader)
    url = join(leader, "/master/frameworks")  # (read only when the summary has none)
    names = guarded(result, url, lambda: framework_names(leader_frameworks(ctx, leader, summary)))
    return summary, agents, names


def collect(ctx: CollectContext) -> CollectResult:
    result = CollectResult()
    leader = guarded(result, "mesos masters", lambda: find_leader(ctx))
    if leader is None:
        result.targets_total = 1
        return result
    found = guarded(
        result, join(leader, SUMMARY), lambda: agents_and_frameworks(ctx, leader, result)
    )
    if found is None:
        result.targets_total = 1
        return result
    # (``found`` holds the summary to the end: the cycle's other sources may share it meanwhile)
    _, agents, frameworks = found
    names = frameworks or {}
    collect_agent = functools.partial(_collect_agent, frameworks=names)  # pickles: see processes
    return collect_each_async(ctx, result, collect_agent, owned_agents(ctx, agents))
