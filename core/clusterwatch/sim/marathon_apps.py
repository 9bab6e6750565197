"""An app definition as a client PUTs or POSTs it to Marathon, read into an ``AppSpec``.

Marathon's defaults apply to what the body leaves out (1 instance, 1 CPU, 128 MB, one port);
ports come from ``container.portMappings`` (1.5+), ``container.docker.portMappings`` (older)
or ``portDefinitions``; HTTP health checks keep their path and timings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from clusterwatch.sim.engine import SimError
from clusterwatch.sim.model import HealthCheck

DEFAULT_IMAGE = "busybox:latest"

# HealthCheck field ← Marathon JSON key
HEALTH_CHECK_KEYS = {
    "protocol": "protocol",
    "path": "path",
    "port_index": "portIndex",
    "grace_period": "gracePeriodSeconds",
    "interval": "intervalSeconds",
    "timeout": "timeoutSeconds",
    "max_failures": "maxConsecutiveFailures",
}


@dataclass
class AppSpec:
    instances: int = 1
    cpus: float = 1.0
    mem: float = 128.0
    disk: float = 0.0
    image: str = DEFAULT_IMAGE
    labels: dict[str, str] = field(default_factory=dict)
    port_names: list[str] = field(default_factory=lambda: ["default"])
    health_checks: list[HealthCheck] = field(default_factory=list)


def _invalid(path: str, error: str) -> SimError:
    exc = SimError(f"Object is not valid: {path}: {error}")
    exc.status = 422
    return exc


def _number(body: dict[str, Any], key: str, default: float, minimum: float = 0.0) -> float:
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
        raise _invalid(f"/{key}", f"must be a number >= {minimum:g}")
    return float(value)


def _ports(body: dict[str, Any]) -> list[str]:
    container = body.get("container") or {}
    mappings = (container.get("portMappings") or (container.get("docker") or {}).get(
        "portMappings") or body.get("portDefinitions"))  # fmt: skip
    if mappings is None:
        return ["default"]
    if not isinstance(mappings, list) or not all(isinstance(m, dict) for m in mappings):
        raise _invalid("/container/portMappings", "must be a list of objects")
    return [str(m.get("name") or f"port{i}") for i, m in enumerate(mappings)]


def _health_check(raw: Any) -> HealthCheck:
    if not isinstance(raw, dict):
        raise _invalid("/healthChecks", "must be a list of objects")
    check = HealthCheck()
    for attr, key in HEALTH_CHECK_KEYS.items():
        if key in raw:
            setattr(check, attr, type(getattr(check, attr))(raw[key]))
    return check


def app_spec(body: dict[str, Any]) -> AppSpec:
    instances = _number(body, "instances", 1)
    if instances != int(instances):
        raise _invalid("/instances", "must be a whole number")
    labels = body.get("labels") or {}
    if not isinstance(labels, dict):
        raise _invalid("/labels", "must be an object")
    checks = body.get("healthChecks") or []
    if not isinstance(checks, list):
        raise _invalid("/healthChecks", "must be a list of objects")
    container = body.get("container") or {}
    image = (container.get("docker") or {}).get("image") if isinstance(container, dict) else None
    return AppSpec(
        instances=int(instances),
        cpus=_number(body, "cpus", 1.0, 0.001),
        mem=_number(body, "mem", 128.0),
        disk=_number(body, "disk", 0.0),
        image=str(image or DEFAULT_IMAGE),
        labels={str(k): str(v) for k, v in labels.items()},
        port_names=_ports(body),
        health_checks=[_health_check(c) for c in checks],
    )
