from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from clusterwatch.core.config_schema import HttpConfig
from clusterwatch.core.errors import FetchError
from clusterwatch.core.http import Http
from clusterwatch.core.secrets import Secret
from tests.httpserver import Reply, serve

FAST = HttpConfig(connect_timeout_seconds=1, read_timeout_seconds=1, retries=0)


def test_get_json_returns_parsed_body_and_sends_user_agent() -> None:
    with serve({"/state": Reply(body=b'{"leader": "master@127.0.0.1:5050"}')}) as srv:
        with Http(FAST) as http:
            assert http.get_json(srv.url + "/state") == {"leader": "master@127.0.0.1:5050"}
        assert srv.requests[0][2]["User-Agent"].startswith("clusterwatch/")


def test_html_error_page_is_named_with_its_title() -> None:
    page = b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
    routes = {"/x": Reply(status=502, body=page, headers={"Content-Type": "text/html"})}
    with serve(routes) as srv, Http(FAST) as http, pytest.raises(FetchError) as err:
        http.get_json(srv.url + "/x")
    assert err.value.status == 502
    assert "HTML error page (502 Bad Gateway)" in str(err.value)


def test_html_page_with_200_where_json_expected_is_an_error() -> None:
    routes = {"/x": Reply(body=b"<!DOCTYPE html><title>Login</title>", headers={})}
    with serve(routes) as srv, Http(FAST) as http, pytest.raises(FetchError) as err:
        http.get_json(srv.url + "/x")
    assert "expected JSON, got an HTML page (Login)" in err.value.reason


def test_truncated_json_is_reported_as_truncated() -> None:
    body = json.dumps({"slaves": [{"id": str(i)} for i in range(50)]}).encode()
    with (
        serve({"/s": Reply(body=body[:-40])}) as srv,
        Http(FAST) as http,
        pytest.raises(FetchError) as err,
    ):
        http.get_json(srv.url + "/s")
    assert "truncated JSON" in err.value.reason


def test_connection_closed_mid_body_is_a_fetch_error() -> None:
    body = b'{"a": "' + b"x" * 5000 + b'"}'
    with (
        serve({"/s": Reply(body=body, truncate_at=100)}) as srv,
        Http(FAST) as http,
        pytest.raises(FetchError) as err,
    ):
        http.get_json(srv.url + "/s")
    assert err.value.target == srv.url + "/s"


def test_body_over_the_cap_is_refused() -> None:
    config = HttpConfig(retries=0, max_body_bytes=1000)
    with (
        serve({"/big": Reply(body=b"[" + b"1," * 2000 + b"1]")}) as srv,
        Http(config) as http,
        pytest.raises(FetchError) as err,
    ):
        http.get_json(srv.url + "/big")
    assert "larger than 1000 bytes" in err.value.reason


def test_read_timeout_names_the_limit() -> None:
    config = HttpConfig(read_timeout_seconds=0.3, retries=0)
    with (
        serve({"/slow": Reply(body=b"{}", hang_seconds=1.5)}) as srv,
        Http(config) as http,
        pytest.raises(FetchError) as err,
    ):
        http.get_json(srv.url + "/slow")
    assert "read timeout" in err.value.reason


def test_connection_refused() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    with Http(FAST) as http, pytest.raises(FetchError) as err:
        http.get_json(f"http://127.0.0.1:{port}/metrics/snapshot")
    assert err.value.reason == "connection refused"


def test_connection_reset_by_peer() -> None:
    with (
        serve({"/r": Reply(reset=True)}) as srv,
        Http(FAST) as http,
        pytest.raises(FetchError) as err,
    ):
        http.get_json(srv.url + "/r")
    assert "reset" in err.value.reason or "broken" in err.value.reason


def test_get_is_retried_on_503_then_succeeds() -> None:
    config = HttpConfig(retries=2, backoff_factor=0)
    with serve({"/m": Reply(status=503, body=b"busy")}) as srv, Http(config) as http:
        with pytest.raises(FetchError):
            http.get_json(srv.url + "/m")
        assert len(srv.requests) == 3  # first try + 2 retries


def test_put_is_not_retried() -> None:
    config = HttpConfig(retries=3, backoff_factor=0)
    with (
        serve({"/v2/apps/a": Reply(status=503, body=b"{}")}) as srv,
        Http(config) as http,
        pytest.raises(FetchError) as err,
    ):
        http.request("PUT", srv.url + "/v2/apps/a", json_body={"instances": 2})
        assert len(srv.requests) == 1
    assert err.value.status == 503


def test_status_listed_as_ok_is_returned_not_raised() -> None:
    body = b'{"message": "App is locked by one or more deployments."}'
    with serve({"/v2/apps/a": Reply(status=409, body=body)}) as srv, Http(FAST) as http:
        resp = http.request("PUT", srv.url + "/v2/apps/a", json_body={}, ok_statuses=(409,))
    assert resp.status == 409
    assert resp.json()["message"].startswith("App is locked")


def test_redirect_can_be_inspected_without_following() -> None:
    routes = {"/master/redirect": Reply(status=307, headers={"Location": "//127.0.0.2:5050"})}
    with serve(routes) as srv, Http(FAST) as http:
        resp = http.request("GET", srv.url + "/master/redirect", follow_redirects=False)
    assert resp.status == 307
    assert resp.headers["location"] == "//127.0.0.2:5050"


def test_bearer_token_is_sent_and_basic_auth_otherwise() -> None:
    with serve({"/x": Reply(body=b"{}")}) as srv:
        with Http(HttpConfig(bearer_token=Secret("tok123"), retries=0)) as http:
            http.get_json(srv.url + "/x")
        with Http(HttpConfig(username="u", password=Secret("pw"), retries=0)) as http:
            http.get_json(srv.url + "/x")
    assert srv.requests[0][2]["Authorization"] == "Bearer tok123"
    assert srv.requests[1][2]["Authorization"].startswith("Basic ")


def test_tls_failure_is_one_line() -> None:
    # An https URL to a plain-HTTP server: the handshake gets an HTTP answer, not TLS.
    with (
        serve({"/x": Reply(body=b"{}")}) as srv,
        Http(FAST) as http,
        pytest.raises(FetchError) as err,
    ):
        http.get_json(srv.url.replace("http://", "https://") + "/x")
    assert err.value.reason.startswith("TLS handshake failed")
    assert "\n" not in err.value.reason


def test_empty_body_where_json_expected() -> None:
    with (
        serve({"/x": Reply(body=b"")}) as srv,
        Http(FAST) as http,
        pytest.raises(FetchError) as err,
    ):
        http.get_json(srv.url + "/x")
    assert err.value.status == 200
    assert "empty body" in err.value.reason


# -- keep-alive, redirects, chunked bodies: an HTTP/1.1 server -------------------------


class _KeepAlive(BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive; ``/chunked`` streams chunks, ``/drop`` answers and closes
    without saying so (as a server whose idle timeout ran out), ``/moved`` and ``/rel``
    redirect, ``/busy`` answers 503 with Retry-After once."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms stalls
    server: _Server11

    def log_message(self, format: str, *args: object) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        self.server.connections += 1

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self.server.paths.append(self.path)
        port = self.server.server_address[1]
        if self.path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for _ in range(20):
                self.wfile.write(b"100\r\n" + b"x" * 256 + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        elif self.path == "/drop":
            self._send(200, b'{"dropped": true}')
            self.close_connection = True
        elif self.path == "/moved":
            self._send(307, b"", {"Location": f"//127.0.0.1:{port}/rel"})
        elif self.path == "/rel":
            self._send(302, b"", {"Location": "ok?from=rel"})
        elif self.path == "/loop":
            self._send(302, b"", {"Location": "/loop"})
        elif self.path == "/busy" and self.server.paths.count("/busy") == 1:
            self._send(503, b"busy", {"Retry-After": "0"})
        else:
            self._send(200, b'{"path": "%s"}' % self.path.encode())


class _Server11(ThreadingHTTPServer):
    daemon_threads = True
    connections = 0
    paths: list[str]


@contextmanager
def serve11() -> Iterator[tuple[str, _Server11]]:
    server = _Server11(("127.0.0.1", 0), _KeepAlive)
    server.paths = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", server
    finally:
        server.shutdown()
        server.server_close()


def test_requests_to_one_target_share_a_kept_alive_connection() -> None:
    with serve11() as (url, server), Http(FAST) as http:
        for i in range(5):
            assert http.get_json(f"{url}/n{i}") == {"path": f"/n{i}"}
    assert server.connections == 1


def test_a_connection_the_server_closed_is_replaced_without_an_error() -> None:
    with serve11() as (url, server), Http(FAST) as http:
        assert http.get_json(url + "/drop") == {"dropped": True}
        time.sleep(0.05)
        assert http.get_json(url + "/after") == {"path": "/after"}
    assert server.connections == 2


def test_threads_share_the_client_each_on_its_own_connection() -> None:
    # a patient client: on a loaded machine a 1 s read timeout is not this test's subject
    with serve11() as (url, server), Http(HttpConfig(read_timeout_seconds=30, retries=0)) as http:
        paths = [f"/t{i}" for i in range(200)]
        with ThreadPoolExecutor(max_workers=8) as pool:
            got = list(pool.map(lambda p: http.get_json(url + p)["path"], paths))
    assert got == paths
    # connections are kept alive and reused; how many more than 8 depends on scheduling
    # (the idle pool keeps 4 per target), so only reuse itself is asserted
    assert server.connections <= len(paths) // 2


def test_redirects_are_followed_to_host_port_and_relative_locations() -> None:
    with serve11() as (url, server), Http(FAST) as http:
        resp = http.request("GET", url + "/moved")
    assert resp.status == 200 and resp.json() == {"path": "/ok?from=rel"}
    assert resp.url == url + "/moved"
    assert server.paths == ["/moved", "/rel", "/ok?from=rel"]


def test_a_redirect_loop_is_an_error() -> None:
    with serve11() as (url, _), Http(FAST) as http, pytest.raises(FetchError) as err:
        http.get_json(url + "/loop")
    assert "too many redirects" in err.value.reason


def test_chunked_body_over_the_cap_is_refused_while_reading() -> None:
    config = HttpConfig(retries=0, max_body_bytes=2000)
    with serve11() as (url, _), Http(config) as http:
        with pytest.raises(FetchError) as err:
            http.get_text(url + "/chunked")
        assert "larger than 2000 bytes" in err.value.reason
        assert len(Http(FAST).get_text(url + "/chunked")) == 20 * 256


def test_503_with_retry_after_is_retried_then_answered() -> None:
    config = HttpConfig(retries=2, backoff_factor=0)
    with serve11() as (url, server), Http(config) as http:
        assert http.get_json(url + "/busy") == {"path": "/busy"}
    assert server.paths == ["/busy", "/busy"]


def test_params_are_added_to_the_query() -> None:
    with serve11() as (url, _), Http(FAST) as http:
        doc = http.get_json(url + "/q?a=1", params={"b": "x y"})
    assert doc == {"path": "/q?a=1&b=x+y"}


@pytest.mark.parametrize("fast", [True, False])
@pytest.mark.parametrize(
    "body",
    [b'{"a": [1, 2.5, "x"]}', b"[NaN, Infinity, 1e400]", b"18446744073709551615",
     b'{"\\ud800": 1}', '{"é": 1}'.encode("utf-16")],
)  # fmt: skip
def test_fast_loads_gives_what_json_gives(
    body: bytes, fast: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    import math

    from clusterwatch.core import http as http_module

    if not fast:
        monkeypatch.setattr(http_module, "orjson", None)  # as without the ``fast`` extra
    got, expected = http_module.loads(body), json.loads(body)
    if isinstance(expected, list) and any(isinstance(v, float) for v in expected):
        assert [math.isnan(v) or v for v in got] == [math.isnan(v) or v for v in expected]
    else:
        assert got == expected


@pytest.mark.parametrize("body", [b'{"a": 1', b'{"a": tru}', b"\xff\xfe\xfd"])
def test_fast_loads_fails_in_the_words_of_json(body: bytes) -> None:
    from clusterwatch.core import http as http_module
    from clusterwatch.core.quickhttp import decode_json

    with pytest.raises(FetchError) as fast:
        decode_json("u", 200, {}, body, http_module.loads)
    with pytest.raises(FetchError) as plain:
        decode_json("u", 200, {}, body)
    assert fast.value.reason == plain.value.reason
