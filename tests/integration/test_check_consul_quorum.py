"""check_consul_quorum against the simulated Consul."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from clusterwatch.checks import consul_quorum
from clusterwatch.sim import Cluster

pytestmark = pytest.mark.integration


def test_leader_gone_is_critical(
    make_sim_cluster: Callable[..., Cluster], capsys: pytest.CaptureFixture[str]
) -> None:
    cluster = make_sim_cluster(agents=2, apps=1)
    argv = ["-H", cluster.consul_url, "--expected-peers", "3"]
    assert consul_quorum.main(argv) == 0
    line = capsys.readouterr().out.splitlines()[0]
    assert line.startswith("CONSUL_QUORUM OK - leader 127.0.1.1:8300, 3/3 raft peers")
    cluster.set_consul_leader(False)
    assert consul_quorum.main(argv) == 2
    line = capsys.readouterr().out.splitlines()[0]
    assert line.startswith("CONSUL_QUORUM CRITICAL - no leader")
    assert "leaders=0;;1:1;0" in line


def test_fewer_peers_than_expected(
    sim_cluster: Cluster, capsys: pytest.CaptureFixture[str]
) -> None:
    assert consul_quorum.main(["-H", sim_cluster.consul_url, "--expected-peers", "5"]) == 1
    assert "3/5 raft peers" in capsys.readouterr().out
    assert consul_quorum.main(["-H", sim_cluster.consul_url, "--expected-peers", "7"]) == 2
    assert "3/7 raft peers, below a majority (4)" in capsys.readouterr().out
