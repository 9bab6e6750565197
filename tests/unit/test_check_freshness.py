"""check_freshness: queries, newest-time parsing, secrets only from file or environment."""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path

import pytest

from clusterwatch.checks import freshness
from clusterwatch.checks.freshness import influx_query, newest_es, newest_influx
from clusterwatch.core.errors import ClusterwatchError
from tests.unit.check_fakes import _read_request, send_http, serving


def test_influx_query_quotes_names_and_values() -> None:
    assert influx_query('cpu"x', "t1'a", "cluster", 3600) == (
        'SELECT * FROM "cpu\\"x" WHERE "cluster" = \'t1\\\'a\' AND time > now() - 3600s '
        "ORDER BY time DESC LIMIT 1"
    )
    assert influx_query(None, None, "cluster", 60).startswith("SELECT * FROM /.*/ WHERE time")


def test_newest_influx_point_over_all_series() -> None:
    body = {"results": [{"statement_id": 0, "series": [
        {"name": "a", "columns": ["time", "v"], "values": [[1700000000000, 1]]},
        {"name": "b", "columns": ["time", "v"], "values": [[1700000005500, 2]]},
    ]}]}  # fmt: skip
    assert newest_influx(body) == 1700000005.5
    assert newest_influx({"results": [{"statement_id": 0}]}) is None
    with pytest.raises(ClusterwatchError, match="database not found"):
        newest_influx({"results": [{"statement_id": 0, "error": "database not found: x"}]})


def test_newest_es_document_millis_or_nanos() -> None:
    assert newest_es({"hits": {"hits": [{"sort": [1700000000123]}]}}) == 1700000000.123
    assert newest_es({"hits": {"hits": [{"sort": [1700000000123456789]}]}}) == pytest.approx(
        1700000000.123456789)
    assert newest_es({"hits": {"hits": []}}) is None
    with pytest.raises(ClusterwatchError):
        newest_es({"hits": {"hits": [{"sort": ["x"]}]}})


@pytest.mark.parametrize(("argv", "problem"), [
    ([], "give --influxdb and/or --elasticsearch"),
    (["--influxdb", "i:8086"], "--influxdb needs --database"),
    (["--elasticsearch", "e:9200"], "--elasticsearch needs --index"),
])  # fmt: skip
def test_incomplete_source_is_a_usage_error(
    argv: list[str], problem: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert freshness.main(argv) == 3
    assert capsys.readouterr().out.splitlines()[0] == f"FRESHNESS UNKNOWN - {problem}"


def test_there_is_no_password_option() -> None:
    with pytest.raises(freshness.plugin.UsageError):
        freshness.parser().parse_args(["--influxdb", "i:1", "--database", "d", "--password", "x"])


class Recorder:
    """An HTTP server that records requests and answers ``body`` as JSON."""

    def __init__(self, body: object) -> None:
        self.body = json.dumps(body)
        self.requests: list[str] = []

    def __call__(self, conn: socket.socket, stop: threading.Event) -> None:
        self.requests.append(_read_request(conn).decode("latin-1"))
        send_http(conn, 200, self.body, {"Content-Type": "application/json"})


def test_influx_password_from_file_goes_in_basic_auth(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = tmp_path / "pw"
    secret.write_text("s3cret-pw\n")
    now_ms = int(time.time() * 1000)
    body = {"results": [{"series": [{"columns": ["time", "v"], "values": [[now_ms, 1]]}]}]}
    recorder = Recorder(body)
    with serving(recorder) as server:
        code = freshness.main(["--influxdb", server.address, "--database", "cw", "--user", "ro",
                               "--password-file", str(secret)])  # fmt: skip
    line = capsys.readouterr().out.splitlines()[0]
    assert code == 0, line
    assert line.startswith("FRESHNESS OK - influxdb newest ")
    request = recorder.requests[0]
    assert "Authorization: Basic cm86czNjcmV0LXB3" in request  # ro:s3cret-pw
    assert "s3cret" not in request.split("\r\n", 1)[0]  # never in the URL


def test_es_api_key_from_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CLUSTERWATCH_ES_API_KEY", "a2V5")
    recorder = Recorder({"hits": {"hits": [{"sort": [int((time.time() - 1000) * 1000)]}]}})
    with serving(recorder) as server:
        code = freshness.main(["--elasticsearch", server.address, "--index", "logs-*",
                               "-w", "600", "-c", "3600"])  # fmt: skip
    line = capsys.readouterr().out.splitlines()[0]
    assert code == 1, line
    assert line.startswith("FRESHNESS WARNING - elasticsearch newest 16m")
    assert "Authorization: ApiKey a2V5" in recorder.requests[0]
    assert recorder.requests[0].startswith("GET /logs-*/_search?size=1&sort=%40timestamp%3Adesc")


def test_no_data_is_critical(capsys: pytest.CaptureFixture[str]) -> None:
    with serving(Recorder({"results": [{"statement_id": 0}]})) as server:
        code = freshness.main(["--influxdb", server.address, "--database", "cw",
                               "--lookback", "3600"])  # fmt: skip
    assert code == 2
    assert capsys.readouterr().out.startswith(
        "FRESHNESS CRITICAL - influxdb cw: no data in the last 1h00m | influxdb_age=U"
    )
