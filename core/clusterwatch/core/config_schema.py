"""What the config file may say: one frozen dataclass per table, defaults included.

The sample config in packaging/clusterwatch.toml documents every key here; a test keeps the
two in step. Types drive validation (see core.config): ``Secret`` keys also accept
``env:NAME`` and ``file:/path``; ``Literal`` keys accept only the listed words.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from clusterwatch.core.secrets import Secret


@dataclass(frozen=True, slots=True)
class ClusterConfig:
    name: str = "mesos"
    mesos_masters: tuple[str, ...] = ()
    marathon: tuple[str, ...] = ()
    zookeeper: str = ""
    mesos_znode: str = "/mesos"
    consul: str = ""
    chronos: str = ""
    haproxy: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class HttpConfig:
    connect_timeout_seconds: float = 3.0
    read_timeout_seconds: float = 10.0
    retries: int = 2
    backoff_factor: float = 0.3
    verify_tls: bool = True
    ca_bundle: str = ""
    client_cert: str = ""
    client_key: str = ""
    username: str = ""
    password: Secret | None = None
    bearer_token: Secret | None = None
    max_body_bytes: int = 64 << 20


@dataclass(frozen=True, slots=True)
class LoggingConfig:
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["kv", "json"] = "kv"


@dataclass(frozen=True, slots=True)
class DaemonConfig:
    state_dir: str = "/var/lib/clusterwatch"


@dataclass(frozen=True, slots=True)
class SourceConfig:
    """One ``[sources.NAME]`` table; NAME is a registered source (see core.registry)."""

    enabled: bool = True
    interval_seconds: float = 15.0
    timeout_seconds: float = 10.0
    targets: tuple[str, ...] = ()
    tags: dict[str, str] = field(default_factory=dict)
    # Per-agent sources: worker processes that fetch and map the agents (0: one per 2,500
    # agents, at most one per CPU; 1: all in the daemon's process).
    processes: int = 0


@dataclass(frozen=True, slots=True)
class SinkConfig:
    """One ``[sinks.NAME]`` table; ``type`` picks the sink, the other keys are its settings."""

    type: Literal["influxdb1", "influxdb2", "file"]
    url: str = ""
    path: str = ""
    database: str = "clusterwatch"
    retention_policy: str = ""
    precision: Literal["ns", "us", "ms", "s"] = "s"
    org: str = ""
    bucket: str = ""
    token: Secret | None = None
    username: str = ""
    password: Secret | None = None
    batch_size: int = 5000
    spool_max_bytes: int = 1 << 30
    fsync: Literal["always", "batch", "never"] = "batch"


@dataclass(frozen=True, slots=True)
class Config:
    cluster: ClusterConfig = field(default_factory=ClusterConfig)
    http: HttpConfig = field(default_factory=HttpConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    daemon: DaemonConfig = field(default_factory=DaemonConfig)
    sources: dict[str, SourceConfig] = field(default_factory=dict)
    sinks: dict[str, SinkConfig] = field(default_factory=dict)
