"""Path routing and JSON answers shared by every simulated service."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any

from clusterwatch.sim.wire import Request, Response, plain

if TYPE_CHECKING:
    from clusterwatch.sim.engine import Simulation

Endpoint = Callable[[Request, dict[str, str]], Response]


def json_body(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode()


def json_response(
    data: Any, status: int = 200, headers: list[tuple[str, str]] | None = None
) -> Response:
    return Response(status, json_body(data), "application/json", headers or [])


class BodyCache:
    """One answer body, built again only when the simulated tick, the model (see
    ``Simulation.cache_key``) or the answer's ``variant`` changes."""

    def __init__(self) -> None:
        self._key: Hashable = None
        self._body = b""

    def current(
        self, sim: Simulation, build: Callable[[float], bytes], variant: Hashable = None
    ) -> bytes:
        """The body for now: ``build(now)`` after bringing ``sim`` up to now, or the one built
        last while the key stays the same (``variant``: another dimension of the answer, such
        as a sample count); under the simulation's lock, as every model read is."""
        with sim.lock:
            now = sim.sync()
            key = (sim.cache_key(now), variant)
            if key != self._key:
                self._body = build(now)
                self._key = key
            return self._body


class Router:
    """Exact paths first, then patterns such as ``/v2/apps/(?P<app_id>.+)``, in order."""

    def __init__(self) -> None:
        self._exact: dict[str, dict[str, Endpoint]] = {}
        self._patterns: list[tuple[re.Pattern[str], dict[str, Endpoint]]] = []

    def add(self, methods: str, path: str, endpoint: Endpoint) -> None:
        for method in methods.split(","):
            if "(?P<" in path:
                pattern = re.compile(path + r"\Z")
                table = next((t for p, t in self._patterns if p.pattern == pattern.pattern), None)
                if table is None:
                    table = {}
                    self._patterns.append((pattern, table))
                table[method] = endpoint
            else:
                self._exact.setdefault(path, {})[method] = endpoint
            if method == "GET":
                self.add("HEAD", path, endpoint)

    def dispatch(self, request: Request, not_found: Callable[[Request], Response]) -> Response:
        table = self._exact.get(request.path)
        params: dict[str, str] = {}
        if table is None:
            for pattern, candidate in self._patterns:
                match = pattern.match(request.path)
                if match:
                    table, params = candidate, match.groupdict()
                    break
        if table is None:
            return not_found(request)
        endpoint = table.get(request.method)
        if endpoint is None:
            allowed = ", ".join(sorted(table))
            response = plain(405, f"Expecting one of {{ '{allowed}' }}, but received '"
                                  f"{request.method}'")  # fmt: skip
            response.headers.append(("Allow", allowed))
            return response
        return endpoint(request, params)
