"""The one way the collectors and the autoscaler talk HTTP.

A requests Session per target (scheme://host:port) keeps connections alive; timeouts are
always set; idempotent GETs are retried with backoff by urllib3's ``Retry``; every failure
becomes a ``FetchError`` with a short reason a user can act on (never a traceback).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from clusterwatch.core.config_schema import HttpConfig
from clusterwatch.core.errors import FetchError
from clusterwatch.core.version import __version__

USER_AGENT = f"clusterwatch/{__version__}"
RETRY_STATUSES = (502, 503, 504)
_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True, slots=True)
class Response:
    url: str
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return decode_json(self.url, self.status, self.headers, self.body)


def target_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def looks_like_html(headers: dict[str, str], body: bytes) -> bool:
    ctype = headers.get("content-type", "").lower()
    return "html" in ctype or body.lstrip()[:1] == b"<"


def html_title(body: bytes) -> str:
    match = _TITLE.search(body[:65536])
    if not match:
        return "no title"
    return " ".join(match.group(1).decode("utf-8", "replace").split())[:120]


def decode_json(url: str, status: int, headers: dict[str, str], body: bytes) -> Any:
    """Parse a JSON body or raise FetchError saying what the body was instead."""
    if not body.strip():
        raise FetchError(url, "empty body where JSON was expected", status)
    if looks_like_html(headers, body):
        raise FetchError(url, f"expected JSON, got an HTML page ({html_title(body)})", status)
    try:
        return json.loads(body)
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


def error_reason(headers: dict[str, str], body: bytes) -> str:
    if looks_like_html(headers, body):
        return f"HTML error page ({html_title(body)})"
    text = body[:200].decode("utf-8", "replace").strip()
    return " ".join(text.split()) or "no body"


class Http:
    """HTTP access with per-target sessions; thread-safe enough for one thread per target."""

    def __init__(self, config: HttpConfig | None = None) -> None:
        self.config = config or HttpConfig()
        self._sessions: dict[str, requests.Session] = {}

    def _session(self, url: str) -> requests.Session:
        key = target_of(url)
        session = self._sessions.get(key)
        if session is None:
            session = self._new_session()
            self._sessions[key] = session
        return session

    def _new_session(self) -> requests.Session:
        cfg = self.config
        retry = Retry(
            total=cfg.retries,
            connect=cfg.retries,
            read=cfg.retries,
            status=cfg.retries,
            backoff_factor=cfg.backoff_factor,
            status_forcelist=RETRY_STATUSES,
            allowed_methods=frozenset({"GET", "HEAD"}),
            raise_on_status=False,
            respect_retry_after_header=True,
        )
        session = requests.Session()
        adapter = HTTPAdapter(max_retries=retry, pool_maxsize=32)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        session.headers["User-Agent"] = USER_AGENT
        session.verify = cfg.ca_bundle or cfg.verify_tls
        if cfg.client_cert:
            session.cert = (cfg.client_cert, cfg.client_key) if cfg.client_key else cfg.client_cert
        if cfg.bearer_token is not None:
            session.headers["Authorization"] = f"Bearer {cfg.bearer_token.reveal()}"
        elif cfg.username:
            password = cfg.password.reveal() if cfg.password else ""
            session.auth = (cfg.username, password)
        return session

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
        cfg = self.config
        timeout = (cfg.connect_timeout_seconds, cfg.read_timeout_seconds)
        try:
            with self._session(url).request(
                method,
                url,
                params=params,
                json=json_body,
                data=data,
                headers=headers,
                timeout=timeout,
                allow_redirects=follow_redirects,
                stream=True,
            ) as raw:
                body = self._read_capped(url, raw)
                headers = {k.lower(): v for k, v in raw.headers.items()}
                status = raw.status_code
        except FetchError:
            raise
        except requests.exceptions.RequestException as exc:
            raise FetchError(url, describe_request_error(exc, timeout)) from None
        if status >= 400 and status not in ok_statuses:
            raise FetchError(url, error_reason(headers, body), status)
        return Response(url, status, headers, body)

    def _read_capped(self, url: str, raw: requests.Response) -> bytes:
        cap = self.config.max_body_bytes
        chunks: list[bytes] = []
        size = 0
        for chunk in raw.iter_content(chunk_size=65536):
            size += len(chunk)
            if size > cap:
                raise FetchError(url, f"body larger than {cap} bytes, not read", raw.status_code)
            chunks.append(chunk)
        return b"".join(chunks)

    def get_json(self, url: str, params: dict[str, str] | None = None) -> Any:
        return self.request("GET", url, params=params).json()

    def get_text(self, url: str, params: dict[str, str] | None = None) -> str:
        return self.request("GET", url, params=params).body.decode("utf-8", "replace")

    def close(self) -> None:
        for session in self._sessions.values():
            session.close()
        self._sessions.clear()

    def __enter__(self) -> Http:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def describe_request_error(
    exc: requests.exceptions.RequestException, timeout: tuple[float, float]
) -> str:
    """A one-line reason for a requests exception (the chain underneath is noise to users)."""
    text = str(exc)
    reasons: list[tuple[type[BaseException], str]] = [
        (requests.exceptions.ConnectTimeout, f"connect timed out after {timeout[0]:g}s"),
        (requests.exceptions.ReadTimeout, f"no answer within {timeout[1]:g}s (read timeout)"),
        (requests.exceptions.SSLError, "TLS handshake failed: " + text[-160:]),
        (requests.exceptions.RetryError, "gave up after retries: " + text[-120:]),
        (requests.exceptions.ChunkedEncodingError, "connection broken while reading the body"),
        (requests.exceptions.InvalidURL, "invalid URL"),
        (requests.exceptions.MissingSchema, "invalid URL (no http:// or https://)"),
    ]
    for kind, reason in reasons:
        if isinstance(exc, kind):
            return reason
    if isinstance(exc, requests.exceptions.ConnectionError):
        lowered = text.lower()
        if "refused" in lowered:
            return "connection refused"
        if "reset" in lowered or "aborted" in lowered or "remotedisconnected" in lowered:
            return "connection reset by peer"
        if "name or service not known" in lowered or "nodename nor servname" in lowered:
            return "host name not found"
        if "read timed out" in lowered:
            return f"no answer within {timeout[1]:g}s (read timeout)"
        if "timed out" in lowered:
            return f"connect timed out after {timeout[0]:g}s"
        return "connection failed: " + text[-160:]
    return f"{type(exc).__name__}: {text[-160:]}"
