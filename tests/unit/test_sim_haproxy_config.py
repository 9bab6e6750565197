"""marathon-lb-style haproxy.cfg from the model, and the task listeners' answers (no sockets)."""

from __future__ import annotations

import re

from clusterwatch.sim.engine import SimConfig, Simulation
from clusterwatch.sim.haproxy_config import Options, backend_name, haproxy_config, server_name
from clusterwatch.sim.task_listeners import TaskHandler, health_path
from clusterwatch.sim.wire import Request


def sim(**kw: object) -> Simulation:
    config = SimConfig(agents=4, apps=4, seed=3, **kw)  # type: ignore[arg-type]
    return Simulation(config)


def sections(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    current: list[str] = []
    for line in text.splitlines():
        if line and not line.startswith(" "):
            current = out.setdefault(line, [])
        elif line.strip():
            current.append(line.strip())
    return out


def get(path: str) -> Request:
    return Request("GET", path, path, {}, {}, b"", "127.1.0.1", 31000)


def test_backend_and_server_names_follow_marathon_lb() -> None:
    assert backend_name("/web/frontend", 10000) == "web_frontend_10000"
    assert backend_name("/nginx", 10101) == "nginx_10101"
    assert server_name("127.1.0.1", 31005) == "127_1_0_1_31005"
    assert server_name("agent-3.example.org", 31005, "10.0.0.3") == (
        "agent-3_example_org_10_0_0_3_31005")
    assert server_name("10.0.0.3", 31005, "10.0.0.3") == "10_0_0_3_31005"


def test_one_frontend_and_backend_per_service_port_frontends_first() -> None:
    s = sim()
    text = haproxy_config(s.apps.values(), s.tasks)
    heads = [line for line in text.splitlines() if line and not line.startswith(" ")]
    ports = sorted((app.id, port) for app in s.apps.values() for port in app.service_ports)
    names = [backend_name(app_id, port) for app_id, port in ports]
    assert heads == [f"frontend {n}" for n in names] + [f"backend {n}" for n in names]
    cfg = sections(text)
    for app_id, port in ports:
        name = backend_name(app_id, port)
        assert f"bind 127.0.0.1:{port}" in cfg[f"frontend {name}"]
        assert f"use_backend {name}" in cfg[f"frontend {name}"]
        assert {"mode http", "log global", "option httplog"} <= set(cfg[f"frontend {name}"])


def test_servers_are_the_running_tasks_sorted_by_host_and_port() -> None:
    s = sim()
    cfg = sections(haproxy_config(s.apps.values(), s.tasks))
    for app in s.apps.values():
        for index, port in enumerate(app.service_ports):
            lines = [x for x in cfg[f"backend {backend_name(app.id, port)}"]
                     if x.startswith("server ")]  # fmt: skip
            expected = sorted((t.host, t.ports[index]) for t in s.app_tasks(app))
            assert [x.split()[1:3] for x in lines] == [
                [server_name(h, p), f"{h}:{p}"] for h, p in expected]


def test_http_health_check_becomes_httpchk_and_server_checks() -> None:
    s = sim()
    app = s.apps["/api/orders"]
    hc = app.health_checks[0]
    backend = sections(haproxy_config(s.apps.values(), s.tasks))[
        f"backend {backend_name(app.id, app.service_ports[0])}"]
    assert f"option  httpchk GET {hc.path}" in backend
    assert f"timeout check {hc.timeout}s" in backend
    servers = [x for x in backend if x.startswith("server ")]
    assert servers and all(x.endswith(f"check inter {hc.interval}s fall {hc.max_failures + 1}")
                           for x in servers)  # fmt: skip


def test_no_health_check_means_no_check_and_overrides_apply() -> None:
    s = sim()
    unchecked = s.apps["/batch/indexer"]
    assert not unchecked.health_checks
    text = haproxy_config(s.apps.values(), s.tasks, Options(bind="127.0.0.9", inter=0.5, fall=2))
    cfg = sections(text)
    backend = cfg[f"backend {backend_name(unchecked.id, unchecked.service_ports[0])}"]
    assert not any("httpchk" in x or " check" in x for x in backend)
    assert re.search(r"check inter 500ms fall 2$", text, re.MULTILINE)
    assert "bind 127.0.0.9:" in text


def test_tasks_marathon_sees_failing_or_not_running_are_left_out() -> None:
    s = sim()
    app = s.apps["/api/users"]
    name = f"backend {backend_name(app.id, app.service_ports[0])}"
    s.set_unhealthy(app.id)
    assert not [x for x in sections(haproxy_config(s.apps.values(), s.tasks))[name]
                if x.startswith("server ")]  # fmt: skip
    s.set_unhealthy(app.id, False)
    s.scale(app.id, app.instances + 1)  # the new task is STAGING
    servers = [x for x in sections(haproxy_config(s.apps.values(), s.tasks))[name]
               if x.startswith("server ")]  # fmt: skip
    assert len(servers) == app.instances - 1


def test_service_ports_start_at_the_configured_base() -> None:
    s = sim(service_port_base=24000)
    assert s.apps["/web/frontend"].service_ports == [24000, 24001]
    assert "bind 127.0.0.1:24000" in haproxy_config(s.apps.values(), s.tasks)


def test_task_answers_its_paths_with_varied_statuses() -> None:
    s = sim()
    app = s.apps["/web/frontend"]
    handler = TaskHandler(s, app.task_ids[0])
    statuses = {p: handler.handle(get(p)).status for p in
                ("/", "/api/items", "/api/fail", "/nope", health_path(app), "/metrics")}
    assert statuses == {"/": 200, "/api/items": 200, "/api/fail": 500, "/nope": 404,
                        health_path(app): 200, "/metrics": 200}  # fmt: skip
    assert app.task_ids[0].encode() in handler.handle(get("/")).body
    s.set_unhealthy(app.id)
    assert handler.handle(get(health_path(app))).status == 503


def test_metrics_count_the_requests_the_task_served() -> None:
    s = sim()
    handler = TaskHandler(s, s.apps["/api/orders"].task_ids[0])
    for path in ("/", "/", "/", "/api/fail", "/nope"):
        handler.handle(get(path))
    text = handler.handle(get("/metrics")).body.decode()
    assert 'http_requests_total{code="200",handler="/",method="GET"} 3' in text
    assert 'http_requests_total{code="500",handler="/api/fail",method="GET"} 1' in text
    assert 'http_requests_total{code="404",handler="other",method="GET"} 1' in text
    assert "process_cpu_seconds_total" in text


def test_answers_slow_down_as_the_load_nears_the_cpu_limit() -> None:
    def delay(load: str) -> float:
        s = sim(app_loads={"/api/orders": load})
        app = s.apps["/api/orders"]
        return TaskHandler(s, app.task_ids[0]).handle(get("/")).delay

    idle, busy = delay("constant:0.0"), delay("constant:100")
    assert 0 < idle < busy


def test_ended_task_answers_no_more() -> None:
    s = sim()
    app = s.apps["/api/orders"]
    handler = TaskHandler(s, app.task_ids[-1])
    s.scale(app.id, app.instances - 1)
    assert not handler.alive()
    assert handler.handle(get("/")).close
