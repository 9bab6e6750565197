"""Many GETs on one thread: the fast path of the per-agent sources (asyncio, HTTP/1.1).

A 10,000-agent cycle is ~30,000 requests. On 16 threads with ``http.client`` each cost
~0.65 ms of CPU (GIL hand-offs between the threads, ``http.client``'s header parsing through
``email``); on one asyncio thread with the small protocol below ~0.3 ms, JSON included
(``bench/bench_collect.py``). The collectors' mapping runs on the same thread, between
answers, so nothing contends for the GIL.

This is a fast path, not a second client: it sends what ``Http.wire`` prepares (the same
headers, auth and body) over plain ``http://`` and takes a ``2xx`` answer (HTTP/1.1 or 1.0)
with a ``Content-Length``, chunked, or read-until-close body. Everything else is handed to
the shared ``Http`` on a worker thread, which does the request again with its whole policy:
``https://``, redirects, error statuses (their reasons are worded there), and failed
connections when retries are configured. With ``retries = 0`` a refused connection, a
connect or read timeout and a reset are reported here, in ``Http``'s words.

Connections are kept alive for the life of one :class:`AsyncHttp` (one collection cycle)
in ``Http``'s :class:`~clusterwatch.core.http.IdlePool`, at most ``IDLE_TOTAL`` of them
idle. The read timeout bounds the wait for the whole answer.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from clusterwatch.core.errors import FetchError
from clusterwatch.core.http import (
    BROKEN_BODY,
    IDLE_PER_TARGET,
    Http,
    IdlePool,
    Wire,
    connect_reason,
    loads,
    read_timeout_reason,
    reset_reason,
    too_large_reason,
)
from clusterwatch.core.quickhttp import decode_json

IDLE_TOTAL = 512  # idle kept-alive connections (each an fd here and on the far side)


class _Fallback(Exception):
    """The answer is not one for the fast path: ask ``Http``."""


class _Lost(Exception):
    """The connection failed or closed before a whole answer; ``got_bytes`` tells whether
    any of the answer had arrived (a kept-alive connection closed by the server has none),
    ``in_body`` whether its head had."""

    def __init__(self, error: OSError, got_bytes: bool, in_body: bool = False) -> None:
        super().__init__(str(error))
        self.error = error
        self.got_bytes = got_bytes
        self.in_body = in_body


class _Answer(asyncio.Protocol):
    """One connection: sends a request, parses its answer into ``(status, headers, body)``."""

    def __init__(self, max_body: int) -> None:
        self.transport: asyncio.Transport | None = None
        self.reusable = False
        self._max_body = max_body
        self._waiter: asyncio.Future[tuple[int, dict[str, str], bytes]] | None = None
        self._buffer = bytearray()
        self._head: tuple[int, dict[str, str]] | None = None
        self._length: int | None = None  # body bytes expected; None: chunked or until close
        self._chunked = False
        self._chunks: list[bytes] = []
        self._size = 0
        self._got_bytes = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def send(self, data: bytes, waiter: asyncio.Future[tuple[int, dict[str, str], bytes]]) -> None:
        assert self.transport is not None
        self._waiter = waiter
        self.reusable = False
        self._head, self._length, self._chunked = None, None, False
        self._chunks, self._size, self._got_bytes = [], 0, False
        self.transport.write(data)

    def data_received(self, data: bytes) -> None:
        if self._waiter is None:  # bytes nobody asked for: this connection is not reusable
            self.close()
            return
        self._got_bytes = True
        self._buffer += data
        try:
            if self._head is None and not self._parse_head():
                return
            if self._chunked:
                done = self._parse_chunks()
            elif self._length is not None:
                done = len(self._buffer) >= self._length
                if done:
                    self._chunks.append(bytes(self._buffer[: self._length]))
                    del self._buffer[: self._length]
            else:
                done = False  # the body ends when the server closes
                self._take(len(self._buffer))
        except (_Fallback, FetchError) as exc:
            self._fail(exc)
            return
        if done:
            self._finish(keep=not self._buffer)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self.reusable = False
        if self._waiter is None or self._waiter.done():
            return
        if self._head is not None and self._length is None and not self._chunked:
            self._finish(keep=False)  # a read-until-close body is complete
            return
        error = exc if isinstance(exc, OSError) else ConnectionResetError("connection closed")
        self._fail(_Lost(error, self._got_bytes, self._head is not None))

    # -- parsing ------------------------------------------------------------------------

    def _parse_head(self) -> bool:
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self._buffer) > 65536:
                raise _Fallback
            return False
        lines = bytes(self._buffer[:end]).decode("latin-1").split("\r\n")
        del self._buffer[: end + 4]
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or parts[0] not in ("HTTP/1.1", "HTTP/1.0") or not parts[1].isdigit():
            raise _Fallback
        status = int(parts[1])
        if not 200 <= status < 300:
            raise _Fallback
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if not sep:
                raise _Fallback
            name, value = name.strip().lower(), value.strip()
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        self._head = (status, headers)
        if "chunked" in headers.get("transfer-encoding", "").lower():
            self._chunked = True
        elif status == 204:
            self._length = 0
        elif "content-length" in headers:
            try:
                self._length = int(headers["content-length"])
            except ValueError:
                raise _Fallback from None
            if self._length > self._max_body:
                raise FetchError("", too_large_reason(self._max_body), status)
        connection = headers.get("connection", "").lower()
        # HTTP/1.1 keeps the connection unless told otherwise, HTTP/1.0 only when told to
        self.reusable = (
            "close" not in connection if parts[0] == "HTTP/1.1" else "keep-alive" in connection
        )
        return True

    def _parse_chunks(self) -> bool:
        """Consume whole chunks from the buffer; True at the last (empty) chunk."""
        buffer = self._buffer
        while True:
            line_end = buffer.find(b"\r\n")
            if line_end < 0:
                return False
            try:
                size = int(bytes(buffer[:line_end]).split(b";", 1)[0], 16)
            except ValueError:
                raise _Fallback from None
            if size == 0:
                trailer_end = buffer.find(b"\r\n\r\n", line_end)
                if trailer_end < 0 and buffer[line_end : line_end + 4] != b"\r\n\r\n":
                    return False
                del buffer[:]  # trailers are not used
                return True
            if len(buffer) < line_end + 2 + size + 2:
                return False
            start = line_end + 2
            self._take_bytes(bytes(buffer[start : start + size]))
            del buffer[: start + size + 2]

    def _take(self, count: int) -> None:
        self._take_bytes(bytes(self._buffer[:count]))
        del self._buffer[:count]

    def _take_bytes(self, data: bytes) -> None:
        self._size += len(data)
        if self._size > self._max_body:
            assert self._head is not None
            raise FetchError("", too_large_reason(self._max_body), self._head[0])
        self._chunks.append(data)

    # -- outcome ------------------------------------------------------------------------

    def _finish(self, keep: bool) -> None:
        waiter, self._waiter = self._waiter, None
        assert self._head is not None
        self.reusable = self.reusable and keep and self.transport is not None
        if waiter is not None and not waiter.done():
            waiter.set_result((self._head[0], self._head[1], b"".join(self._chunks)))
        self._chunks = []

    def _fail(self, exc: Exception) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)
        self.close()

    def is_open(self) -> bool:
        return self.transport is not None and not self.transport.is_closing()

    def close(self) -> None:
        self.reusable = False
        if self.transport is not None:
            self.transport.abort()


class AsyncHttp:
    """JSON GETs for one event loop, on ``http``'s configuration; use ``async with``."""

    def __init__(self, http: Http) -> None:
        self.http = http
        self._idle: IdlePool[_Answer] = IdlePool(
            _Answer.is_open, _Answer.close, IDLE_PER_TARGET, IDLE_TOTAL
        )

    async def __aenter__(self) -> AsyncHttp:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._idle.clear()

    async def get_json(self, url: str, json_body: Any = None) -> Any:
        """``http.request("GET", url, json_body=json_body).json()``, on this thread when it can."""
        wire = self.http.wire("GET", url, json_body)
        if wire.scheme != "http":
            return await self._slow(url, json_body)
        try:
            status, headers, body = await self._exchange(url, wire)
        except _Fallback:
            return await self._slow(url, json_body)
        except FetchError as exc:
            raise FetchError(url, exc.reason, exc.status) from None
        except (_Lost, OSError) as exc:
            if self.http.config.retries > 0:
                return await self._slow(url, json_body)
            raise FetchError(url, self._reason(exc)) from None
        return decode_json(url, status, headers, body, loads)

    async def _slow(self, url: str, json_body: Any) -> Any:
        request = functools.partial(self.http.request, "GET", url, json_body=json_body)
        answer = await asyncio.get_running_loop().run_in_executor(None, request)
        return answer.json()

    def _reason(self, exc: Exception) -> str:
        cfg = self.http.config
        if isinstance(exc, _Lost):
            if isinstance(exc.error, TimeoutError):
                return read_timeout_reason(cfg.read_timeout_seconds)
            return BROKEN_BODY if exc.in_body else reset_reason(exc.error)
        assert isinstance(exc, OSError)
        return connect_reason(exc, cfg.connect_timeout_seconds)

    async def _exchange(self, url: str, wire: Wire) -> tuple[int, dict[str, str], bytes]:
        data = wire.head_bytes() + (wire.body or b"")
        conn = self._idle.take(wire.key)
        if conn is not None:
            try:
                return await self._send(conn, wire.key, data)
            except _Lost as lost:
                if lost.got_bytes:
                    raise
                # closed by the server while idle: once more on a new connection
        conn = await self._connect(wire)
        return await self._send(conn, wire.key, data)

    async def _connect(self, wire: Wire) -> _Answer:
        loop = asyncio.get_running_loop()
        cap = self.http.config.max_body_bytes
        try:
            async with asyncio.timeout(self.http.config.connect_timeout_seconds):
                _, conn = await loop.create_connection(lambda: _Answer(cap), wire.host, wire.port)
        except TimeoutError:
            raise TimeoutError("connect") from None
        return conn

    async def _send(
        self, conn: _Answer, key: str, data: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[tuple[int, dict[str, str], bytes]] = loop.create_future()
        conn.send(data, waiter)
        timer = loop.call_later(self.http.config.read_timeout_seconds, _time_out, conn, waiter)
        try:
            answer = await waiter
        finally:
            timer.cancel()
        if conn.reusable:
            self._idle.give(key, conn)
        else:
            conn.close()
        return answer


def _time_out(conn: _Answer, waiter: asyncio.Future[Any]) -> None:
    if not waiter.done():
        waiter.set_exception(_Lost(TimeoutError("read"), True))
    conn.close()
