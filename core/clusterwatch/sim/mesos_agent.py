"""A simulated Mesos agent: snapshot, state, per-executor statistics, containers, health.

Every Marathon task runs under the Docker containerizer's command executor, which is named
after its task and adds 0.1 CPU and 32 MB to the container's limits, as on a real agent.
"""

from __future__ import annotations

from typing import Any

from clusterwatch.sim import mesos_json, mesos_metrics
from clusterwatch.sim.engine import Simulation
from clusterwatch.sim.model import Agent, Task
from clusterwatch.sim.ratelimit import RateLimiter
from clusterwatch.sim.routes import BodyCache, Router, json_body, json_response
from clusterwatch.sim.wire import Request, Response, plain

EXECUTOR_CPUS = 0.1
EXECUTOR_MEM_MB = 32.0
MB = 1048576


def agent_flags(sim: Simulation, agent: Agent) -> dict[str, str]:
    return {
        "cgroups_enable_cfs": "true",
        "cgroups_hierarchy": "/sys/fs/cgroup",
        "cgroups_root": "mesos",
        "containerizers": "docker,mesos",
        "docker": "docker",
        "docker_socket": "/var/run/docker.sock",
        "docker_stop_timeout": "20secs",
        "executor_registration_timeout": "10mins",
        "hostname_lookup": "false",
        "isolation": "cgroups/cpu,cgroups/mem",
        "logging_level": "INFO",
        "master": "zk://127.0.0.1:2181/mesos",
        "port": str(agent.port),
        "recover": "reconnect",
        "strict": "true",
        "work_dir": "/var/lib/mesos/slave",
    }


def _statistics(sim: Simulation, task: Task, now: float) -> dict[str, Any]:
    app = sim.apps.get(task.app_id)
    cpus = (app.cpus if app else 0.0) + EXECUTOR_CPUS
    mem_limit = int(((app.mem if app else 0.0) + EXECUTOR_MEM_MB) * MB)
    cores, cpu_seconds, throttled = sim.task_usage(task, now)
    share = min(1.0, cores / cpus) if cpus else 0.0
    rss = int(mem_limit * (0.30 + 0.45 * share) * min(task.jitter, 1.0))
    cache = int(mem_limit * 0.08)
    running_for = max(0.0, now - (task.started_at or now))
    return {
        "cpus_limit": round(cpus, 6),
        "cpus_nr_periods": int(running_for * 10),
        "cpus_nr_throttled": int(throttled * 10),
        "cpus_system_time_secs": round(cpu_seconds * 0.15, 2),
        "cpus_throttled_time_secs": round(throttled, 6),
        "cpus_user_time_secs": round(cpu_seconds * 0.85, 2),
        "mem_anon_bytes": rss,
        "mem_cache_bytes": cache,
        "mem_critical_pressure_counter": 0,
        "mem_file_bytes": cache,
        "mem_limit_bytes": mem_limit,
        "mem_low_pressure_counter": 0,
        "mem_mapped_file_bytes": 40960,
        "mem_medium_pressure_counter": 0,
        "mem_rss_bytes": rss,
        "mem_swap_bytes": 0,
        "mem_total_bytes": rss + cache,
        "mem_unevictable_bytes": 0,
        "timestamp": round(now, 5),
    }


def _executor_name(task: Task) -> str:
    return f"Command Executor (Task: {task.id}) (Command: NO EXECUTABLE)"


def _executor_resources(sim: Simulation, task: Task) -> dict[str, Any]:
    app = sim.apps.get(task.app_id)
    res = mesos_json.task_resources(app, task)
    res["cpus"] = round(res["cpus"] + EXECUTOR_CPUS, 6)
    res["mem"] = res["mem"] + EXECUTOR_MEM_MB
    return res


class AgentHost:
    def __init__(self, sim: Simulation, agent: Agent) -> None:
        self.sim = sim
        self.agent = agent
        rate = sim.config.snapshot_rate_limit
        self.limiter = RateLimiter(rate) if rate else None
        self._snapshot = BodyCache()  # values change once per simulated tick
        self._statistics = BodyCache()
        self._containers = BodyCache()
        r = self.router = Router()
        r.add("GET", "/metrics/snapshot", self.snapshot)
        for path in ("/slave(1)/state", "/slave(1)/state.json", "/state", "/state.json"):
            r.add("GET", path, self.state)
        for path in ("/monitor/statistics", "/monitor/statistics.json"):
            r.add("GET", path, self.statistics)
        r.add("GET", "/containers", self.containers)
        r.add("GET", "/version", self.version)
        for path in ("/flags", "/slave(1)/flags"):
            r.add("GET", path, self.flags)
        for path in ("/health", "/slave(1)/health"):
            r.add("GET", path, self.health)

    def handle(self, request: Request) -> Response:
        return self.router.dispatch(request, lambda req: plain(404))

    def snapshot(self, request: Request, params: dict[str, str]) -> Response:
        if self.limiter is not None and not self.limiter.allow():
            return Response(429, b"", "")
        sim = self.sim
        body = self._snapshot.current(
            sim, lambda now: json_body(mesos_metrics.agent_snapshot(sim, self.agent, now))
        )
        return Response(200, body, "application/json")

    def statistics(self, request: Request, params: dict[str, str]) -> Response:
        body = self._statistics.current(self.sim, self._statistics_body)
        return Response(200, body, "application/json")

    def _statistics_body(self, now: float) -> bytes:
        return json_body([
            {
                "executor_id": task.executor_id,
                "executor_name": _executor_name(task),
                "framework_id": task.framework_id,
                "source": task.id,
                "statistics": _statistics(self.sim, task, now),
            }
            for task in self.agent.tasks.values()
        ])  # fmt: skip

    def containers(self, request: Request, params: dict[str, str]) -> Response:
        body = self._containers.current(self.sim, self._containers_body)
        return Response(200, body, "application/json")

    def _containers_body(self, now: float) -> bytes:
        return json_body([
            {
                "container_id": task.container_id,
                "executor_id": task.executor_id,
                "executor_name": _executor_name(task),
                "framework_id": task.framework_id,
                "source": task.id,
                "statistics": _statistics(self.sim, task, now),
                "status": {
                    "container_id": {"value": task.container_id},
                    "executor_pid": 20000 + int(task.container_id[:4], 16) % 30000,
                    "network_infos": [
                        {"ip_addresses": [{"ip_address": task.ip_address}]}
                    ],
                },
            }
            for task in self.agent.tasks.values()
        ])  # fmt: skip

    def state(self, request: Request, params: dict[str, str]) -> Response:
        sim, agent = self.sim, self.agent
        with sim.lock:
            sim.sync()
            leader = sim.leader()
            executors = [self._executor(t) for t in agent.tasks.values()]
            frameworks = []
            if executors:
                fw = mesos_json.framework_info(sim.marathon_framework)
                fw["executors"] = executors
                fw["completed_executors"] = []
                frameworks.append(fw)
            res = agent.resources
            full = [
                {"name": "ports", "type": "RANGES", "role": "*",
                 "ranges": {"range": [{"begin": lo, "end": hi} for lo, hi in res.ports]}},
                *({"name": name, "type": "SCALAR", "role": "*", "scalar": {"value": value}}
                  for name, value in (("disk", res.disk), ("cpus", res.cpus), ("mem", res.mem),
                                      ("gpus", res.gpus)) if value),
            ]  # fmt: skip
            return json_response({
                "version": sim.config.mesos_version,
                "git_sha": sim.git_sha,
                "build_date": mesos_json.BUILD_DATE,
                "build_time": mesos_json.BUILD_TIME,
                "build_user": "",
                "start_time": round(agent.start_time, 5),
                "id": agent.id,
                "pid": agent.pid,
                "hostname": agent.hostname,
                "capabilities": ["MULTI_ROLE", "HIERARCHICAL_ROLE", "RESERVATION_REFINEMENT"],
                "resources": mesos_json.resources(res),
                "reserved_resources": {},
                "unreserved_resources": mesos_json.resources(res),
                "reserved_resources_full": {},
                "unreserved_resources_full": full,
                "attributes": dict(agent.attributes),
                "master_hostname": leader.ip if leader else "",
                "log_dir": "/var/log/mesos",
                "flags": agent_flags(sim, agent),
                "frameworks": frameworks,
                "completed_frameworks": [],
            })  # fmt: skip

    def _executor(self, task: Task) -> dict[str, Any]:
        fw_id = task.framework_id
        directory = (f"/var/lib/mesos/slave/slaves/{self.agent.id}/frameworks/{fw_id}"
                     f"/executors/{task.executor_id}/runs/{task.container_id}")  # fmt: skip
        return {
            "id": task.executor_id,
            "name": _executor_name(task),
            "source": task.id,
            "container": task.container_id,
            "directory": directory,
            "resources": _executor_resources(self.sim, task),
            "role": "*",
            "tasks": [mesos_json.task(self.sim, task)],
            "queued_tasks": [],
            "completed_tasks": [],
        }

    def version(self, request: Request, params: dict[str, str]) -> Response:
        return json_response(mesos_json.version(self.sim))

    def flags(self, request: Request, params: dict[str, str]) -> Response:
        return json_response({"flags": agent_flags(self.sim, self.agent)})

    def health(self, request: Request, params: dict[str, str]) -> Response:
        return Response(200, b"", "")
