"""check_haproxy_backends against a real HAProxy (Debian 2.6) with partly-down backends."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from clusterwatch.checks import haproxy_backends
from clusterwatch.core import haproxy_stats
from tests.services.servers import HAProxyServer, free_port
from tests.unit.check_fakes import FakeServer, closed_port, reply

pytestmark = pytest.mark.integration


@dataclass
class Balancer:
    server: HAProxyServer
    auth_url: str

    @property
    def socket(self) -> str:
        return str(self.server.socket_path)


@pytest.fixture(scope="module")
def live_port() -> Iterator[int]:
    server = FakeServer(reply(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"))
    yield server.port
    server.close()


@pytest.fixture(scope="module")
def lb(haproxy_factory: object, live_port: int) -> Iterator[Balancer]:
    closed = closed_port()
    auth_port = free_port()
    live = f"127.0.0.1:{live_port}"
    config = f"""\
listen stats_auth
    bind 127.0.0.1:{auth_port}
    stats enable
    stats uri /stats
    stats auth admin:s3cret

frontend web
    bind 127.0.0.1:{free_port()}
    use_backend dead if {{ path_beg /dead }}
    use_backend api if {{ path_beg /api }}
    default_backend app

backend app
    server up1 {live} check inter 1s
    server up2 {live} check inter 1s
    server down1 127.0.0.1:{closed} check inter 1s fall 1 rise 1

backend dead
    server d1 127.0.0.1:{closed} check inter 1s fall 1
    server d2 127.0.0.1:{closed} check inter 1s fall 1

backend api
    server a1 {live} check inter 1s
    server a2 {live} check inter 1s
"""
    server: HAProxyServer = haproxy_factory(config)  # type: ignore[operator]
    deadline = time.monotonic() + 30
    while True:  # wait for the first checks to mark the closed ports DOWN
        rows = haproxy_stats.fetch(str(server.socket_path), 5)
        states = {(r.pxname, r.svname): r.state for r in rows if r.type == "server"}
        if states[("app", "down1")] == "down" and states[("dead", "d2")] == "down":
            break
        assert time.monotonic() < deadline, states
        time.sleep(0.2)
    yield Balancer(server, f"http://127.0.0.1:{auth_port}/stats")
    server.stop()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str]]:
    code = haproxy_backends.main(list(argv))
    return code, capsys.readouterr().out.splitlines()


def test_all_backends_over_the_socket(lb: Balancer, capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = run(capsys, "-S", lb.socket, "-b", "^(app|dead|api)$")
    assert code == 2
    assert lines[0].startswith("HAPROXY_BACKENDS CRITICAL - dead 0/2 up (d1 DOWN, d2 DOWN)")
    assert "app 2/3 up (down1 DOWN), warning minimum 100%" in lines[0]
    assert lines[0].endswith("| app=2;3:;1:;0;3 dead=0;2:;1:;0;2 api=2;2:;1:;0;2")


def test_minimum_count_makes_a_partly_down_backend_ok(
    lb: Balancer, capsys: pytest.CaptureFixture[str]
) -> None:
    code, lines = run(capsys, "-S", lb.socket, "-b", "^app$", "-w", "2", "-c", "1")
    assert code == 0
    assert lines == ["HAPROXY_BACKENDS OK - 1 backend, 2/3 servers up | app=2;2:;1:;0;3"]


def test_http_csv_agrees_with_the_socket(lb: Balancer, capsys: pytest.CaptureFixture[str]) -> None:
    _, by_socket = run(capsys, "-S", lb.socket, "-b", "^(app|dead|api)$")
    _, by_http = run(capsys, "-U", lb.server.stats_url, "-b", "^(app|dead|api)$")
    assert by_http == by_socket


def test_http_with_basic_auth(
    lb: Balancer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = lb.auth_url
    monkeypatch.setenv(haproxy_backends.DEFAULT_PASSWORD_ENV, "s3cret")
    code, lines = run(capsys, "-U", url, "-u", "admin", "-b", "^api$")
    assert code == 0
    assert lines[0] == "HAPROXY_BACKENDS OK - 1 backend, 2/2 servers up | api=2;2:;1:;0;2"
    monkeypatch.setenv(haproxy_backends.DEFAULT_PASSWORD_ENV, "wrong")
    code, lines = run(capsys, "-U", url, "-u", "admin", "-b", "^api$")
    assert code == 3
    assert "(HTTP 401)" in lines[0]


def test_server_disabled_through_the_socket_is_maint(
    lb: Balancer, capsys: pytest.CaptureFixture[str]
) -> None:
    lb.server.command("disable server api/a1")
    try:
        code, lines = run(capsys, "-S", lb.socket, "-b", "^api$", "-v")
    finally:
        lb.server.command("enable server api/a1")
    assert code == 1
    assert lines[0] == (
        "HAPROXY_BACKENDS WARNING - api 1/2 up (a1 MAINT), warning minimum 100%"
        " | api=1;2:;1:;0;2"
    )
    # a2 may be mid-transition ("UP 1/3", still up) if one check of it just failed
    assert lines[1].startswith("api: 1/2 up - a1 MAINT, a2 UP")
