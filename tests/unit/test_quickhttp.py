"""quickhttp, the plugins' HTTP GET: every way a JSON source breaks is a FetchError that says so."""

from __future__ import annotations

import socket
import threading
import urllib.parse

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from clusterwatch.core import quickhttp, sockread
from clusterwatch.core.errors import FetchError
from tests.unit.check_fakes import closed_port, hang, http, reply, serving


def fetch_error(url: str, timeout: float = 2.0) -> FetchError:
    with pytest.raises(FetchError) as info:
        quickhttp.get_json(url, timeout)
    return info.value


def test_json_body_is_decoded() -> None:
    with serving(http(200, '{"leader": "m1:8080"}')) as server:
        assert quickhttp.get_json(f"http://{server.address}/v2/leader", 2) == {
            "leader": "m1:8080"
        }


def test_chunked_body_is_reassembled() -> None:
    raw = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"5\r\n[1, 2\r\n4\r\n, 3]\r\n0\r\n\r\n")  # fmt: skip
    with serving(reply(raw)) as server:
        assert quickhttp.get_json(f"http://{server.address}/", 2) == [1, 2, 3]


def test_chunked_body_cut_short_is_truncated() -> None:
    raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n[1, 2"
    with serving(reply(raw)) as server:
        assert "truncated" in fetch_error(f"http://{server.address}/").reason


def test_body_shorter_than_content_length_is_truncated() -> None:
    raw = b"HTTP/1.0 200 OK\r\nContent-Length: 100\r\n\r\n{\"a\": 1"
    with serving(reply(raw)) as server:
        assert fetch_error(f"http://{server.address}/").reason == "truncated reply (7 of 100 bytes)"


def test_truncated_json_without_length_is_named() -> None:
    with serving(reply(b'HTTP/1.0 200 OK\r\n\r\n{"slaves": [{"id": "a"')) as server:
        assert fetch_error(f"http://{server.address}/").reason.startswith("truncated JSON")


def test_html_error_page_is_named_with_its_title() -> None:
    page = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
    with serving(http(502, page, {"Content-Type": "text/html"})) as server:
        error = fetch_error(f"http://{server.address}/")
    assert (error.status, error.reason) == (502, "HTML error page (502 Bad Gateway)")


def test_html_with_status_200_is_not_json() -> None:
    with serving(http(200, "<html><title>Login</title></html>")) as server:
        assert fetch_error(f"http://{server.address}/").reason == (
            "expected JSON, got an HTML page (Login)"
        )


def test_garbage_is_invalid_json() -> None:
    with serving(http(200, "leader=m1")) as server:
        assert fetch_error(f"http://{server.address}/").reason.startswith("invalid JSON")


def test_not_http_at_all() -> None:
    with serving(reply("SSH-2.0-OpenSSH_9.2\r\n")) as server:
        assert "not an HTTP reply" in fetch_error(f"http://{server.address}/").reason


def test_refused_and_timeout_are_named() -> None:
    assert fetch_error(f"http://127.0.0.1:{closed_port()}/").reason == "connection refused"
    with serving(hang()) as server:
        assert fetch_error(f"http://{server.address}/", 0.3).reason == "timed out after 0.3s"


def test_reset_is_named() -> None:
    def reset(conn: socket.socket, stop: threading.Event) -> None:
        conn.recv(1024)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")

    with serving(reset) as server:
        reason = fetch_error(f"http://{server.address}/").reason
    assert "reset" in reason or "not an HTTP reply" in reason


def test_error_status_carries_the_servers_message() -> None:
    body = '{"error": {"type": "index_not_found_exception", "reason": "no such index [x]"}}'
    with serving(http(404, body)) as server:
        error = fetch_error(f"http://{server.address}/x/_search")
    assert (error.status, error.reason) == (404, "no such index [x]")


def test_any_status_is_returned_by_get() -> None:
    with serving(http(307, "", {"Location": "//127.0.1.2:5050"})) as server:
        answer = quickhttp.get(f"http://{server.address}/master/redirect", 2)
    assert (answer.status, answer.header("location")) == (307, "//127.0.1.2:5050")


def test_bad_urls() -> None:
    assert "http://" in fetch_error("ftp://host/").reason
    assert fetch_error("http://host:99999/").reason == "bad port in URL"


def test_join_adds_the_scheme_and_one_slash() -> None:
    assert quickhttp.join("m1:5050/", "/flags") == "http://m1:5050/flags"
    assert quickhttp.join("https://m1", "/flags") == "https://m1/flags"


@pytest.mark.parametrize(("url", "parts"), [
    ("http://m1:5050/master/redirect", ("http", "m1", 5050, "/master/redirect")),
    ("https://es.example", ("https", "es.example", 443, "/")),
    ("http://u:p@[::1]:8086/query?db=x#f", ("http", "::1", 8086, "/query?db=x")),
    ("HTTP://h?x=1", ("http", "h", 80, "/?x=1")),
])  # fmt: skip
def test_urls_are_split_without_urllib(url: str, parts: tuple[str, str, int, str]) -> None:
    assert quickhttp._split(url) == parts


# ---------------------------------------------------------------- start-up light stand-ins


@given(st.text(max_size=20), st.sampled_from(["", "/", "*,", "é/ "]))
def test_quote_is_urllib_s(text: str, safe: str) -> None:
    assume(not any("\ud800" <= c <= "\udfff" for c in text))  # not UTF-8: both raise
    assert quickhttp.quote(text, safe) == urllib.parse.quote(text, safe)
    assert quickhttp.quote_plus(text, safe) == urllib.parse.quote_plus(text, safe)


@given(st.dictionaries(st.text(max_size=6), st.one_of(st.text(max_size=10), st.integers())))
def test_urlencode_is_urllib_s(params: dict[str, str | int]) -> None:
    assume(not any("\ud800" <= c <= "\udfff" for c in "".join(map(str, params.items()))))
    assert quickhttp.urlencode(params) == urllib.parse.urlencode(params)


@given(st.text(st.sampled_from("ab1.-:é"), max_size=70) | st.sampled_from(["127.0.0.1", "::1"]))
def test_ascii_host_names_skip_the_idna_codec_with_the_same_bytes(host: str) -> None:
    found = sockread._ascii_host(host)
    try:
        encoded: bytes | None = host.encode("idna")
    except UnicodeError:
        encoded = None
    if isinstance(found, bytes):
        assert found == encoded
    else:  # the codec decides: a non-ASCII name, or one it refuses
        assert found == host
        assert not host.isascii() or encoded is None


def test_connect_tries_every_address_and_raises_the_last_error() -> None:
    with serving(http(200, "{}")) as server:
        sock = sockread.connect("localhost", server.port, 2)  # ::1 may refuse, 127.0.0.1 answers
        sock.close()
    with pytest.raises(ConnectionRefusedError):
        sockread.connect("127.0.0.1", closed_port(), 2)
