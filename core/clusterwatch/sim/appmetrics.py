"""Pure builder for an application's Prometheus ``/metrics`` text.

The simulated app serves what a typical instrumented web service exposes (the names
client_golang's promhttp examples and client_python's process collector use):
``http_requests_total{code,handler,method}``, the ``http_request_duration_seconds``
histogram per ``{handler,method}``, the ``http_requests_in_flight`` gauge and the
``process_*`` family. Everything is derived from the inputs: each route receives
``rate_per_second`` requests for ``uptime_seconds``, each taking ``latency_seconds``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from clusterwatch.sim.prometheus_text import family, format_labels, format_value

DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)


@dataclass(frozen=True)
class Route:
    """Traffic on one (handler, method, code): a steady rate and a fixed latency."""

    handler: str
    rate_per_second: float
    latency_seconds: float
    method: str = "GET"
    code: str = "200"


@dataclass(frozen=True)
class ProcessSample:
    """Values for the ``process_*`` family."""

    cpu_seconds: float
    resident_bytes: int
    virtual_bytes: int
    start_time_seconds: float
    open_fds: int
    max_fds: int = 1024


@dataclass(frozen=True)
class AppTraffic:
    """Everything one scrape of the app reports."""

    uptime_seconds: float
    routes: tuple[Route, ...]
    in_flight: int = 0
    process: ProcessSample | None = None
    buckets: tuple[float, ...] = DEFAULT_BUCKETS


def request_count(route: Route, uptime_seconds: float) -> int:
    """Requests a route has served so far (whole requests only)."""
    return int(route.rate_per_second * uptime_seconds)


def _counters(t: AppTraffic) -> list[str]:
    totals: dict[tuple[str, str, str], int] = defaultdict(int)
    for r in t.routes:
        totals[(r.code, r.handler, r.method)] += request_count(r, t.uptime_seconds)
    return [
        "http_requests_total"
        + format_labels({"code": code, "handler": handler, "method": method})
        + f" {n}"
        for (code, handler, method), n in sorted(totals.items())
    ]


def _histogram(t: AppTraffic) -> list[str]:
    by_key: dict[tuple[str, str], list[Route]] = defaultdict(list)
    for r in t.routes:
        by_key[(r.handler, r.method)].append(r)
    name = "http_request_duration_seconds"
    lines: list[str] = []
    for (handler, method), routes in sorted(by_key.items()):
        base = {"handler": handler, "method": method}
        counted = [(request_count(r, t.uptime_seconds), r.latency_seconds) for r in routes]
        for le in t.buckets:
            n = sum(c for c, lat in counted if lat <= le)
            lines.append(f"{name}_bucket{format_labels({**base, 'le': repr(le)})} {n}")
        total = sum(c for c, _ in counted)
        lines.append(f"{name}_bucket{format_labels({**base, 'le': '+Inf'})} {total}")
        lines.append(
            f"{name}_sum{format_labels(base)} {format_value(sum(c * lat for c, lat in counted))}"
        )
        lines.append(f"{name}_count{format_labels(base)} {total}")
    return lines


# fmt: off
PROCESS_METRICS: Sequence[tuple[str, str, str, str]] = (
    # name                            type       help                               field
    ("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.",
     "cpu_seconds"),
    ("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
     "resident_bytes"),
    ("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.",
     "virtual_bytes"),
    ("process_start_time_seconds", "gauge",
     "Start time of the process since unix epoch in seconds.", "start_time_seconds"),
    ("process_open_fds", "gauge", "Number of open file descriptors.", "open_fds"),
    ("process_max_fds", "gauge", "Maximum number of open file descriptors.", "max_fds"),
)
# fmt: on


def app_metrics(t: AppTraffic) -> str:
    """The ``/metrics`` body (text exposition format 0.0.4)."""
    out = family(
        "http_requests_total",
        "counter",
        "Total number of HTTP requests by status code, handler and method.",
        _counters(t),
    )
    out += family(
        "http_request_duration_seconds",
        "histogram",
        "Latency of HTTP requests in seconds.",
        _histogram(t),
    )
    out += family(
        "http_requests_in_flight",
        "gauge",
        "Number of HTTP requests currently being served.",
        [f"http_requests_in_flight {t.in_flight}"],
    )
    if t.process is not None:
        for name, kind, help_text, attr in PROCESS_METRICS:
            value = format_value(float(getattr(t.process, attr)))
            out += family(name, kind, help_text, [f"{name} {value}"])
    return "\n".join(out) + "\n"
