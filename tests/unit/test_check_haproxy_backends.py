"""check_haproxy_backends' decisions, against our stats CSVs served on a unix socket or HTTP."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from clusterwatch.checks import haproxy_backends, minimum
from tests.unit.check_fakes import closed_port, http, reply, send_http, serving

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture
def stats_26(tmp_path: Path) -> Iterator[str]:
    path = tmp_path / "admin.sock"
    with serving(reply((DATA / "haproxy_2.6_show_stat.csv").read_text()), unix_path=path):
        yield str(path)


@pytest.fixture
def stats_14(tmp_path: Path) -> Iterator[str]:
    path = tmp_path / "admin14.sock"
    with serving(reply((DATA / "haproxy_1.4_show_stat.csv").read_text()), unix_path=path):
        yield str(path)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str]]:
    code = haproxy_backends.main(list(argv))
    return code, capsys.readouterr().out.splitlines()


def test_transitions_count_by_where_the_server_is_now(
    stats_14: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # web1 UP, web2 UP 1/3 (going down: still up), web3 DOWN, web4 DOWN 1/2 (coming up: still
    # down), web5 MAINT, web6 no check (up)
    code, lines = run(capsys, "-S", stats_14, "-w", "3", "-c", "1")
    assert code == 0
    assert lines == ["HAPROXY_BACKENDS OK - 1 backend, 3/6 servers up | www=3;3:;1:;0;6"]


def test_defaults_warn_when_any_server_is_not_up(
    stats_26: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, lines = run(capsys, "-S", stats_26)
    assert code == 1
    assert lines[0] == (
        "HAPROXY_BACKENDS WARNING - app 1/4 up (a2 DOWN, a3 MAINT, a4 DOWN 1/2), warning minimum"
        " 100%; api 2/3 up (b3 DRAIN), warning minimum 100% | app=1;4:;1:;0;4 api=2;3:;1:;0;3"
    )


def test_percentages_become_server_counts_in_perfdata(
    stats_26: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, lines = run(capsys, "-S", stats_26, "-w", "25%", "-c", "10%")
    assert code == 0
    assert lines[0].endswith("| app=1;1:;1:;0;4 api=2;1:;1:;0;3")


def test_count_below_critical_minimum_is_critical(
    stats_26: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, lines = run(capsys, "-S", stats_26, "-w", "50%", "-c", "2")
    assert code == 2
    assert lines[0].startswith("HAPROXY_BACKENDS CRITICAL - app 1/4 up")
    assert "critical minimum 2" in lines[0]


def test_backend_filter_is_a_regex(stats_26: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = run(capsys, "-S", stats_26, "--backend", "^ap[i]$", "-w", "3", "-c", "2")
    assert code == 1
    assert lines[0] == (
        "HAPROXY_BACKENDS WARNING - api 2/3 up (b3 DRAIN), warning minimum 3 | api=2;3:;2:;0;3"
    )


def test_full_range_syntax_is_accepted(stats_26: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = run(capsys, "-S", stats_26, "-b", "api", "-w", "@0:1", "-c", "@0:0")
    assert code == 0


def test_no_matching_backend_is_unknown(stats_26: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = run(capsys, "-S", stats_26, "-b", "nothing")
    assert code == 3
    assert lines == [f"HAPROXY_BACKENDS UNKNOWN - no backend with servers matching 'nothing' in "
                     f"{stats_26}"]


def test_long_output_lists_maint_and_drain(
    stats_26: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _, lines = run(capsys, "-S", stats_26, "-v")
    assert lines[1] == (
        "app: 1/4 up - a1 UP 1/3 (going down), a2 DOWN, L4CON, a3 MAINT, a4 DOWN 1/2 (coming up),"
        " L4OK"
    )
    assert lines[2] == "api: 2/3 up - b1 UP, b2 no check, b3 DRAIN"
    assert lines[3] == "without servers (skipped): stats"


def _auth_server(seen: list[bytes]) -> serving:  # type: ignore[valid-type]
    body = (DATA / "haproxy_1.4_show_stat.csv").read_text()

    def handler(conn: socket.socket, stop: threading.Event) -> None:
        request = conn.recv(4096)
        seen.append(request)
        if b"Authorization: Basic YWRtaW46czNjcmV0" in request:  # admin:s3cret
            send_http(conn, 200, body)
        else:
            send_http(conn, 401, "<html>401</html>")

    return serving(handler)


def test_http_password_from_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = tmp_path / "pw"
    secret.write_text("s3cret\n")
    seen: list[bytes] = []
    with _auth_server(seen) as server:
        code, lines = run(
            capsys, "-U", f"http://{server.address}/stats", "-u", "admin",
            "--password-file", str(secret), "-w", "1",
        )
    assert code == 0, lines
    assert seen[0].startswith(b"GET /stats;csv ")


def test_http_password_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LB_STATS_PW", "s3cret")
    with _auth_server([]) as server:
        code, _ = run(
            capsys, "-U", f"http://{server.address}/stats", "-u", "admin",
            "--password-env", "LB_STATS_PW", "-w", "1",
        )
    assert code == 0


def test_wrong_password_is_unknown(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(haproxy_backends.DEFAULT_PASSWORD_ENV, "wrong")
    with _auth_server([]) as server:
        code, lines = run(capsys, "-U", f"http://{server.address}/stats", "-u", "admin")
    assert code == 3
    assert "(HTTP 401): unauthorized" in lines[0]


def test_missing_password_file_is_unknown(capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = run(capsys, "-U", "http://127.0.0.1:1/", "-u", "a", "--password-file", "/nope")
    assert code == 3
    assert lines == ["HAPROXY_BACKENDS UNKNOWN - cannot read password file /nope: "
                     "No such file or directory"]


def test_a_password_on_the_command_line_is_refused_without_echo(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, lines = run(capsys, "-U", "http://x/", "--password", "s3cret")
    assert code == 3
    assert "s3cret" not in "\n".join(lines)


def test_refused_socket_is_unknown(capsys: pytest.CaptureFixture[str]) -> None:
    port = closed_port()
    code, lines = run(capsys, "-S", f"127.0.0.1:{port}")
    assert code == 3
    assert lines == [f"HAPROXY_BACKENDS UNKNOWN - 127.0.0.1:{port}: connection refused"]


def test_html_page_is_unknown(capsys: pytest.CaptureFixture[str]) -> None:
    with serving(http(200, "<html><body>Statistics Report</body></html>")) as server:
        code, lines = run(capsys, "-U", f"http://{server.address}/stats")
    assert code == 3
    assert "not HAProxy stats CSV" in lines[0]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["-S", "x", "-b", "("], "invalid regular expression"),
        (["-S", "x", "-w", "lots"], "invalid minimum"),
        (["-S", "x", "-U", "http://x/"], "not allowed with argument"),
        ([], "one of the arguments -S/--socket -U/--url is required"),
    ],
)
def test_usage_errors(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = run(capsys, *argv)
    assert code == 3
    assert lines[0].startswith("HAPROXY_BACKENDS UNKNOWN - ") and message in lines[0]


@pytest.mark.parametrize(
    ("spec", "up", "total", "ok", "text"),
    [
        ("2", 2, 3, True, "2"),
        ("2", 1, 3, False, "2"),
        ("50%", 2, 4, True, "50%"),
        ("50%", 1, 4, False, "50%"),
        ("100%", 0, 0, False, "100%"),
        ("1:2", 3, 3, False, "1:2"),
        ("@0:1", 1, 3, False, "@1"),
    ],
)
def test_minimum_specs(spec: str, up: int, total: int, ok: bool, text: str) -> None:
    parsed = minimum.minimum_arg(spec)
    assert parsed.matches(up, total) is ok
    assert str(parsed) == text
