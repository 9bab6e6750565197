"""check_mesos_agents against the simulated masters: lost agents, thresholds, fail-over."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from clusterwatch.checks import mesos_agents
from clusterwatch.sim import Cluster

pytestmark = pytest.mark.integration


def check(cluster: Cluster, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = mesos_agents.main(["-H", ",".join(cluster.master_urls), *argv])
    return code, capsys.readouterr().out


def test_lost_agents_by_thresholds(
    make_sim_cluster: Callable[..., Cluster], capsys: pytest.CaptureFixture[str]
) -> None:
    cluster = make_sim_cluster(agents=10, apps=2)
    code, out = check(cluster, capsys)
    assert code == 0, out
    assert out.startswith("MESOS_AGENTS OK - 10/10 agents active | agents_active=10;10:;5:;0;10")
    lost = cluster.agents[3]
    cluster.lose_agent(lost.id)
    code, out = check(cluster, capsys, "-v")
    assert code == 1, out
    assert out.splitlines()[0].startswith("MESOS_AGENTS WARNING - 9/10 agents active (127.1.0.4")
    assert f"127.1.0.4 ({lost.id}): inactive" in out.splitlines()
    code, out = check(cluster, capsys, "-w", "9", "-c", "8")
    assert code == 0, out
    cluster.lose_agent(cluster.agents[4].id)
    cluster.lose_agent(cluster.agents[5].id)
    code, out = check(cluster, capsys, "-w", "9", "-c", "8")
    assert code == 2, out
    assert "7/10 agents active" in out and "critical minimum 8" in out
    code, out = check(cluster, capsys, "--expected", "12", "-w", "90%", "-c", "50%")
    assert code == 1, out
    assert "7/12 agents active" in out and "agents_active=7;11:;6:;0;12" in out


def test_leader_found_after_failover_and_despite_a_standby_claiming_it(
    make_sim_cluster: Callable[..., Cluster], capsys: pytest.CaptureFixture[str]
) -> None:
    cluster = make_sim_cluster(agents=3, apps=1)
    new = cluster.fail_over_master()
    cluster.set_standby_mode(0, "claims_leader")
    code, out = check(cluster, capsys, "-v")
    assert code == 0, out
    assert f"leading master {new}" in out.splitlines()
