"""check_mesos_quorum against the simulated masters (static list and ZooKeeper znodes)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from clusterwatch.checks import mesos_quorum
from clusterwatch.sim import Cluster

pytestmark = pytest.mark.integration
MakeCluster = Callable[..., Cluster]


def check(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = mesos_quorum.main([*argv, "-t", "10"])
    return code, capsys.readouterr().out.splitlines()[0]


def hosts(cluster: Cluster) -> list[str]:
    return ["-H", ",".join(cluster.master_urls)]


def test_healthy_masters(sim_cluster: Cluster, capsys: pytest.CaptureFixture[str]) -> None:
    code, line = check(capsys, *hosts(sim_cluster))
    assert code == 0, line
    assert line.startswith(f"MESOS_QUORUM OK - leader {sim_cluster.leader_url}, 3/3 masters up")
    assert line.endswith("| masters_up=3;3:;2:;0;3 leaders=1;;1:1;0;3 quorum=2;;;0")


def test_standby_claiming_to_lead_is_critical(
    make_sim_cluster: MakeCluster, capsys: pytest.CaptureFixture[str]
) -> None:
    cluster = make_sim_cluster(agents=2, apps=1)
    cluster.set_standby_mode(2, "claims_leader")
    code, line = check(capsys, *hosts(cluster))
    assert code == 2, line
    assert f"2 masters claim to lead ({cluster.master_urls[0]}, {cluster.master_urls[2]})" in line


def test_unreachable_masters_count_down(
    make_sim_cluster: MakeCluster, capsys: pytest.CaptureFixture[str]
) -> None:
    cluster = make_sim_cluster(agents=2, apps=1)
    cluster.inject("reset", role="master", host=cluster.master_urls[1])
    code, line = check(capsys, *hosts(cluster))
    assert code == 1, line
    assert "2/3 masters up, quorum 2" in line and "connection reset" in line
    cluster.inject("html", role="master", host=cluster.master_urls[2])
    code, line = check(capsys, *hosts(cluster))
    assert code == 2, line
    assert line.startswith("MESOS_QUORUM CRITICAL - no quorum: 1/3 masters up, quorum 2")
    assert "HTML error page (502 Bad Gateway)" in line


def test_failover_mid_check_is_confirmed_not_reported_as_no_leader(
    make_sim_cluster: MakeCluster, capsys: pytest.CaptureFixture[str]
) -> None:
    cluster = make_sim_cluster(agents=2, apps=1)
    assert cluster.sim is not None
    cluster.sim.lose_leader()  # an election is under way: nobody leads for now
    cluster.inject("delay", role="master", path="/metrics/snapshot", count=3, seconds=0.5)
    result: dict[str, Any] = {}
    run = threading.Thread(target=lambda: result.update(code=mesos_quorum.main(
        [*hosts(cluster), "-t", "10"])))  # fmt: skip
    run.start()
    while cluster.faults.list():  # the first round's answers (no leader) are on their way
        threading.Event().wait(0.01)
    new = cluster.fail_over_master(to=1)
    run.join(15)
    line = capsys.readouterr().out.splitlines()[0]
    assert result["code"] == 0, line
    assert line.startswith(f"MESOS_QUORUM OK - leader {new}")


def test_no_leader_at_all_is_critical(
    make_sim_cluster: MakeCluster, capsys: pytest.CaptureFixture[str]
) -> None:
    cluster = make_sim_cluster(agents=2, apps=1)
    assert cluster.sim is not None
    cluster.sim.lose_leader()
    code, line = check(capsys, *hosts(cluster))
    assert code == 2, line
    assert line.startswith("MESOS_QUORUM CRITICAL - no elected master")


def test_masters_from_zookeeper_follow_a_failover(
    zookeeper_ensemble: Any, make_sim_cluster: MakeCluster, capsys: pytest.CaptureFixture[str]
) -> None:
    zk = zookeeper_ensemble.connect_string
    cluster = make_sim_cluster(agents=2, apps=1, zookeeper=zk)
    code, line = check(capsys, "--zookeeper", zk, "--znode", "/mesos")
    assert code == 0, line
    assert line.startswith(f"MESOS_QUORUM OK - leader {cluster.master_urls[0]}, 3/3 masters up")
    assert "znodes=3;;2:;0" in line
    new = cluster.fail_over_master()
    code, line = check(capsys, "--zookeeper", zk, "-v")
    assert code == 0, line
    assert line.startswith(f"MESOS_QUORUM OK - leader {new}")
    cluster.set_standby_mode(2, "claims_leader")
    code, line = check(capsys, "--zookeeper", zk)
    assert code == 2, line
    assert "2 masters claim to lead" in line
