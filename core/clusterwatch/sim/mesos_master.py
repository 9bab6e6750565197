"""A simulated Mesos master: the endpoints a collector or a check uses.

A standby master answers ``/metrics/snapshot``, ``/version``, ``/flags`` and ``/health``
itself; for the cluster endpoints (``/master/state`` and friends) it answers 307 to the
leading master, as Mesos 1.x does, unless its ``standby_mode`` says otherwise (see
``model.Master``). ``/master/redirect`` always answers 307 with ``Location: //host:port``;
with no leader elected it answers 503.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from clusterwatch.sim import mesos_json, mesos_metrics
from clusterwatch.sim.engine import Simulation
from clusterwatch.sim.model import Agent, AgentState, Framework, Master, TaskState, ip_to_mesos_int
from clusterwatch.sim.ratelimit import RateLimiter
from clusterwatch.sim.routes import BodyCache, Endpoint, Router, json_body, json_response
from clusterwatch.sim.wire import Request, Response, plain

CLUSTER_ENDPOINTS = (
    "/master/state", "/master/state.json", "/state", "/state.json",
    "/master/state-summary", "/state-summary", "/master/slaves", "/slaves",
    "/master/frameworks", "/frameworks",
)  # fmt: skip


def flags(sim: Simulation) -> dict[str, str]:
    quorum = len(sim.masters) // 2 + 1
    return {
        "agent_ping_timeout": "15secs",
        "agent_reregister_timeout": "10mins",
        "allocation_interval": "1secs",
        "allocator": "HierarchicalDRF",
        "authenticate_agents": "false",
        "authenticate_frameworks": "false",
        "authenticate_http_frameworks": "false",
        "authenticate_http_readonly": "false",
        "authenticate_http_readwrite": "false",
        "authenticators": "crammd5",
        "authorizers": "local",
        "cluster": sim.config.cluster_name,
        "framework_sorter": "drf",
        "help": "false",
        "hostname_lookup": "false",
        "http_authenticators": "basic",
        "initialize_driver_logging": "true",
        "log_auto_initialize": "true",
        "log_dir": "/var/log/mesos",
        "logbufsecs": "0",
        "logging_level": "INFO",
        "max_agent_ping_timeouts": "5",
        "max_completed_frameworks": "50",
        "max_completed_tasks_per_framework": "1000",
        "max_unreachable_tasks_per_framework": "1000",
        "offer_timeout": "2mins",
        "port": str(sim.config.ports.master),
        "quiet": "false",
        "quorum": str(quorum),
        "recovery_agent_removal_limit": "100%",
        "registry": "replicated_log",
        "registry_fetch_timeout": "1mins",
        "registry_gc_interval": "15mins",
        "registry_max_agent_age": "2weeks",
        "registry_max_agent_count": "102400",
        "registry_store_timeout": "20secs",
        "registry_strict": "false",
        "root_submissions": "true",
        "user_sorter": "drf",
        "version": "false",
        "webui_dir": "/usr/share/mesos/webui",
        "work_dir": "/var/lib/mesos/master",
        "zk": "zk://127.0.0.1:2181/mesos",
        "zk_session_timeout": "10secs",
    }


def master_info(sim: Simulation, master: Master) -> dict[str, Any]:
    """MasterInfo as JSON: what /master/state names as leader_info and ZooKeeper stores."""
    return {
        "address": {"hostname": master.ip, "ip": master.ip, "port": master.port},
        "hostname": master.ip,
        "id": master.id,
        "ip": ip_to_mesos_int(master.ip),
        "pid": master.pid,
        "port": master.port,
        "version": sim.config.mesos_version,
    }


def _agent_entry(sim: Simulation, agent: Agent) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": agent.id,
        "pid": agent.pid,
        "hostname": agent.hostname,
        "port": agent.port,
        "registered_time": round(agent.registered_time, 5),
        "resources": mesos_json.resources(agent.resources),
        "used_resources": mesos_json.agent_used(agent),
        "offered_resources": mesos_json.zero_resources(),
        "reserved_resources": {},
        "unreserved_resources": mesos_json.resources(agent.resources),
        "attributes": dict(agent.attributes),
        "active": agent.active,
        "version": sim.config.mesos_version,
        "capabilities": ["MULTI_ROLE", "HIERARCHICAL_ROLE", "RESERVATION_REFINEMENT"],
    }
    if agent.reregistered_time is not None:
        entry["reregistered_time"] = round(agent.reregistered_time, 5)
    return entry


def _framework_entry(sim: Simulation, fw: Framework, with_tasks: bool) -> dict[str, Any]:
    tasks = [t for t in sim.tasks.values() if t.framework_id == fw.id]
    cpus = mem = disk = gpus = 0.0
    ports: list[int] = []
    for task in tasks:
        app = sim.apps.get(task.app_id)
        if app is not None:
            cpus, mem, disk, gpus = cpus + app.cpus, mem + app.mem, disk + app.disk, gpus + app.gpus
        ports.extend(task.ports)
    used = mesos_json.scalar_resources(cpus, mem, disk, gpus, ports)
    entry = mesos_json.framework_info(fw)
    entry.update({
        "pid": f"scheduler-{fw.id[-12:]}@{fw.hostname}:{41000 + len(fw.name)}",
        "used_resources": used,
        "offered_resources": mesos_json.zero_resources(),
        "resources": used,
        "active": True,
        "connected": True,
        "recovered": False,
        "registered_time": round(fw.registered_time, 5),
        "reregistered_time": round(fw.registered_time, 5),
        "unregistered_time": 0.0,
        "offers": [],
        "executors": [],
    })  # fmt: skip
    if with_tasks:
        entry["tasks"] = [mesos_json.task(sim, t) for t in tasks]
        entry["unreachable_tasks"] = []
        entry["completed_tasks"] = [
            mesos_json.task(sim, t) for t in sim.completed if t.framework_id == fw.id
        ]
    return entry


class MasterHost:
    """The HTTP face of one master; ``handle`` is called for each request to its address."""

    def __init__(self, sim: Simulation, master: Master) -> None:
        self.sim = sim
        self.master = master
        rate = sim.config.snapshot_rate_limit
        self.limiter = RateLimiter(rate) if rate else None
        self._snapshot = BodyCache()  # values change once per simulated tick
        self.router = Router()
        r = self.router
        r.add("GET", "/metrics/snapshot", self.snapshot)
        for path in ("/master/state", "/master/state.json", "/state", "/state.json"):
            r.add("GET", path, self.cluster(self.state))
        for path in ("/master/state-summary", "/state-summary"):
            r.add("GET", path, self.cluster(self.state_summary))
        for path in ("/master/slaves", "/slaves"):
            r.add("GET", path, self.cluster(self.slaves))
        for path in ("/master/frameworks", "/frameworks"):
            r.add("GET", path, self.cluster(self.frameworks))
        for path in ("/master/redirect", "/redirect"):
            r.add("GET", path, self.redirect)
        r.add("GET", "/version", self.version)
        for path in ("/flags", "/master/flags"):
            r.add("GET", path, self.flags)
        for path in ("/health", "/master/health"):
            r.add("GET", path, self.health)

    def handle(self, request: Request) -> Response:
        return self.router.dispatch(request, lambda req: plain(404))

    # -- helpers --------------------------------------------------------------------------

    def _leads(self) -> bool:
        return self.master.elected_time is not None

    def _leader_for_clients(self) -> Master | None:
        if self.master.standby_mode == "claims_leader":
            return self.master
        return self.sim.leader()

    def cluster(self, endpoint: Callable[[float, bool], Response]) -> Endpoint:
        def guarded(request: Request, params: dict[str, str]) -> Response:
            with self.sim.lock:
                now = self.sim.sync()
                mode = self.master.standby_mode
                if not self._leads() and mode == "redirect":
                    return self._redirect(request.path, request)
                return endpoint(now, not self._leads() and mode == "local")

        return guarded

    def _redirect(self, path: str, request: Request) -> Response:
        leader = self.sim.leader()
        if leader is None:
            return plain(503, "No leader elected")
        query = request.target.partition("?")[2]
        location = f"//{leader.ip}:{leader.port}{path}" + (f"?{query}" if query else "")
        return Response(307, b"", "", [("Location", location)])

    # -- endpoints ------------------------------------------------------------------------

    def snapshot(self, request: Request, params: dict[str, str]) -> Response:
        if self.limiter is not None and not self.limiter.allow():
            return Response(429, b"", "")
        sim = self.sim
        body = self._snapshot.current(
            sim, lambda now: json_body(mesos_metrics.master_snapshot(sim, self.master, now))
        )
        return Response(200, body, "application/json")

    def redirect(self, request: Request, params: dict[str, str]) -> Response:
        leader = self._leader_for_clients()
        if leader is None:
            return plain(503, "No leader elected")
        return Response(307, b"", "", [("Location", f"//{leader.ip}:{leader.port}")])

    def state(self, now: float, standby: bool = False) -> Response:
        sim, master = self.sim, self.master
        leader = self._leader_for_clients()
        agents = [] if standby else sim.known_agents()
        body: dict[str, Any] = {
            "version": sim.config.mesos_version,
            "git_sha": sim.git_sha,
            "build_date": mesos_json.BUILD_DATE,
            "build_time": mesos_json.BUILD_TIME,
            "build_user": "",
            "start_time": round(master.start_time, 5),
            "id": master.id,
            "pid": master.pid,
            "hostname": master.ip,
            "activated_slaves": float(sum(1 for a in agents if a.active)),
            "deactivated_slaves": float(sum(1 for a in agents if not a.active)),
            "unreachable_slaves": float(sum(1 for a in agents if a.state is AgentState.LOST)),
            "cluster": sim.config.cluster_name,
            "log_dir": "/var/log/mesos",
            "flags": flags(sim),
            "slaves": [_agent_entry(sim, a) for a in agents],
            "frameworks": [] if standby else [
                _framework_entry(sim, f, True) for f in sim.frameworks],
            "completed_frameworks": [],
            "orphan_tasks": [],
            "unregistered_frameworks": [],
        }  # fmt: skip
        if leader is not None:
            body["leader"] = leader.pid
            body["leader_info"] = master_info(sim, leader)
        if self._leads() or master.standby_mode == "claims_leader":
            body["elected_time"] = round(master.elected_time or master.start_time, 5)
        return json_response(body)

    def state_summary(self, now: float, standby: bool = False) -> Response:
        sim = self.sim
        agents = [] if standby else sim.known_agents()
        counts_by_agent: dict[str, dict[str, int]] = {}
        for task in sim.tasks.values():
            per = counts_by_agent.setdefault(task.agent_id, {})
            per[task.state.value] = per.get(task.state.value, 0) + 1
        slaves = []
        for agent in agents:
            entry = _agent_entry(sim, agent)
            entry.update(_state_counts(counts_by_agent.get(agent.id, {}), agent.terminal))
            entry["framework_ids"] = [sim.marathon_framework.id] if agent.tasks else []
            slaves.append(entry)
        frameworks = []
        for fw in [] if standby else sim.frameworks:
            entry = _framework_entry(sim, fw, False)
            mine = [t for t in sim.tasks.values() if t.framework_id == fw.id]
            states: dict[str, int] = {}
            for task in mine:
                states[task.state.value] = states.get(task.state.value, 0) + 1
            terminal = {k.removeprefix("tasks_"): v for k, v in sim.events.items()
                        if k.startswith("tasks_") and fw is sim.marathon_framework}  # fmt: skip
            entry.update(_state_counts(states, terminal))
            entry["slave_ids"] = sorted({t.agent_id for t in mine})
            frameworks.append(entry)
        return json_response({
            "hostname": self.master.ip,
            "cluster": sim.config.cluster_name,
            "slaves": slaves,
            "frameworks": frameworks,
        })  # fmt: skip

    def slaves(self, now: float, standby: bool = False) -> Response:
        agents = [] if standby else self.sim.known_agents()
        return json_response({
            "slaves": [_agent_entry(self.sim, a) for a in agents],
            "recovered_slaves": [],
        })  # fmt: skip

    def frameworks(self, now: float, standby: bool = False) -> Response:
        fws = [] if standby else self.sim.frameworks
        return json_response({
            "frameworks": [_framework_entry(self.sim, f, True) for f in fws],
            "completed_frameworks": [],
            "unregistered_frameworks": [],
        })  # fmt: skip

    def version(self, request: Request, params: dict[str, str]) -> Response:
        return json_response(mesos_json.version(self.sim))

    def flags(self, request: Request, params: dict[str, str]) -> Response:
        return json_response({"flags": flags(self.sim)})

    def health(self, request: Request, params: dict[str, str]) -> Response:
        return Response(200, b"", "")


_STATES = ("TASK_STAGING", "TASK_STARTING", "TASK_RUNNING", "TASK_KILLING", "TASK_FINISHED",
           "TASK_KILLED", "TASK_FAILED", "TASK_LOST", "TASK_ERROR", "TASK_UNREACHABLE")  # fmt: skip


def _state_counts(active: dict[str, int], terminal: dict[str, int]) -> dict[str, int]:
    out = dict.fromkeys(_STATES, 0)
    out.update(active)
    for key, value in terminal.items():
        name = f"TASK_{key.upper()}"
        if name in out and name not in (TaskState.RUNNING.value, TaskState.STAGING.value):
            out[name] = value
    return out
