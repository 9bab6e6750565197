from __future__ import annotations

import json
from typing import Any

import pytest

from clusterwatch.collectors import cadvisor, catalog
from clusterwatch.core.collect import CollectContext
from clusterwatch.core.config_schema import ClusterConfig, HttpConfig, SourceConfig
from clusterwatch.core.http import Http
from clusterwatch.sim import cadvisor as sim
from tests.httpserver import Reply, serve
from tests.reference import REFERENCE

NOW = 1_715_000_000_000_000_000
TAGS = {"cluster": "t1"}
T0 = NOW - 20_000_000_000
WEB_TASK = "web_portal.6a1f3c2e-0b1d-11ef-9a2b-02a0c0ffee01"
BATCH_TASK = "batch_reindex.7b2f4d3e-0b1d-11ef-9a2b-02a0c0ffee03"


def sample(t_ns: int, cpu_ns: int, rx: int) -> sim.StatsSample:
    return sim.StatsSample(
        timestamp_ns=t_ns, cpu_total_ns=cpu_ns, cpu_user_ns=cpu_ns * 3 // 4,
        cpu_system_ns=cpu_ns // 4, per_cpu_ns=(cpu_ns // 2, cpu_ns - cpu_ns // 2),
        memory_usage=300 << 20, memory_working_set=250 << 20, memory_rss=200 << 20,
        memory_cache=50 << 20, memory_failcnt=3,
        interfaces=(sim.InterfaceSample("eth0", rx, 10, 2 * rx, 20, rx_errors=1),
                    sim.InterfaceSample("eth1", 100, 1, 100, 1)),
        diskio=(sim.DiskIoSample(8, 0, "/dev/sda", 4096, 8192, 1, 2),),
        filesystems=(sim.FsSample("/dev/sda1", capacity=10 << 30, usage=1 << 20),),
    )


def container(docker_id: str, mesos_id: str, task: str, app: str) -> sim.ContainerSample:
    return sim.ContainerSample(
        docker_id=docker_id * 64, mesos_container_id=mesos_id, image="registry/web:1.2",
        creation_time_ns=T0 - 10**12, cpu_shares=512, memory_limit=512 << 20,
        stats=(sample(T0, 40 * 10**9, 1000), sample(T0 + 10**10, 55 * 10**9, 5000)),
        task_id=task, app_id=app,
    )


CONTAINERS = [
    container("a", "1b7e0d7c-52a9-4c1e-9f7d-3f1c2a9b8e01", WEB_TASK, "/web/portal"),
    container("b", "1b7e0d7c-52a9-4c1e-9f7d-3f1c2a9b8e02", "", ""),
]
MACHINE = sim.MachineSample(8, 32 << 30, "m", "u", "b")
AGENT_STATE = {"frameworks": [{"name": "marathon", "executors": [
    {"id": BATCH_TASK, "container": "1b7e0d7c-52a9-4c1e-9f7d-3f1c2a9b8e02",
     "tasks": [{"id": BATCH_TASK}]}]}]}


def points_of(doc: Any, fallback: dict[str, cadvisor.Owner] | None = None) -> dict[str, Any]:
    points = cadvisor.map_containers(doc, "agent1", fallback or {}, TAGS, NOW)
    assert catalog.problems(points) == []
    return {p.fields["container_id"]: p for p in points}


def test_cpu_rate_from_two_samples_and_cumulative_counters() -> None:
    web = points_of(sim.subcontainers(MACHINE, CONTAINERS))["a" * 64]
    assert web.fields["cpu_usage_cores"] == pytest.approx(1.5)
    assert web.fields["cpu_usage_seconds_total"] == 55.0
    assert web.fields["network_rx_bytes_total"] == 5100
    assert web.fields["network_rx_errors_total"] == 1
    assert type(web.fields["memory_limit_hits_total"]) is int
    assert web.fields["memory_limit_bytes"] == float(512 << 20)
    assert web.fields["fs_usage_bytes"] == float(1 << 20)
    assert web.fields["disk_write_bytes_total"] == 8192


def test_container_joined_to_its_app_by_env_and_ids_are_fields() -> None:
    web = points_of(sim.subcontainers(MACHINE, CONTAINERS))["a" * 64]
    assert web.tags == {"cluster": "t1", "host": "agent1", "app": "/web/portal"}
    assert web.fields["task_id"] == WEB_TASK
    assert web.fields["mesos_container_id"] == "1b7e0d7c-52a9-4c1e-9f7d-3f1c2a9b8e01"
    assert web.fields["container_name"] == "mesos-1b7e0d7c-52a9-4c1e-9f7d-3f1c2a9b8e01"


def test_container_without_env_joined_through_the_agent_state() -> None:
    doc = sim.subcontainers(MACHINE, CONTAINERS)
    assert cadvisor.needs_agent_state(doc)
    fallback = cadvisor.owners_from_agent_state(AGENT_STATE)
    batch = points_of(doc, fallback)["b" * 64]
    assert batch.tags["app"] == "/batch/reindex" and batch.fields["task_id"] == BATCH_TASK
    assert "app" not in points_of(doc)["b" * 64].tags


def test_counter_going_back_gives_no_rate() -> None:
    older = sim.stats_v1(sample(T0, 90 * 10**9, 0))
    newer = sim.stats_v1(sample(T0 + 10**10, 1 * 10**9, 0))
    assert cadvisor.cpu_cores(older, newer) is None


def test_reference_k8s_subcontainers() -> None:
    path = REFERENCE / "cadvisor/dd-agent_api_v1.3_subcontainers_k8s1.2.json"
    if not path.exists():
        pytest.skip("reference not available")
    points = points_of(json.loads(path.read_text()))
    assert len(points) == 2  # the two Docker containers; cgroups like /system are skipped
    for point in points.values():
        assert "app" not in point.tags and 0 <= point.fields["cpu_usage_cores"] < 2
        assert point.fields["container_name"].startswith("k8s_")


def test_collect_static_target_and_an_html_error_page() -> None:
    body = json.dumps(sim.subcontainers(MACHINE, CONTAINERS[:1])).encode()
    with serve({"/api/v1.3/subcontainers/": Reply(body=body)}) as good, serve(
        {"/api/v1.3/subcontainers/": Reply(500, b"<html><title>oops</title></html>",
                                           {"Content-Type": "text/html"})}
    ) as bad:
        http = Http(HttpConfig(retries=0, connect_timeout_seconds=2, read_timeout_seconds=2))
        config = SourceConfig(targets=(good.url, bad.url))
        result = cadvisor.collect(CollectContext("cadvisor", ClusterConfig(), config, http, NOW))
    [point] = result.points
    assert point.tags["app"] == "/web/portal" and point.tags["host"] == "127.0.0.1"
    [error] = result.errors
    assert error.target.startswith(bad.url) and "HTTP 500" in error.reason
    assert result.targets_total == 2
