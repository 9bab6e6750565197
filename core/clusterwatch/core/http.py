"""The one way the collectors, the InfluxDB 1.x sink and the autoscaler talk HTTP.

The transport is ``http.client`` on kept-alive connections, not requests. A collection cycle
at 10,000 agents is ~30,000 requests, and the CPU one request costs (measured against the
simulator in one process, server side included) is ~1.2 ms with requests (0.73 ms with
``trust_env=False``), ~0.58 ms with urllib3's ``HTTPConnectionPool`` and ~0.22 ms with
``http.client`` on a kept-alive connection: the client was most of a cycle. What requests
gave us is kept here in a few lines each: a small thread-safe pool of idle connections per
target (``scheme://host:port``), bounded in total so thousands of agents do not hold
thousands of sockets; the connect timeout for connecting and the read timeout for every
read; TLS from ``ssl.create_default_context`` (the system's CAs, or ``ca_bundle``); basic or
bearer auth; a cap on the body while it is read; redirects; and retries of idempotent GETs
whose *policy* stays urllib3's ``Retry`` (which errors and statuses, backoff, Retry-After):
the loop below only asks it. Proxies from the environment are not used.

Every failure becomes a ``FetchError`` with a short reason a user can act on (never a
traceback). The per-agent sources read thousands of targets on one asyncio thread instead
(``core.http_async``): that path sends what :meth:`Http.wire` prepares and hands every
unusual answer back to :meth:`Http.request`. JSON bodies are decoded by :func:`loads`.
"""

from __future__ import annotations

import base64
import http.client
import json
import re
import select
import socket
import ssl
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import quote, urlencode, urljoin, urlsplit

from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)
from urllib3.response import HTTPResponse
from urllib3.util.retry import Retry

from clusterwatch.core import quickhttp
from clusterwatch.core.config_schema import HttpConfig
from clusterwatch.core.errors import FetchError
from clusterwatch.core.quickhttp import decode_json
from clusterwatch.core.version import __version__

USER_AGENT = f"clusterwatch/{__version__}"
RETRY_STATUSES = (502, 503, 504)
RETRY_METHODS = frozenset({"GET", "HEAD"})
# A request may be sent again on a fresh connection when a kept-alive one turns out closed.
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 5
BROKEN_BODY = "connection broken while reading the body"
IDLE_PER_TARGET = 4  # idle connections kept per target (threads use one at a time)
IDLE_TOTAL = 256  # idle connections kept in all (like Go's MaxIdleConns 100): sockets are fds
READ_CHUNK = 65536
# What requests would have percent-encoded in a URL (it "requotes" every URL it sends).
_UNSAFE = re.compile(r"[^A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]")
_SAFE = "-._~:/?#[]@!$&'()*+,;=%"
C = TypeVar("C")  # a connection


try:  # the ``fast`` extra: a compiled wheel, not in the noarch RPM
    import orjson
except ImportError:  # pragma: no cover - exercised where orjson is not installed
    orjson = None  # type: ignore[assignment]


def loads(body: bytes) -> Any:
    """``json.loads``, 3x faster on the collectors' bodies where orjson is installed (a 34 KB
    cAdvisor answer: 0.11 ms against 0.31 ms). What orjson refuses and json takes (NaN, huge
    floats, UTF-16, lone surrogates) and every error go through ``json.loads``, so results
    and error wording are json's."""
    if orjson is None:
        return json.loads(body)
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return json.loads(body)


@dataclass(frozen=True, slots=True)
class Response:
    url: str
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self, decode: Callable[[bytes], Any] = loads) -> Any:
        """The body decoded by ``decode`` (one that raises what ``json.loads`` raises), or a
        FetchError saying what it was instead."""
        return decode_json(self.url, self.status, self.headers, self.body, decode)


@dataclass(frozen=True, slots=True)
class Wire:
    """One request as it goes on the wire: where to, the request target, the headers."""

    key: str  # scheme://host:port, the pool's key
    scheme: str
    host: str
    port: int
    method: str
    target: str  # path?query, percent-encoded
    lines: list[tuple[str, str]]
    body: bytes | None

    def head_bytes(self) -> bytes:
        """Request line and headers (``Host`` first, as http.client sends it)."""
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        host = host if self.port == default else f"{host}:{self.port}"
        text = [f"{self.method} {self.target} HTTP/1.1", f"Host: {host}"]
        text += [f"{name}: {value}" for name, value in self.lines]
        return ("\r\n".join(text) + "\r\n\r\n").encode("latin-1")


def target_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def error_reason(headers: dict[str, str], body: bytes) -> str:
    return quickhttp.error_reason(headers, body) or "no body"


class _Failed(Exception):
    """One attempt failed: ``reason`` for the user, ``error`` (urllib3's kind) for ``Retry``."""

    def __init__(self, reason: str, error: HTTPError) -> None:
        super().__init__(reason)
        self.reason = reason
        self.error = error


class _Stale(Exception):
    """A kept-alive connection was found closed by the server; try once on a new one."""

    def __init__(self, failed: _Failed) -> None:
        super().__init__(failed.reason)
        self.failed = failed


class IdlePool(Generic[C]):
    """Idle kept-alive connections by target, least recently used target first: at most
    ``per_target`` per target and ``total`` in all (sockets are fds). ``usable`` tells
    whether an idle connection can still be used (the server may have closed it), ``close``
    closes one. Shared by ``Http`` (http.client, threads) and ``core.http_async``."""

    def __init__(
        self, usable: Callable[[C], bool], close: Callable[[C], None], per_target: int, total: int
    ) -> None:
        self._usable = usable
        self._close = close
        self._per_target = per_target
        self._total = total
        self._idle: OrderedDict[str, list[C]] = OrderedDict()
        self._count = 0
        self._lock = threading.Lock()

    def take(self, key: str) -> C | None:
        while True:
            with self._lock:
                conns = self._idle.get(key)
                if not conns:
                    return None
                conn = conns.pop()
                if not conns:
                    del self._idle[key]
                self._count -= 1
            if self._usable(conn):
                return conn
            self._close(conn)

    def give(self, key: str, conn: C) -> None:
        evicted = None
        with self._lock:
            conns = self._idle.get(key)
            if conns is None:
                conns = self._idle[key] = []
            else:
                self._idle.move_to_end(key)
            if len(conns) >= self._per_target:
                evicted = conn
            else:
                conns.append(conn)
                self._count += 1
                if self._count > self._total:
                    oldest_key, oldest = next(iter(self._idle.items()))
                    evicted = oldest.pop(0)
                    self._count -= 1
                    if not oldest:
                        del self._idle[oldest_key]
        if evicted is not None:
            self._close(evicted)

    def clear(self) -> None:
        with self._lock:
            idle = [conn for conns in self._idle.values() for conn in conns]
            self._idle.clear()
            self._count = 0
        for conn in idle:
            self._close(conn)


def _open(conn: http.client.HTTPConnection) -> bool:
    """False when an idle connection has something to read: the server closed (or broke) it."""
    sock = conn.sock
    if sock is None:
        return False
    try:
        poller = select.poll()  # not select(): descriptors go beyond 1024 with many agents
        poller.register(sock, select.POLLIN)
        return not poller.poll(0)
    except (OSError, ValueError):
        return False


def _basic(username: str, password: str) -> str:
    try:
        raw = f"{username}:{password}".encode("latin-1")  # as requests encodes it
    except UnicodeEncodeError:
        raw = f"{username}:{password}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


class Http:
    """HTTP access with kept-alive connections per target; safe to share between threads."""

    def __init__(self, config: HttpConfig | None = None) -> None:
        self.config = cfg = config or HttpConfig()
        self._pool: IdlePool[http.client.HTTPConnection] = IdlePool(
            _open, http.client.HTTPConnection.close, IDLE_PER_TARGET, IDLE_TOTAL
        )
        self._tls: ssl.SSLContext | None = None
        self._tls_lock = threading.Lock()
        self._retry = Retry(
            total=cfg.retries,
            connect=cfg.retries,
            read=cfg.retries,
            status=cfg.retries,
            backoff_factor=cfg.backoff_factor,
            status_forcelist=RETRY_STATUSES,
            allowed_methods=RETRY_METHODS,
            raise_on_status=False,
            respect_retry_after_header=True,
        )
        # Default headers by lower-case name, so a caller's header replaces ours in any case.
        self._headers: dict[str, tuple[str, str]] = {
            "user-agent": ("User-Agent", USER_AGENT),
            "accept": ("Accept", "*/*"),
        }
        if cfg.bearer_token is not None:
            self._auth: str | None = f"Bearer {cfg.bearer_token.reveal()}"
        elif cfg.username:
            self._auth = _basic(cfg.username, cfg.password.reveal() if cfg.password else "")
        else:
            self._auth = None

    def request(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, str] | None = None,
        json_body: Any = None,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
        follow_redirects: bool = True,
        ok_statuses: tuple[int, ...] = (),
    ) -> Response:
        """Send one request; statuses >= 400 not listed in ``ok_statuses`` raise FetchError."""
        method = method.upper()
        current = url
        if params:
            current += ("&" if "?" in current else "?") + urlencode(params)
        send, body = self._headers_and_body(url, json_body, data, headers)
        origin = urlsplit(current).hostname
        retry = self._retry
        redirects = 0
        while True:
            try:
                status, got, content = self._exchange(url, method, current, send, body)
            except _Failed as failed:
                # The policy is Retry's: which errors count, how often, how long to wait.
                try:
                    retry = retry.increment(method, current, error=failed.error)
                except HTTPError:
                    raise FetchError(url, failed.reason) from None
                retry.sleep()
                continue
            if retry.is_retry(method, status, "retry-after" in got):
                answer = HTTPResponse(headers=got, status=status, preload_content=False)
                try:
                    retry = retry.increment(method, current, response=answer)
                except HTTPError:
                    pass  # retries used up: the last answer is the answer
                else:
                    retry.sleep(answer)
                    continue
            location = got.get("location")
            if (
                follow_redirects
                and status in REDIRECT_STATUSES
                and location
                and method in RETRY_METHODS
            ):
                redirects += 1
                if redirects > MAX_REDIRECTS:
                    raise FetchError(url, f"too many redirects (more than {MAX_REDIRECTS})", status)
                current = urljoin(current, location)
                if status not in (307, 308):
                    body = None
                    send.pop("content-type", None)
                if "authorization" in send and urlsplit(current).hostname != origin:
                    del send["authorization"]  # credentials stay with the host they are for
                continue
            break
        if status >= 400 and status not in ok_statuses:
            raise FetchError(url, error_reason(got, content), status)
        return Response(url, status, got, content)

    def _exchange(
        self,
        url: str,
        method: str,
        current: str,
        send: dict[str, tuple[str, str]],
        body: bytes | None,
    ) -> tuple[int, dict[str, str], bytes]:
        """One request and its answer, on a kept-alive connection when there is one."""
        wire = _wire(url, method, current, send, body)
        key, target, lines = wire.key, wire.target, wire.lines
        conn = self._pool.take(key)
        if conn is not None:
            try:
                return self._attempt(url, key, conn, True, method, target, lines, body)
            except _Stale:
                pass
        conn = self._connect(url, wire.scheme, wire.host, wire.port)
        try:
            return self._attempt(url, key, conn, False, method, target, lines, body)
        except _Stale as stale:
            raise stale.failed from None

    def wire(self, method: str, url: str, json_body: Any = None) -> Wire:
        """The first attempt of ``request(method, url, json_body=...)`` as bytes would carry
        it, for transports other than this one (``core.http_async``); FetchError when the
        URL or body is invalid, as ``request`` raises."""
        send, body = self._headers_and_body(url, json_body, None, None)
        return _wire(url, method.upper(), url, send, body)

    def _headers_and_body(
        self,
        url: str,
        json_body: Any,
        data: bytes | None,
        headers: dict[str, str] | None,
    ) -> tuple[dict[str, tuple[str, str]], bytes | None]:
        send = dict(self._headers)
        body = data
        if json_body is not None:
            try:
                body = json.dumps(json_body, allow_nan=False).encode()
            except (TypeError, ValueError) as exc:
                raise FetchError(url, f"request body is not valid JSON: {exc}") from None
            send["content-type"] = ("Content-Type", "application/json")
        if self._auth is not None:
            send["authorization"] = ("Authorization", self._auth)
        for name, value in (headers or {}).items():
            send[name.lower()] = (name, value)
        return send, body

    def _attempt(
        self,
        url: str,
        key: str,
        conn: http.client.HTTPConnection,
        reused: bool,
        method: str,
        target: str,
        lines: list[tuple[str, str]],
        body: bytes | None,
    ) -> tuple[int, dict[str, str], bytes]:
        read_timeout = self.config.read_timeout_seconds
        try:
            try:
                conn.putrequest(method, target, skip_accept_encoding=True)
                for name, value in lines:
                    conn.putheader(name, value)
                conn.endheaders(body)
            except (http.client.InvalidURL, ValueError) as exc:
                raise FetchError(url, f"invalid URL ({exc})") from None
            except OSError as exc:
                failed = _Failed(reset_reason(exc), ProtocolError("request not sent", exc))
                raise _Stale(failed) if reused else failed from None
            try:
                resp = conn.getresponse()
            except TimeoutError:
                reason = read_timeout_reason(read_timeout)
                raise _Failed(reason, ReadTimeoutError(None, url, reason)) from None  # type: ignore[arg-type]
            except (ConnectionError, http.client.RemoteDisconnected) as exc:
                failed = _Failed("connection reset by peer", ProtocolError("no answer", exc))
                raise _Stale(failed) if reused and method in IDEMPOTENT else failed from None
            except (http.client.HTTPException, OSError) as exc:
                reason = f"invalid HTTP answer ({type(exc).__name__}: {str(exc)[:80]})"
                raise _Failed(reason, ProtocolError(reason, exc)) from None
            status = resp.status
            got: dict[str, str] = {}
            for name, value in resp.getheaders():
                name = name.lower()
                got[name] = f"{got[name]}, {value}" if name in got else value
            try:
                content = self._read_body(url, resp)
            except TimeoutError:
                reason = read_timeout_reason(read_timeout)
                raise _Failed(reason, ReadTimeoutError(None, url, reason)) from None  # type: ignore[arg-type]
            except (http.client.HTTPException, OSError) as exc:
                raise _Failed(BROKEN_BODY, ProtocolError(BROKEN_BODY, exc)) from None
        except BaseException:
            conn.close()
            raise
        if resp.will_close or conn.sock is None:
            conn.close()
        else:
            self._pool.give(key, conn)
        return status, got, content

    def _read_body(self, url: str, resp: http.client.HTTPResponse) -> bytes:
        cap = self.config.max_body_bytes
        length = resp.length  # None when chunked or until the connection closes
        if length is not None:
            if length > cap:
                raise FetchError(url, too_large_reason(cap), resp.status)
            return resp.read()
        chunks: list[bytes] = []
        size = 0
        while chunk := resp.read(READ_CHUNK):
            size += len(chunk)
            if size > cap:
                raise FetchError(url, too_large_reason(cap), resp.status)
            chunks.append(chunk)
        return b"".join(chunks)

    def _connect(self, url: str, scheme: str, host: str, port: int) -> http.client.HTTPConnection:
        """A new connection: connected within the connect timeout, then reads bounded by the
        read timeout."""
        cfg = self.config
        conn: http.client.HTTPConnection
        if scheme == "https":
            conn = http.client.HTTPSConnection(
                host, port, timeout=cfg.connect_timeout_seconds, context=self._tls_context(url)
            )
        else:
            conn = http.client.HTTPConnection(host, port, timeout=cfg.connect_timeout_seconds)
        try:
            conn.connect()
        except BaseException as exc:
            conn.close()
            if not isinstance(exc, OSError):
                raise
            reason = connect_reason(exc, cfg.connect_timeout_seconds)
            error: HTTPError = (
                SSLError(reason) if isinstance(exc, ssl.SSLError) else ConnectTimeoutError(reason)
            )
            raise _Failed(reason, error) from None
        assert conn.sock is not None
        conn.sock.settimeout(cfg.read_timeout_seconds)
        return conn

    def _tls_context(self, url: str) -> ssl.SSLContext:
        with self._tls_lock:
            if self._tls is None:
                cfg = self.config
                try:
                    context = ssl.create_default_context(cafile=cfg.ca_bundle or None)
                    if not cfg.ca_bundle and not cfg.verify_tls:
                        context.check_hostname = False
                        context.verify_mode = ssl.CERT_NONE
                    if cfg.client_cert:
                        context.load_cert_chain(cfg.client_cert, cfg.client_key or None)
                except (OSError, ValueError) as exc:
                    raise FetchError(url, f"TLS setup failed: {exc}") from None
                self._tls = context
            return self._tls

    def get_json(self, url: str, params: dict[str, str] | None = None) -> Any:
        return self.request("GET", url, params=params).json()

    def get_text(self, url: str, params: dict[str, str] | None = None) -> str:
        return self.request("GET", url, params=params).body.decode("utf-8", "replace")

    def close(self) -> None:
        self._pool.clear()

    def __enter__(self) -> Http:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _wire(
    url: str, method: str, current: str, send: dict[str, tuple[str, str]], body: bytes | None
) -> Wire:
    try:
        parts = urlsplit(current)
        port = parts.port
    except ValueError:
        raise FetchError(url, "invalid URL") from None
    scheme, host = parts.scheme, parts.hostname
    if scheme not in ("http", "https"):
        raise FetchError(url, "invalid URL (no http:// or https://)")
    if not host:
        raise FetchError(url, "invalid URL")
    port = port or (443 if scheme == "https" else 80)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    if _UNSAFE.search(target):
        target = quote(target, safe=_SAFE)
    lines = list(send.values())
    if body is not None:
        lines.append(("Content-Length", str(len(body))))
    elif method not in ("GET", "HEAD"):
        lines.append(("Content-Length", "0"))
    return Wire(f"{scheme}://{host}:{port}", scheme, host, port, method, target, lines, body)


def read_timeout_reason(read_timeout: float) -> str:
    return f"no answer within {read_timeout:g}s (read timeout)"


def too_large_reason(cap: int) -> str:
    return f"body larger than {cap} bytes, not read"


def connect_reason(exc: OSError, connect_timeout: float) -> str:
    """A one-line reason for a failed connect (or TLS handshake)."""
    if isinstance(exc, ssl.SSLError | ssl.CertificateError):
        return "TLS handshake failed: " + str(exc)[-160:]
    if isinstance(exc, TimeoutError):
        return f"connect timed out after {connect_timeout:g}s"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.gaierror):
        return "host name not found"
    if isinstance(exc, ConnectionError):
        return "connection reset by peer"
    return "connection failed: " + (exc.strerror or str(exc))[-160:]


def reset_reason(exc: OSError) -> str:
    return (
        "connection reset by peer"
        if isinstance(exc, ConnectionError)
        else ("connection failed: " + (exc.strerror or str(exc))[-160:])
    )
