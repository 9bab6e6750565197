from __future__ import annotations

import json

import pytest

from clusterwatch.collectors import discovery, mesos_master
from clusterwatch.core.collect import CollectContext
from clusterwatch.core.config_schema import ClusterConfig, HttpConfig, SourceConfig
from clusterwatch.core.http import Http
from clusterwatch.core.point import Point
from tests.collector_data import REFERENCE, data, ref_json
from tests.httpserver import Reply, serve

NOW = 1_715_000_000_000_000_000
TAGS = {"cluster": "t1"}


def by_measurement(points: list[Point], name: str) -> list[Point]:
    return [p for p in points if p.measurement == name]


def context(masters: list[str]) -> CollectContext:
    http = Http(HttpConfig(retries=0, connect_timeout_seconds=2, read_timeout_seconds=2))
    cluster = ClusterConfig(name="t1", mesos_masters=tuple(masters))
    return CollectContext("mesos_master", cluster, SourceConfig(), http, NOW)


def test_leader_snapshot_gives_cluster_and_master_points() -> None:
    points, problems = mesos_master.map_snapshot(
        data("mesos_master_snapshot_leader.json"), "m1", True, TAGS, NOW
    )
    assert problems == []
    [cluster] = by_measurement(points, "mesos_cluster")
    assert cluster.tags == {"cluster": "t1"}
    assert cluster.fields["cpus_total"] == 48.0
    assert cluster.fields["cpus_used_ratio"] == pytest.approx(0.6354, abs=1e-4)
    assert cluster.fields["mem_total_bytes"] == 192000.0 * 1024 * 1024
    assert cluster.fields["agents_disconnected"] == 1.0
    [own] = by_measurement(points, "mesos_master")
    assert own.tags == {"cluster": "t1", "host": "m1"}
    assert own.fields["elected"] is True and own.fields["leader"] is True
    assert own.fields["registrar_state_store_seconds"] == pytest.approx(0.0125)


def test_counters_are_ints_even_when_the_json_had_floats() -> None:
    points, _ = mesos_master.map_snapshot(
        data("mesos_master_snapshot_leader.json"), "m1", True, TAGS, NOW
    )
    [cluster] = by_measurement(points, "mesos_cluster")
    assert cluster.fields["tasks_failed_total"] == 3
    assert type(cluster.fields["tasks_failed_total"]) is int
    assert type(cluster.fields["tasks_running"]) is float


def test_standby_master_snapshot_is_not_written_as_cluster_data() -> None:
    points, problems = mesos_master.map_snapshot(
        data("mesos_master_snapshot_standby.json"), "m2", False, TAGS, NOW
    )
    assert by_measurement(points, "mesos_cluster") == []
    [own] = by_measurement(points, "mesos_master")
    assert own.fields["elected"] is False and own.fields["uptime_seconds"] == 3600.25
    assert problems == []


def test_named_leader_with_a_standby_snapshot_writes_no_cluster_data() -> None:
    points, problems = mesos_master.map_snapshot(
        data("mesos_master_snapshot_standby.json"), "m2", True, TAGS, NOW
    )
    assert by_measurement(points, "mesos_cluster") == []
    assert "master/elected=0.0" in problems[0]


def test_reference_0_22_leader_snapshot() -> None:
    doc = ref_json("mesos-master/dd-agent_metrics_snapshot_0.22.json")
    points, _ = mesos_master.map_snapshot(doc, "m1", True, TAGS, NOW)
    [cluster] = by_measurement(points, "mesos_cluster")
    assert cluster.fields["cpus_total"] == 1.0
    assert cluster.fields["mem_total_bytes"] == 244 * 1024 * 1024
    assert cluster.fields["agent_reregistrations_total"] == 1


def test_reference_operator_api_metrics_list_is_read_as_a_snapshot() -> None:
    doc = ref_json("mesos-master/docs_operator_v1_GET_METRICS_1.x.json")
    points, problems = mesos_master.map_snapshot(doc, "m1", True, TAGS, NOW)
    assert problems == []
    [own] = by_measurement(points, "mesos_master")
    assert own.fields["elected"] is True and own.fields["log_recovered"] is True
    assert by_measurement(points, "mesos_cluster")[0].fields["agents_active"] == 0.0


def test_frameworks_from_our_data_and_the_1_0_state() -> None:
    points = mesos_master.map_frameworks(data("mesos_master_frameworks.json"), TAGS, NOW)
    marathon = next(p for p in points if p.tags["framework"] == "marathon")
    assert marathon.fields["cpus_used"] == 28.5 and marathon.fields["tasks"] == 2.0
    assert marathon.fields["mem_used_bytes"] == 90112.0 * 1024 * 1024
    assert {p.tags["framework"] for p in points} == {"marathon", "chronos"}
    state = ref_json("mesos-master/mesos_state_master_state_1.0.0_dcos-vagrant_compact.json")
    names = {p.tags["framework"] for p in mesos_master.map_frameworks(state, TAGS, NOW)}
    assert names == {"calico", "etcd", "marathon", "metronome"}


def test_leader_is_the_lowest_znode_sequence() -> None:
    one = (REFERENCE / "zookeeper/mesos_masterinfo_json.info_0000000000_1.0.1.json")
    ours = b'{"address":{"hostname":"m9.example.org","ip":"10.0.0.9","port":5050},"port":5050}'
    entries = {"json.info_0000000007": ours, "log_replicas": b""}
    if one.exists():
        entries["json.info_0000000003"] = one.read_bytes()
    masters = discovery.masters_from_znodes(entries)
    leader = masters[0]
    expected = "http://192.168.1.232:5050" if one.exists() else "http://m9.example.org:5050"
    assert leader.url == expected
    assert masters[-1].url == "http://m9.example.org:5050"


def test_redirect_location_names_the_leader() -> None:
    assert discovery.redirect_target("//m2.example.org:5050") == "http://m2.example.org:5050"
    assert discovery.redirect_target("//10.0.0.2:5050", "https") == "https://10.0.0.2:5050"


def _master(snapshot: Reply) -> dict[str, Reply]:
    frameworks = json.dumps(data("mesos_master_frameworks.json")).encode()
    return {"/metrics/snapshot": snapshot, "/master/frameworks": Reply(body=frameworks)}


def test_collect_one_snapshot_per_master_and_429_skips_that_master() -> None:
    leader_body = json.dumps(data("mesos_master_snapshot_leader.json")).encode()
    with serve(_master(Reply(body=leader_body))) as a, serve(
        _master(Reply(429, b"Too Many Requests", {"Content-Type": "text/plain"}))
    ) as b:
        location = {"Location": "//" + a.url.split("://")[1]}
        a.routes["/master/redirect"] = Reply(307, b"", location)
        b.routes["/master/redirect"] = Reply(307, b"", location)
        result = mesos_master.collect(context([b.url, a.url]))
    assert [p.fields["cpus_total"] for p in by_measurement(result.points, "mesos_cluster")] == [
        48.0
    ]
    assert len(by_measurement(result.points, "mesos_master")) == 1
    assert len(by_measurement(result.points, "mesos_framework")) == 2
    [error] = result.errors
    assert error.target == b.url + "/metrics/snapshot" and "429" in error.reason
    for served in (a, b):
        snapshots = [path for _, path, _ in served.requests if path.startswith("/metrics")]
        assert snapshots == ["/metrics/snapshot"]
    assert result.targets_total == 2


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (Reply(body=b"<html><title>Bad Gateway</title></html>",
               headers={"Content-Type": "text/html"}), "HTML"),
        (Reply(body=b'{"master/elected": 1.0, "master/cpus_t'), "truncated JSON"),
        (Reply(body=b'["not", "a", "snapshot"]'), "expected a JSON object"),
    ],
)
def test_bad_snapshot_bodies_are_target_errors(reply: Reply, reason: str) -> None:
    with serve(_master(reply)) as a:
        a.routes["/master/redirect"] = Reply(307, b"", {"Location": "//" + a.url.split("://")[1]})
        result = mesos_master.collect(context([a.url]))
    assert by_measurement(result.points, "mesos_cluster") == []
    assert any(reason in e.reason for e in result.errors), result.errors


def test_no_reachable_master_is_an_error_not_an_exception() -> None:
    result = mesos_master.collect(context(["http://127.0.0.1:9"]))
    assert result.points == [] and result.errors[0].target == "mesos masters"
    assert "connection refused" in result.errors[0].reason
