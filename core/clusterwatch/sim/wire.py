"""A small HTTP/1.1 server protocol for asyncio: keep-alive, pipelining, loopback only.

One listening socket per role port serves every simulated host of that role: the address the
client dialled (``getsockname``) picks the host. Connections whose local or peer address is
not loopback are closed at once, so nothing is ever served beyond this machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from http import HTTPStatus
from urllib.parse import parse_qs, unquote, urlsplit

from clusterwatch.sim.addresses import is_loopback

MAX_HEADER_BYTES = 64 * 1024
MAX_BODY_BYTES = 8 * 1024 * 1024


@dataclass(slots=True)
class Request:
    method: str
    target: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    local_ip: str
    local_port: int

    def arg(self, name: str, default: str = "") -> str:
        values = self.query.get(name)
        return values[-1] if values else default

    def args(self, name: str) -> list[str]:
        """All values of a repeated or comma-separated parameter (``embed=a&embed=b``)."""
        out: list[str] = []
        for value in self.query.get(name, []):
            out.extend(v for v in value.split(",") if v)
        return out


@dataclass(slots=True)
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: list[tuple[str, str]] = field(default_factory=list)
    delay: float = 0.0  # answer after this many real seconds
    hang: bool = False  # never answer; keep the connection open
    reset: bool = False  # answer with a TCP reset
    close: bool = False  # close the connection after this response
    declared_length: int | None = None  # a Content-Length other than len(body)


Handler = Callable[[Request], Response]
Resolver = Callable[[str], Handler | None]

_date_cache: tuple[int, bytes] = (0, b"")


def _http_date() -> bytes:
    global _date_cache
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache = (now, formatdate(now, usegmt=True).encode())
    return _date_cache[1]


_REASONS = {s.value: s.phrase for s in HTTPStatus}


def serialize(response: Response, keep_alive: bool, head: bool = False) -> bytes:
    status = response.status
    length = len(response.body) if response.declared_length is None else response.declared_length
    lines = [
        f"HTTP/1.1 {status} {_REASONS.get(status, 'Unknown')}\r\n".encode(),
        b"Date: " + _http_date() + b"\r\n",
        f"Content-Length: {length}\r\n".encode(),
    ]
    if response.content_type:
        lines.append(f"Content-Type: {response.content_type}\r\n".encode())
    for name, value in response.headers:
        lines.append(f"{name}: {value}\r\n".encode("latin-1", "replace"))
    if not keep_alive:
        lines.append(b"Connection: close\r\n")
    lines.append(b"\r\n")
    if not head:
        lines.append(response.body)
    return b"".join(lines)


def plain(status: int, text: str = "") -> Response:
    return Response(status, text.encode(), "text/plain; charset=utf-8")


class HttpProtocol(asyncio.Protocol):
    """One client connection. Requests are answered strictly in order."""

    def __init__(
        self,
        resolve: Resolver,
        on_error: Callable[[BaseException], None],
        on_close: Callable[[HttpProtocol], None] = lambda protocol: None,
    ) -> None:
        self._resolve = resolve
        self._on_error = on_error
        self._on_close = on_close
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None
        self._local_ip = ""
        self._local_port = 0
        self._busy = False  # a delayed or hanging answer holds the line
        self._closing = False

    # -- connection -----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        local = transport.get_extra_info("sockname")
        peer = transport.get_extra_info("peername")
        if not local or not peer or not is_loopback(local[0]) or not is_loopback(peer[0]):
            transport.abort()  # never serve beyond loopback
            self._closing = True
            return
        self._local_ip, self._local_port = local[0], local[1]
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def connection_lost(self, exc: Exception | None) -> None:
        self._closing = True
        self._transport = None
        self._on_close(self)

    def abort(self) -> None:
        """Drop the connection (used when the simulator stops)."""
        self._abort()

    def data_received(self, data: bytes) -> None:
        if self._closing:
            return
        self._buffer += data
        if not self._busy:
            self._process()

    # -- requests -------------------------------------------------------------------------

    def _process(self) -> None:
        while not self._busy and not self._closing and self._transport is not None:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self._buffer) > MAX_HEADER_BYTES:
                    self._send(plain(431, "Request Header Fields Too Large"), keep_alive=False)
                return
            head = bytes(self._buffer[:end]).decode("latin-1")
            lines = head.split("\r\n")
            parts = lines[0].split(" ")
            if len(parts) != 3 or not parts[2].startswith("HTTP/"):
                self._send(plain(400, "Bad Request"), keep_alive=False)
                return
            method, target, version = parts
            headers: dict[str, str] = {}
            for line in lines[1:]:
                name, sep, value = line.partition(":")
                if sep:
                    headers[name.strip().lower()] = value.strip()
            if "chunked" in headers.get("transfer-encoding", "").lower():
                self._send(plain(411, "Length Required"), keep_alive=False)
                return
            try:
                length = int(headers.get("content-length", "0"))
            except ValueError:
                self._send(plain(400, "Bad Request"), keep_alive=False)
                return
            if length < 0 or length > MAX_BODY_BYTES:
                self._send(plain(413, "Payload Too Large"), keep_alive=False)
                return
            if len(self._buffer) < end + 4 + length:
                return  # wait for the rest of the body
            body = bytes(self._buffer[end + 4 : end + 4 + length])
            del self._buffer[: end + 4 + length]
            connection = headers.get("connection", "").lower()
            keep_alive = (
                "close" not in connection
                if version == "HTTP/1.1"
                else "keep-alive" in connection
            )
            self._answer(method, target, headers, body, keep_alive)

    def _answer(
        self, method: str, target: str, headers: dict[str, str], body: bytes, keep_alive: bool
    ) -> None:
        handler = self._resolve(self._local_ip)
        if handler is None:  # nobody lives at this address (any more)
            self._abort()
            return
        split = urlsplit(target)
        request = Request(
            method=method,
            target=target,
            path=unquote(split.path) or "/",
            query=parse_qs(split.query, keep_blank_values=True),
            headers=headers,
            body=body,
            local_ip=self._local_ip,
            local_port=self._local_port,
        )
        try:
            response = handler(request)
        except Exception as exc:  # a bug in the simulator: answer like a server would
            self._on_error(exc)
            response = plain(500, "Internal Server Error")
        head = method == "HEAD"
        if response.reset:
            self._reset()
        elif response.hang:
            self._busy = True
        elif response.delay > 0:
            self._busy = True
            loop = asyncio.get_running_loop()
            loop.call_later(response.delay, self._send_later, response, keep_alive, head)
        else:
            self._send(response, keep_alive, head)

    def _send_later(self, response: Response, keep_alive: bool, head: bool) -> None:
        self._busy = False
        if self._transport is None:
            return
        self._send(response, keep_alive, head)
        if self._buffer:
            self._process()

    def _send(self, response: Response, keep_alive: bool, head: bool = False) -> None:
        transport = self._transport
        if transport is None:
            return
        keep = keep_alive and not response.close
        transport.write(serialize(response, keep, head))
        if not keep:
            self._closing = True
            transport.close()

    def _abort(self) -> None:
        self._closing = True
        if self._transport is not None:
            self._transport.abort()

    def _reset(self) -> None:
        transport = self._transport
        if transport is None:
            return
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):  # linger 0: close() sends RST, not FIN
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self._abort()
