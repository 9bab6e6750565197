from __future__ import annotations

import json

import pytest

from clusterwatch.collectors import discovery, master_summary, mesos_agent
from clusterwatch.core.collect import CollectContext
from clusterwatch.core.config_schema import ClusterConfig, HttpConfig, SourceConfig
from clusterwatch.core.http import Http
from tests.collector_data import DATA, data, ref_json
from tests.httpserver import Reply, serve

NOW = 1_715_000_000_000_000_000
TAGS = {"cluster": "t1"}
FRAMEWORKS = {"c0ffee00-0000-4000-8000-000000000001-0000": "marathon"}


def test_registered_agents_and_their_urls_from_the_pid() -> None:
    agents = discovery.registered_agents(data("mesos_master_slaves.json"))
    assert [discovery.agent_url(a) for a in agents] == [
        "http://10.1.0.11:5051",
        "http://10.1.0.12:5051",
    ]


def test_agent_point_merges_master_view_and_own_snapshot() -> None:
    agent = discovery.registered_agents(data("mesos_master_slaves.json"))[0]
    snapshot = ref_json("mesos-agent/dd-agent_metrics_snapshot_0.22.json")
    point = mesos_agent.map_agent(agent, snapshot, TAGS, NOW)
    assert point is not None
    assert point.tags == {"cluster": "t1", "host": "agent1.example.org"}
    assert point.fields["cpus_total"] == 8.0 and point.fields["cpus_used"] == 5.5
    assert point.fields["mem_used_bytes"] == 16384.0 * 1024 * 1024
    assert point.fields["active"] is True and point.fields["registered"] is True
    assert point.fields["uptime_seconds"] == pytest.approx(280965.78028288)
    assert point.fields["tasks_running"] == 1.0


def test_agent_without_snapshot_still_has_the_master_view() -> None:
    agent = discovery.registered_agents(data("mesos_master_slaves.json"))[1]
    point = mesos_agent.map_agent(agent, None, TAGS, NOW)
    assert point is not None and point.fields["active"] is False
    assert point.fields["gpus_total"] == 2.0 and "uptime_seconds" not in point.fields


def test_executors_have_ids_as_fields_and_framework_and_app_as_tags() -> None:
    points = mesos_agent.map_executors(
        data("mesos_agent_monitor_statistics.json"), "agent1", FRAMEWORKS, TAGS, NOW
    )
    assert len(points) == 2
    web = points[0]
    assert web.tags == {"cluster": "t1", "host": "agent1", "framework": "marathon",
                        "app": "/web/portal"}
    assert web.fields["task_id"] == "web_portal.6a1f3c2e-0b1d-11ef-9a2b-02a0c0ffee01"
    assert web.fields["cpu_user_seconds_total"] == 120.25
    assert web.fields["cpu_throttled_periods_total"] == 12
    assert type(web.fields["cpu_throttled_periods_total"]) is int
    assert web.fields["mem_cache_bytes"] == 8388608.0
    batch = points[1]
    assert set(batch.tags) == {"cluster", "host"}


def test_reference_monitor_statistics_0_21() -> None:
    doc = ref_json("mesos-agent/diamond_monitor_statistics_0.21.json")
    points = mesos_agent.map_executors(doc, "a", {}, TAGS, NOW)
    assert len(points) == 3
    assert points[0].fields["cpu_system_seconds_total"] == 1.11
    assert points[0].fields["mem_cache_bytes"] == 970752.0  # mem_file_bytes in 0.21
    assert "executor_id" in points[0].fields and "executor_id" not in points[0].tags


def test_reference_master_state_agents() -> None:
    state = ref_json("mesos-master/mesos_state_master_state_1.0.0_dcos-vagrant_compact.json")
    agents = discovery.registered_agents(state)
    points = [mesos_agent.map_agent(a, None, TAGS, NOW) for a in agents]
    assert {p.tags["host"] for p in points if p} == {a["hostname"] for a in agents}
    assert discovery.agent_url(agents[0]).endswith(":5051")  # type: ignore[union-attr]


@pytest.mark.parametrize("doc", [
    "mesos-master/mesos_state_master_state_1.0.0_dcos-vagrant_compact.json",
    "mesos_master_slaves.json",
])  # fmt: skip
def test_the_agents_decoded_pruned_are_the_registered_agents_cut_to_their_keys(doc: str) -> None:
    full = ref_json(doc) if "/" in doc else data(doc)
    full["slaves"] = [*full["slaves"], {"id": "no hostname"}, "not an agent"]
    body = json.dumps(full, indent=1).encode()
    pruned = master_summary._decode_pruned(body)
    expected = [{k: a[k] for k in master_summary.AGENT_KEYS if k in a}
                for a in discovery.registered_agents(full)]  # fmt: skip
    assert discovery.registered_agents(pruned) == expected and len(expected) >= 2
    assert {k: v for k, v in pruned.items() if k != "slaves"} == {
        k: v for k, v in full.items() if k != "slaves"}  # fmt: skip


def _context(master: str) -> CollectContext:
    http = Http(HttpConfig(retries=0, connect_timeout_seconds=2, read_timeout_seconds=2))
    cluster = ClusterConfig(name="t1", mesos_masters=(master,))
    return CollectContext("mesos_agent", cluster, SourceConfig(), http, NOW)


def test_collect_records_a_failing_agent_and_keeps_the_others() -> None:
    stats = json.dumps(data("mesos_agent_monitor_statistics.json")).encode()
    with serve({"/monitor/statistics": Reply(body=stats),
                "/metrics/snapshot": Reply(body=b'{"slave/uptime_secs": 12.0')}) as agent:
        host, port = agent.url.split("://")[1].split(":")
        slaves = data("mesos_master_slaves.json")
        slaves["slaves"][0]["pid"] = f"slave(1)@{host}:{port}"
        slaves["slaves"][1]["active"] = True
        slaves["slaves"][1]["pid"] = "slave(1)@127.0.0.1:9"
        routes = {
            "/master/slaves": Reply(body=json.dumps(slaves).encode()),
            "/master/frameworks": Reply(
                body=(DATA / "mesos_master_frameworks.json").read_bytes()
            ),
        }
        with serve(routes) as master:
            master.routes["/master/redirect"] = Reply(
                307, b"", {"Location": "//" + master.url.split("://")[1]}
            )
            result = mesos_agent.collect(_context(master.url))
    agents = [p for p in result.points if p.measurement == "mesos_agent"]
    assert {p.tags["host"] for p in agents} == {"agent1.example.org", "agent2.example.org"}
    executors = [p for p in result.points if p.measurement == "mesos_executor"]
    assert len(executors) == 2 and executors[0].tags["framework"] == "marathon"
    reasons = {e.target: e.reason for e in result.errors}
    assert "truncated JSON" in reasons[agent.url + "/metrics/snapshot"]
    assert reasons["http://127.0.0.1:9/metrics/snapshot"] == "connection refused"
    assert reasons["http://127.0.0.1:9/monitor/statistics"] == "connection refused"
    assert result.targets_total == 2


def test_slaves_body_without_the_slaves_list_is_an_error() -> None:
    with pytest.raises(ValueError, match="slaves: expected a JSON array"):
        discovery.registered_agents({"message": "not a master"})


def test_the_agent_keys_kept_cover_everything_the_mapping_reads() -> None:
    read = {key if isinstance(key, str) else key[0] for key in mesos_agent.REGISTERED.fields}
    assert read | {"hostname", "pid"} <= set(master_summary.AGENT_KEYS)
