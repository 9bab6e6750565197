"""check_marathon_leader against the simulated Marathon instances."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from clusterwatch.checks import marathon_leader
from clusterwatch.sim import Cluster

pytestmark = pytest.mark.integration


def check(cluster: Cluster, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = marathon_leader.main(["-H", ",".join(cluster.marathon_urls), "-t", "10"])
    return code, capsys.readouterr().out.splitlines()[0]


def test_leader_change_is_followed_and_a_down_instance_warns(
    make_sim_cluster: Callable[..., Cluster], capsys: pytest.CaptureFixture[str]
) -> None:
    cluster = make_sim_cluster(agents=2, apps=1)
    leader = (cluster.marathon_leader_url or "").removeprefix("http://")
    code, line = check(cluster, capsys)
    assert (code, line.split(" |")[0]) == (0, f"MARATHON_LEADER OK - leader {leader}, "
                                              "3/3 instances agree")  # fmt: skip
    new = cluster.change_marathon_leader().removeprefix("http://")
    code, line = check(cluster, capsys)
    assert code == 0 and f"leader {new}" in line, line
    cluster.inject("hang", role="marathon", host=cluster.marathon_urls[0])
    code, line = check(cluster, capsys)
    assert code == 1, line
    assert f"2/3 instances answer ({cluster.marathon_urls[0]}: timed out" in line


def test_no_leader_is_critical(
    make_sim_cluster: Callable[..., Cluster], capsys: pytest.CaptureFixture[str]
) -> None:
    cluster = make_sim_cluster(agents=2, apps=1)
    assert cluster.sim is not None
    for instance in cluster.sim.marathons:  # every instance lost its leadership
        instance.elected_time = None
    code, line = check(cluster, capsys)
    assert code == 2, line
    assert line.startswith("MARATHON_LEADER CRITICAL - no leader (")
