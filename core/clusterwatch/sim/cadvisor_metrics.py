"""cAdvisor's Prometheus ``/metrics``: container families from each container's newest sample."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from clusterwatch.sim.cadvisor import ContainerSample, MachineSample, StatsSample
from clusterwatch.sim.prometheus_text import family, format_labels, format_value

_INVALID = re.compile(r"[^a-zA-Z0-9_]")

# a family's samples for one container: (extra labels, value) pairs
_Series = list[tuple[dict[str, str], float]]


def _per_iface(s: StatsSample, attr: str) -> _Series:
    return [({"interface": i.name}, float(getattr(i, attr))) for i in s.interfaces]


def _per_disk(s: StatsSample, attr: str) -> _Series:
    return [({"device": d.device}, float(getattr(d, attr))) for d in s.diskio]


def _per_fs(s: StatsSample, attr: str) -> _Series:
    return [({"device": f.device}, float(getattr(f, attr))) for f in s.filesystems]


def _one(value: float) -> _Series:
    return [({}, value)]


_SeriesFn = Callable[[ContainerSample, StatsSample], _Series]

# fmt: off
CONTAINER_METRICS: tuple[tuple[str, str, str, _SeriesFn], ...] = (
    # name                                  type       help
    ("container_cpu_usage_seconds_total", "counter", "Cumulative cpu time consumed in seconds.",
     lambda c, s: [({"cpu": "total"}, s.cpu_total_ns / 1e9)]),
    ("container_cpu_user_seconds_total", "counter",
     "Cumulative user cpu time consumed in seconds.", lambda c, s: _one(s.cpu_user_ns / 1e9)),
    ("container_cpu_system_seconds_total", "counter",
     "Cumulative system cpu time consumed in seconds.",
     lambda c, s: _one(s.cpu_system_ns / 1e9)),
    ("container_memory_usage_bytes", "gauge",
     "Current memory usage in bytes, including all memory regardless of when it was "
     "accessed", lambda c, s: _one(s.memory_usage)),
    ("container_memory_working_set_bytes", "gauge", "Current working set in bytes.",
     lambda c, s: _one(s.memory_working_set)),
    ("container_memory_rss", "gauge", "Size of RSS in bytes.",
     lambda c, s: _one(s.memory_rss)),
    ("container_memory_cache", "gauge", "Number of bytes of page cache memory.",
     lambda c, s: _one(s.memory_cache)),
    ("container_memory_failcnt", "counter", "Number of memory usage hits limits",
     lambda c, s: _one(s.memory_failcnt)),
    ("container_spec_memory_limit_bytes", "gauge", "Memory limit for the container.",
     lambda c, s: _one(c.memory_limit)),
    ("container_spec_cpu_shares", "gauge", "CPU share of the container.",
     lambda c, s: _one(c.cpu_shares)),
    ("container_network_receive_bytes_total", "counter",
     "Cumulative count of bytes received", lambda c, s: _per_iface(s, "rx_bytes")),
    ("container_network_receive_packets_total", "counter",
     "Cumulative count of packets received", lambda c, s: _per_iface(s, "rx_packets")),
    ("container_network_receive_errors_total", "counter",
     "Cumulative count of errors encountered while receiving",
     lambda c, s: _per_iface(s, "rx_errors")),
    ("container_network_receive_packets_dropped_total", "counter",
     "Cumulative count of packets dropped while receiving",
     lambda c, s: _per_iface(s, "rx_dropped")),
    ("container_network_transmit_bytes_total", "counter",
     "Cumulative count of bytes transmitted", lambda c, s: _per_iface(s, "tx_bytes")),
    ("container_network_transmit_packets_total", "counter",
     "Cumulative count of packets transmitted", lambda c, s: _per_iface(s, "tx_packets")),
    ("container_network_transmit_errors_total", "counter",
     "Cumulative count of errors encountered while transmitting",
     lambda c, s: _per_iface(s, "tx_errors")),
    ("container_network_transmit_packets_dropped_total", "counter",
     "Cumulative count of packets dropped while transmitting",
     lambda c, s: _per_iface(s, "tx_dropped")),
    ("container_fs_reads_bytes_total", "counter", "Cumulative count of bytes read",
     lambda c, s: _per_disk(s, "read_bytes")),
    ("container_fs_writes_bytes_total", "counter", "Cumulative count of bytes written",
     lambda c, s: _per_disk(s, "write_bytes")),
    ("container_fs_usage_bytes", "gauge",
     "Number of bytes that are consumed by the container on this filesystem.",
     lambda c, s: _per_fs(s, "usage")),
    ("container_fs_limit_bytes", "gauge",
     "Number of bytes that can be consumed by the container on this filesystem.",
     lambda c, s: _per_fs(s, "capacity")),
    ("container_start_time_seconds", "gauge",
     "Start time of the container since unix epoch in seconds.",
     lambda c, s: _one(c.creation_time_ns / 1e9)),
    ("container_last_seen", "gauge", "Last time a container was seen by the exporter",
     lambda c, s: _one(s.timestamp_ns / 1e9)),
)
# fmt: on


def container_labels(c: ContainerSample) -> dict[str, str]:
    """cAdvisor's default label set: id, image, name, container_label_*, container_env_*."""
    labels = {"id": c.name, "image": c.image, "name": c.docker_name}
    labels.update({"container_label_" + _INVALID.sub("_", k): v for k, v in c.labels.items()})
    labels.update({"container_env_" + k.lower(): v for k, v in c.envs.items()})
    return labels


def prometheus_metrics(
    machine: MachineSample, containers: Sequence[ContainerSample], version: str = "v0.47.2"
) -> str:
    """``GET /metrics``: container families from each container's newest sample."""
    out = family(
        "cadvisor_version_info",
        "gauge",
        "A metric with a constant '1' value labeled by kernel version, OS version, "
        "docker version, cadvisor version & cadvisor revision.",
        [f'cadvisor_version_info{{cadvisorVersion="{version}"}} 1'],
    )
    live = [c for c in containers if c.stats]
    for name, kind, help_text, series in CONTAINER_METRICS:
        lines = []
        for c in live:
            newest = c.stats[-1]
            stamp = newest.timestamp_ns // 1_000_000
            for extra, value in series(c, newest):
                labels = format_labels({**container_labels(c), **extra})
                lines.append(f"{name}{labels} {format_value(value)} {stamp}")
        out += family(name, kind, help_text, lines)
    out += family(
        "machine_cpu_cores",
        "gauge",
        "Number of logical CPU cores.",
        [f"machine_cpu_cores {machine.num_cores}"],
    )
    out += family(
        "machine_memory_bytes",
        "gauge",
        "Amount of memory installed on the machine.",
        [f"machine_memory_bytes {machine.memory_capacity}"],
    )
    return "\n".join(out) + "\n"
