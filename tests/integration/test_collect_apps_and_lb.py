"""Collectors against the simulated apps' own endpoints: application /metrics scraped from the
tasks that opt in, and a real HAProxy in front of them joined back to Marathon tasks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests

from clusterwatch.collectors.catalog import problems
from clusterwatch.core.config_schema import ClusterConfig, Config, SourceConfig
from clusterwatch.core.http import Http
from clusterwatch.scheduler.cycle import run_cycle
from clusterwatch.sim import Cluster
from tests.integration.test_sim_haproxy import free_service_ports, wait_all_up

pytestmark = pytest.mark.integration

MakeCluster = Callable[..., Cluster]


def config_for(cluster: Cluster, source: str, **cluster_fields: Any) -> Config:
    return Config(
        cluster=ClusterConfig(
            name="t1",
            mesos_masters=tuple(cluster.master_urls),
            marathon=tuple(cluster.marathon_urls),
            **cluster_fields,
        ),
        sources={source: SourceConfig(timeout_seconds=5)},
    )


def test_apps_that_opt_in_have_their_metrics_scraped(make_sim_cluster: MakeCluster) -> None:
    cluster = make_sim_cluster(agents=3, apps=4, seed=5, task_listeners=True,
                               service_port_base=free_service_ports(8))  # fmt: skip
    leader = cluster.marathon_leader_url
    assert leader is not None
    apps = requests.get(leader + "/v2/apps", timeout=10).json()["apps"]
    opted = {a["id"] for a in apps if a["labels"].get("clusterwatch.metrics.path")}
    assert opted and opted != {a["id"] for a in apps}
    # traffic, so the counters have something to count
    for task in requests.get(leader + "/v2/tasks", timeout=10).json()["tasks"]:
        requests.get(f"http://{task['host']}:{task['ports'][0]}/api/items", timeout=10)

    with Http() as http:
        report = run_cycle("prometheus", config_for(cluster, "prometheus"), http)
    assert report.result.errors == []
    points = report.result.points
    assert {p.tags["app"] for p in points} == opted
    requests_total = [p for p in points if any("http_requests_total" in f for f in p.fields)]
    assert requests_total and all(p.tags["cluster"] == "t1" for p in points)
    assert problems(points) == []


def test_haproxy_servers_are_joined_to_the_tasks_behind_them(
    make_sim_cluster: MakeCluster, haproxy_factory: Any
) -> None:
    cluster = make_sim_cluster(agents=4, apps=4, seed=3, task_listeners=True,
                               service_port_base=free_service_ports(8))  # fmt: skip
    haproxy = haproxy_factory(cluster.haproxy_config(inter=1, fall=2))
    up = wait_all_up(haproxy)
    config = config_for(cluster, "haproxy", haproxy=(haproxy.stats_url,))
    with Http() as http:
        report = run_cycle("haproxy", config, http)
    assert report.result.errors == []
    points = report.result.points
    servers = [p for p in points if p.tags.get("type") == "server"]
    assert {(p.tags["proxy"], p.tags["sv"]) for p in servers} == set(up)
    joined = {str(p.fields["task_id"]) for p in servers if p.fields.get("task_id")}
    assert joined == set(cluster.task_endpoints().values())
    assert all(p.fields.get("up") is True for p in servers)
    assert problems(points) == []
