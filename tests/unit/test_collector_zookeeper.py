from __future__ import annotations

from pathlib import Path

import pytest

from clusterwatch.collectors import catalog, zookeeper
from clusterwatch.core import zk4lw
from clusterwatch.core.collect import CollectContext
from clusterwatch.core.config_schema import ClusterConfig, HttpConfig, SourceConfig
from clusterwatch.core.http import Http
from tests.reference import REFERENCE

DATA = Path(__file__).parents[1] / "data" / "collectors"
NOW = 1_715_000_000_000_000_000
TAGS = {"cluster": "t1"}


def test_leader_mntr() -> None:
    status = zk4lw.parse_mntr((DATA / "zk_mntr_leader.txt").read_text())
    point = zookeeper.map_status(status, "zk1", 2181, TAGS, NOW)
    assert point is not None and catalog.problems([point]) == []
    assert point.tags == {"cluster": "t1", "host": "zk1", "port": "2181"}
    assert point.fields["state"] == "leader" and point.fields["leader"] is True
    assert point.fields["followers"] == 2.0  # zk_learners in 3.6+
    assert point.fields["latency_avg_seconds"] == pytest.approx(0.0004)
    assert point.fields["packets_received_total"] == 904512
    assert point.fields["uptime_seconds"] == pytest.approx(864000.123)


@pytest.mark.parametrize(
    ("name", "state"),
    [("beats_mntr_3.5.3_leader.txt", "leader"), ("datadog_mntr_3.7.0_follower.txt", "follower"),
     ("netdata_mntr.txt", None)],
)
def test_reference_mntr(name: str, state: str | None) -> None:
    path = REFERENCE / "zookeeper" / name
    if not path.exists():
        pytest.skip("reference not available")
    point = zookeeper.map_status(zk4lw.parse_mntr(path.read_text()), "zk", 2181, TAGS, NOW)
    assert point is not None and catalog.problems([point]) == []
    if state is not None:
        assert point.fields["state"] == state
        assert ("synced_followers" in point.fields) == (state == "leader")


def test_members_of_a_connect_string() -> None:
    assert zookeeper.members("zk1:2181,zk2:2181, zk3/mesos") == ["zk1:2181", "zk2:2181", "zk3"]


def test_unreachable_member_is_a_target_error() -> None:
    http = Http(HttpConfig(retries=0))
    cluster = ClusterConfig(zookeeper="127.0.0.1:9/mesos")
    ctx = CollectContext("zookeeper", cluster, SourceConfig(timeout_seconds=1), http, NOW)
    result = zookeeper.collect(ctx)
    assert result.points == [] and result.targets_total == 1
    assert result.errors[0].target == "127.0.0.1:9"
    assert "refused" in result.errors[0].reason
