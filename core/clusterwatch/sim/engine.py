"""The simulation engine: builds a cluster from a seed and moves it through simulated time.

Everything that changes the cluster goes through ``Simulation`` under its lock: scaling,
placement (first fit from a rotating cursor, so thousands of agents stay cheap), the queue of
instances that do not fit, deployments, failures and leader changes. Time-driven changes
(tasks leaving STAGING, flapping tasks, deployments finishing) happen lazily in ``sync``,
which every reader calls first.
"""

from __future__ import annotations

import random
import threading
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from clusterwatch.sim import addresses, catalog
from clusterwatch.sim.clock import SimClock
from clusterwatch.sim.ids import IdFactory, marathon_task_prefix
from clusterwatch.sim.load import Constant, LoadModel, Sine, parse_load
from clusterwatch.sim.model import (
    Agent,
    AgentState,
    App,
    Deployment,
    Framework,
    HealthCheck,
    MarathonInstance,
    Master,
    Resources,
    Task,
    TaskState,
)

if TYPE_CHECKING:
    from clusterwatch.sim.marathon_apps import AppSpec


class SimError(Exception):
    """A request the simulated system refuses; ``status`` is the HTTP status it answers."""

    status = 400


class NotFound(SimError):
    status = 404


class DeploymentConflict(SimError):
    status = 409

    def __init__(self, app_id: str, deployment_ids: list[str]) -> None:
        self.app_id = app_id
        self.deployment_ids = deployment_ids
        super().__init__(
            "App is locked by one or more deployments. Override with the option '?force=true'."
            " View details at '/v2/deployments/<DEPLOYMENT_ID>'."
        )


@dataclass
class SimConfig:
    agents: int = 10
    apps: int = 5
    masters: int = 3
    marathons: int = 3
    seed: int = 1
    clock_speed: float = 1.0
    start_time: float | None = None
    staging_seconds: float = 5.0
    gpu_agent_every: int = 5
    chronos: bool = True
    app_loads: dict[str, str] = field(default_factory=dict)
    cluster_name: str = "clusterwatch-sim"
    mesos_version: str = "1.7.1"
    marathon_version: str = "1.7.189"
    snapshot_rate_limit: float | None = None  # requests/s per master/agent; None: no limit
    tick_seconds: float = 1.0  # simulated; readers advance the model at most once a tick
    #: dense clusters (benchmarks): small apps sized so every agent runs about this many
    containers_per_agent: int | None = None
    service_port_base: int = 10000  # Marathon's servicePorts: base + 2 * app index (+ 1)
    ports: addresses.Ports = field(default_factory=addresses.Ports)


Listener = Callable[[], None]


class Simulation:
    def __init__(self, config: SimConfig) -> None:
        if config.masters < 1 or config.marathons < 1 or config.agents < 0 or config.apps < 0:
            raise ValueError("need at least one master and one Marathon; counts must be >= 0")
        self.config = config
        self.lock = threading.RLock()
        self.rng = random.Random(config.seed)
        self.ids = IdFactory(self.rng)
        self.clock = SimClock(config.clock_speed, config.start_time)
        self.start = self.clock.start
        self.cluster_id = self.ids.uuid4()
        self.git_sha = self.ids.hex_sha()
        self.events: Counter[str] = Counter()
        self.masters: list[Master] = []
        self.marathons: list[MarathonInstance] = []
        self.agents: list[Agent] = []
        self.agents_by_id: dict[str, Agent] = {}
        self.frameworks: list[Framework] = []
        self.apps: dict[str, App] = {}
        self.tasks: dict[str, Task] = {}
        self.completed: deque[Task] = deque(maxlen=200)
        self.deployments: dict[str, Deployment] = {}
        self.leader_listeners: list[Listener] = []
        #: counts changes to the set of running tasks (task listeners follow it)
        self.task_epoch = 0
        #: counts every change to the model (see ``sync`` and ``cache_key``)
        self.generation = 0
        self._synced_tick = -1
        self._synced_gen = -1
        self._staging: deque[Task] = deque()
        self._cursor = 0
        self._capacity_epoch = 0
        self._failed_epoch: dict[str, int] = {}
        self._build()

    # -- building -------------------------------------------------------------------------

    def _build(self) -> None:
        cfg, now = self.config, self.start
        for i in range(cfg.masters):
            self.masters.append(
                Master(i, addresses.master_ip(i), cfg.ports.master, self.ids.uuid4(), now - 86400)
            )
        self._elect_master(self.masters[0], now - 86400 + 5)
        for i in range(cfg.marathons):
            ip = addresses.marathon_ip(i)
            self.marathons.append(MarathonInstance(i, ip, cfg.ports.marathon, now - 86000))
        self.marathons[0].elected_time = now - 86000 + 20
        leader_host = self.marathons[0].ip
        self.marathon_framework = Framework(
            f"{self.cluster_id}-0000", "marathon", leader_host,
            f"http://{leader_host}:{cfg.ports.marathon}", now - 85900,
            principal="marathon", capabilities=("PARTITION_AWARE", "TASK_KILLING_STATE"),
        )  # fmt: skip
        self.frameworks.append(self.marathon_framework)
        if cfg.chronos:
            self.frameworks.append(
                Framework(
                    f"{self.cluster_id}-0001", "chronos", addresses.CHRONOS_IP,
                    f"http://{addresses.CHRONOS_IP}:{cfg.ports.chronos}", now - 85000,
                    principal="chronos", capabilities=(),
                )
            )
        for i in range(cfg.agents):
            self._add_agent(i, now)
        for i in range(cfg.apps):
            self._add_app(i, now)

    def _add_agent(self, index: int, now: float) -> None:
        cfg = self.config
        cpus, mem, disk = catalog.AGENT_SHAPES[index % len(catalog.AGENT_SHAPES)]
        gpu = cfg.gpu_agent_every > 0 and index % cfg.gpu_agent_every == cfg.gpu_agent_every - 1
        agent = Agent(
            index=index,
            id=f"{self.cluster_id}-S{index}",
            ip=addresses.agent_ip(index),
            port=cfg.ports.agent,
            resources=Resources(cpus, mem, disk, catalog.AGENT_GPUS if gpu else 0.0,
                                catalog.AGENT_PORTS),
            attributes={"rack": catalog.RACKS[index % len(catalog.RACKS)]},
            registered_time=now - 80000 + index * 0.01,
            start_time=now - 80100,
            reregistered_time=now - 3600 + index * 0.01,  # after an earlier master failover
        )  # fmt: skip
        self.agents.append(agent)
        self.agents_by_id[agent.id] = agent
        self.events["slave_registrations"] += 1

    def _add_app(self, index: int, now: float) -> None:
        rng = self.rng
        app_id, image = catalog.app_id(index)
        dense = self.config.containers_per_agent
        if dense:
            wanted, apps = self.config.agents * dense, self.config.apps
            instances = wanted // apps + (1 if index < wanted % apps else 0)
            cpus = rng.choice(catalog.DENSE_CPU_CHOICES)
        else:
            instances = rng.choice(catalog.INSTANCE_CHOICES)
            cpus = rng.choice(catalog.CPU_CHOICES)
        created = now - rng.uniform(3600, 30 * 86400)
        spec = self.config.app_loads.get(app_id)
        load: LoadModel = (
            parse_load(spec)
            if spec
            else Sine(
                mean=instances * cpus * rng.uniform(0.3, 0.6),
                amplitude=instances * cpus * rng.uniform(0.1, 0.3),
                period=rng.choice((1800.0, 3600.0, 7200.0, 86400.0)),
                phase=rng.uniform(0, 6.28),
            )
        )
        ports = 1 if index % 3 else 2
        app = App(
            id=app_id,
            instances=instances,
            cpus=cpus,
            mem=rng.choice(catalog.DENSE_MEM_CHOICES if dense else catalog.MEM_CHOICES),
            disk=0.0,
            gpus=0.0,
            image=image,
            labels={
                "owner": rng.choice(catalog.OWNERS),
                "HAPROXY_GROUP": "external" if index % 2 == 0 else "internal",
                # every other app opts in to having its /metrics scraped (see the
                # prometheus collector); the task listeners serve it
                **({"clusterwatch.metrics.path": "/metrics"} if index % 2 == 0 else {}),
            },
            port_names=["http", "admin"][:ports],
            service_ports=[self.config.service_port_base + 2 * index + k for k in range(ports)],
            health_checks=[] if index % 4 == 3 else [HealthCheck()],
            version=created,
            last_scaling_at=created,
            last_config_change_at=created,
            load=load,
            acc_time=now,
        )
        self.apps[app_id] = app
        for _ in range(instances):
            task = self._place(app, now)
            if task is None:
                break
            pre_run = rng.uniform(600, 86400)
            task.staged_at = now - pre_run
            self._start_task(task, now)
            task.started_at = task.staged_at + rng.uniform(2, 30)
            task.cpu_at_start = -pre_run * app.cpus * rng.uniform(0.2, 0.5)
        self._update_queue(app, now)

    # -- queries --------------------------------------------------------------------------

    def now(self) -> float:
        return self.clock.now()

    def elapsed(self, at: float) -> float:
        return at - self.start

    def leader(self) -> Master | None:
        return next((m for m in self.masters if m.elected_time is not None), None)

    def marathon_leader(self) -> MarathonInstance | None:
        return next((m for m in self.marathons if m.elected_time is not None), None)

    def app(self, app_id: str) -> App:
        key = "/" + app_id.strip("/")
        try:
            return self.apps[key]
        except KeyError:
            raise NotFound(f"App '{key}' does not exist") from None

    def agent(self, agent_id: str) -> Agent:
        try:
            return self.agents_by_id[agent_id]
        except KeyError:
            raise NotFound(f"agent {agent_id!r} does not exist") from None

    def app_tasks(self, app: App) -> list[Task]:
        return [self.tasks[t] for t in app.task_ids]

    def known_agents(self) -> list[Agent]:
        return [a for a in self.agents if a.state is not AgentState.REMOVED]

    def queued(self, app: App) -> int:
        return max(0, app.instances - len(app.task_ids))

    def task_usage(self, task: Task, at: float) -> tuple[float, float, float]:
        """(current cores, cumulative cpu seconds, cumulative throttled seconds) of a task."""
        if task.finished_at is not None:
            return 0.0, task.final_cpu, task.final_throttled
        if task.state is not TaskState.RUNNING:
            return 0.0, 0.0, 0.0
        app = self.apps[task.app_id]
        if self.tick(app.acc_time) < self.tick(at):  # cumulative counters move once a tick
            app.advance(self.start, at)
        cores = app.per_instance_usage(self.elapsed(at)) * task.jitter
        cpu = (app.acc_cpu - task.cpu_at_start) * task.jitter
        throttled = app.acc_throttled - task.throttled_at_start
        return cores, max(0.0, cpu), max(0.0, throttled)

    # -- time -----------------------------------------------------------------------------

    def tick(self, at: float) -> int:
        """The simulated tick a moment falls in."""
        return int((at - self.start) // self.config.tick_seconds)

    def cache_key(self, at: float) -> tuple[int, int]:
        """Answers built from the model may be reused while this key stays the same."""
        return self.tick(at), self.generation

    def changed(self) -> None:
        """The model changed: the next ``sync`` makes a full pass and cached answers expire."""
        self.generation += 1

    def sync(self, force: bool = False) -> float:
        """Apply everything due up to now; returns now.

        Readers call this on every request, so the full pass (due events, placing queued
        instances, finishing deployments) runs at most once per simulated tick, or again
        when the model changed since (``generation``) or when ``force`` (every action).
        Time-driven changes thus show at most one tick late, at their own time.
        """
        with self.lock:
            now = self.clock.now()
            tick = self.tick(now)
            if not force and tick == self._synced_tick and self._synced_gen == self.generation:
                return now
            while True:
                due = self._next_event(now)
                if due is None:
                    break
                at, action = due
                action(at)
            for app in self.apps.values():
                if app.instances > len(app.task_ids):
                    self._fill(app, now)
                if app.deployment_id is not None:
                    self._maybe_finish_deployment(app)
            self._synced_tick, self._synced_gen = tick, self.generation
            return now

    def advance(self, seconds: float) -> float:
        self.clock.advance(seconds)
        return self.sync(force=True)

    def _next_event(self, now: float) -> tuple[float, Callable[[float], None]] | None:
        best: tuple[float, Callable[[float], None]] | None = None
        if self._staging:
            ready = self._staging[0].staged_at + self.config.staging_seconds
            if ready <= now:
                best = (ready, self._run_next_staged)
        for app in self.apps.values():
            flap = app.next_flap
            if flap is not None and flap <= now and (best is None or flap < best[0]):
                best = (flap, self._flapper(app))
        return best

    def _run_next_staged(self, at: float) -> None:
        task = self._staging.popleft()
        if task.state is not TaskState.STAGING:
            return
        app = self.apps.get(task.app_id)
        if app is None:
            return
        app.advance(self.start, at)
        task.state = TaskState.RUNNING
        task.started_at = at
        task.cpu_at_start = app.acc_cpu
        task.throttled_at_start = app.acc_throttled
        app.running += 1
        self.task_epoch += 1
        self.changed()
        self.events["status_updates"] += 1

    def _flapper(self, app: App) -> Callable[[float], None]:
        def flap(at: float) -> None:
            assert app.flap_every is not None
            app.next_flap = at + app.flap_every
            running = [self.tasks[t] for t in app.task_ids
                       if self.tasks[t].state is TaskState.RUNNING]  # fmt: skip
            if running:
                self._end_task(running[0], TaskState.FAILED, at, "Command exited with status 137")
                self._fill(app, at)

        return flap

    # -- placement ------------------------------------------------------------------------

    def _place(self, app: App, now: float) -> Task | None:
        agents, count = self.agents, len(self.agents)
        needed_ports = len(app.port_names)
        for step in range(count):
            agent = agents[(self._cursor + step) % count]
            if agent.active and agent.fits(app.cpus, app.mem, app.disk, app.gpus, needed_ports):
                self._cursor = (self._cursor + step + 1) % count
                return self._stage(app, agent, now)
        return None

    def _stage(self, app: App, agent: Agent, now: float) -> Task:
        ports: list[int] = []
        for lo, hi in agent.resources.ports:
            for port in range(lo + self.rng.randrange(0, 50), hi + 1):
                if port not in agent.used_ports:
                    ports.append(port)
                    if len(ports) == len(app.port_names):
                        break
            if len(ports) == len(app.port_names):
                break
        uuid = self.ids.uuid1(now)
        prefix = marathon_task_prefix(app.id)
        container_no = len(agent.tasks) % 250 + 2
        task = Task(
            id=f"{prefix}.{uuid}",
            instance_id=f"{prefix}.marathon-{uuid}",
            app_id=app.id,
            framework_id=self.marathon_framework.id,
            agent_id=agent.id,
            host=agent.hostname,
            container_id=self.ids.uuid4(),
            docker_id=f"{self.rng.getrandbits(256):064x}",
            ports=ports,
            staged_at=now,
            version=app.version,
            jitter=self.rng.uniform(0.85, 1.15),
            ip_address=f"172.17.0.{container_no}",
        )
        agent.tasks[task.id] = task
        agent.used_cpus += app.cpus
        agent.used_mem += app.mem
        agent.used_disk += app.disk
        agent.used_gpus += app.gpus
        agent.used_ports.update(ports)
        agent.launched += 1
        self.tasks[task.id] = task
        app.task_ids.append(task.id)
        self._staging.append(task)
        self.changed()
        self.events["tasks_launched"] += 1
        self.events["status_updates"] += 1
        return task

    def _start_task(self, task: Task, now: float) -> None:
        """Mark a freshly staged task running at once (used while building the cluster)."""
        self._staging.remove(task)
        task.state = TaskState.RUNNING
        task.started_at = now
        app = self.apps[task.app_id]
        app.running += 1
        self.task_epoch += 1
        self.changed()

    def _fill(self, app: App, now: float) -> None:
        if self._failed_epoch.get(app.id) == self._capacity_epoch:
            return  # nothing freed since the last attempt: do not scan every agent again
        while app.instances > len(app.task_ids):
            if self._place(app, now) is None:
                self._failed_epoch[app.id] = self._capacity_epoch
                break
        self._update_queue(app, now)

    def _update_queue(self, app: App, now: float) -> None:
        if self.queued(app) > 0:
            app.queued_since = app.queued_since or now
        else:
            app.queued_since = None

    def _end_task(self, task: Task, state: TaskState, at: float, message: str) -> None:
        app = self.apps.get(task.app_id)
        agent = self.agents_by_id[task.agent_id]
        if app is not None:
            app.advance(self.start, at)
            if task.state is TaskState.RUNNING:
                task.final_cpu = max(0.0, (app.acc_cpu - task.cpu_at_start) * task.jitter)
                task.final_throttled = max(0.0, app.acc_throttled - task.throttled_at_start)
                app.running -= 1
            app.task_ids.remove(task.id)
            if state in (TaskState.FAILED, TaskState.LOST):
                app.last_failure = {
                    "appId": app.id,
                    "host": task.host,
                    "message": message,
                    "state": state.value,
                    "taskId": task.id,
                    "timestamp": at,
                    "version": app.version,
                    "slaveId": task.agent_id,
                }
        task.state = state
        task.finished_at = at
        self.task_epoch += 1
        self.changed()
        del self.tasks[task.id]
        agent.tasks.pop(task.id, None)
        if app is not None:
            agent.used_cpus = max(0.0, agent.used_cpus - app.cpus)
            agent.used_mem = max(0.0, agent.used_mem - app.mem)
            agent.used_disk = max(0.0, agent.used_disk - app.disk)
            agent.used_gpus = max(0.0, agent.used_gpus - app.gpus)
        agent.used_ports.difference_update(task.ports)
        key = state.value.removeprefix("TASK_").lower()
        agent.terminal[key] = agent.terminal.get(key, 0) + 1
        self.events[f"tasks_{key}"] += 1
        self.events["status_updates"] += 1
        self.completed.append(task)
        self._capacity_epoch += 1

    # -- Marathon actions -----------------------------------------------------------------

    def scale(self, app_id: str, instances: int, force: bool = False) -> Deployment:
        if instances < 0:
            raise SimError("Object is not valid: instances must be >= 0")
        with self.lock:
            now = self.sync(force=True)
            app = self.app(app_id)
            if app.deployment_id is not None and not force:
                raise DeploymentConflict(app.id, [app.deployment_id])
            if app.deployment_id is not None:
                self.deployments.pop(app.deployment_id, None)  # force: the old one is dropped
            app.advance(self.start, now)
            app.instances = instances
            app.version = now
            app.last_scaling_at = now
            while len(app.task_ids) > instances:  # YOUNGEST_FIRST
                self._end_task(self.tasks[app.task_ids[-1]], TaskState.KILLED, now, "killed")
            self._failed_epoch.pop(app.id, None)
            return self._deploy(app, now, "ScaleApplication")

    def create_app(self, app_id: str, spec: AppSpec) -> Deployment:
        """A new app (PUT or POST of an unknown id), started like Marathon starts one."""
        key = "/" + app_id.strip("/")
        if key == "/" or "//" in key:
            raise SimError(f"Invalid app id {app_id!r}")
        with self.lock:
            now = self.sync(force=True)
            if key in self.apps:
                raise DeploymentConflict(key, [])
            taken = [p for a in self.apps.values() for p in a.service_ports]
            first = max([self.config.service_port_base - 1, *taken]) + 1
            app = App(
                id=key, instances=spec.instances, cpus=spec.cpus, mem=spec.mem,
                disk=spec.disk, gpus=0.0, image=spec.image, labels=dict(spec.labels),
                port_names=list(spec.port_names),
                service_ports=list(range(first, first + len(spec.port_names))),
                health_checks=list(spec.health_checks), version=now, last_scaling_at=now,
                last_config_change_at=now, load=Constant(spec.instances * spec.cpus * 0.4),
                acc_time=now,
            )  # fmt: skip
            self.apps[key] = app
            return self._deploy(app, now, "StartApplication")

    def _deploy(self, app: App, now: float, action: str) -> Deployment:
        """Place ``app``'s missing instances and track that as a deployment (finished at once
        when nothing is left to place). Under the lock."""
        self._fill(app, now)
        deployment = Deployment(self.ids.uuid4(), app.id, now, action=action)
        self.deployments[deployment.id] = deployment
        app.deployment_id = deployment.id
        self.events["deployments"] += 1
        self.changed()
        self._maybe_finish_deployment(app)
        return deployment

    def _maybe_finish_deployment(self, app: App) -> None:
        if app.stuck or app.deployment_id is None:
            return
        tasks = self.app_tasks(app)
        if len(tasks) == app.instances and all(t.state is TaskState.RUNNING for t in tasks):
            self.deployments.pop(app.deployment_id, None)
            app.deployment_id = None
            self.changed()

    def set_stuck(self, app_id: str, stuck: bool = True) -> None:
        with self.lock:
            self.app(app_id).stuck = stuck
            self.changed()
        self.sync(force=True)

    def set_unhealthy(self, app_id: str, unhealthy: bool = True) -> None:
        with self.lock:
            self.app(app_id).unhealthy = unhealthy
            self.changed()

    def set_flapping(self, app_id: str, every: float | None) -> None:
        with self.lock:
            app = self.app(app_id)
            app.flap_every = every
            app.next_flap = None if every is None else self.clock.now() + every
            self.changed()

    # -- Mesos actions --------------------------------------------------------------------

    def _elect_master(self, master: Master, at: float) -> None:
        master.elected_time = at
        master.baseline = dict(self.events)
        self.changed()

    def fail_over_master(self, to: int | None = None) -> Master:
        """The leader's process dies and restarts as a standby; another master is elected."""
        with self.lock:
            now = self.sync(force=True)
            old = self.leader()
            candidates = [m for m in self.masters if m is not old]
            if not candidates:
                raise SimError("a single master cannot fail over")
            if to is not None:
                new = self.masters[to]
                if new is old:
                    raise SimError(f"master {to} already leads")
            else:
                after = (old.index + 1) if old is not None else 0
                new = min(candidates, key=lambda m: (m.index - after) % len(self.masters))
            if old is not None:
                old.elected_time = None
                old.id = self.ids.uuid4()
                old.start_time = now
            self._elect_master(new, now)
            for agent in self.agents:  # every agent re-registers with the new leader
                if agent.active:
                    agent.reregistered_time = now
        self._notify()
        return new

    def lose_leader(self) -> None:
        """No master leads (e.g. all ZooKeeper sessions lost); ``fail_over_master`` ends it."""
        with self.lock:
            for master in self.masters:
                master.elected_time = None
            self.changed()
        self._notify()

    def change_marathon_leader(self, to: int | None = None) -> MarathonInstance:
        with self.lock:
            now = self.sync(force=True)
            old = self.marathon_leader()
            if len(self.marathons) < 2:
                raise SimError("a single Marathon cannot change leader")
            index = to if to is not None else ((old.index + 1) if old else 0) % len(self.marathons)
            new = self.marathons[index]
            if new is old:
                raise SimError(f"Marathon {index} already leads")
            if old is not None:
                old.elected_time = None
                old.start_time = now  # the old leader abdicates by restarting
            new.elected_time = now
            self.marathon_framework.hostname = new.ip
            self.marathon_framework.webui_url = f"http://{new.ip}:{new.port}"
            self.marathon_framework.registered_time = now
            self.events["framework_reregistrations"] += 1
            self.changed()
            return new

    def lose_agent(self, agent_id: str) -> None:
        """The agent becomes unreachable: tasks lost, replaced elsewhere, endpoints silent."""
        with self.lock:
            now = self.sync(force=True)
            agent = self.agent(agent_id)
            if agent.state is not AgentState.ACTIVE:
                return
            agent.state = AgentState.LOST
            for task in list(agent.tasks.values()):
                self._end_task(task, TaskState.LOST, now, "Agent removed")
            self.events["slave_unreachable"] += 1
            self.changed()
            self.sync(force=True)

    def remove_agent(self, agent_id: str) -> None:
        with self.lock:
            self.lose_agent(agent_id)
            agent = self.agent(agent_id)
            if agent.state is not AgentState.REMOVED:
                agent.state = AgentState.REMOVED
                self.events["slave_removals"] += 1
                self.changed()

    def restore_agent(self, agent_id: str) -> None:
        with self.lock:
            now = self.sync(force=True)
            agent = self.agent(agent_id)
            if agent.state is AgentState.ACTIVE:
                return
            agent.state = AgentState.ACTIVE
            agent.reregistered_time = now
            agent.start_time = now
            self.events["slave_reregistrations"] += 1
            self._capacity_epoch += 1
            self.changed()
        self.sync(force=True)

    STANDBY_MODES = ("redirect", "local", "claims_leader")

    def set_standby_mode(self, master_index: int, mode: str = "redirect") -> None:
        if mode not in self.STANDBY_MODES:
            raise SimError(f"standby mode must be one of {', '.join(self.STANDBY_MODES)}")
        with self.lock:
            self.masters[master_index].standby_mode = mode
            self.changed()

    def _notify(self) -> None:
        for listener in list(self.leader_listeners):
            listener()
