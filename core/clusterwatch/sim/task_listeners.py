"""Real HTTP listeners for the simulated tasks (small clusters): one per task and host port.

Each running task listens on its agent's loopback address and each of its host ports, on the
simulator's own event loop, and answers like a small instrumented web app: ``/`` and
``/api/items`` (200), its Marathon health check path (200, or 503 while the app is set
unhealthy), ``/metrics`` (Prometheus text from ``appmetrics`` with the requests this task
really served), ``/api/fail`` (500) and 404 for anything else. Answers take longer as the
app's load model pushes the instance towards its CPU limit.

``TaskListeners`` follows the simulation: listeners of tasks that end (killed, failed, lost
with their agent) close and drop their connections; tasks that start running get theirs.
It re-checks on every change the engine counts (``task_epoch``) and a few times a second for
time-driven ones; ``reconcile()`` applies changes at once.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from clusterwatch.sim.appmetrics import AppTraffic, ProcessSample, Route, app_metrics
from clusterwatch.sim.engine import Simulation
from clusterwatch.sim.model import App, Task, TaskState
from clusterwatch.sim.server import SimServer
from clusterwatch.sim.wire import Handler, HttpProtocol, Request, Response

log = logging.getLogger("clusterwatch.sim.tasks")

MAX_TASKS = 500  # real sockets per task port: for small clusters only
TICK_SECONDS = 0.2
BASE_LATENCY = 0.002  # seconds, for an idle instance
MAX_UTILISATION = 0.95
MB = 1048576

Key = tuple[str, int]  # (agent address, host port)


@dataclass(frozen=True)
class Page:
    status: int
    content_type: str
    body: Callable[[TaskContext], bytes]


@dataclass
class Served:
    """Requests one task served, per (code, handler, method): count and summed latency."""

    counts: dict[tuple[str, str, str], tuple[int, float]] = field(default_factory=dict)

    def add(self, code: int, handler: str, method: str, latency: float) -> None:
        key = (str(code), handler, method)
        count, total = self.counts.get(key, (0, 0.0))
        self.counts[key] = (count + 1, total + latency)

    def routes(self) -> tuple[Route, ...]:
        # uptime 1 s and rate = count: the builder then reports exactly ``count`` requests
        return tuple(
            Route(handler, float(count), total / count, method, code)
            for (code, handler, method), (count, total) in sorted(self.counts.items())
        )


@dataclass(frozen=True)
class TaskContext:
    sim: Simulation
    app: App
    task: Task
    served: Served
    now: float


def _index(ctx: TaskContext) -> bytes:
    return (f"<html><body><h1>{ctx.app.id}</h1><p>task {ctx.task.id} on {ctx.task.host}"
            f"</p></body></html>\n").encode()  # fmt: skip


def _items(ctx: TaskContext) -> bytes:
    items = [{"id": i, "name": f"item-{i}"} for i in range(3)]
    return json.dumps({"items": items, "served_by": ctx.task.id}).encode()


def _failure(ctx: TaskContext) -> bytes:
    return b'{"error":"backend unavailable"}'


def _metrics(ctx: TaskContext) -> bytes:
    task, app = ctx.task, ctx.app
    _, cpu_seconds, _ = ctx.sim.task_usage(task, ctx.now)
    process = ProcessSample(
        cpu_seconds=round(cpu_seconds, 2),
        resident_bytes=int(app.mem * MB * 0.4),
        virtual_bytes=int(app.mem * MB * 1.6),
        start_time_seconds=round(task.started_at or ctx.now, 3),
        open_fds=12,
    )
    traffic = AppTraffic(uptime_seconds=1.0, routes=ctx.served.routes(), in_flight=1,
                         process=process)  # fmt: skip
    return app_metrics(traffic).encode()


PAGES: dict[str, Page] = {
    "/": Page(200, "text/html; charset=utf-8", _index),
    "/api/items": Page(200, "application/json", _items),
    "/api/fail": Page(500, "application/json", _failure),
    "/metrics": Page(200, "text/plain; version=0.0.4; charset=utf-8", _metrics),
}
NOT_FOUND = Page(404, "text/plain; charset=utf-8", lambda ctx: b"404 page not found\n")
HEALTHY = Page(200, "text/plain; charset=utf-8", lambda ctx: b"OK\n")
UNHEALTHY = Page(503, "text/plain; charset=utf-8", lambda ctx: b"unhealthy\n")


def health_path(app: App) -> str:
    return app.health_checks[0].path if app.health_checks else "/health"


def latency(sim: Simulation, app: App, task: Task, now: float) -> float:
    """Seconds one request takes: grows as 1/(1-u) with the instance's CPU utilisation u."""
    used = app.per_instance_usage(sim.elapsed(now)) * task.jitter
    utilisation = min(MAX_UTILISATION, used / app.cpus) if app.cpus > 0 else 0.0
    return BASE_LATENCY / (1.0 - utilisation)


def _page(app: App, path: str) -> tuple[str, Page]:
    if path == health_path(app):
        return path, UNHEALTHY if app.unhealthy else HEALTHY
    page = PAGES.get(path)
    return (path, page) if page is not None else ("other", NOT_FOUND)


class TaskHandler:
    """Answers for one task, on every one of its host ports."""

    def __init__(self, sim: Simulation, task_id: str) -> None:
        self.sim = sim
        self.task_id = task_id
        self.served = Served()

    def alive(self) -> bool:
        task = self.sim.tasks.get(self.task_id)
        return task is not None and task.state is TaskState.RUNNING

    def handle(self, request: Request) -> Response:
        sim = self.sim
        with sim.lock:
            now = sim.sync()
            task = sim.tasks.get(self.task_id)
            app = sim.apps.get(task.app_id) if task is not None else None
            if task is None or app is None or task.state is not TaskState.RUNNING:
                return Response(503, b"", "", close=True)
            handler, page = _page(app, request.path)
            delay = latency(sim, app, task, now)
            self.served.add(page.status, handler, request.method, delay)
            body = page.body(TaskContext(sim, app, task, self.served, now))
        return Response(page.status, body, page.content_type, delay=delay)


@dataclass
class _Listener:
    handler: TaskHandler
    server: asyncio.base_events.Server
    connections: set[HttpProtocol] = field(default_factory=set)

    def close(self) -> None:
        self.server.close()
        for protocol in list(self.connections):
            protocol.abort()


class TaskListeners:
    def __init__(self, sim: Simulation, server: SimServer, max_tasks: int = MAX_TASKS) -> None:
        if len(sim.tasks) > max_tasks:
            raise ValueError(f"task listeners are for clusters of up to {max_tasks} tasks; "
                             f"this one has {len(sim.tasks)}")  # fmt: skip
        self.sim = sim
        self.server = server
        self._open: dict[Key, _Listener] = {}
        self._handlers: dict[str, TaskHandler] = {}
        self._seen_epoch = -1
        self._timer: asyncio.TimerHandle | None = None
        self._lock: asyncio.Lock | None = None
        self._stopped = False
        #: addresses that could not be bound (something else listens there)
        self.failed: set[Key] = set()

    # -- lifecycle (any thread) -------------------------------------------------------------

    def start(self) -> None:
        self.server.submit(self._start())

    def reconcile(self) -> None:
        """Open and close listeners to match the running tasks now."""
        self.server.submit(self._reconcile())

    def stop(self) -> None:
        self._stopped = True
        self.server.submit(self._stop())

    def endpoints(self) -> dict[Key, str]:
        """(address, port) → id of the task listening there."""
        return {key: listener.handler.task_id for key, listener in list(self._open.items())}

    # -- on the loop ------------------------------------------------------------------------

    async def _start(self) -> None:
        self._lock = asyncio.Lock()
        await self._reconcile()
        self._arm()

    def _arm(self) -> None:
        if not self._stopped:
            self._timer = asyncio.get_running_loop().call_later(TICK_SECONDS, self._tick)

    def _tick(self) -> None:
        with self.sim.lock:
            self.sim.sync()
            changed = self.sim.task_epoch != self._seen_epoch
        if changed and not self._stopped:
            asyncio.get_running_loop().create_task(self._reconcile())
        self._arm()

    def _wanted(self) -> dict[Key, str]:
        sim = self.sim
        with sim.lock:
            sim.sync()
            self._seen_epoch = sim.task_epoch
            return {
                (sim.agents_by_id[task.agent_id].ip, port): task.id
                for task in sim.tasks.values()
                if task.state is TaskState.RUNNING and sim.agents_by_id[task.agent_id].active
                for port in task.ports
            }

    async def _reconcile(self) -> None:
        if self._lock is None or self._stopped:
            return
        async with self._lock:
            wanted = self._wanted()
            for key, listener in list(self._open.items()):
                if wanted.get(key) != listener.handler.task_id:
                    listener.close()
                    del self._open[key]
            live = set(wanted.values())
            for task_id in [t for t in self._handlers if t not in live]:
                del self._handlers[task_id]
            for key, task_id in wanted.items():
                if key not in self._open:
                    await self._listen(key, task_id)

    async def _listen(self, key: Key, task_id: str) -> None:
        handler = self._handlers.get(task_id)
        if handler is None:
            handler = self._handlers[task_id] = TaskHandler(self.sim, task_id)
        connections: set[HttpProtocol] = set()

        def resolve(ip: str) -> Handler | None:
            return handler.handle if handler.alive() else None

        def factory() -> HttpProtocol:
            protocol = HttpProtocol(resolve, _report, connections.discard)
            connections.add(protocol)
            return protocol

        ip, port = key
        try:
            server = await asyncio.get_running_loop().create_server(
                factory, host=ip, port=port, reuse_address=True, backlog=128)
        except OSError as exc:
            if key not in self.failed:
                log.warning("task %s cannot listen on %s:%d: %s", task_id, ip, port, exc)
            self.failed.add(key)
            return
        self.failed.discard(key)
        self._open[key] = _Listener(handler, server, connections)

    async def _stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        for listener in self._open.values():
            listener.close()
        self._open.clear()


def _report(exc: BaseException) -> None:
    log.error("task listener failed", exc_info=exc)
