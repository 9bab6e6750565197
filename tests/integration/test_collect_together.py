"""The sources that read the leader's state summary, started together as the scheduler starts
them when their intervals line up: one read of the summary serves the three of them, and each
collects what it collects alone."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from clusterwatch.core.config_schema import ClusterConfig, Config, HttpConfig, SourceConfig
from clusterwatch.core.http import Http
from clusterwatch.scheduler.cycle import CycleReport, run_cycle
from clusterwatch.sim import Cluster

pytestmark = pytest.mark.integration

MakeCluster = Callable[..., Cluster]
SHARING = ("mesos_master", "mesos_agent", "cadvisor")
SUMMARY = "/master/state-summary"


def config_for(cluster: Cluster) -> Config:
    assert cluster.ports is not None
    cadvisor = SourceConfig(targets=(f"http://{{ip}}:{cluster.ports.cadvisor}",))
    return Config(
        cluster=ClusterConfig(name="sim", mesos_masters=tuple(cluster.master_urls)),
        http=HttpConfig(connect_timeout_seconds=2, read_timeout_seconds=2, retries=0),
        sources={"mesos_master": SourceConfig(), "mesos_agent": SourceConfig(),
                 "cadvisor": cadvisor},
    )  # fmt: skip


def together(config: Config, now: float) -> dict[str, CycleReport]:
    reports: dict[str, CycleReport] = {}

    def one(name: str) -> None:
        with Http(config.http) as http:
            reports[name] = run_cycle(name, config, http, now=now)

    threads = [threading.Thread(target=one, args=(name,)) for name in SHARING]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return reports


def summary_requests(cluster: Cluster, fault: int, budget: int) -> int:
    """How many requests the counting fault saw (it counts down from ``budget``)."""
    [left] = [f.remaining for f in cluster.faults.list() if f.id == fault] or [0]
    return budget - (left or 0)


def shape(report: CycleReport) -> tuple[int, list[tuple[str, str]], int]:
    points = sorted((p.measurement, p.tags.get("host", "")) for p in report.result.points)
    return len(report.result.errors), points, report.result.targets_total


def test_one_summary_read_serves_the_three_sources(make_sim_cluster: MakeCluster) -> None:
    cluster = make_sim_cluster(agents=6, apps=3, clock_speed=0)
    config = config_for(cluster)
    now = time.time()
    alone = {}
    for name in SHARING:
        with Http(config.http) as http:
            alone[name] = run_cycle(name, config, http, now=now)
    # slow enough that the three overlap; a countdown fault counts the reads
    budget = 100
    fault = cluster.inject("delay", role="master", path=SUMMARY, count=budget, seconds=0.5)
    reports = together(config, now + 60)
    assert summary_requests(cluster, fault, budget) == 1
    for name in SHARING:
        assert shape(reports[name]) == shape(alone[name]), name
    assert len([p for p in reports["mesos_agent"].result.points
                if p.measurement == "mesos_agent"]) == 6  # fmt: skip

    reports = together(config, now + 120)  # the next cycle reads anew
    assert summary_requests(cluster, fault, budget) == 2


def test_a_failed_summary_read_is_each_sources_error_and_read_once(
    make_sim_cluster: MakeCluster,
) -> None:
    """A leader that hangs on the summary: the three sources wait for the one read, which
    times out, and record that; nobody waits out a timeout of their own after it."""
    cluster = make_sim_cluster(agents=4, apps=2, clock_speed=0)
    assert cluster.leader_url is not None
    budget = 100
    hang = cluster.inject("hang", role="master", path=SUMMARY, count=budget)
    config = config_for(cluster)
    started = time.monotonic()
    reports = together(config, time.time())
    assert summary_requests(cluster, hang, budget) == 1
    assert time.monotonic() - started < 2 * config.http.read_timeout_seconds
    for name in SHARING:
        reasons = {e.target: e.reason for e in reports[name].result.errors}
        assert "read timeout" in reasons[cluster.leader_url + SUMMARY], (name, reasons)
    agents = [p for p in reports["mesos_agent"].result.points if p.measurement == "mesos_agent"]
    assert agents == []
    clusters = [p for p in reports["mesos_master"].result.points
                if p.measurement == "mesos_cluster"]  # fmt: skip
    assert len(clusters) == 1  # the snapshots do not depend on the summary
