from __future__ import annotations

import json
from pathlib import Path

import pytest

from clusterwatch.collectors import catalog, haproxy
from clusterwatch.core.collect import CollectContext
from clusterwatch.core.config_schema import ClusterConfig, HttpConfig, SourceConfig
from clusterwatch.core.haproxy_stats import parse_csv
from clusterwatch.core.http import Http
from clusterwatch.core.point import Point
from tests.httpserver import Reply, serve
from tests.reference import REFERENCE

DATA = Path(__file__).parents[1] / "data" / "collectors"
NOW = 1_715_000_000_000_000_000
TAGS = {"cluster": "t1"}
WEB_TASK = "web_portal.6a1f3c2e-0b1d-11ef-9a2b-02a0c0ffee01"
TASKS = {"tasks": [{"id": WEB_TASK, "appId": "/web/portal", "host": "agent1.example.org",
                    "ipAddresses": [{"ipAddress": "10.1.0.11", "protocol": "IPv4"}],
                    "ports": [31005]}]}


def mapped(text: str, tasks: dict[tuple[str, int], str] | None = None) -> dict[str, Point]:
    points = haproxy.map_rows(parse_csv(text), tasks or {}, "lb1", TAGS, NOW)
    assert catalog.problems(points) == []
    return {p.tags["sv"]: p for p in points}


def test_up_1_of_3_server_is_counted_up_and_status_kept() -> None:
    rows = mapped((DATA / "haproxy_stats.csv").read_text())
    going_down = rows["10_1_0_11_31005"]
    assert going_down.fields["up"] is True and going_down.fields["status"] == "UP 1/3"
    assert rows["10_1_0_12_31007"].fields["up"] is False
    assert rows["FRONTEND"].fields["up"] is True  # OPEN
    maint = rows["web_portal.6a1f3c2e-0b1d-11ef-9a2b-02a0c0ffee02"]
    assert maint.fields["up"] is False


def test_row_fields_tags_and_units() -> None:
    rows = mapped((DATA / "haproxy_stats.csv").read_text())
    server = rows["10_1_0_11_31005"]
    assert server.tags == {"cluster": "t1", "host": "lb1", "proxy": "web_portal_10000",
                           "sv": "10_1_0_11_31005", "type": "server"}
    assert server.fields["responses_5xx_total"] == 50
    assert type(server.fields["sessions_total"]) is int
    assert server.fields["check_status"] == "L7OK"
    assert server.fields["check_duration_seconds"] == pytest.approx(0.004)
    assert server.fields["response_time_seconds"] == pytest.approx(0.025)
    assert rows["BACKEND"].tags["type"] == "backend"


def test_servers_joined_to_marathon_tasks() -> None:
    tasks = haproxy.task_index(TASKS)
    rows = mapped((DATA / "haproxy_stats.csv").read_text(), tasks)
    joined = rows["10_1_0_11_31005"]
    assert joined.tags["app"] == "/web/portal" and joined.fields["task_id"] == WEB_TASK
    assert "app" not in rows["10_1_0_12_31007"].tags
    by_id = rows["web_portal.6a1f3c2e-0b1d-11ef-9a2b-02a0c0ffee02"]
    assert by_id.tags["app"] == "/web/portal"
    assert "app" not in rows["BACKEND"].tags


def test_server_name_forms() -> None:
    assert haproxy.server_address("10_0_6_25_16916") == ("10.0.6.25", 16916)
    assert haproxy.server_address("10.0.6.25:16916") == ("10.0.6.25", 16916)
    assert haproxy.server_address("app1") is None


@pytest.mark.parametrize(
    "name",
    ["marathon-lb_haproxy_stats_1.5.csv", "telegraf_haproxy_stat_1.7-1.8_85cols.csv",
     "dd-agent_haproxy_stat_1.4-1.5_52cols.csv", "diamond_haproxy_stats_1.4-1.5_52cols.csv",
     "riemann-tools_show_stat_2.2_99cols.csv"],
)
def test_reference_stats(name: str) -> None:
    path = REFERENCE / "haproxy" / name
    if not path.exists():
        pytest.skip("reference not available")
    text = path.read_text()
    rows = parse_csv(text)
    points = haproxy.map_rows(rows, {}, "lb1", TAGS, NOW)
    assert catalog.problems(points) == []
    assert len(points) == len(rows)


def test_reference_marathon_lb_listener_in_maint_is_down_and_not_joined() -> None:
    path = REFERENCE / "haproxy/marathon-lb_haproxy_stats_1.5.csv"
    if not path.exists():
        pytest.skip("reference not available")
    rows = mapped(path.read_text(), {("10.0.6.25", 16916): WEB_TASK})
    listener = rows["10_0_6_25_16916"]
    assert listener.tags["type"] == "listener" and "app" not in listener.tags
    assert listener.fields["up"] is False and listener.fields["status"] == "MAINT"


def test_collect_over_http_with_a_broken_source() -> None:
    with serve({"/stats;csv": Reply(body=(DATA / "haproxy_stats.csv").read_bytes(),
                                    headers={"Content-Type": "text/plain"})}) as lb, serve(
        {"/stats;csv": Reply(body=b"<html>login</html>", headers={"Content-Type": "text/html"})}
    ) as other, serve({}) as marathon:
        leader = json.dumps({"leader": marathon.url.split("://")[1]}).encode()
        marathon.routes["/v2/leader"] = Reply(body=leader)
        marathon.routes["/v2/tasks"] = Reply(body=json.dumps(TASKS).encode())
        http = Http(HttpConfig(retries=0, connect_timeout_seconds=2, read_timeout_seconds=2))
        cluster = ClusterConfig(haproxy=(lb.url + "/stats", other.url + "/stats"),
                                marathon=(marathon.url,))
        ctx = CollectContext("haproxy", cluster, SourceConfig(timeout_seconds=2), http, NOW)
        result = haproxy.collect(ctx)
    assert len(result.points) == 5
    assert sum("app" in p.tags for p in result.points) == 2
    [error] = result.errors
    assert error.target == other.url + "/stats" and "not HAProxy stats CSV" in error.reason
    assert {p.tags["host"] for p in result.points} == {"127.0.0.1"}
