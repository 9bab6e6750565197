from __future__ import annotations

import json

import pytest

from clusterwatch.collectors import catalog, prometheus
from clusterwatch.core.collect import CollectContext
from clusterwatch.core.config_schema import ClusterConfig, HttpConfig, SourceConfig
from clusterwatch.core.http import Http
from clusterwatch.sim import appmetrics as sim
from tests.httpserver import Reply, serve
from tests.reference import REFERENCE

NOW = 1_715_000_000_000_000_000
TAGS = {"cluster": "t1"}
TARGET = prometheus.Target("http://10.1.0.11:31005/metrics", "/web/portal", "agent1")
TRAFFIC = sim.AppTraffic(
    uptime_seconds=100.0,
    routes=(sim.Route("/api", 2.0, 0.02), sim.Route("/api", 0.5, 0.2, code="500"),
            sim.Route("/", 1.0, 0.004)),
    in_flight=3,
    process=sim.ProcessSample(12.5, 100 << 20, 900 << 20, 1.7e9, 40),
)


def test_samples_become_float_fields_with_bounded_tags() -> None:
    points, cut = prometheus.map_exposition(sim.app_metrics(TRAFFIC), TARGET, TAGS, NOW)
    assert cut == 0 and catalog.problems(points) == []
    by_tags = {tuple(sorted(p.tags.items())): p.fields for p in points}
    base = (("app", "/web/portal"), ("cluster", "t1"), ("host", "agent1"))
    plain = by_tags[base]
    assert plain["http_requests_in_flight"] == 3.0
    assert plain["process_resident_memory_bytes"] == float(100 << 20)
    ok = by_tags[tuple(sorted((*base, ("code", "200"), ("method", "GET"))))]
    assert ok["http_requests_total;handler=/api"] == 200.0
    assert ok["http_requests_total;handler=/"] == 100.0
    failed = by_tags[tuple(sorted((*base, ("code", "500"), ("method", "GET"))))]
    assert failed["http_requests_total;handler=/api"] == 50.0
    bucket = by_tags[tuple(sorted((*base, ("le", "0.025"), ("method", "GET"))))]
    assert bucket["http_request_duration_seconds_bucket;handler=/api"] == 200.0
    assert all(type(v) is float for p in points for v in p.fields.values())
    assert all(set(p.tags) <= set(catalog.catalog()["app_metrics"].tags) for p in points)


def test_field_limit_cuts_and_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prometheus, "MAX_FIELDS", 3)
    points, cut = prometheus.map_exposition(sim.app_metrics(TRAFFIC), TARGET, TAGS, NOW)
    assert sum(len(p.fields) for p in points) == 3 and cut > 0


def test_reference_consul_prometheus_text() -> None:
    path = REFERENCE / "consul/netdata_v1.13.2_server_agent_metrics_prometheus.txt"
    if not path.exists():
        pytest.skip("reference not available")
    points, cut = prometheus.map_exposition(path.read_text(), TARGET, TAGS, NOW)
    assert cut == 0 and points and catalog.problems(points) == []
    assert all("," not in name and " " not in name for p in points for name in p.fields)


def test_marathon_tasks_opt_in_by_label() -> None:
    doc = {"apps": [
        {"id": "/web/portal", "labels": {"clusterwatch.metrics.path": "/metrics",
                                         "clusterwatch.metrics.port-index": "1"},
         "tasks": [{"id": "t1", "host": "agent1", "ports": [31004, 31005],
                    "state": "TASK_RUNNING"},
                   {"id": "t2", "host": "agent2", "ports": [31010, 31011],
                    "state": "TASK_STAGING"}]},
        {"id": "/quiet", "labels": {}, "tasks": [{"id": "t3", "host": "a", "ports": [1]}]},
    ]}
    assert prometheus.marathon_targets(doc) == [
        prometheus.Target("http://agent1:31005/metrics", "/web/portal", "agent1")
    ]


def test_static_target_names() -> None:
    assert prometheus.static_target("portal=http://h:9100/metrics").app == "portal"
    assert prometheus.static_target("http://h:9100/metrics").app == "h:9100"


def test_collect_static_and_marathon_targets_with_an_html_page() -> None:
    with serve({"/metrics": Reply(body=sim.app_metrics(TRAFFIC).encode(),
                                  headers={"Content-Type": "text/plain; version=0.0.4"}),
                "/login": Reply(body=b"<html><title>Sign in</title></html>",
                                headers={"Content-Type": "text/html"})}) as app:
        host, port = app.url.split("://")[1].split(":")
        apps = {"apps": [{"id": "/web/portal", "labels": {"clusterwatch.metrics.path": "metrics"},
                          "tasks": [{"id": "t1", "host": host, "ports": [int(port)]}]}]}
        with serve({"/v2/apps": Reply(body=json.dumps(apps).encode())}) as marathon:
            body = json.dumps({"leader": marathon.url.split("://")[1]}).encode()
            marathon.routes["/v2/leader"] = Reply(body=body)
            http = Http(HttpConfig(retries=0, connect_timeout_seconds=2, read_timeout_seconds=2))
            config = SourceConfig(targets=(f"portal={app.url}/login",))
            ctx = CollectContext("prometheus", ClusterConfig(marathon=(marathon.url,)), config,
                                 http, NOW)
            result = prometheus.collect(ctx)
    assert {p.tags["app"] for p in result.points} == {"/web/portal"}
    [error] = result.errors
    assert error.target.endswith("/login") and "Sign in" in error.reason
    assert result.targets_total == 2
