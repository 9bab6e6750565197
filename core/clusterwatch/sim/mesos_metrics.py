"""``/metrics/snapshot`` of masters and agents: the documented Mesos 1.x key set, all floats.

The key tables below list every documented 1.x metric without a placeholder (per-framework
keys are expanded for the registered frameworks). Values not modelled stay 0.0, as on a quiet
cluster. A standby master answers too, with ``master/elected`` 0.0, zeros for the cluster
gauges and counters, and without the keys only a leader has (``allocator/*``,
``master/frameworks/*`` and the registrar's store timer).
"""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import quote

from clusterwatch.sim.engine import Simulation
from clusterwatch.sim.model import Agent, AgentState, Master, TaskState

PERCENTILES = ("max", "min", "p50", "p90", "p95", "p99", "p999", "p9999")
RESOURCE_KINDS = ("cpus", "disk", "gpus", "mem")
RESOURCE_SUFFIXES = ("percent", "used", "total", "revocable_percent", "revocable_total",
                     "revocable_used")  # fmt: skip
SYSTEM_KEYS = ("system/cpus_total", "system/load_15min", "system/load_5min", "system/load_1min",
               "system/mem_free_bytes", "system/mem_total_bytes")  # fmt: skip


def _timer(name: str, with_count: bool = True) -> tuple[str, ...]:
    return (name, *((f"{name}/count",) if with_count else ()),
            *(f"{name}/{p}" for p in PERCENTILES))  # fmt: skip


MASTER_MESSAGES = (
    "authenticate", "deactivate_framework", "decline_offers", "executor_to_framework",
    "exited_executor", "framework_to_executor", "kill_task", "launch_tasks",
    "operation_status_update_acknowledgement", "reconcile_operations", "reconcile_tasks",
    "register_framework", "register_slave", "reregister_framework", "reregister_slave",
    "resource_request", "revive_offers", "status_update", "status_update_acknowledgement",
    "unregister_framework", "unregister_slave", "update_slave", "suppress_offers",
)  # fmt: skip

MASTER_COUNTERS = (
    "slave_registrations", "slave_removals", "slave_reregistrations",
    "slave_unreachable_scheduled", "slave_unreachable_canceled", "slave_unreachable_completed",
    "tasks_error", "tasks_failed", "tasks_finished", "tasks_killed", "tasks_lost",
    "invalid_executor_to_framework_messages", "invalid_framework_to_executor_messages",
    "invalid_operation_status_update_acknowledgements",
    "invalid_status_update_acknowledgements", "invalid_status_updates", "dropped_messages",
    "recovery_slave_removals", "slave_removals/reason_registered",
    "slave_removals/reason_unhealthy", "slave_removals/reason_unregistered",
    "valid_framework_to_executor_messages", "valid_operation_status_update_acknowledgements",
    "valid_status_update_acknowledgements", "valid_status_updates",
    "task_lost/source_master/reason_invalid_offers",
    "task_lost/source_master/reason_slave_removed",
    "task_lost/source_slave/reason_executor_terminated",
    "valid_executor_to_framework_messages",
    *(f"messages_{m}" for m in MASTER_MESSAGES),
)  # fmt: skip

MASTER_CLUSTER_GAUGES = (
    *(f"{k}_{s}" for k in RESOURCE_KINDS for s in RESOURCE_SUFFIXES),
    "slaves_active", "slaves_connected", "slaves_disconnected", "slaves_inactive",
    "slaves_unreachable", "frameworks_active", "frameworks_connected",
    "frameworks_disconnected", "frameworks_inactive", "outstanding_offers", "tasks_killing",
    "tasks_running", "tasks_staging", "tasks_starting", "tasks_unreachable", "operations/total",
)  # fmt: skip

MASTER_PROCESS_GAUGES = ("elected", "uptime_secs", "event_queue_dispatches",
                         "event_queue_http_requests", "event_queue_messages",
                         "operator_event_stream_subscribers")  # fmt: skip

REGISTRAR_ALWAYS = ("registrar/state_fetch_ms", "registrar/log/recovered",
                    "registrar/log/ensemble_size", "registrar/queued_operations",
                    "registrar/registry_size_bytes")  # fmt: skip
REGISTRAR_LEADER = _timer("registrar/state_store_ms")

ALLOCATOR = (
    *_timer("allocator/mesos/allocation_run_ms"),
    "allocator/mesos/allocation_runs",
    *_timer("allocator/mesos/allocation_run_latency_ms"),
    "allocator/mesos/event_queue_dispatches",
    *(f"allocator/mesos/resources/{r}/{k}" for r in ("cpus", "disk", "mem")
      for k in ("offered_or_allocated", "total")),
)  # fmt: skip

FRAMEWORK_KEYS = (
    "subscribed", "calls", "events", "offers/sent", "offers/accepted", "offers/declined",
    "offers/rescinded", "tasks/active/TASK_RUNNING", "tasks/active/TASK_STAGING",
    "tasks/terminal/TASK_FAILED", "tasks/terminal/TASK_FINISHED", "tasks/terminal/TASK_KILLED",
    "tasks/terminal/TASK_LOST",
)  # fmt: skip

AGENT_KEYS = (
    "containerizer/fetcher/cache_size_total_bytes", "containerizer/fetcher/cache_size_used_bytes",
    "gc/path_removals_failed", "gc/path_removals_pending", "gc/path_removals_succeeded",
    *(f"slave/{k}_{s}" for k in RESOURCE_KINDS for s in RESOURCE_SUFFIXES),
    "volume_gid_manager/volume_gids_total", "volume_gid_manager/volume_gids_free",
    "slave/registered", "slave/uptime_secs", *SYSTEM_KEYS,
    "containerizer/mesos/container_destroy_errors",
    "containerizer/fetcher/task_fetches_succeeded", "containerizer/fetcher/task_fetches_failed",
    "slave/container_launch_errors", "slave/executors_preempted", "slave/frameworks_active",
    "slave/executor_directory_max_allowed_age_secs", "slave/executors_registering",
    "slave/executors_running", "slave/executors_terminated", "slave/executors_terminating",
    "slave/recovery_errors", "slave/recovery_time_secs", "slave/tasks_failed",
    "slave/tasks_finished", "slave/tasks_killed", "slave/tasks_lost", "slave/tasks_running",
    "slave/tasks_staging", "slave/tasks_starting", "slave/invalid_framework_messages",
    "slave/invalid_status_updates", "slave/valid_framework_messages",
    "slave/valid_status_updates", *_timer("containerizer/docker/image_pull_ms"),
    "containerizer/mesos/disk/project_ids_free", "containerizer/mesos/disk/project_ids_total",
    *_timer("containerizer/mesos/provisioner/docker_store/image_pull_ms"),
)  # fmt: skip


def _system(cpus: float, mem_bytes: float, busy: float, phase: float, elapsed: float,
            used_bytes: float) -> dict[str, float]:  # fmt: skip
    wobble = 0.1 * math.sin(elapsed / 300.0 + phase)
    load1 = max(0.0, busy * (1 + wobble))
    return {
        "system/cpus_total": float(cpus),
        "system/load_1min": round(load1, 2),
        "system/load_5min": round(max(0.0, busy * (1 + wobble / 2)), 2),
        "system/load_15min": round(busy, 2),
        "system/mem_total_bytes": float(mem_bytes),
        "system/mem_free_bytes": float(max(0.0, mem_bytes - used_bytes)),
    }


def _timer_values(name: str, base: float, count: float) -> dict[str, float]:
    factors = {"max": 2.5, "min": 0.4, "p50": 1.0, "p90": 1.6, "p95": 1.8, "p99": 2.2,
               "p999": 2.4, "p9999": 2.45}  # fmt: skip
    out = {name: base, f"{name}/count": float(count)}
    out.update({f"{name}/{p}": round(base * f, 6) for p, f in factors.items()})
    return out


def master_snapshot(sim: Simulation, master: Master, now: float) -> dict[str, float]:
    leads = master.elected_time is not None or master.standby_mode == "claims_leader"
    values: dict[str, float] = dict.fromkeys(
        (f"master/{k}" for k in (*MASTER_CLUSTER_GAUGES, *MASTER_COUNTERS,
                                  *MASTER_PROCESS_GAUGES)), 0.0)  # fmt: skip
    values.update(dict.fromkeys(REGISTRAR_ALWAYS, 0.0))
    values.update(_system(8.0, 33_547_264_000.0, 0.6 if leads else 0.2, master.index,
                          now - sim.start, 9e9))  # fmt: skip
    values["master/uptime_secs"] = round(now - master.start_time, 6)
    values["registrar/state_fetch_ms"] = 16.787968
    values["registrar/log/recovered"] = 1.0
    values["registrar/log/ensemble_size"] = float(len(sim.masters))
    values["registrar/registry_size_bytes"] = float(200 + 150 * len(sim.agents))
    if not leads:
        return values
    values.update(_leader_values(sim, master, now))
    return values


def _leader_values(sim: Simulation, master: Master, now: float) -> dict[str, float]:
    elected = master.elected_time if master.elected_time is not None else master.start_time
    tenure = max(0.0, now - elected)
    events = {k: v - master.baseline.get(k, 0) for k, v in sim.events.items()}
    agents = [a for a in sim.agents if a.state is AgentState.ACTIVE]
    lost = sum(1 for a in sim.agents if a.state is AgentState.LOST)
    out: dict[str, float] = {"master/elected": 1.0}
    totals = {
        "cpus": (sum(a.resources.cpus for a in agents), sum(a.used_cpus for a in agents)),
        "mem": (sum(a.resources.mem for a in agents), sum(a.used_mem for a in agents)),
        "disk": (sum(a.resources.disk for a in agents), sum(a.used_disk for a in agents)),
        "gpus": (sum(a.resources.gpus for a in agents), sum(a.used_gpus for a in agents)),
    }
    for kind, (total, used) in totals.items():
        out[f"master/{kind}_total"] = float(total)
        out[f"master/{kind}_used"] = round(float(used), 6)
        out[f"master/{kind}_percent"] = float(used / total) if total else 0.0
    staging = sum(1 for t in sim.tasks.values() if t.state is TaskState.STAGING)
    running = len(sim.tasks) - staging
    offers = sum(1 for a in agents if a.resources.cpus - a.used_cpus >= 0.1)
    launched = events.get("tasks_launched", 0)
    status_updates = events.get("status_updates", 0)
    out.update({
        "master/slaves_active": float(len(agents)),
        "master/slaves_connected": float(len(agents)),
        "master/slaves_unreachable": float(lost),
        "master/frameworks_active": float(len(sim.frameworks)),
        "master/frameworks_connected": float(len(sim.frameworks)),
        "master/outstanding_offers": float(offers),
        "master/tasks_running": float(running),
        "master/tasks_staging": float(staging),
        "master/slave_registrations": float(events.get("slave_registrations", 0)),
        "master/slave_reregistrations": float(
            events.get("slave_reregistrations", 0) + (len(agents) if master.baseline else 0)),
        "master/slave_removals": float(events.get("slave_removals", 0)),
        "master/slave_removals/reason_unhealthy": float(events.get("slave_removals", 0)),
        "master/slave_unreachable_scheduled": float(events.get("slave_unreachable", 0)),
        "master/slave_unreachable_completed": float(events.get("slave_unreachable", 0)),
        "master/tasks_failed": float(events.get("tasks_failed", 0)),
        "master/tasks_finished": float(events.get("tasks_finished", 0)),
        "master/tasks_killed": float(events.get("tasks_killed", 0)),
        "master/tasks_lost": float(events.get("tasks_lost", 0)),
        "master/task_lost/source_master/reason_slave_removed": float(events.get("tasks_lost", 0)),
        "master/messages_launch_tasks": float(launched),
        "master/messages_status_update": float(status_updates),
        "master/messages_status_update_acknowledgement": float(status_updates),
        "master/valid_status_updates": float(status_updates),
        "master/valid_status_update_acknowledgements": float(status_updates),
        "master/messages_decline_offers": float(int(tenure * 0.2 * len(sim.frameworks))),
        "master/messages_reconcile_tasks": float(int(tenure / 600.0) * len(sim.frameworks)),
        "master/messages_kill_task": float(events.get("tasks_killed", 0)),
        "master/messages_register_framework": float(len(sim.frameworks)),
        "master/messages_reregister_slave": float(len(agents) if master.baseline else 0),
        "master/event_queue_dispatches": float(int(tenure) % 7),
    })  # fmt: skip
    out.update(_timer_values("registrar/state_store_ms", 5.55392, 2 + int(tenure / 60)))
    runs = float(int(tenure))
    out.update(_timer_values("allocator/mesos/allocation_run_ms", 0.05 + 0.00002 * len(agents),
                             runs))  # fmt: skip
    out.update(_timer_values("allocator/mesos/allocation_run_latency_ms", 0.3, runs))
    out["allocator/mesos/allocation_runs"] = runs
    out["allocator/mesos/event_queue_dispatches"] = 0.0
    for kind in ("cpus", "disk", "mem"):
        total, used = totals[kind]
        out[f"allocator/mesos/resources/{kind}/total"] = float(total)
        out[f"allocator/mesos/resources/{kind}/offered_or_allocated"] = round(float(used), 6)
    out.update(_framework_values(sim, events, tenure))
    return out


def _framework_values(sim: Simulation, events: dict[str, int], tenure: float
                      ) -> dict[str, Any]:  # fmt: skip
    out: dict[str, float] = {}
    for fw in sim.frameworks:
        prefix = f"master/frameworks/{quote(fw.name, safe='')}/{fw.id}/"
        is_marathon = fw is sim.marathon_framework
        tasks = list(sim.tasks.values()) if is_marathon else []
        running = sum(1 for t in tasks if t.state is TaskState.RUNNING)
        offers = float(int(tenure * 0.2))
        values = dict.fromkeys(FRAMEWORK_KEYS, 0.0)
        values.update({
            "subscribed": 1.0,
            "calls": float(int(tenure / 15) + (events.get("status_updates", 0) if is_marathon
                                                else 0)),
            "events": float(int(tenure / 15)),
            "offers/sent": offers + (events.get("tasks_launched", 0) if is_marathon else 0),
            "offers/accepted": float(events.get("tasks_launched", 0) if is_marathon else 0),
            "offers/declined": offers,
            "tasks/active/TASK_RUNNING": float(running),
            "tasks/active/TASK_STAGING": float(len(tasks) - running),
        })  # fmt: skip
        if is_marathon:
            for state in ("FAILED", "FINISHED", "KILLED", "LOST"):
                values[f"tasks/terminal/TASK_{state}"] = float(
                    events.get(f"tasks_{state.lower()}", 0))
        out.update({prefix + k: v for k, v in values.items()})
        out[f"{prefix}roles/{fw.role}/suppressed"] = 0.0
    return out


def agent_snapshot(sim: Simulation, agent: Agent, now: float) -> dict[str, float]:
    values = dict.fromkeys(AGENT_KEYS, 0.0)
    res = agent.resources
    used = {"cpus": agent.used_cpus, "mem": agent.used_mem, "disk": agent.used_disk,
            "gpus": agent.used_gpus}  # fmt: skip
    totals = {"cpus": res.cpus, "mem": res.mem, "disk": res.disk, "gpus": res.gpus}
    for kind in RESOURCE_KINDS:
        values[f"slave/{kind}_total"] = float(totals[kind])
        values[f"slave/{kind}_used"] = round(float(used[kind]), 6)
        values[f"slave/{kind}_percent"] = used[kind] / totals[kind] if totals[kind] else 0.0
    busy = 0.05
    rss = 0.0
    staging = 0
    for task in agent.tasks.values():
        if task.state is TaskState.STAGING:
            staging += 1
        cores, _, _ = sim.task_usage(task, now)
        busy += cores
        app = sim.apps.get(task.app_id)
        if app is not None:
            rss += app.mem * 1048576 * 0.5
    terminal = agent.terminal
    ended = sum(terminal.values())
    values.update(_system(res.cpus, (res.mem + 1024) * 1048576, busy, agent.index,
                          now - sim.start, rss + 512 * 1048576))  # fmt: skip
    values.update({
        "slave/registered": 1.0,
        "slave/uptime_secs": round(now - agent.start_time, 6),
        "slave/tasks_running": float(len(agent.tasks) - staging),
        "slave/tasks_staging": float(staging),
        "slave/tasks_failed": float(terminal.get("failed", 0)),
        "slave/tasks_finished": float(terminal.get("finished", 0)),
        "slave/tasks_killed": float(terminal.get("killed", 0)),
        "slave/tasks_lost": float(terminal.get("lost", 0)),
        "slave/executors_running": float(len(agent.tasks)),
        "slave/executors_terminated": float(ended),
        "slave/frameworks_active": 1.0 if agent.tasks else 0.0,
        "slave/valid_status_updates": float(2 * agent.launched + ended),
        "slave/executor_directory_max_allowed_age_secs": 518_400.0,
        "slave/recovery_time_secs": 2.3,
        "containerizer/fetcher/task_fetches_succeeded": float(agent.launched),
        "containerizer/fetcher/cache_size_total_bytes": 2_147_483_648.0,
        "containerizer/mesos/disk/project_ids_total": 0.0,
        "gc/path_removals_succeeded": float(ended),
        "volume_gid_manager/volume_gids_total": 0.0,
    })  # fmt: skip
    values.update(_timer_values("containerizer/docker/image_pull_ms", 1834.2, agent.launched))
    return values
