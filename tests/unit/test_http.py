from __future__ import annotations

import json
import socket

import pytest
import requests
import responses

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


@responses.activate
def test_tls_failure_is_one_line() -> None:
    responses.add(responses.GET, "https://mesos:5050/x", body=requests.exceptions.SSLError("bad"))
    with Http(FAST) as http, pytest.raises(FetchError) as err:
        http.get_json("https://mesos:5050/x")
    assert err.value.reason.startswith("TLS handshake failed")


@responses.activate
def test_empty_body_where_json_expected() -> None:
    responses.add(responses.GET, "http://m:5050/x", body=b"")
    with Http(FAST) as http, pytest.raises(FetchError) as err:
        http.get_json("http://m:5050/x")
    assert "empty body" in err.value.reason
