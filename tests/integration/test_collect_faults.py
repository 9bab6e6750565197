"""Collectors against a broken simulated cluster: leader changes, lying standbys, lost agents,
bad bodies, hangs and resets; and master discovery through the real ZooKeeper ensemble.

Whatever breaks, a cycle returns (bounded by the HTTP timeouts), the broken target is a
per-target error and everything else is collected.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from clusterwatch.collectors import catalog
from clusterwatch.core.config_schema import ClusterConfig, Config, HttpConfig, SourceConfig
from clusterwatch.core.http import Http
from clusterwatch.core.point import Point
from clusterwatch.scheduler.cycle import CycleReport, run_cycle
from clusterwatch.sim import Cluster

pytestmark = pytest.mark.integration

MakeCluster = Callable[..., Cluster]
# short timeouts, no retries: a hanging target costs about a second
FAST = HttpConfig(connect_timeout_seconds=1, read_timeout_seconds=1, retries=0)


def config_for(cluster: Cluster, masters: list[str] | None = None, zookeeper: str = "") -> Config:
    assert cluster.ports is not None
    cadvisor = SourceConfig(targets=(f"http://{{ip}}:{cluster.ports.cadvisor}",))
    return Config(
        cluster=ClusterConfig(
            name="sim",
            mesos_masters=tuple(cluster.master_urls if masters is None else masters),
            marathon=tuple(cluster.marathon_urls),
            zookeeper=zookeeper,
        ),
        http=FAST,
        sources={
            "mesos_master": SourceConfig(),
            "mesos_agent": SourceConfig(),
            "cadvisor": cadvisor,
            "marathon": SourceConfig(),
        },
    )


def cycle(config: Config, name: str) -> CycleReport:
    with Http(config.http) as http:
        report = run_cycle(name, config, http)
    assert catalog.problems(report.result.points) == []
    return report


def of(report: CycleReport, measurement: str) -> list[Point]:
    return [p for p in report.result.points if p.measurement == measurement]


def host(url: str) -> str:
    return url.split("://", 1)[1].rsplit(":", 1)[0]


def leaders(report: CycleReport) -> list[str]:
    return [p.tags["host"] for p in of(report, "mesos_master") if p.fields["leader"]]


# -- master failover -------------------------------------------------------------------------


def test_after_a_failover_cluster_data_comes_from_the_new_leader(
    make_sim_cluster: MakeCluster,
) -> None:
    cluster = make_sim_cluster(agents=8, apps=4)
    config = config_for(cluster)
    before = cycle(config, "mesos_master")
    old = cluster.leader_url
    assert old is not None and leaders(before) == [host(old)]
    [first] = of(before, "mesos_cluster")
    assert first.fields["agent_registrations_total"] == 8  # the first leader saw them register

    new = cluster.fail_over_master()
    after = cycle(config, "mesos_master")
    assert after.result.errors == []
    assert leaders(after) == [host(new)] and host(new) != host(old)
    [second] = of(after, "mesos_cluster")
    # the new leader's own counters start at its election; the cluster is still all there
    assert second.fields["agent_registrations_total"] == 0
    assert second.fields["agents_active"] == 8.0
    assert second.fields["cpus_total"] == first.fields["cpus_total"]
    # the old leader is now a standby: its own point says so, its zeros are not cluster data
    old_point = next(p for p in of(after, "mesos_master") if p.tags["host"] == host(old))
    assert old_point.fields["elected"] is False and old_point.fields["leader"] is False

    agents = cycle(config, "mesos_agent")  # agents are read from the new leader
    assert agents.result.errors == [] and len(of(agents, "mesos_agent")) == 8


def test_a_standby_that_claims_to_lead_is_outvoted_and_not_written(
    make_sim_cluster: MakeCluster,
) -> None:
    """Master 1 answers as if it led (redirect to itself, ``master/elected`` 1, full state).
    Right: the leader is the one most masters name; the liar's snapshot is an error and only
    its own ``mesos_master`` point is written, whatever order the masters are listed in."""
    cluster = make_sim_cluster(agents=6, apps=3)
    cluster.set_standby_mode(1, "claims_leader")
    liar = cluster.master_urls[1]
    real = cluster.leader_url
    assert real is not None and real != liar
    for listed in (cluster.master_urls, [liar, *cluster.master_urls[::2]]):
        report = cycle(config_for(cluster, listed), "mesos_master")
        assert leaders(report) == [host(real)]
        assert len(of(report, "mesos_cluster")) == 1
        [error] = report.result.errors
        assert error.target == liar + "/metrics/snapshot"
        assert "discovery names another leader" in error.reason
        claimed = next(p for p in of(report, "mesos_master") if p.tags["host"] == host(liar))
        assert claimed.fields["elected"] is True and claimed.fields["leader"] is False
    agents = cycle(config_for(cluster, [liar, liar, *cluster.master_urls]), "mesos_agent")
    assert agents.result.errors == [] and len(of(agents, "mesos_agent")) == 6


def test_two_masters_that_disagree_write_no_cluster_data(make_sim_cluster: MakeCluster) -> None:
    """With two masters each claiming to lead there is no majority: no cluster data, an error."""
    cluster = make_sim_cluster(agents=4, apps=2, masters=2)
    cluster.set_standby_mode(1, "claims_leader")
    report = cycle(config_for(cluster), "mesos_master")
    assert of(report, "mesos_cluster") == [] and report.result.points == []
    [error] = report.result.errors
    assert error.target == "mesos masters" and "disagree" in error.reason


# -- agents lost, broken, hanging ------------------------------------------------------------


def test_a_lost_agent_is_an_error_and_the_others_are_collected(
    make_sim_cluster: MakeCluster,
) -> None:
    cluster = make_sim_cluster(agents=6, apps=3)
    victim = cluster.agents[2]
    cluster.lose_agent(victim.id)
    config = config_for(cluster)
    agents = cycle(config, "mesos_agent")
    assert [e.target for e in agents.result.errors] == [victim.mesos]
    assert agents.result.targets_total == 6
    assert agents.self_metrics("sim").fields["targets_up"] == 5.0
    points = {p.tags["host"]: p for p in of(agents, "mesos_agent")}
    assert points[host(victim.mesos)].fields["active"] is False
    assert all(p.fields["active"] is True for h, p in points.items() if h != host(victim.mesos))
    executors = of(agents, "mesos_executor")
    assert executors and host(victim.mesos) not in {p.tags["host"] for p in executors}

    cadvisor = cycle(config, "cadvisor")
    assert [e.target for e in cadvisor.result.errors] == [
        victim.cadvisor + "/api/v1.3/subcontainers/"
    ]
    assert cadvisor.result.targets_total == 6
    hosts = {p.tags["host"] for p in of(cadvisor, "cadvisor_container")}
    assert host(victim.mesos) not in hosts and len(hosts) >= 4

    [summary] = of(cycle(config, "mesos_master"), "mesos_cluster")
    assert summary.fields["agents_active"] == 5.0


BROKEN = {
    "html": "HTML",
    "truncate": "truncated JSON",
    "hang": "read timeout",
    "reset": "connection",
    "error": "HTTP 500",
}


@pytest.mark.parametrize("kind", sorted(BROKEN))
def test_one_broken_agent_is_a_target_error_the_rest_is_collected(
    make_sim_cluster: MakeCluster, kind: str
) -> None:
    cluster = make_sim_cluster(agents=5, apps=3)
    victim = cluster.agents[1]
    cluster.inject(kind, role="agent", host=victim.mesos)
    cluster.inject(kind, role="cadvisor", host=victim.cadvisor)
    config = config_for(cluster)

    agents = cycle(config, "mesos_agent")
    reasons = {e.target: e.reason for e in agents.result.errors}
    assert set(reasons) == {victim.mesos + "/metrics/snapshot",
                            victim.mesos + "/monitor/statistics"}  # fmt: skip
    assert all(BROKEN[kind] in r for r in reasons.values()), reasons
    points = {p.tags["host"]: p for p in of(agents, "mesos_agent")}
    assert len(points) == 5  # the broken one keeps its master-side view
    assert "uptime_seconds" not in points[host(victim.mesos)].fields
    assert all("uptime_seconds" in p.fields for h, p in points.items() if h != host(victim.mesos))

    cadvisor = cycle(config, "cadvisor")
    [error] = cadvisor.result.errors
    assert error.target == victim.cadvisor + "/api/v1.3/subcontainers/"
    assert BROKEN[kind] in error.reason
    hosts = {p.tags["host"] for p in of(cadvisor, "cadvisor_container")}
    assert host(victim.mesos) not in hosts and len(hosts) >= 3


@pytest.mark.parametrize("kind", ["html", "hang", "reset"])
def test_a_broken_standby_master_leaves_the_cluster_data_alone(
    make_sim_cluster: MakeCluster, kind: str
) -> None:
    cluster = make_sim_cluster(agents=4, apps=2)
    standby = cluster.master_urls[2]
    cluster.inject(kind, role="master", host=standby, path="/metrics/snapshot")
    report = cycle(config_for(cluster), "mesos_master")
    [error] = report.result.errors
    assert error.target == standby + "/metrics/snapshot" and BROKEN[kind] in error.reason
    assert len(of(report, "mesos_cluster")) == 1 and len(of(report, "mesos_master")) == 2


def test_a_broken_leader_snapshot_writes_no_cluster_data(make_sim_cluster: MakeCluster) -> None:
    cluster = make_sim_cluster(agents=4, apps=2)
    leader = cluster.leader_url
    assert leader is not None
    cluster.inject("truncate", role="master", host=leader, path="/metrics/snapshot")
    report = cycle(config_for(cluster), "mesos_master")
    assert of(report, "mesos_cluster") == []
    assert [e.target for e in report.result.errors] == [leader + "/metrics/snapshot"]
    assert len(of(report, "mesos_framework")) == 2  # the leader's other endpoints still count


def test_a_hanging_marathon_instance_is_bounded_and_recorded(
    make_sim_cluster: MakeCluster,
) -> None:
    cluster = make_sim_cluster(agents=4, apps=3)
    standby = cluster.marathon_urls[2]
    cluster.inject("hang", role="marathon", host=standby, path="/metrics")
    report = cycle(config_for(cluster), "marathon")
    [error] = report.result.errors
    assert error.target == standby + "/metrics" and "read timeout" in error.reason
    assert len(of(report, "marathon_app")) == 3 and len(of(report, "marathon")) == 2


# -- ZooKeeper discovery against the real ensemble -------------------------------------------


def test_zookeeper_discovery_finds_the_leader_and_follows_a_failover(
    zk_chroot: str, make_sim_cluster: MakeCluster
) -> None:
    zk = zk_chroot
    cluster = make_sim_cluster(agents=5, apps=2, zookeeper=zk)
    config = config_for(cluster, masters=[], zookeeper=zk)  # no static list: ZooKeeper only
    report = cycle(config, "mesos_master")
    assert report.result.errors == []
    assert leaders(report) == [host(cluster.master_urls[0])]
    assert len(of(report, "mesos_cluster")) == 1 and len(of(report, "mesos_master")) == 3

    new = cluster.fail_over_master()
    report = cycle(config, "mesos_master")
    assert report.result.errors == []
    assert leaders(report) == [host(new)]
    [summary] = of(report, "mesos_cluster")
    assert summary.fields["agents_active"] == 5.0
    agents = cycle(config, "mesos_agent")
    assert agents.result.errors == [] and len(of(agents, "mesos_agent")) == 5
    cadvisor = cycle(config, "cadvisor")
    assert cadvisor.result.errors == [] and of(cadvisor, "cadvisor_container")


def test_zookeeper_with_no_masters_registered_is_an_error(
    zk_chroot: str, make_sim_cluster: MakeCluster
) -> None:
    cluster = make_sim_cluster(agents=2, apps=1)
    zk = zk_chroot
    from kazoo.client import KazooClient

    client = KazooClient(hosts=zk)
    client.start(timeout=15)
    try:
        client.ensure_path("/mesos")
        report = cycle(config_for(cluster, masters=[], zookeeper=zk), "mesos_master")
    finally:
        client.stop()
        client.close()
    assert report.result.points == []
    [error] = report.result.errors
    assert "no masters registered" in error.reason
