"""Consul: whether there is a leader, the raft peers, and health check counts per service.

Fetch (per cycle, from the source's first target or ``cluster.consul``): ``/v1/status/leader``
(``""`` with status 200 when there is no leader), ``/v1/status/peers`` and
``/v1/health/state/any`` (every check of every node and service).

Per service, ``checks_*`` count its checks by status, and ``instances_*`` its instances by
their worst status (an instance's own checks and its node's checks, as Consul's
``?passing`` filter judges them).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from clusterwatch.collectors.common import Schema, as_list, base_url, dicts, guarded, join
from clusterwatch.core.collect import CollectContext, CollectResult, TargetError
from clusterwatch.core.metric_table import FLAG, GAUGE, TEXT, FieldValue
from clusterwatch.core.point import Point

CONSUL_PORT = 8500
LEADER, PEERS, HEALTH = "/v1/status/leader", "/v1/status/peers", "/v1/health/state/any"
STATES = ("passing", "warning", "critical")
_RANK = {state: rank for rank, state in enumerate(STATES)}

SCHEMAS = (
    Schema("consul", ("cluster",),
           "The Consul cluster: leader present, raft peers, node-level checks by status.",
           extra={"leader_present": FLAG, "leader": TEXT, "raft_peers": GAUGE,
                  **{f"node_checks_{s}": GAUGE for s in STATES}}),
    Schema("consul_service", ("cluster", "service"),
           "Each service's health checks and instances by status, from /v1/health/state/any.",
           extra={**{f"checks_{s}": GAUGE for s in STATES},
                  **{f"instances_{s}": GAUGE for s in STATES}}),
)


def _worst(states: list[str]) -> str:
    return max(states, key=lambda s: _RANK.get(s, len(STATES)), default="passing")


def map_health(checks: Any, tags: Mapping[str, str], time_ns: int) -> tuple[dict[str, float],
                                                                            list[Point]]:
    """``/v1/health/state/any`` -> node check counts, and one point per service."""
    rows = dicts(as_list(checks, "/v1/health/state/any"))
    node_states: dict[str, list[str]] = {}
    node_counts: Counter[str] = Counter()
    service_checks: dict[str, Counter[str]] = {}
    instances: dict[tuple[str, str, str], list[str]] = {}
    for row in rows:
        status, node = str(row.get("Status", "")), str(row.get("Node", ""))
        service = row.get("ServiceName")
        if not service:
            node_states.setdefault(node, []).append(status)
            node_counts[status] += 1
            continue
        service_checks.setdefault(str(service), Counter())[status] += 1
        key = (str(service), node, str(row.get("ServiceID", "")))
        instances.setdefault(key, []).append(status)
    per_instance: dict[str, Counter[str]] = {}
    for (service, node, _), states in instances.items():
        worst = _worst(states + node_states.get(node, []))
        per_instance.setdefault(service, Counter())[worst] += 1
    points = []
    for service, counts in sorted(service_checks.items()):
        fields: dict[str, FieldValue] = {f"checks_{s}": float(counts[s]) for s in STATES}
        fields.update({f"instances_{s}": float(per_instance[service][s]) for s in STATES})
        points.append(Point("consul_service", {**tags, "service": service}, fields, time_ns))
    return {f"node_checks_{s}": float(node_counts[s]) for s in STATES}, points


def map_cluster(leader: Any, peers: Any, node_checks: Mapping[str, float] | None,
                tags: Mapping[str, str], time_ns: int) -> Point:
    fields: dict[str, FieldValue] = {"leader_present": isinstance(leader, str) and bool(leader)}
    if isinstance(leader, str) and leader:
        fields["leader"] = leader
    if isinstance(peers, list):
        fields["raft_peers"] = float(len(peers))
    fields.update(node_checks or {})
    return Point("consul", dict(tags), fields, time_ns)


def collect(ctx: CollectContext) -> CollectResult:
    result = CollectResult(targets_total=1)
    listed = ctx.config.targets[:1] or ((ctx.cluster.consul,) if ctx.cluster.consul else ())
    if not listed:
        result.errors.append(TargetError("consul", "no Consul address configured (cluster.consul)"))
        return result
    base = base_url(listed[0], CONSUL_PORT)

    def get(path: str) -> Callable[[], Any]:
        return lambda: ctx.http.get_json(join(base, path))

    leader = guarded(result, join(base, LEADER), get(LEADER))
    if leader is None:
        return result
    peers = guarded(result, join(base, PEERS), get(PEERS))
    health = guarded(
        result,
        join(base, HEALTH),
        lambda: map_health(get(HEALTH)(), ctx.base_tags, ctx.time_ns),
    )
    node_checks, services = health if health is not None else (None, [])
    result.points.append(map_cluster(leader, peers, node_checks, ctx.base_tags, ctx.time_ns))
    result.points.extend(services)
    return result
