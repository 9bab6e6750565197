"""HAProxy ``show stat`` CSV: parsing by header across versions, and the fetchers' errors."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from clusterwatch.core import haproxy_stats
from clusterwatch.core.errors import FetchError
from tests.reference import REFERENCE
from tests.unit.check_fakes import closed_port, hang, http, reply, send_http, serving

DATA = Path(__file__).resolve().parents[1] / "data"
HAPROXY = REFERENCE / "haproxy"
REFERENCE_CSVS = sorted(HAPROXY.glob("*.csv")) if HAPROXY.exists() else []


def rows_of(name: str) -> list[haproxy_stats.StatRow]:
    return haproxy_stats.parse_csv((DATA / name).read_text())


def by_name(rows: list[haproxy_stats.StatRow]) -> dict[tuple[str, str], haproxy_stats.StatRow]:
    return {(r.pxname, r.svname): r for r in rows}


@pytest.mark.parametrize("path", REFERENCE_CSVS, ids=lambda p: p.name)
def test_every_reference_csv_parses(path: Path) -> None:
    rows = haproxy_stats.parse_csv(path.read_text())
    assert rows
    assert all(r.pxname and r.svname and r.status for r in rows)
    assert {r.type for r in rows} <= {"frontend", "backend", "server", "listener"}
    frontends = [r for r in rows if r.svname == "FRONTEND"]
    assert all(r.type == "frontend" for r in frontends)


def test_reference_marathon_lb_csv_has_maint_servers() -> None:
    path = HAPROXY / "marathon-lb_haproxy_stats_1.5.csv"
    if not path.exists():
        pytest.skip("reference data not available")
    rows = haproxy_stats.parse_csv(path.read_text())
    assert any(r.state == "maint" for r in rows)


def test_1_4_csv_columns_are_read_by_name() -> None:
    rows = by_name(rows_of("haproxy_1.4_show_stat.csv"))
    web1 = rows[("www", "web1")]
    assert web1.type == "server"
    assert web1.scur == 1 and web1.smax == 5 and web1.stot == 150
    assert web1.slim is None
    assert web1.check_status == "L7OK"
    assert web1.hrsp == {"2xx": 140, "5xx": 1}
    assert rows[("www", "FRONTEND")].slim == 2000
    assert rows[("www", "BACKEND")].type == "backend"
    assert rows[("www", "web1")].text("agent_status") is None  # absent before 1.5


def test_2_6_csv_columns_are_read_by_name() -> None:
    rows = by_name(rows_of("haproxy_2.6_show_stat.csv"))
    a2 = rows[("app", "a2")]
    assert a2.check_status == "L4CON"
    assert a2.text("addr") == "127.0.0.1:18082"
    assert a2.text("check_desc") == "Layer4 connection problem"
    assert len(a2.fields) > 100


@pytest.mark.parametrize(
    ("status", "state", "moving"),
    [
        ("UP", "up", False),
        ("UP 1/3", "up", True),
        ("DOWN", "down", False),
        ("DOWN 1/2", "down", True),
        ("MAINT", "maint", False),
        ("MAINT (via app/a1)", "maint", False),
        ("MAINT (resolution)", "maint", False),
        ("DRAIN", "drain", False),
        ("NOLB", "drain", False),
        ("no check", "up", False),
    ],
)
def test_status_words(status: str, state: str, moving: bool) -> None:
    row = haproxy_stats.StatRow("b", "s", "server", status, {"status": status})
    assert row.state == state
    assert row.in_transition is moving


def test_backends_groups_servers_and_keeps_server_less_backends() -> None:
    grouped = haproxy_stats.backends(rows_of("haproxy_1.4_show_stat.csv"))
    assert [s.svname for s in grouped["www"]] == [f"web{i}" for i in range(1, 7)]
    assert grouped["empty"] == []


def test_a_leading_blank_line_is_skipped() -> None:
    text = "\n" + (DATA / "haproxy_1.4_show_stat.csv").read_text()
    assert len(haproxy_stats.parse_csv(text)) == 9


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("<html><body><h1>401 Unauthorized</h1></body></html>", "header"),
        ("pxname,svname,status\nx,y,UP\n", "header"),
        ("# pxname,svname,qcur,status\nx,FRONTEND,0,OPEN\nx,BACK", "truncated"),
    ],
)
def test_what_is_not_stats_csv_is_refused(text: str, message: str) -> None:
    with pytest.raises(haproxy_stats.StatsFormatError, match=message):
        haproxy_stats.parse_csv(text)


def test_csv_url_appends_csv_once() -> None:
    assert haproxy_stats.csv_url("http://lb/stats") == "http://lb/stats;csv"
    assert haproxy_stats.csv_url("http://lb/stats;csv") == "http://lb/stats;csv"
    assert haproxy_stats.csv_url("http://lb/stats?x=1") == "http://lb/stats;csv?x=1"


def test_fetch_over_a_unix_socket(tmp_path: Path) -> None:
    csv_text = (DATA / "haproxy_1.4_show_stat.csv").read_text()
    with serving(reply(csv_text), unix_path=tmp_path / "admin.sock"):
        rows = haproxy_stats.fetch(str(tmp_path / "admin.sock"), timeout=5)
    assert len(rows) == 9


def test_fetch_over_tcp_sends_show_stat() -> None:
    seen: list[bytes] = []

    def handler(conn: socket.socket, stop: object) -> None:
        seen.append(conn.recv(100))
        conn.sendall((DATA / "haproxy_2.6_show_stat.csv").read_bytes())

    with serving(handler) as server:
        rows = haproxy_stats.fetch(server.address, timeout=5)
    assert seen == [b"show stat\n"]
    assert any(r.status == "DRAIN" for r in rows)


def test_fetch_over_http_with_basic_auth() -> None:
    requests: list[bytes] = []
    body = (DATA / "haproxy_1.4_show_stat.csv").read_text()

    def handler(conn: socket.socket, stop: object) -> None:
        requests.append(conn.recv(4096))
        send_http(conn, 200, body)

    with serving(handler) as server:
        rows = haproxy_stats.fetch(
            f"http://{server.address}/stats", timeout=5, user="admin", password="s3cret"
        )
    assert len(rows) == 9
    assert requests[0].startswith(b"GET /stats;csv HTTP/1.0\r\n")
    assert b"Authorization: Basic YWRtaW46czNjcmV0" in requests[0]


def test_refused_socket_is_a_fetch_error() -> None:
    with pytest.raises(FetchError, match="refused"):
        haproxy_stats.fetch(f"127.0.0.1:{closed_port()}", timeout=2)


def test_missing_unix_socket_is_a_fetch_error(tmp_path: Path) -> None:
    with pytest.raises(FetchError, match="no such socket"):
        haproxy_stats.fetch(str(tmp_path / "nope.sock"), timeout=2)


def test_hanging_socket_times_out() -> None:
    with serving(hang()) as server, pytest.raises(FetchError, match="timed out"):
        haproxy_stats.fetch(server.address, timeout=0.3)


def test_garbage_on_the_socket_is_a_fetch_error() -> None:
    refusal = "Unknown command. Please enter one of the following commands"
    with serving(reply(refusal)) as server, pytest.raises(FetchError, match="show stat"):
        haproxy_stats.fetch(server.address, timeout=2)


@pytest.mark.parametrize(("status", "text"), [(401, "unauthorized"), (503, "HTML")])
def test_http_error_statuses_are_fetch_errors(status: int, text: str) -> None:
    with (
        serving(http(status, "<html>no</html>")) as server,
        pytest.raises(FetchError, match=text) as info,
    ):
        haproxy_stats.fetch(f"http://{server.address}/stats", timeout=5)
    assert info.value.status == status


def test_http_html_page_from_a_real_socket() -> None:
    page = "<html><body>Statistics Report</body></html>"
    with (
        serving(http(200, page)) as server,
        pytest.raises(FetchError, match="not HAProxy stats CSV"),
    ):
        haproxy_stats.fetch(f"http://{server.address}/stats", timeout=5)


def test_chunked_http_body_is_decoded() -> None:
    body = (DATA / "haproxy_1.4_show_stat.csv").read_bytes()
    chunks = b"".join(
        b"%x\r\n%s\r\n" % (len(body[i : i + 100]), body[i : i + 100])
        for i in range(0, len(body), 100)
    )
    page = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks + b"0\r\n\r\n"
    with serving(reply(page)) as server:
        rows = haproxy_stats.fetch(f"http://{server.address}/stats", timeout=5)
    assert len(rows) == 9


def test_a_non_http_reply_is_a_fetch_error() -> None:
    with (
        serving(reply("SSH-2.0-OpenSSH_9.2\r\n")) as server,
        pytest.raises(FetchError, match="not an HTTP reply"),
    ):
        haproxy_stats.fetch(f"http://{server.address}/stats", timeout=5)
