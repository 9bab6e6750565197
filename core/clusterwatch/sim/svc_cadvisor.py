"""cAdvisor on every agent: one Docker container per Mesos task, samples from the model.
Builders: ``cadvisor.py`` and ``cadvisor_metrics.py``."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

from clusterwatch.sim import cadvisor, cadvisor_metrics
from clusterwatch.sim.engine import Simulation
from clusterwatch.sim.model import Agent, Task
from clusterwatch.sim.routes import BodyCache, Router, json_body, json_response
from clusterwatch.sim.wire import Request, Response, plain

SAMPLES = 10  # stats kept per container, one per simulated second (cAdvisor housekeeping)
NS = 1_000_000_000


class CadvisorHost:
    def __init__(self, sim: Simulation, agent: Agent) -> None:
        self.sim = sim
        self.agent = agent
        seed = uuid.uuid5(uuid.NAMESPACE_URL, agent.id)  # stable, whatever the request order
        self.machine = cadvisor.MachineSample(
            num_cores=int(agent.resources.cpus),
            memory_capacity=int((agent.resources.mem + 1024) * 1048576),
            machine_id=seed.hex,
            system_uuid=str(uuid.uuid5(seed, "system")).upper(),
            boot_id=str(uuid.uuid5(seed, "boot")),
        )
        # Bodies are built again only when the model's tick or generation (or the number of
        # samples asked for) changes, as the agents' snapshots are.
        self._bodies = {name: BodyCache() for name in ("subcontainers", "docker", "stats")}
        self._metrics = BodyCache()
        r = self.router = Router()
        r.add("GET", "/api/v1.3/machine", self.machine_info)
        for path in ("/api/v1.3/subcontainers", "/api/v1.3/subcontainers/"):
            r.add("GET", path, self.subcontainers)
        for path in ("/api/v1.3/docker", "/api/v1.3/docker/"):
            r.add("GET", path, self.docker)
        r.add("GET", "/api/v2.0/stats", self.stats)
        r.add("GET", "/metrics", self.metrics)
        r.add("GET", "/healthz", lambda req, params: Response(200, b"ok", "text/plain"))

    def handle(self, request: Request) -> Response:
        return self.router.dispatch(request, lambda req: plain(404, "page not found"))

    def _container(self, task: Task, now: float, depth: int) -> cadvisor.ContainerSample:
        """The container of ``task`` with its newest ``depth`` samples."""
        sim = self.sim
        app = sim.apps.get(task.app_id)
        cores, cpu_seconds, _ = sim.task_usage(task, now)
        mem_limit = int(((app.mem if app else 0.0) + 32) * 1048576)
        ncpu = max(1, int(self.machine.num_cores))
        samples = []
        for back in range(depth - 1, -1, -1):
            at = now - back
            total = max(0, int((cpu_seconds - cores * back) * NS))
            share = min(1.0, cores / max(app.cpus if app else 1.0, 0.01))
            rss = int(mem_limit * (0.30 + 0.45 * share))
            cache = int(mem_limit * 0.08)
            samples.append(cadvisor.StatsSample(
                timestamp_ns=int(at * NS),
                cpu_total_ns=total,
                cpu_user_ns=int(total * 0.85),
                cpu_system_ns=int(total * 0.15),
                per_cpu_ns=(total // ncpu,) * ncpu,
                memory_usage=rss + cache,
                memory_working_set=rss,
                memory_rss=rss,
                memory_cache=cache,
            ))  # fmt: skip
        return cadvisor.ContainerSample(
            docker_id=task.docker_id,
            mesos_container_id=task.container_id,
            image=app.image if app else "",
            creation_time_ns=int(task.staged_at * NS),
            cpu_shares=int((app.cpus if app else 0.1) * 1024),
            memory_limit=mem_limit,
            stats=tuple(samples),
            task_id=task.id,
            app_id=task.app_id,
            labels=dict(app.labels) if app else {},
        )

    def containers(self, count: int | None = None) -> list[cadvisor.ContainerSample]:
        """Every running container, with the samples an answer for ``count`` can show (all
        :data:`SAMPLES` unless fewer are asked for: building the rest is wasted work)."""
        with self.sim.lock:
            now = self.sim.sync()
            return self._containers(now, _depth(count))

    def _containers(self, now: float, depth: int) -> list[cadvisor.ContainerSample]:
        return [self._container(t, now, depth) for t in self.agent.tasks.values()
                if t.started_at is not None]  # fmt: skip

    def _cached(
        self, name: str, count: int | None, build: Callable[[list[cadvisor.ContainerSample]], Any]
    ) -> Response:
        """The JSON answer ``build(containers)``, reused while the tick, the model and
        ``count`` stay the same."""
        body = self._bodies[name].current(
            self.sim, lambda now: json_body(build(self._containers(now, _depth(count)))), count
        )
        return Response(200, body, "application/json")

    def machine_info(self, request: Request, params: dict[str, str]) -> Response:
        return json_response(cadvisor.machine_info(self.machine))

    def subcontainers(self, request: Request, params: dict[str, str]) -> Response:
        count = _count(request)
        machine = self.machine
        return self._cached(
            "subcontainers", count, lambda found: cadvisor.subcontainers(machine, found, count)
        )

    def docker(self, request: Request, params: dict[str, str]) -> Response:
        count = _count(request)
        return self._cached("docker", count, lambda found: cadvisor.docker_containers(found, count))

    def stats(self, request: Request, params: dict[str, str]) -> Response:
        count = _count(request) or SAMPLES
        return self._cached("stats", count, lambda found: cadvisor.stats_v2(found, count))

    def metrics(self, request: Request, params: dict[str, str]) -> Response:
        body = self._metrics.current(self.sim, lambda now: self._metrics_text(now).encode())
        return Response(200, body, "text/plain; version=0.0.4; charset=utf-8")

    def _metrics_text(self, now: float) -> str:
        return cadvisor_metrics.prometheus_metrics(self.machine, self._containers(now, SAMPLES))


def _depth(count: int | None) -> int:
    """Samples to build per container for an answer showing the newest ``count``."""
    return count if count is not None and 0 < count < SAMPLES else SAMPLES


def _count(request: Request) -> int | None:
    """Samples wanted: ``?count=`` (v2.0), or ``num_stats`` of the JSON body (v1.x, the
    ContainerInfoRequest real cAdvisor reads from the body of any method)."""
    try:
        if request.arg("count"):
            return int(request.arg("count"))
        if request.body.strip():
            wanted = json.loads(request.body).get("num_stats")
            return wanted if isinstance(wanted, int) and wanted > 0 else None
    except (ValueError, AttributeError):
        return None
    return None
