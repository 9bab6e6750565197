"""Small loopback servers for the check tests: canned replies, hangs, HTTP, unix sockets."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

Handler = Callable[[socket.socket, threading.Event], None]


class FakeServer:
    """Accepts on 127.0.0.1 (or a unix path) and runs ``handler(conn, stop)`` per connection."""

    def __init__(self, handler: Handler, unix_path: str | None = None) -> None:
        self.handler = handler
        self.stop = threading.Event()
        self.requests: list[bytes] = []
        if unix_path is not None:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.bind(unix_path)
            self.port = 0
        else:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.sock.bind(("127.0.0.1", 0))
            self.port = self.sock.getsockname()[1]
        self.sock.listen(16)
        self.sock.settimeout(0.1)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            self.handler(conn, self.stop)

    def close(self) -> None:
        self.stop.set()
        self.sock.close()
        self.thread.join(2)

    def __enter__(self) -> FakeServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _read_request(conn: socket.socket, limit: int = 65536) -> bytes:
    conn.settimeout(2)
    data = b""
    with contextlib.suppress(TimeoutError):
        while len(data) < limit:
            chunk = conn.recv(4096)
            if not chunk:
                break
            data += chunk
            if len(data) >= 4 and (b"\n" in data or len(data) == 4 or b"\r\n\r\n" in data):
                break
    return data


def reply(body: bytes | str) -> Handler:
    """Read the request, send ``body``, close."""
    data = body.encode() if isinstance(body, str) else body

    def handle(conn: socket.socket, stop: threading.Event) -> None:
        _read_request(conn)
        conn.sendall(data)

    return handle


def four_letter(replies: Mapping[str, str]) -> Handler:
    """A ZooKeeper 4lw server: the reply per command; unknown commands get nothing."""

    def handle(conn: socket.socket, stop: threading.Event) -> None:
        command = _read_request(conn)[:4].decode(errors="replace")
        if command in replies:
            conn.sendall(replies[command].encode())

    return handle


def hang() -> Handler:
    """Accept, read, never answer (until the server stops)."""

    def handle(conn: socket.socket, stop: threading.Event) -> None:
        _read_request(conn)
        stop.wait(30)

    return handle


def send_http(
    conn: socket.socket, status: int, body: str, headers: Mapping[str, str] | None = None
) -> None:
    """Write an HTTP/1.0 response (the request has been read)."""
    extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    payload = body.encode()
    head = (
        f"HTTP/1.0 {status} X\r\nContent-Length: {len(payload)}\r\n{extra}"
        "Connection: close\r\n\r\n"
    )
    conn.sendall(head.encode() + payload)


def http(status: int, body: str, headers: Mapping[str, str] | None = None) -> Handler:
    """A one-shot HTTP/1.0 response."""

    def handle(conn: socket.socket, stop: threading.Event) -> None:
        _read_request(conn)
        send_http(conn, status, body, headers)

    return handle


def closed_port() -> int:
    """A loopback port nobody listens on (refuses connections)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def serving(handler: Handler, unix_path: Path | None = None) -> Iterator[FakeServer]:
    server = FakeServer(handler, str(unix_path) if unix_path else None)
    try:
        yield server
    finally:
        server.close()
