"""The simulated cluster's entities: plain dataclasses, no behaviour beyond bookkeeping.

``engine.Simulation`` owns and changes them; the response builders only read them.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from enum import StrEnum

from clusterwatch.sim.load import LoadModel, integrate


class TaskState(StrEnum):
    STAGING = "TASK_STAGING"
    RUNNING = "TASK_RUNNING"
    KILLED = "TASK_KILLED"
    FAILED = "TASK_FAILED"
    LOST = "TASK_LOST"
    FINISHED = "TASK_FINISHED"


TERMINAL = frozenset({TaskState.KILLED, TaskState.FAILED, TaskState.LOST, TaskState.FINISHED})


class AgentState(StrEnum):
    ACTIVE = "active"
    LOST = "lost"  # unreachable: still known to the master, inactive, not answering
    REMOVED = "removed"  # gone from the master's agent list


def ip_to_mesos_int(ip: str) -> int:
    """MasterInfo.ip: the IPv4 address in network byte order read as a little-endian int."""
    return int.from_bytes(socket.inet_aton(ip), "little")


@dataclass
class Resources:
    cpus: float
    mem: float
    disk: float
    gpus: float = 0.0
    ports: tuple[tuple[int, int], ...] = ()

    def ports_text(self) -> str:
        return ports_text(self.ports)


def ports_text(ranges: tuple[tuple[int, int], ...] | list[tuple[int, int]]) -> str:
    """Mesos' text form of a ports range set: ``[31000-31005, 31010-31010]``."""
    return "[" + ", ".join(f"{lo}-{hi}" for lo, hi in ranges) + "]"


def ranges_of(ports: list[int]) -> list[tuple[int, int]]:
    ranges: list[tuple[int, int]] = []
    for port in sorted(ports):
        if ranges and ranges[-1][1] == port - 1:
            ranges[-1] = (ranges[-1][0], port)
        else:
            ranges.append((port, port))
    return ranges


@dataclass
class Master:
    index: int
    ip: str
    port: int
    id: str
    start_time: float
    elected_time: float | None = None
    #: cluster event counts when this master was elected: its counters start from there
    baseline: dict[str, int] = field(default_factory=dict)
    #: how this master answers cluster endpoints while standby: "redirect" (307 to the
    #: leader, as 1.x does), "local" (answers itself, naming the leader, as 0.x did) or
    #: "claims_leader" (a fault: says it leads)
    standby_mode: str = "redirect"

    @property
    def pid(self) -> str:
        return f"master@{self.ip}:{self.port}"

    @property
    def address(self) -> str:
        return f"{self.ip}:{self.port}"


@dataclass
class MarathonInstance:
    index: int
    ip: str
    port: int
    start_time: float
    elected_time: float | None = None

    @property
    def address(self) -> str:
        return f"{self.ip}:{self.port}"


@dataclass
class Agent:
    index: int
    id: str
    ip: str
    port: int
    resources: Resources
    attributes: dict[str, str]
    registered_time: float
    start_time: float
    state: AgentState = AgentState.ACTIVE
    reregistered_time: float | None = None
    tasks: dict[str, Task] = field(default_factory=dict)
    used_cpus: float = 0.0
    used_mem: float = 0.0
    used_disk: float = 0.0
    used_gpus: float = 0.0
    used_ports: set[int] = field(default_factory=set)
    #: terminal task counts on this agent since it started (the agent's own counters)
    terminal: dict[str, int] = field(default_factory=dict)
    launched: int = 0

    @property
    def hostname(self) -> str:
        return self.ip  # agents run with --hostname_lookup=false, as DC/OS does

    @property
    def pid(self) -> str:
        return f"slave(1)@{self.ip}:{self.port}"

    @property
    def active(self) -> bool:
        return self.state is AgentState.ACTIVE

    def fits(self, cpus: float, mem: float, disk: float, gpus: float, ports: int) -> bool:
        res = self.resources
        free_ports = sum(hi - lo + 1 for lo, hi in res.ports) - len(self.used_ports)
        return (
            self.used_cpus + cpus <= res.cpus + 1e-9
            and self.used_mem + mem <= res.mem + 1e-9
            and self.used_disk + disk <= res.disk + 1e-9
            and self.used_gpus + gpus <= res.gpus + 1e-9
            and free_ports >= ports
        )


@dataclass
class Framework:
    id: str
    name: str
    hostname: str
    webui_url: str
    registered_time: float
    role: str = "*"
    principal: str = ""
    user: str = "root"
    capabilities: tuple[str, ...] = ("PARTITION_AWARE", "TASK_KILLING_STATE")


@dataclass
class HealthCheck:
    protocol: str = "MESOS_HTTP"
    path: str = "/health"
    port_index: int = 0
    grace_period: int = 60
    interval: int = 10
    timeout: int = 5
    max_failures: int = 3


@dataclass
class App:
    id: str
    instances: int
    cpus: float
    mem: float
    disk: float
    gpus: float
    image: str
    labels: dict[str, str]
    port_names: list[str]
    service_ports: list[int]
    health_checks: list[HealthCheck]
    version: float
    last_scaling_at: float
    last_config_change_at: float
    load: LoadModel
    #: ids of this app's non-terminal tasks, oldest first
    task_ids: list[str] = field(default_factory=list)
    queued_since: float | None = None
    deployment_id: str | None = None
    stuck: bool = False  # fault: its deployments never finish
    unhealthy: bool = False  # fault: health checks fail
    flap_every: float | None = None  # fault: a task fails every so many simulated seconds
    next_flap: float | None = None
    last_failure: dict[str, object] | None = None
    # Per-instance CPU accounting: core-seconds one instance used, and seconds it was
    # throttled, integrated up to ``acc_time`` with ``running`` instances sharing the demand.
    acc_time: float = 0.0
    acc_cpu: float = 0.0
    acc_throttled: float = 0.0
    running: int = 0

    def per_instance_usage(self, elapsed: float) -> float:
        if self.running <= 0:
            return 0.0
        return min(self.cpus, self.load.demand(elapsed) / self.running)

    def advance(self, sim_start: float, until: float) -> None:
        """Integrate per-instance usage up to ``until`` (epoch seconds); never goes back."""
        if until <= self.acc_time:
            return
        if self.running > 0:
            begin, end = self.acc_time - sim_start, until - sim_start
            share = _Share(self.load, self.running)
            demanded = integrate(share, begin, end)
            capped = integrate(_Capped(share, self.cpus), begin, end)
            self.acc_cpu += capped
            self.acc_throttled += max(0.0, demanded - capped) / max(self.cpus, 1e-9)
        self.acc_time = until


@dataclass(frozen=True)
class _Share:
    load: LoadModel
    running: int

    def demand(self, elapsed: float) -> float:
        return self.load.demand(elapsed) / self.running


@dataclass(frozen=True)
class _Capped:
    share: _Share
    cap: float

    def demand(self, elapsed: float) -> float:
        return min(self.cap, self.share.demand(elapsed))


@dataclass
class Task:
    id: str
    instance_id: str
    app_id: str
    framework_id: str
    agent_id: str
    host: str
    container_id: str
    docker_id: str
    ports: list[int]
    staged_at: float
    version: float
    jitter: float  # this instance's share of the app's per-instance load (around 1.0)
    ip_address: str
    state: TaskState = TaskState.STAGING
    started_at: float | None = None
    finished_at: float | None = None
    #: the app's per-instance accumulators when this task started running
    cpu_at_start: float = 0.0
    throttled_at_start: float = 0.0
    #: cumulative cpu and throttled seconds, frozen when the task ended
    final_cpu: float = 0.0
    final_throttled: float = 0.0

    @property
    def executor_id(self) -> str:
        return self.id  # the command executor is named after its task

    @property
    def docker_name(self) -> str:
        return f"mesos-{self.container_id}"


@dataclass
class Deployment:
    id: str
    app_id: str
    version: float
    action: str = "ScaleApplication"
