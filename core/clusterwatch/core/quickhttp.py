"""A small HTTP GET for the Nagios plugins: stdlib socket, one request, JSON decoded with care.

The plugins start once per check run, so what they import is paid on every run: ``requests``
costs ~100 ms, ``http.client`` ~15 ms. ``http://`` here is one ``HTTP/1.0`` request on a raw
socket, bounded by one deadline for connect, send and read; ``https://`` goes through
``http.client`` (imported only then). Chunked bodies are decoded, a body shorter than its
``Content-Length`` is reported as cut short.

Every failure is a :class:`~clusterwatch.core.errors.FetchError` whose reason a user can act on:
``connection refused``, ``timed out after 2s``, ``cannot resolve host``, ``connection reset``,
``expected JSON, got an HTML page (502 Bad Gateway)``, ``truncated JSON (...)``,
``invalid JSON: ...``, ``HTTP 503: No leader elected``.
"""

from __future__ import annotations

import json
import time

from clusterwatch.core.errors import FetchError
from clusterwatch.core.sockread import (
    ReplyTooLarge,
    connect,
    read_until_closed,
    socket_error_reason,
)

TYPE_CHECKING = False  # typing costs start-up time: annotations only
if TYPE_CHECKING:
    from _socket import socket
    from collections.abc import Callable, Collection, Mapping
    from typing import Any

MAX_BYTES = 64 * 1024 * 1024
USER_AGENT = "clusterwatch-check"


class Reply:
    """One HTTP answer: status, reason, headers (lower-case names) and the raw body."""

    __slots__ = ("body", "headers", "reason", "status", "url")

    def __init__(
        self, url: str, status: int, reason: str, headers: dict[str, str], body: bytes
    ) -> None:
        self.url = url
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body

    def __repr__(self) -> str:
        return f"Reply({self.url!r}, {self.status}, {len(self.body)} bytes)"

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def json(self) -> Any:
        return decode_json(self.url, self.status, self.headers, self.body)

    def error_text(self) -> str:
        """A short description of an error body (the HTML title, or its first words)."""
        return error_reason(self.headers, self.body) or self.reason or "unexpected status"


# --------------------------------------------------------------------------- bodies


def excerpt(text: str, limit: int = 60) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def looks_like_html(headers: Mapping[str, str], body: bytes) -> bool:
    return "html" in headers.get("content-type", "").lower() or body.lstrip()[:1] == b"<"


def html_title(body: bytes) -> str:
    text = body[:65536].decode("utf-8", "replace")
    start = text.lower().find("<title")
    if start < 0:
        return "no title"
    start = text.find(">", start) + 1
    end = text.lower().find("</title>", start)
    title = excerpt(text[start : end if end >= 0 else start + 120], 120)
    return title or "no title"


def error_reason(headers: Mapping[str, str], body: bytes) -> str:
    if not body.strip():
        return ""
    if looks_like_html(headers, body):
        return f"HTML error page ({html_title(body)})"
    try:
        data = json.loads(body)
    except ValueError:
        return excerpt(body[:400].decode("utf-8", "replace"))
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict):  # Elasticsearch: the root cause says more ("all shards...")
            causes = error.get("root_cause")
            first = causes[0] if isinstance(causes, list) and causes else error
            reason = first.get("reason") if isinstance(first, dict) else None
            if isinstance(reason, str) or isinstance(reason := error.get("reason"), str):
                return excerpt(reason, 120)
        for key in ("message", "error", "reason"):
            if isinstance(data.get(key), str):
                return excerpt(data[key], 120)
    return excerpt(body[:400].decode("utf-8", "replace"))


def decode_json(
    url: str,
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    loads: Callable[[bytes], Any] = json.loads,
) -> Any:
    """The JSON body, or a FetchError saying what the body was instead. ``loads`` must raise
    what ``json.loads`` raises (the collectors pass a faster one that falls back to it)."""
    if not body.strip():
        raise FetchError(url, "empty body where JSON was expected", status)
    if looks_like_html(headers, body):
        raise FetchError(url, f"expected JSON, got an HTML page ({html_title(body)})", status)
    try:
        return loads(body)
    except UnicodeDecodeError:
        raise FetchError(url, "body is not UTF-8 text", status) from None
    except json.JSONDecodeError as exc:
        # An error at the very end, or a string never closed, means the body was cut short.
        cut_short = exc.pos >= len(body.rstrip()) - 1 or exc.msg.startswith("Unterminated")
        reason = (
            f"truncated JSON (body ends at byte {len(body)})"
            if cut_short
            else f"invalid JSON: {exc.msg} (byte {exc.pos} of {len(body)})"
        )
        raise FetchError(url, reason, status) from None


# --------------------------------------------------------------------------- transport


def _split(url: str) -> tuple[str, str, int, str]:
    """``scheme, host, port, path?query`` (urllib.parse would cost start-up time)."""
    scheme, sep, rest = url.partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in ("http", "https"):
        raise FetchError(url, "URL must be http:// or https://host[:port]/path")
    cut = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    netloc, path = rest[:cut].rpartition("@")[2], rest[cut:].partition("#")[0]
    if netloc.startswith("["):  # [IPv6]:port
        host, _, tail = netloc[1:].partition("]")
        port_text = tail[1:] if tail.startswith(":") else ""
        if tail and not tail.startswith(":"):
            raise FetchError(url, "bad host in URL")
    else:
        host, _, port_text = netloc.partition(":")
    if not host:
        raise FetchError(url, "URL must be http:// or https://host[:port]/path")
    if port_text and (not port_text.isdigit() or not 0 < int(port_text) < 65536):
        raise FetchError(url, "bad port in URL")
    port = int(port_text) if port_text else (443 if scheme == "https" else 80)
    if not path.startswith("/"):
        path = "/" + path
    return scheme, host, port, path


def _read_all(sock: socket, deadline: float) -> bytes:
    try:
        return read_until_closed(sock, deadline, MAX_BYTES)
    except ReplyTooLarge as exc:
        raise FetchError("", str(exc)) from None


def dechunk(body: bytes) -> bytes:
    """Decode a ``Transfer-Encoding: chunked`` body; a missing last chunk means cut short."""
    out: list[bytes] = []
    rest = body
    while True:
        size_line, sep, rest = rest.partition(b"\r\n")
        if not sep:
            raise FetchError("", "connection closed inside a chunked body (truncated reply)")
        try:
            size = int(size_line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise FetchError("", "bad chunked encoding") from None
        if size == 0:
            return b"".join(out)
        if len(rest) < size:
            raise FetchError("", "connection closed inside a chunked body (truncated reply)")
        out.append(rest[:size])
        rest = rest[size + 2 :]


def parse_reply(url: str, raw: bytes) -> Reply:
    """Split a raw HTTP/1.x answer into a Reply (chunks decoded, length checked)."""
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        head, sep, body = raw.partition(b"\n\n")
    lines = head.decode("latin-1").splitlines()
    words = lines[0].strip().split(" ", 2) if lines else []
    if len(words) < 2 or not words[0].startswith("HTTP/") or not words[1].isdigit():
        what = excerpt(lines[0]) if lines and lines[0].strip() else "nothing"
        raise FetchError(url, f"not an HTTP reply: {what!r}")
    if not sep:
        raise FetchError(url, "connection closed inside the HTTP headers (truncated reply)")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip().lower()] = value.strip()
    if "chunked" in headers.get("transfer-encoding", "").lower():
        try:
            body = dechunk(body)
        except FetchError as exc:
            raise FetchError(url, exc.reason) from None
    elif headers.get("content-length", "").isdigit():
        length = int(headers["content-length"])
        if len(body) < length:
            raise FetchError(url, f"truncated reply ({len(body)} of {length} bytes)")
        body = body[:length]
    return Reply(url, int(words[1]), words[2] if len(words) > 2 else "", headers, body)


def _get_http(
    url: str, host: str, port: int, path: str, headers: Mapping[str, str], deadline: float
) -> Reply:
    lines = [f"GET {path} HTTP/1.0", f"Host: {host}:{port}", "Connection: close",
             f"User-Agent: {USER_AGENT}", "Accept: application/json"]  # fmt: skip
    lines += [f"{k}: {v}" for k, v in headers.items()]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    left = max(0.001, deadline - time.monotonic())
    sock = connect(host, port, left)
    try:
        sock.sendall(request)
        raw = _read_all(sock, deadline)
    finally:
        sock.close()
    return parse_reply(url, raw)


def _get_https(
    url: str, host: str, port: int, path: str, headers: Mapping[str, str], timeout: float
) -> Reply:
    import http.client  # only for TLS: it costs start-up time the plain path does not pay

    conn = http.client.HTTPSConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"User-Agent": USER_AGENT, **headers,
                                           "Connection": "close"})  # fmt: skip
        response = conn.getresponse()
        body = response.read(MAX_BYTES + 1)
    except http.client.IncompleteRead:
        raise FetchError(url, "truncated reply") from None
    except http.client.HTTPException as exc:
        raise FetchError(url, f"bad HTTP reply ({type(exc).__name__})") from None
    finally:
        conn.close()
    if len(body) > MAX_BYTES:
        raise FetchError(url, f"reply longer than {MAX_BYTES} bytes")
    found = {k.lower(): v for k, v in response.getheaders()}
    return Reply(url, response.status, response.reason, found, body)


def get(url: str, timeout: float, headers: Mapping[str, str] | None = None) -> Reply:
    """GET ``url`` within ``timeout`` seconds, all included; any status is returned."""
    scheme, host, port, path = _split(url)
    extra = dict(headers or {})
    try:
        if scheme == "https":
            return _get_https(url, host, port, path, extra, timeout)
        return _get_http(url, host, port, path, extra, time.monotonic() + timeout)
    except FetchError as exc:
        if exc.target:
            raise
        raise FetchError(url, exc.reason) from None
    except OSError as exc:
        raise FetchError(url, socket_error_reason(exc, timeout)) from None


def get_json(
    url: str,
    timeout: float,
    headers: Mapping[str, str] | None = None,
    accept: Collection[int] = (200,),
) -> Any:
    """GET and decode JSON; a status outside ``accept`` is a FetchError naming the status."""
    reply = get(url, timeout, headers)
    if reply.status not in accept:
        raise FetchError(url, reply.error_text(), reply.status)
    return reply.json()


def join(base: str, path: str) -> str:
    """``base`` (``http://host:port`` or ``host:port``, maybe with a trailing ``/``) + path."""
    if "://" not in base:
        base = "http://" + base
    return base.rstrip("/") + path


# --------------------------------------------------------------------------- query strings
# urllib.parse costs ~3 ms of start-up (it builds a dozen named tuples); these are its quote()
# and urlencode() for text, byte for byte (UTF-8, upper-case hex).

_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~")


def quote(text: str, safe: str = "/") -> str:
    """``urllib.parse.quote``: every character but letters, digits, ``_.-~`` and ``safe``
    (ASCII only) percent-encoded as UTF-8."""
    keep = _UNRESERVED.union(c for c in safe if c < "\x80")
    return "".join(c if c in keep else "".join(f"%{byte:02X}" for byte in c.encode()) for c in text)


def quote_plus(text: str, safe: str = "") -> str:
    """``urllib.parse.quote_plus``: :func:`quote`, with spaces as ``+``."""
    return quote(text, safe + " ").replace(" ", "+")


def urlencode(params: Mapping[str, str | int]) -> str:
    """``urllib.parse.urlencode`` of one value per name: ``a=1&b=x+y``."""
    return "&".join(f"{quote_plus(str(k))}={quote_plus(str(v))}" for k, v in params.items())
