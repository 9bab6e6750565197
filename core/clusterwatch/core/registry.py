"""Plugins by name: each kind maps names to import strings, loaded only when asked for.

Adding a source, sink, parser or check is one line here; config picks them by name and an
unknown name is an error that lists the known ones.
"""

from __future__ import annotations

import importlib
from typing import Any, Literal

from clusterwatch.core.errors import ClusterwatchError

Kind = Literal["source", "sink", "parser", "check"]

REGISTRY: dict[Kind, dict[str, str]] = {
    "source": {
        "mesos_master": "clusterwatch.collectors.mesos_master",
        "mesos_agent": "clusterwatch.collectors.mesos_agent",
        "marathon": "clusterwatch.collectors.marathon",
        "cadvisor": "clusterwatch.collectors.cadvisor",
        "haproxy": "clusterwatch.collectors.haproxy",
        "zookeeper": "clusterwatch.collectors.zookeeper",
        "consul": "clusterwatch.collectors.consul",
        "chronos": "clusterwatch.collectors.chronos",
        "prometheus": "clusterwatch.collectors.prometheus",
    },
    "sink": {
        "influxdb1": "clusterwatch.sinks.influxdb1:InfluxDB1Writer",
        "influxdb2": "clusterwatch.sinks.influxdb2:InfluxDB2Writer",
        "file": "clusterwatch.sinks.linefile:LineFileWriter",
    },
    "parser": {},
    "check": {},
}


class UnknownPluginError(ClusterwatchError):
    def __init__(self, kind: str, name: str, known: list[str]) -> None:
        self.kind = kind
        self.name = name
        self.known = known
        listed = ", ".join(known) if known else "none registered"
        super().__init__(f"unknown {kind} {name!r} (known: {listed})")


def names(kind: Kind) -> list[str]:
    return sorted(REGISTRY[kind])


def import_string(kind: Kind, name: str) -> str:
    try:
        return REGISTRY[kind][name]
    except KeyError:
        raise UnknownPluginError(kind, name, names(kind)) from None


def load(kind: Kind, name: str) -> Any:
    """Import the plugin: ``pkg.module`` gives the module, ``pkg.module:attr`` the attribute."""
    target = import_string(kind, name)
    module_name, _, attr = target.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, attr) if attr else module
