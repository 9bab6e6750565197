"""Pure builders for cAdvisor API responses (v1.3 JSON, v2.0 stats; Prometheus text is in
cadvisor_metrics).

Inputs are small frozen dataclasses; every number in the output comes from them (no
randomness, no clock). Shapes follow cAdvisor's JSON as captured in
``reference/cadvisor/`` (v1.3 ``subcontainers`` and ``machine``).

How a container maps back to Mesos and Marathon (the choice this simulator makes):

* ``name`` is ``/docker/<64-hex id>`` (cgroupfs driver) and ``namespace`` is ``docker``;
* ``aliases`` are ``["mesos-<mesos container id>", "<64-hex id>"]``: Mesos' Docker
  containerizer names its containers ``mesos-<ContainerID>``, and cAdvisor lists the
  Docker name first, then the id;
* the simulated cAdvisor runs with ``--env_metadata_whitelist`` set to
  :data:`ENV_WHITELIST`, so ``spec.envs`` carries ``MESOS_TASK_ID``,
  ``MARATHON_APP_ID`` and ``MESOS_CONTAINER_NAME`` (the variables Mesos and Marathon
  put into the environment of a task's container). Prometheus output exposes them as
  ``container_env_<lower-cased name>`` labels, as cAdvisor does;
* ``spec.labels`` holds the container's Docker labels (an input, e.g. the app's labels),
  exposed in Prometheus as ``container_label_<sanitised key>``.

A collector should key on ``spec.envs`` (or the ``mesos-`` alias) rather than labels.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

JSON = dict[str, Any]

ENV_WHITELIST = ("MESOS_TASK_ID", "MARATHON_APP_ID", "MESOS_CONTAINER_NAME")
TCP_STATES = (
    "Established",
    "SynSent",
    "SynRecv",
    "FinWait1",
    "FinWait2",
    "TimeWait",
    "Close",
    "CloseWait",
    "LastAck",
    "Listen",
    "Closing",
)
UNLIMITED = 18446744073709551615  # what cgroup v1 reports for "no limit"


@dataclass(frozen=True)
class InterfaceSample:
    """Cumulative counters of one network interface inside a container."""

    name: str
    rx_bytes: int
    rx_packets: int
    tx_bytes: int
    tx_packets: int
    rx_errors: int = 0
    rx_dropped: int = 0
    tx_errors: int = 0
    tx_dropped: int = 0


@dataclass(frozen=True)
class DiskIoSample:
    """Cumulative block I/O of one device (``diskio.io_service_bytes``/``io_serviced``)."""

    major: int
    minor: int
    device: str  # e.g. "/dev/sda", used for Prometheus ``device`` labels
    read_bytes: int
    write_bytes: int
    reads: int
    writes: int


@dataclass(frozen=True)
class FsSample:
    """Filesystem usage as cAdvisor reports it per container (``filesystem[]``)."""

    device: str
    capacity: int
    usage: int
    base_usage: int = 0
    available: int = 0
    inodes_free: int = 0
    inodes: int = 0
    type: str = "vfs"


@dataclass(frozen=True)
class StatsSample:
    """One cAdvisor stats point; cpu values are cumulative nanoseconds."""

    timestamp_ns: int
    cpu_total_ns: int
    cpu_user_ns: int
    cpu_system_ns: int
    per_cpu_ns: tuple[int, ...]
    memory_usage: int
    memory_working_set: int
    memory_rss: int
    memory_cache: int
    memory_failcnt: int = 0
    pgfault: int = 0
    pgmajfault: int = 0
    interfaces: tuple[InterfaceSample, ...] = ()
    diskio: tuple[DiskIoSample, ...] = ()
    filesystems: tuple[FsSample, ...] = ()


@dataclass(frozen=True)
class ContainerSample:
    """A Docker container started by Mesos for a Marathon task, with its stats history."""

    docker_id: str  # 64 hex characters
    mesos_container_id: str
    image: str
    creation_time_ns: int
    cpu_shares: int  # Mesos sets cpus * 1024
    memory_limit: int
    stats: tuple[StatsSample, ...]
    task_id: str = ""
    app_id: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"/docker/{self.docker_id}"

    @property
    def docker_name(self) -> str:
        return f"mesos-{self.mesos_container_id}"

    @property
    def aliases(self) -> list[str]:
        return [self.docker_name, self.docker_id]

    @property
    def envs(self) -> dict[str, str]:
        env = {
            "MESOS_TASK_ID": self.task_id,
            "MARATHON_APP_ID": self.app_id,
            "MESOS_CONTAINER_NAME": self.docker_name,
        }
        return {k: v for k, v in env.items() if k in ENV_WHITELIST and v}


@dataclass(frozen=True)
class MachineSample:
    """Inputs for ``/api/v1.3/machine``."""

    num_cores: int
    memory_capacity: int
    machine_id: str
    system_uuid: str
    boot_id: str
    cpu_frequency_khz: int = 2400000
    filesystems: tuple[FsSample, ...] = ()
    interfaces: tuple[str, ...] = ("eth0",)
    disks: tuple[DiskIoSample, ...] = ()
    cloud_provider: str = "Unknown"
    instance_type: str = "Unknown"
    instance_id: str = "None"


# -- helpers -------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _utc_seconds(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def rfc3339_ns(ns: int) -> str:
    """Go's RFC3339Nano as cAdvisor writes it: trailing zeros of the fraction dropped."""
    seconds, frac = divmod(ns, 1_000_000_000)
    base = _utc_seconds(seconds)
    digits = f"{frac:09d}".rstrip("0")
    return f"{base}.{digits}Z" if digits else f"{base}Z"


def _tcp() -> dict[str, int]:
    return dict.fromkeys(TCP_STATES, 0)


def _iface(i: InterfaceSample) -> JSON:
    return {
        "name": i.name,
        "rx_bytes": i.rx_bytes,
        "rx_packets": i.rx_packets,
        "rx_errors": i.rx_errors,
        "rx_dropped": i.rx_dropped,
        "tx_bytes": i.tx_bytes,
        "tx_packets": i.tx_packets,
        "tx_errors": i.tx_errors,
        "tx_dropped": i.tx_dropped,
    }


def _blkio(d: DiskIoSample, read: int, write: int) -> JSON:
    stats = {"Async": 0, "Read": read, "Sync": read + write, "Total": read + write, "Write": write}
    return {"major": d.major, "minor": d.minor, "stats": stats}


def _fs(f: FsSample) -> JSON:
    return {
        "device": f.device,
        "type": f.type,
        "capacity": f.capacity,
        "usage": f.usage,
        "base_usage": f.base_usage,
        "available": f.available,
        "inodes_free": f.inodes_free,
    }


def _cpu(s: StatsSample) -> JSON:
    usage = {
        "total": s.cpu_total_ns,
        "per_cpu_usage": list(s.per_cpu_ns),
        "user": s.cpu_user_ns,
        "system": s.cpu_system_ns,
    }
    return {"usage": usage, "load_average": 0}


def _memory(s: StatsSample) -> JSON:
    faults = {"pgfault": s.pgfault, "pgmajfault": s.pgmajfault}
    return {
        "usage": s.memory_usage,
        "cache": s.memory_cache,
        "rss": s.memory_rss,
        "working_set": s.memory_working_set,
        "failcnt": s.memory_failcnt,
        "container_data": faults,
        "hierarchical_data": dict(faults),
    }


def _network_v1(s: StatsSample) -> JSON:
    first = s.interfaces[0] if s.interfaces else InterfaceSample("", 0, 0, 0, 0)
    net = _iface(first)
    if s.interfaces:
        net["interfaces"] = [_iface(i) for i in s.interfaces]
    net["tcp"], net["tcp6"] = _tcp(), _tcp()
    return net


def _diskio(s: StatsSample) -> JSON:
    return {
        "io_service_bytes": [_blkio(d, d.read_bytes, d.write_bytes) for d in s.diskio],
        "io_serviced": [_blkio(d, d.reads, d.writes) for d in s.diskio],
    }


def stats_v1(s: StatsSample) -> JSON:
    """One element of a v1.3 container's ``stats`` list."""
    return {
        "timestamp": rfc3339_ns(s.timestamp_ns),
        "cpu": _cpu(s),
        "diskio": _diskio(s),
        "memory": _memory(s),
        "network": _network_v1(s),
        "filesystem": [_fs(f) for f in s.filesystems],
        "task_stats": {
            "nr_sleeping": 0,
            "nr_running": 0,
            "nr_stopped": 0,
            "nr_uninterruptible": 0,
            "nr_io_wait": 0,
        },
    }


def _spec(c: ContainerSample) -> JSON:
    return {
        "creation_time": rfc3339_ns(c.creation_time_ns),
        "labels": dict(c.labels),
        **({"envs": c.envs} if c.envs else {}),
        "has_cpu": True,
        "cpu": {"limit": c.cpu_shares, "max_limit": 0},
        "has_memory": True,
        "memory": {"limit": c.memory_limit, "swap_limit": UNLIMITED},
        "has_network": True,
        "has_filesystem": True,
        "has_diskio": True,
        "has_custom_metrics": False,
        "image": c.image,
    }


def container_info(c: ContainerSample, count: int | None = None) -> JSON:
    """A v1.3 ``ContainerInfo`` for one Docker container (last ``count`` stats)."""
    stats = c.stats if count is None else c.stats[-count:] if count > 0 else ()
    return {
        "id": c.docker_id,
        "name": c.name,
        "aliases": c.aliases,
        "namespace": "docker",
        "labels": dict(c.labels),
        "spec": _spec(c),
        "stats": [stats_v1(s) for s in stats],
    }


def _sum_samples(samples: Sequence[StatsSample]) -> StatsSample:
    """Root-cgroup sample at one instant: the sum of its containers' samples."""
    ncpu = max((len(s.per_cpu_ns) for s in samples), default=0)
    per_cpu = [0] * ncpu
    cpu_total = cpu_user = cpu_system = 0
    mem_usage = mem_working_set = mem_rss = mem_cache = 0
    for s in samples:
        for i, ns in enumerate(s.per_cpu_ns):
            per_cpu[i] += ns
        cpu_total += int(s.cpu_total_ns)
        cpu_user += int(s.cpu_user_ns)
        cpu_system += int(s.cpu_system_ns)
        mem_usage += int(s.memory_usage)
        mem_working_set += int(s.memory_working_set)
        mem_rss += int(s.memory_rss)
        mem_cache += int(s.memory_cache)
    return StatsSample(
        timestamp_ns=max(s.timestamp_ns for s in samples),
        cpu_total_ns=cpu_total,
        cpu_user_ns=cpu_user,
        cpu_system_ns=cpu_system,
        per_cpu_ns=tuple(per_cpu),
        memory_usage=mem_usage,
        memory_working_set=mem_working_set,
        memory_rss=mem_rss,
        memory_cache=mem_cache,
    )


def _root(machine: MachineSample, containers: Sequence[ContainerSample], count: int | None) -> JSON:
    # Only the instants the answer returns are summed (aligned from the newest sample).
    depth = min((len(c.stats) for c in containers), default=0)
    wanted = depth if count is None else min(max(count, 0), depth)
    points = [
        _sum_samples([c.stats[i - depth] for c in containers]) for i in range(depth - wanted, depth)
    ]
    children = ["/docker"]
    spec = {
        "creation_time": rfc3339_ns(min((c.creation_time_ns for c in containers), default=0)),
        "has_cpu": True,
        "cpu": {"limit": 1024, "max_limit": 0},
        "has_memory": True,
        "memory": {"limit": machine.memory_capacity},
        "has_network": True,
        "has_filesystem": True,
        "has_diskio": True,
        "has_custom_metrics": False,
    }
    return {
        "name": "/",
        "subcontainers": [{"name": n} for n in children],
        "spec": spec,
        "stats": [stats_v1(p) for p in points],
    }


# -- endpoints -----------------------------------------------------------------------


def subcontainers(
    machine: MachineSample, containers: Sequence[ContainerSample], count: int | None = None
) -> list[JSON]:
    """``GET /api/v1.3/subcontainers/``: the root, ``/docker`` and every container.

    The root's stats are the per-instant sums of the containers' samples (aligned from
    the newest); ``/docker`` carries a spec and no stats.
    """
    docker = {
        "name": "/docker",
        "subcontainers": [{"name": c.name} for c in containers],
        "spec": {
            "creation_time": rfc3339_ns(0),
            "has_cpu": False,
            "has_memory": False,
            "has_network": False,
            "has_filesystem": False,
            "has_diskio": False,
            "has_custom_metrics": False,
        },
        "stats": [],
    }
    return [
        _root(machine, containers, count),
        docker,
        *(container_info(c, count) for c in containers),
    ]


def docker_containers(
    containers: Sequence[ContainerSample], count: int | None = None
) -> dict[str, JSON]:
    """``GET /api/v1.3/docker/``: container name -> ContainerInfo."""
    return {c.name: container_info(c, count) for c in containers}


def machine_info(m: MachineSample) -> JSON:
    """``GET /api/v1.3/machine`` (one NUMA node, one thread per core)."""
    caches = [
        {"size": 32768, "type": "Data", "level": 1},
        {"size": 32768, "type": "Instruction", "level": 1},
        {"size": 262144, "type": "Unified", "level": 2},
    ]
    cores = [{"core_id": i, "thread_ids": [i], "caches": caches} for i in range(m.num_cores)]
    return {
        "num_cores": m.num_cores,
        "cpu_frequency_khz": m.cpu_frequency_khz,
        "memory_capacity": m.memory_capacity,
        "machine_id": m.machine_id,
        "system_uuid": m.system_uuid,
        "boot_id": m.boot_id,
        "filesystems": [
            {"device": f.device, "capacity": f.capacity, "type": f.type, "inodes": f.inodes}
            for f in m.filesystems
        ],
        "disk_map": {
            f"{d.major}:{d.minor}": {
                "name": d.device.rsplit("/", 1)[-1],
                "major": d.major,
                "minor": d.minor,
                "size": 0,
                "scheduler": "none",
            }
            for d in m.disks
        },
        "network_devices": [
            {"name": n, "mac_address": f"02:00:00:00:00:{i:02x}", "speed": 10000, "mtu": 1500}
            for i, n in enumerate(m.interfaces)
        ],
        "topology": [
            {
                "node_id": 0,
                "memory": m.memory_capacity,
                "cores": cores,
                "caches": [{"size": 31457280, "type": "Unified", "level": 3}],
            }
        ],
        "cloud_provider": m.cloud_provider,
        "instance_type": m.instance_type,
        "instance_id": m.instance_id,
    }


# /api/v2.0/stats answers map[name][]v2.DeprecatedContainerStats, built by
# DeprecatedStatsFromV1 (google/cadvisor info/v2/container.go and conversion.go, read
# through the code search at the 2023-24 HEAD): has_* flags copied from the spec,
# v1 cpu/memory/diskio/filesystem blocks, network = {interfaces, tcp, tcp6, udp, udp6},
# and cpu_inst = rates between consecutive samples (nanocores per second, truncated),
# absent on the first sample returned.
def _rate(prev: int, cur: int, dt_ns: int) -> int:
    return int((cur - prev) / dt_ns * 1e9)


def _cpu_inst(prev: StatsSample, cur: StatsSample) -> JSON | None:
    dt = cur.timestamp_ns - prev.timestamp_ns
    if dt <= 0 or len(prev.per_cpu_ns) != len(cur.per_cpu_ns):
        return None
    return {
        "usage": {
            "total": _rate(prev.cpu_total_ns, cur.cpu_total_ns, dt),
            "per_cpu_usage": [
                _rate(a, b, dt) for a, b in zip(prev.per_cpu_ns, cur.per_cpu_ns, strict=True)
            ],
            "user": _rate(prev.cpu_user_ns, cur.cpu_user_ns, dt),
            "system": _rate(prev.cpu_system_ns, cur.cpu_system_ns, dt),
        }
    }


def _stats_v2(c: ContainerSample, count: int) -> list[JSON]:
    window = c.stats[max(len(c.stats) - count, 0) :] if count >= 0 else c.stats
    out: list[JSON] = []
    for k, s in enumerate(window):
        point: JSON = {"timestamp": rfc3339_ns(s.timestamp_ns), "has_cpu": True, "cpu": _cpu(s)}
        inst = _cpu_inst(window[k - 1], s) if k else None
        if inst is not None:
            point["cpu_inst"] = inst
        point.update(
            {
                "has_diskio": True,
                "diskio": _diskio(s),
                "has_memory": True,
                "memory": _memory(s),
                "has_hugetlb": False,
                "has_network": True,
                "network": {
                    "interfaces": [_iface(i) for i in s.interfaces],
                    "tcp": _tcp(),
                    "tcp6": _tcp(),
                    "udp": {},
                    "udp6": {},
                },
                "has_processes": False,
                "has_filesystem": True,
                "filesystem": [_fs(f) for f in s.filesystems],
                "has_load": False,
                "load_stats": {},
                "has_custom_metrics": False,
            }
        )
        out.append(point)
    return out


def stats_v2(containers: Sequence[ContainerSample], count: int = 64) -> dict[str, list[JSON]]:
    """``GET /api/v2.0/stats?type=docker&recursive=true&count=N`` (``count=-1``: all)."""
    return {c.name: _stats_v2(c, count) for c in containers}
