from __future__ import annotations

import json
from typing import Any

import pytest

from clusterwatch.collectors import discovery, marathon
from clusterwatch.core.collect import CollectContext
from clusterwatch.core.config_schema import ClusterConfig, HttpConfig, SourceConfig
from clusterwatch.core.http import Http
from tests.collector_data import DATA, data, ref_json
from tests.httpserver import Reply, serve

NOW = 1_715_000_000_000_000_000  # 2024-05-06T12:53:20Z
TAGS = {"cluster": "t1"}


def test_apps_with_embeds_and_queue() -> None:
    queue = marathon.queue_fields(data("marathon_queue.json"))
    points = marathon.map_apps(data("marathon_apps_embedded.json"), queue, TAGS, NOW)
    by_app = {p.tags["app"]: p.fields for p in points}
    web = by_app["/web/portal"]
    assert web["instances"] == 4.0 and web["tasks_staged"] == 1.0
    assert web["mem_per_instance_bytes"] == 512 * 1024 * 1024
    assert web["deployments"] == 1.0
    assert web["last_task_failure_age_seconds"] == 600.0
    assert web["task_lifetime_average_seconds"] == 5400.5
    assert web["instances_waiting"] == 0.0
    reindex = by_app["/batch/reindex"]
    assert reindex["instances_waiting"] == 2.0 and reindex["instances_unplaceable"] == 2.0
    assert reindex["launch_overdue"] is True
    pod = by_app["/infra/sidecars"]
    assert pod["instances_unplaceable"] == 0.0 and pod["launch_delay_seconds"] == 12.0


@pytest.mark.parametrize(
    "rel",
    ["marathon/dd-agent_v2_apps.json", "marathon/docs_example_v2_app_list.json",
     "marathon/go-marathon_v2_apps.json", "marathon/marathon-lb_v2_apps_marathon1.5.json",
     "marathon/marathon_benchmark_real_v2_apps_155_100.json"],
)
def test_reference_app_lists(rel: str) -> None:
    doc = ref_json(rel)
    points = marathon.map_apps(doc, {}, TAGS, NOW)
    assert len(points) == len(doc["apps"])
    assert all(type(p.fields["instances"]) is float for p in points)


def test_reference_dd_agent_app_counts() -> None:
    [point] = marathon.map_apps(ref_json("marathon/dd-agent_v2_apps.json"), {}, TAGS, NOW)
    assert point.fields["tasks_running"] == 10.0 and point.fields["tasks_staged"] == 5.0


def test_reference_queues() -> None:
    docs = ref_json("marathon/docs_example_v2_queue.json")
    queue = marathon.queue_fields(docs)
    assert queue["/tools/datadog-agent"]["instances_waiting"] == 1.0
    assert queue["/tools/datadog-agent"]["instances_unplaceable"] == 0.0
    go = marathon.queue_fields(ref_json("marathon/go-marathon_v2_queue.json"))
    assert go["/test"]["launch_delay_seconds"] == 784.0


def test_codahale_metrics_table() -> None:
    point = marathon.map_metrics(data("marathon_metrics_codahale.json"), "m1", True, TAGS, NOW)
    assert point is not None
    assert point.fields["uptime_seconds"] == 7265.0
    assert point.fields["apps"] == 12.0 and point.fields["http_responses_5xx_total"] == 17
    assert point.fields["http_requests_total"] == 52000 and point.fields["leader"] is True


def test_1_7_metrics_table_gives_the_same_fields() -> None:
    old = marathon.map_metrics(data("marathon_metrics_codahale.json"), "m1", False, TAGS, NOW)
    new = marathon.map_metrics(data("marathon_metrics_1_7.json"), "m1", False, TAGS, NOW)
    assert old is not None and new is not None
    assert new.fields["uptime_seconds"] == 7265.5
    assert new.fields["offers_incoming_total"] == 90210
    assert type(new.fields["offers_incoming_total"]) is int
    for name in ("apps", "tasks_running", "jvm_heap_used_bytes", "http_requests_active",
                 "http_requests_total", "http_responses_5xx_total", "leader_duration_seconds"):
        assert old.fields[name] == new.fields[name], name


def test_leader_body() -> None:
    doc = ref_json("marathon/go-marathon_v2_leader.json")
    assert discovery.parse_marathon_leader(doc) == "http://127.0.0.1:8080"
    with pytest.raises(ValueError):
        discovery.parse_marathon_leader({"message": "There is no leader"})


def test_collect_from_the_leader_and_every_instance() -> None:
    routes = {
        "/v2/apps": Reply(body=(DATA / "marathon_apps_embedded.json").read_bytes()),
        "/v2/queue": Reply(body=(DATA / "marathon_queue.json").read_bytes()),
        "/v2/deployments": Reply(body=b'[{"id": "5ed2b9a4"}]'),
        "/metrics": Reply(body=(DATA / "marathon_metrics_1_7.json").read_bytes()),
    }
    with serve(routes) as leader, serve(
        {"/metrics": Reply(body=b"<html><title>503 Service Unavailable</title></html>",
                           headers={"Content-Type": "text/html"})}
    ) as standby:
        body = json.dumps({"leader": leader.url.split("://")[1]}).encode()
        leader.routes["/v2/leader"] = Reply(body=body)
        standby.routes["/v2/leader"] = Reply(body=body)
        http = Http(HttpConfig(retries=0, connect_timeout_seconds=2, read_timeout_seconds=2))
        cluster = ClusterConfig(name="t1", marathon=(standby.url, leader.url))
        ctx = CollectContext("marathon", cluster, SourceConfig(), http, NOW)
        result = marathon.collect(ctx)
        apps_requests = [p for _, p, _ in leader.requests if p.startswith("/v2/apps")]
    assert apps_requests == [marathon.APPS_PATH]
    [own] = [p for p in result.points if p.measurement == "marathon"]
    assert own.fields["leader"] is True and own.fields["deployments"] == 1.0
    assert own.fields["queue_instances_waiting"] == 3.0
    assert len([p for p in result.points if p.measurement == "marathon_app"]) == 3
    [error] = result.errors
    assert error.target == standby.url + "/metrics" and "HTML" in error.reason
    assert result.targets_total == 2


@pytest.mark.parametrize("doc", [{"message": "Unauthorized"}, [], {"apps": "none"}])
def test_app_list_of_the_wrong_shape_is_an_error(doc: Any) -> None:
    with pytest.raises(ValueError):
        marathon.map_apps(doc, {}, TAGS, NOW)
