from __future__ import annotations

import json

import pytest

from clusterwatch.collectors import catalog, consul
from clusterwatch.core.collect import CollectContext
from clusterwatch.core.config_schema import ClusterConfig, HttpConfig, SourceConfig
from clusterwatch.core.http import Http
from clusterwatch.sim import consul as sim
from tests.httpserver import Reply, serve
from tests.reference import REFERENCE

NOW = 1_715_000_000_000_000_000
TAGS = {"cluster": "t1"}

NODE_A = sim.ConsulNode("node-a", "10.2.0.1", "11111111-0000-4000-8000-000000000001")
NODE_B = sim.ConsulNode("node-b", "10.2.0.2", "11111111-0000-4000-8000-000000000002",
                        checks=(sim.serf_health("critical"),))
INSTANCES = [
    sim.ServiceInstance(NODE_A, "redis", "redis-1", "10.2.0.1", 6379,
                        checks=(sim.Check("service:redis-1", "redis", "passing"),)),
    sim.ServiceInstance(NODE_B, "redis", "redis-2", "10.2.0.2", 6379,
                        checks=(sim.Check("service:redis-2", "redis", "passing"),)),
    sim.ServiceInstance(NODE_A, "web", "web-1", "10.2.0.1", 80,
                        checks=(sim.Check("service:web-1", "web", "warning"),)),
]


def test_service_checks_and_instances_by_worst_status() -> None:
    nodes, points = consul.map_health(sim.health_state(INSTANCES, "any"), TAGS, NOW)
    assert catalog.problems(points) == []
    by_service = {p.tags["service"]: p.fields for p in points}
    assert by_service["redis"]["checks_passing"] == 2.0
    assert by_service["redis"]["instances_passing"] == 1.0
    assert by_service["redis"]["instances_critical"] == 1.0  # its node's serf check failed
    assert by_service["web"]["instances_warning"] == 1.0
    assert nodes == {"node_checks_passing": 1.0, "node_checks_warning": 0.0,
                     "node_checks_critical": 1.0}


def test_no_leader_is_reported_not_an_error() -> None:
    point = consul.map_cluster(sim.status_leader(None), ["10.2.0.1:8300"], None, TAGS, NOW)
    assert point.fields == {"leader_present": False, "raft_peers": 1.0}


def test_reference_docs_samples() -> None:
    paths = [REFERENCE / "consul" / n for n in ("docs_v1_status_leader.json",
                                          "docs_v1_status_peers.json",
                                          "docs_v1_health_state_passing.json")]
    if not all(p.exists() for p in paths):
        pytest.skip("reference not available")
    leader, peers, health = (json.loads(p.read_text()) for p in paths)
    nodes, services = consul.map_health(health, TAGS, NOW)
    point = consul.map_cluster(leader, peers, nodes, TAGS, NOW)
    assert catalog.problems([point, *services]) == []
    assert point.fields["leader_present"] is True and point.fields["raft_peers"] == 3.0
    [redis] = services
    assert redis.tags["service"] == "redis" and redis.fields["instances_passing"] == 1.0


def test_collect_with_html_health_answer() -> None:
    servers = [sim.ConsulServer("s1", "10.2.0.1", "x")]
    routes = {
        "/v1/status/leader": Reply(body=json.dumps(sim.status_leader(servers[0])).encode()),
        "/v1/status/peers": Reply(body=json.dumps(sim.status_peers(servers)).encode()),
        "/v1/health/state/any": Reply(body=b"<html><title>502</title></html>",
                                      headers={"Content-Type": "text/html"}),
    }
    with serve(routes) as server:
        http = Http(HttpConfig(retries=0, connect_timeout_seconds=2, read_timeout_seconds=2))
        ctx = CollectContext("consul", ClusterConfig(consul=server.url), SourceConfig(), http, NOW)
        result = consul.collect(ctx)
    [point] = result.points
    assert point.fields == {"leader_present": True, "leader": "10.2.0.1:8300", "raft_peers": 1.0}
    assert "HTML" in result.errors[0].reason
