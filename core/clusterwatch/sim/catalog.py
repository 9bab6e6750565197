"""What the generated cluster is made of: app names, images, sizes, agent shapes.

Plain tables, so a reader sees the simulated cluster's make-up at a glance.
"""

from __future__ import annotations

APP_NAMES: tuple[tuple[str, str], ...] = (
    # (group, name)        image
    ("web/frontend", "nginx:1.25"),
    ("api/orders", "registry.example.org/orders:2.3.1"),
    ("api/users", "registry.example.org/users:1.9.0"),
    ("batch/indexer", "registry.example.org/indexer:0.14"),
    ("infra/redis", "redis:7.2"),
    ("infra/haproxy-exporter", "prom/haproxy-exporter:v0.15.0"),
    ("data/kafka-connect", "confluentinc/cp-kafka-connect:7.5.0"),
    ("web/grid-portal", "registry.example.org/grid-portal:5.0.2"),
    ("api/transfers", "registry.example.org/fts-rest:3.12"),
    ("monitoring/grafana", "grafana/grafana:10.2.0"),
)

CPU_CHOICES = (0.1, 0.25, 0.5, 1.0, 2.0)
MEM_CHOICES = (128.0, 256.0, 512.0, 1024.0, 2048.0)
INSTANCE_CHOICES = (1, 2, 2, 3, 3, 4, 5)
# Dense clusters (``containers_per_agent``): small enough that ten fit the smallest agent.
DENSE_CPU_CHOICES = (0.1, 0.25, 0.5)
DENSE_MEM_CHOICES = (128.0, 256.0, 512.0)
OWNERS = ("tier1-ops", "data-mgmt", "web-team", "grid-services")

# Agent shapes: (cpus, mem MB, disk MB); every ``gpu_agent_every``-th agent also has GPUs.
AGENT_SHAPES: tuple[tuple[float, float, float], ...] = (
    (8.0, 31_872.0, 95_536.0),
    (16.0, 63_872.0, 190_000.0),
    (32.0, 127_872.0, 380_000.0),
)
AGENT_GPUS = 4.0
AGENT_PORTS = ((31000, 32000),)
RACKS = ("r01", "r02", "r03", "r04")


def app_id(index: int) -> tuple[str, str]:
    """The ``index``-th app's id and image; names repeat with a number once exhausted."""
    group, image = APP_NAMES[index % len(APP_NAMES)]
    round_ = index // len(APP_NAMES)
    suffix = f"-{round_}" if round_ else ""
    return f"/{group}{suffix}", image
