"""The asyncio fast path of the per-agent sources against a raw socket server on loopback.

The server answers each request with bytes a test scripts (so chunked bodies, bodies that
end when the connection closes, HTTP/1.0 and broken answers are exactly what a test says)
and records every request and every connection it accepted.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

from clusterwatch.core.config_schema import HttpConfig
from clusterwatch.core.errors import FetchError
from clusterwatch.core.http import Http
from clusterwatch.core.http_async import AsyncHttp
from clusterwatch.core.secrets import Secret

FAST = HttpConfig(connect_timeout_seconds=1, read_timeout_seconds=1, retries=0)


@dataclass
class Raw:
    """What the server sends for a path; ``close`` closes the connection after it."""

    data: bytes
    close: bool = False
    hang: bool = False


@dataclass
class RawServer:
    url: str
    routes: dict[str, Raw]
    requests: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    connections: int = 0


def ok(body: bytes, *, version: str = "HTTP/1.1", extra: str = "") -> bytes:
    return (
        f"{version} 200 OK\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n{extra}\r\n"
    ).encode() + body


def chunked(*pieces: bytes) -> bytes:
    out = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    for piece in pieces:
        out += f"{len(piece):x};ext=1\r\n".encode() + piece + b"\r\n"
    return out + b"0\r\nX-Trailer: yes\r\n\r\n"


def _serve_connection(conn: socket.socket, server: RawServer) -> None:
    buffer = b""
    with conn:
        while True:
            while b"\r\n\r\n" not in buffer:
                data = conn.recv(65536)
                if not data:
                    return
                buffer += data
            head, buffer = buffer.split(b"\r\n\r\n", 1)
            lines = head.decode("latin-1").split("\r\n")
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0"))
            while len(buffer) < length:
                buffer += conn.recv(65536)
            body, buffer = buffer[:length], buffer[length:]
            path = lines[0].split(" ")[1]
            server.requests.append((path, headers, body))
            raw = server.routes.get(path.split("?")[0], Raw(b"HTTP/1.1 404 Not Found\r\n"
                                    b"Content-Length: 9\r\n\r\nnot found"))  # fmt: skip
            if raw.hang:
                conn.recv(1)  # until the client gives up
                return
            conn.sendall(raw.data)
            if raw.close:
                return


@contextmanager
def raw_server(routes: dict[str, Raw]) -> Iterator[RawServer]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    server = RawServer(f"http://127.0.0.1:{listener.getsockname()[1]}", routes)

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            server.connections += 1
            threading.Thread(target=_serve_connection, args=(conn, server), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield server
    finally:
        listener.close()


def run(config: HttpConfig, work: Callable[[AsyncHttp], Any]) -> Any:
    async def main() -> Any:
        with Http(config) as http:
            async with AsyncHttp(http) as client:
                return await work(client)

    return asyncio.run(main())


def test_content_length_answers_reuse_one_connection_and_send_the_headers() -> None:
    routes = {"/a": Raw(ok(b'{"a": 1}')), "/b": Raw(ok(b"[1, 2]"))}
    config = HttpConfig(retries=0, bearer_token=Secret("s3cret-token"))
    with raw_server(routes) as srv:

        async def work(client: AsyncHttp) -> Any:
            return [await client.get_json(srv.url + "/a"),
                    await client.get_json(srv.url + "/b", {"num_stats": 2})]  # fmt: skip

        assert run(config, work) == [{"a": 1}, [1, 2]]
    assert srv.connections == 1
    (_, first, _), (path, second, body) = srv.requests
    assert first["authorization"] == "Bearer s3cret-token"
    assert first["user-agent"].startswith("clusterwatch/")
    assert first["host"] == srv.url.removeprefix("http://")
    assert (path, json.loads(body), second["content-type"]) == (
        "/b", {"num_stats": 2}, "application/json")  # fmt: skip


def test_chunked_body_with_extensions_and_trailers() -> None:
    body = json.dumps({"stats": list(range(3000))}).encode()
    routes = {"/c": Raw(chunked(body[:7], body[7:5000], body[5000:])), "/d": Raw(ok(b"{}"))}
    with raw_server(routes) as srv:

        async def work(client: AsyncHttp) -> Any:
            return await client.get_json(srv.url + "/c"), await client.get_json(srv.url + "/d")

        assert run(FAST, work) == ({"stats": list(range(3000))}, {})
    assert srv.connections == 1  # the trailer was consumed: the connection stays usable


def test_http10_body_until_close_and_no_reuse() -> None:
    answer = b'HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{"v": 10}'
    routes = {"/old": Raw(answer, close=True)}
    with raw_server(routes) as srv:

        async def work(client: AsyncHttp) -> Any:
            return [await client.get_json(srv.url + "/old") for _ in range(2)]

        assert run(FAST, work) == [{"v": 10}, {"v": 10}]
    assert srv.connections == 2


def test_error_statuses_and_redirects_are_left_to_http() -> None:
    page = b"<html><head><title>502 Bad Gateway</title></head></html>"
    bad = b"HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n"
    routes = {
        "/bad": Raw(bad % len(page) + page),
        "/moved": Raw(b"HTTP/1.1 302 Found\r\nLocation: /here\r\nContent-Length: 0\r\n\r\n"),
        "/here": Raw(ok(b'{"here": true}')),
    }
    with raw_server(routes) as srv:

        async def work(client: AsyncHttp) -> Any:
            moved = await client.get_json(srv.url + "/moved")
            with pytest.raises(FetchError) as err:
                await client.get_json(srv.url + "/bad")
            return moved, err.value

        moved, error = run(FAST, work)
    assert moved == {"here": True}
    assert (error.status, error.target) == (502, srv.url + "/bad")
    assert "HTML error page (502 Bad Gateway)" in error.reason


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (Raw(b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{\"cut", close=True),
         "connection broken while reading the body"),
        (Raw(b"", close=True), "connection reset by peer"),
        (Raw(ok(b"<html><title>Sign in</title></html>")),
         "expected JSON, got an HTML page (Sign in)"),
        (Raw(ok(b'{"slaves": [{"id": "1"}, {"id": ')), "truncated JSON"),
        (Raw(ok(b"[" + b"1," * 600 + b"1]")), "body larger than 1000 bytes, not read"),
        (Raw(chunked(b"[" + b"1," * 600, b"1]")), "body larger than 1000 bytes, not read"),
        (Raw(b"", hang=True), "no answer within 0.3s (read timeout)"),
    ],
)  # fmt: skip
def test_failures_are_fetch_errors_in_the_words_of_http(raw: Raw, reason: str) -> None:
    config = HttpConfig(read_timeout_seconds=0.3, retries=0, max_body_bytes=1000)
    with raw_server({"/x": raw}) as srv:

        async def work(client: AsyncHttp) -> FetchError:
            with pytest.raises(FetchError) as err:
                await client.get_json(srv.url + "/x")
            return err.value

        error = run(config, work)
        with Http(config) as http, pytest.raises(FetchError) as sync_err:
            http.get_json(srv.url + "/x")
    assert error.target == srv.url + "/x"
    assert reason in error.reason
    assert error.reason == sync_err.value.reason  # the same words as the threaded client


def test_refused_connection() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound, not listening: connections are refused

        async def work(client: AsyncHttp) -> FetchError:
            with pytest.raises(FetchError) as err:
                await client.get_json(f"http://127.0.0.1:{port}/x")
            return err.value

        assert run(FAST, work).reason == "connection refused"


def test_a_kept_alive_connection_closed_by_the_server_is_replaced() -> None:
    routes = {"/once": Raw(ok(b"1"), close=True)}  # says nothing, then closes
    with raw_server(routes) as srv:

        async def work(client: AsyncHttp) -> Any:
            first = await client.get_json(srv.url + "/once")
            await asyncio.sleep(0.05)  # the close arrives while the connection is idle
            return first, await client.get_json(srv.url + "/once")

        assert run(FAST, work) == (1, 1)
    assert srv.connections == 2


def test_failed_connections_are_retried_by_http_when_retries_are_set() -> None:
    with raw_server({"/x": Raw(ok(b"[]"))}) as srv:
        flaky = {"/x": Raw(b"", close=True)}
        calls: list[str] = []

        async def work(client: AsyncHttp) -> Any:
            srv.routes, original = flaky, srv.routes
            original_request = client.http.request

            def request(*args: Any, **kwargs: Any) -> Any:
                calls.append(args[1])
                srv.routes = original  # the server recovers before the retry
                return original_request(*args, **kwargs)

            client.http.request = request  # type: ignore[method-assign]
            return await client.get_json(srv.url + "/x")

        config = HttpConfig(connect_timeout_seconds=1, read_timeout_seconds=1, retries=1)
        assert run(config, work) == []
    assert calls == [srv.url + "/x"]
