"""Response faults, scoped to a role, a host and/or a path prefix, optionally for N requests.

Each kind turns the answer the host would have given into a broken one, the way real
clusters break: slow, silent, erroring, answering HTML from a proxy, cutting JSON short,
sending far too much, or resetting the connection.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from clusterwatch.sim.wire import Response

ROLES = ("master", "agent", "marathon", "consul", "chronos", "cadvisor")


class FaultKind(StrEnum):
    DELAY = "delay"  # params: seconds (real seconds, default 2)
    HANG = "hang"  # never answer
    ERROR = "error"  # params: status (default 500)
    HTML = "html"  # an HTML error page from a proxy; params: status (default 502)
    TRUNCATE = "truncate"  # JSON cut short; params: fraction kept (default 0.5)
    HUGE = "huge"  # valid JSON padded to params: bytes (default 20 MB)
    RESET = "reset"  # TCP reset instead of an answer


@dataclass
class Fault:
    id: int
    kind: FaultKind
    role: str | None = None
    host: str | None = None
    path: str | None = None
    remaining: int | None = None  # None: until removed
    params: dict[str, Any] = field(default_factory=dict)

    def matches(self, role: str, host: str, path: str) -> bool:
        return (
            (self.role is None or self.role == role)
            and (self.host is None or self.host == host)
            and (self.path is None or path.startswith(self.path))
        )

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["kind"] = self.kind.value
        return out


_HTML = (
    "<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
    "<center><h1>{status} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)
_REASONS = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
            504: "Gateway Time-out"}  # fmt: skip


def _delay(r: Response, p: dict[str, Any]) -> Response:
    r.delay = float(p.get("seconds", 2.0))
    return r


def _hang(r: Response, p: dict[str, Any]) -> Response:
    r.hang = True
    return r


def _error(r: Response, p: dict[str, Any]) -> Response:
    status = int(p.get("status", 500))
    text = p.get("body", _REASONS.get(status, "Internal Server Error"))
    return Response(status, str(text).encode(), "text/plain; charset=utf-8")


def _html(r: Response, p: dict[str, Any]) -> Response:
    status = int(p.get("status", 502))
    page = _HTML.format(status=status, reason=_REASONS.get(status, "Error"))
    return Response(status, page.encode(), "text/html")


def _truncate(r: Response, p: dict[str, Any]) -> Response:
    keep = max(1, int(len(r.body) * float(p.get("fraction", 0.5))))
    r.body = r.body[: min(keep, max(len(r.body) - 1, 1))]
    return r


def _huge(r: Response, p: dict[str, Any]) -> Response:
    size = int(p.get("bytes", 20 * 1024 * 1024))
    r.body = r.body + b" " * max(0, size - len(r.body))  # trailing blanks: still valid JSON
    return r


def _reset(r: Response, p: dict[str, Any]) -> Response:
    r.reset = True
    return r


APPLY: dict[FaultKind, Callable[[Response, dict[str, Any]], Response]] = {
    FaultKind.DELAY: _delay,
    FaultKind.HANG: _hang,
    FaultKind.ERROR: _error,
    FaultKind.HTML: _html,
    FaultKind.TRUNCATE: _truncate,
    FaultKind.HUGE: _huge,
    FaultKind.RESET: _reset,
}


class FaultTable:
    def __init__(self) -> None:
        self._faults: dict[int, Fault] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def add(
        self,
        kind: str,
        role: str | None = None,
        host: str | None = None,
        path: str | None = None,
        count: int | None = None,
        **params: Any,
    ) -> Fault:
        try:
            fault_kind = FaultKind(kind)
        except ValueError:
            known = ", ".join(k.value for k in FaultKind)
            raise ValueError(f"unknown fault kind {kind!r}; known: {known}") from None
        if role is not None and role not in ROLES:
            raise ValueError(f"unknown role {role!r}; known: {', '.join(ROLES)}")
        if count is not None and count < 1:
            raise ValueError("count must be >= 1")
        with self._lock:
            fault = Fault(next(self._ids), fault_kind, role, host, path, count, dict(params))
            self._faults[fault.id] = fault
            return fault

    def remove(self, fault_id: int) -> bool:
        with self._lock:
            return self._faults.pop(fault_id, None) is not None

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def list(self) -> list[Fault]:
        with self._lock:
            return list(self._faults.values())

    def __bool__(self) -> bool:
        return bool(self._faults)

    def take(self, role: str, host: str, path: str) -> Fault | None:
        """The first fault that applies to this request, counting it down."""
        if not self._faults:
            return None
        with self._lock:
            for fault in self._faults.values():
                if fault.matches(role, host, path):
                    if fault.remaining is not None:
                        fault.remaining -= 1
                        if fault.remaining <= 0:
                            del self._faults[fault.id]
                    return fault
        return None


def apply(fault: Fault, response: Response) -> Response:
    return APPLY[fault.kind](response, fault.params)
