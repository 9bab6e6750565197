"""A tiny real HTTP server on loopback for tests: each path answers as a test tells it to.

Routes map a path to a ``Reply``: status, headers and body, or a misbehaviour (``hang``,
``reset`` the connection, ``truncate`` the body after some bytes).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})
    hang_seconds: float = 0.0
    reset: bool = False
    truncate_at: int | None = None


@dataclass
class Served:
    url: str
    routes: dict[str, Reply]
    requests: list[tuple[str, str, dict[str, str]]]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _answer(self) -> None:
        self.server.requests.append((self.command, self.path, dict(self.headers)))
        reply = self.server.routes.get(self.path.split("?")[0], Reply(404, b"not found"))
        if reply.hang_seconds:
            time.sleep(reply.hang_seconds)
        if reply.reset:
            self.connection.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
            )
            self.connection.close()
            return
        self.send_response(reply.status)
        for key, value in reply.headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        body = reply.body if reply.truncate_at is None else reply.body[: reply.truncate_at]
        self.wfile.write(body)
        if reply.truncate_at is not None:
            self.wfile.flush()
            self.close_connection = True

    do_GET = do_PUT = do_POST = _answer


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    routes: dict[str, Reply]
    requests: list[tuple[str, str, dict[str, str]]]


@contextmanager
def serve(routes: dict[str, Reply]) -> Iterator[Served]:
    server = _Server(("127.0.0.1", 0), _Handler)
    server.routes = routes
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Served(f"http://127.0.0.1:{server.server_address[1]}", routes, server.requests)
    finally:
        server.shutdown()
        server.server_close()
