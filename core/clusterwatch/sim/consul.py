"""Pure builders for the Consul HTTP API responses the collectors and checks read.

Shapes follow Consul OSS (no Enterprise ``Namespace``/``Partition`` fields): the docs
samples in ``reference/consul/`` and ``website/content/api-docs/catalog.mdx`` of
hashicorp/consul. ``/v1/status/leader`` is a JSON string, ``""`` when the cluster has
no leader (Consul answers that with status 200).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]
STATES = ("passing", "warning", "critical")
HEALTH_STATES = ("any", *STATES)


@dataclass(frozen=True)
class ConsulServer:
    """A Consul server (raft peer)."""

    node: str
    address: str  # IP
    node_id: str  # UUID; raft protocol 3 uses it as the server ID
    port: int = 8300
    voter: bool = True

    @property
    def raft_address(self) -> str:
        return f"{self.address}:{self.port}"


@dataclass(frozen=True)
class Check:
    """A health check, either on a node (``serfHealth``) or on a service instance."""

    check_id: str
    name: str
    status: str = "passing"
    output: str = ""
    notes: str = ""
    type: str = ""  # "http", "tcp", "ttl", "script" or "" (serf)

    def __post_init__(self) -> None:
        if self.status not in STATES:
            raise ValueError(f"check status must be one of {STATES}, not {self.status!r}")


def serf_health(status: str = "passing") -> Check:
    """The node-level check every Consul agent carries."""
    output = "Agent alive and reachable" if status == "passing" else "Agent not live"
    return Check("serfHealth", "Serf Health Status", status, output)


@dataclass(frozen=True)
class ConsulNode:
    """A node in the catalog (an agent), with its node-level checks."""

    name: str
    address: str
    node_id: str
    datacenter: str = "dc1"
    meta: Mapping[str, str] = field(default_factory=dict)
    checks: tuple[Check, ...] = (serf_health(),)


@dataclass(frozen=True)
class ServiceInstance:
    """One registration of a service on a node, with its service-level checks."""

    node: ConsulNode
    service: str
    service_id: str
    address: str
    port: int
    tags: tuple[str, ...] = ()
    meta: Mapping[str, str] = field(default_factory=dict)
    checks: tuple[Check, ...] = ()
    create_index: int = 10
    modify_index: int = 10


# -- status / operator ---------------------------------------------------------------


def status_leader(leader: ConsulServer | None) -> str:
    """``GET /v1/status/leader``: ``"ip:8300"``, or ``""`` without a leader."""
    return leader.raft_address if leader is not None else ""


def status_peers(servers: Sequence[ConsulServer]) -> list[str]:
    """``GET /v1/status/peers``: raft addresses of the servers in the configuration."""
    return [s.raft_address for s in servers]


def raft_configuration(
    servers: Sequence[ConsulServer], leader: ConsulServer | None, index: int
) -> JSON:
    """``GET /v1/operator/raft/configuration``."""
    return {
        "Servers": [
            {
                "ID": s.node_id,
                "Node": s.node,
                "Address": s.raft_address,
                "Leader": leader is not None and s.raft_address == leader.raft_address,
                "ProtocolVersion": "3",
                "Voter": s.voter,
            }
            for s in servers
        ],
        "Index": index,
    }


# -- catalog -------------------------------------------------------------------------


def _tagged(address: str) -> dict[str, str]:
    return {"lan": address, "lan_ipv4": address, "wan": address, "wan_ipv4": address}


def _service_tagged(i: ServiceInstance) -> JSON:
    addr = {"Address": i.address, "Port": i.port}
    return {"lan_ipv4": addr, "wan_ipv4": dict(addr)}


def catalog_services(instances: Iterable[ServiceInstance], consul: bool = True) -> JSON:
    """``GET /v1/catalog/services``: service name -> union of its tags (sorted)."""
    out: dict[str, set[str]] = {"consul": set()} if consul else {}
    for i in instances:
        out.setdefault(i.service, set()).update(i.tags)
    return {name: sorted(tags) for name, tags in sorted(out.items())}


def _select(
    instances: Iterable[ServiceInstance], name: str, tag: str | None
) -> list[ServiceInstance]:
    return [i for i in instances if i.service == name and (tag is None or tag in i.tags)]


def catalog_service(
    instances: Iterable[ServiceInstance], name: str, tag: str | None = None
) -> list[JSON]:
    """``GET /v1/catalog/service/<name>[?tag=]``."""
    return [
        {
            "ID": i.node.node_id,
            "Node": i.node.name,
            "Address": i.node.address,
            "Datacenter": i.node.datacenter,
            "TaggedAddresses": _tagged(i.node.address),
            "NodeMeta": dict(i.node.meta),
            "ServiceKind": "",
            "ServiceID": i.service_id,
            "ServiceName": i.service,
            "ServiceTags": list(i.tags),
            "ServiceAddress": i.address,
            "ServiceTaggedAddresses": _service_tagged(i),
            "ServiceWeights": {"Passing": 1, "Warning": 1},
            "ServiceMeta": dict(i.meta),
            "ServicePort": i.port,
            "ServiceEnableTagOverride": False,
            "CreateIndex": i.create_index,
            "ModifyIndex": i.modify_index,
        }
        for i in _select(instances, name, tag)
    ]


# -- health --------------------------------------------------------------------------


def _check(c: Check, node: ConsulNode, inst: ServiceInstance | None, index: int) -> JSON:
    return {
        "Node": node.name,
        "CheckID": c.check_id,
        "Name": c.name,
        "Status": c.status,
        "Notes": c.notes,
        "Output": c.output,
        "ServiceID": inst.service_id if inst else "",
        "ServiceName": inst.service if inst else "",
        "ServiceTags": list(inst.tags) if inst else [],
        "Type": c.type,
        "CreateIndex": index,
        "ModifyIndex": index,
    }


def _node(n: ConsulNode, index: int) -> JSON:
    return {
        "ID": n.node_id,
        "Node": n.name,
        "Address": n.address,
        "Datacenter": n.datacenter,
        "TaggedAddresses": _tagged(n.address),
        "Meta": dict(n.meta),
        "CreateIndex": index,
        "ModifyIndex": index,
    }


def _entry(i: ServiceInstance) -> JSON:
    checks = [_check(c, i.node, None, i.create_index) for c in i.node.checks]
    checks += [_check(c, i.node, i, i.modify_index) for c in i.checks]
    service = {
        "ID": i.service_id,
        "Service": i.service,
        "Tags": list(i.tags),
        "Address": i.address,
        "TaggedAddresses": _service_tagged(i),
        "Meta": dict(i.meta),
        "Port": i.port,
        "Weights": {"Passing": 1, "Warning": 1},
        "EnableTagOverride": False,
        "CreateIndex": i.create_index,
        "ModifyIndex": i.modify_index,
    }
    return {"Node": _node(i.node, i.create_index), "Service": service, "Checks": checks}


def _all_passing(i: ServiceInstance) -> bool:
    return all(c.status == "passing" for c in (*i.node.checks, *i.checks))


def health_service(
    instances: Iterable[ServiceInstance],
    name: str,
    passing: bool = False,
    tag: str | None = None,
) -> list[JSON]:
    """``GET /v1/health/service/<name>[?passing][&tag=]``: node, service and checks."""
    chosen = _select(instances, name, tag)
    return [_entry(i) for i in chosen if not passing or _all_passing(i)]


def health_state(instances: Iterable[ServiceInstance], state: str) -> list[JSON]:
    """``GET /v1/health/state/<state>``: every check in that state (``any``: all).

    Node checks appear once per node, however many services the node runs.
    """
    if state not in HEALTH_STATES:
        raise ValueError(f"state must be one of {HEALTH_STATES}, not {state!r}")
    rows: list[JSON] = []
    seen_nodes: set[str] = set()
    for i in instances:
        if i.node.name not in seen_nodes:
            seen_nodes.add(i.node.name)
            rows += [_check(c, i.node, None, i.create_index) for c in i.node.checks]
        rows += [_check(c, i.node, i, i.modify_index) for c in i.checks]
    if state != "any":
        rows = [r for r in rows if r["Status"] == state]
    return sorted(rows, key=lambda r: (r["Node"], r["CheckID"]))
