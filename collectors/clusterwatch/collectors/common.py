"""What every collector module shares: schema declarations, per-target error capture, URLs.

Collector modules are fetch + pure mappers; this module holds the small helpers they all
need, so none of them copies another: :class:`Schema` (what a measurement may carry, read by
the catalog), :func:`guarded` (a failing target becomes a ``TargetError``, never an
exception), :func:`fan_out` (the same fetch on many targets, a few threads at a time),
:func:`collect_each_async` (per-target collection on one asyncio thread, or worker
processes, points streamed to ``ctx.emit``),
:class:`Shape` errors for bodies of the wrong shape, and time and URL helpers.
"""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

from clusterwatch.core.collect import CollectContext, CollectResult, TargetError
from clusterwatch.core.errors import FetchError
from clusterwatch.core.http_async import AsyncHttp
from clusterwatch.core.metric_table import Kind, MetricTable

T = TypeVar("T")
R = TypeVar("R")

MB = 1024.0 * 1024.0  # Mesos and Marathon count memory and disk in megabytes
MESOS_COUNTS = ("cpus", "gpus")
MESOS_SIZES = ("mem", "disk")  # megabytes in Mesos, bytes in our schema


# The process-level system/* keys every Mesos master and agent snapshot carries.
MESOS_SYSTEM: dict[Any, tuple[str, Kind]] = {
    f"system/{key}": (f"system_{key}", Kind.GAUGE)
    for key in ("cpus_total", "load_1min", "load_5min", "load_15min", "mem_total_bytes",
                "mem_free_bytes")
}  # fmt: skip


def mesos_resources(key: Callable[[str], Any], suffix: str) -> dict[Any, tuple[str, Kind, float]]:
    """Table entries for one Mesos resources block: ``cpus_<suffix>``, ``gpus_<suffix>`` and
    ``mem_<suffix>_bytes``, ``disk_<suffix>_bytes``; ``key`` gives a resource's source key."""
    entries = {key(r): (f"{r}_{suffix}", Kind.GAUGE, 1.0) for r in MESOS_COUNTS}
    entries.update({key(r): (f"{r}_{suffix}_bytes", Kind.GAUGE, MB) for r in MESOS_SIZES})
    return entries
MAX_WORKERS = 16
# Requests in flight at once on the asyncio path (per-agent sources): enough to keep the
# servers busy while this thread maps answers, few enough to stay well within fd limits.
CONCURRENCY = 64


@dataclass(frozen=True)
class Schema:
    """One measurement a collector writes: its tags and every field with its kind.

    ``tables`` give most fields; ``extra`` lists fields a mapper computes itself (rates,
    counts, ages). ``dynamic`` is the kind of fields whose names come from the source
    (``app_metrics``), None when every field is listed here.
    """

    measurement: str
    tags: tuple[str, ...]
    doc: str
    tables: tuple[MetricTable, ...] = ()
    extra: Mapping[str, Kind] = field(default_factory=dict)
    dynamic: Kind | None = None

    def fields(self) -> dict[str, Kind]:
        out: dict[str, Kind] = {}
        for table in self.tables:
            if table.measurement != self.measurement:
                raise ValueError(f"table for {table.measurement} in {self.measurement}'s schema")
            out.update(table.field_kinds())
        out.update(self.extra)
        return out

    def sources(self) -> dict[str, str]:
        """Field name -> the source key(s) it is read from, for the schema document."""
        out: dict[str, list[str]] = {}
        for table in self.tables:
            for key, spec in table.fields.items():
                text = key if isinstance(key, str) else ".".join(key)
                out.setdefault(spec.name, []).append(text)
        return {name: ", ".join(keys) for name, keys in out.items()}


class ShapeError(ValueError):
    """A body parsed, but is not shaped like the endpoint's answer (a list for an object...)."""


def as_dict(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ShapeError(f"{what}: expected a JSON object, got {type(value).__name__}")
    return value


def as_list(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise ShapeError(f"{what}: expected a JSON array, got {type(value).__name__}")
    return value


def sub(doc: Mapping[str, Any], key: str) -> dict[str, Any]:
    """``doc[key]`` when it is an object, else an empty one."""
    value = doc.get(key)
    return value if isinstance(value, dict) else {}


def dicts(value: Any) -> list[dict[str, Any]]:
    """The objects in a list, ignoring anything else (a list of something else is empty)."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def describe(exc: Exception) -> str:
    if isinstance(exc, FetchError):
        return f"HTTP {exc.status}: {exc.reason}" if exc.status is not None else exc.reason
    return f"unexpected response: {exc}"


# Fetch failures and bodies of the wrong shape (``ValueError``, which ``ShapeError`` and the
# core parsers raise) are per-target errors; anything else is a bug and propagates.
TARGET_FAILURES = (FetchError, ValueError)


def guarded(result: CollectResult, target: str, fn: Callable[[], T]) -> T | None:
    """``fn()``, or None with the failure (one of ``TARGET_FAILURES``) recorded against
    ``target``."""
    try:
        return fn()
    except TARGET_FAILURES as exc:
        result.errors.append(TargetError(target, describe(exc)))
        return None


def fan_out(fn: Callable[[T], R], items: Iterable[T], workers: int = MAX_WORKERS) -> list[R]:
    """``[fn(item) for item in items]`` on a few threads (fetches are I/O-bound), in order."""
    todo = list(items)
    if len(todo) <= 1:
        return [fn(item) for item in todo]
    with ThreadPoolExecutor(max_workers=min(workers, len(todo))) as pool:
        return list(pool.map(fn, todo))


async def guarded_async(result: CollectResult, target: str, work: Awaitable[T]) -> T | None:
    """``await work``, or None with the failure recorded against ``target`` (as ``guarded``)."""
    try:
        return await work
    except TARGET_FAILURES as exc:
        result.errors.append(TargetError(target, describe(exc)))
        return None


def collect_each_async(
    ctx: CollectContext,
    result: CollectResult,
    fn: Callable[[CollectContext, AsyncHttp, T], Coroutine[Any, Any, CollectResult]],
    items: Iterable[T],
    concurrency: int = CONCURRENCY,
) -> CollectResult:
    """Per-target collection for thousands of targets: ``fn(ctx, client, item)`` for every item
    on one asyncio thread, at most ``concurrency`` at a time, with ``client`` an
    :class:`~clusterwatch.core.http_async.AsyncHttp` on ``ctx.http``. Mapping runs between
    answers on the same thread, so no thread waits for the GIL. Points are streamed to
    ``ctx.emit`` as each item is done or, without it, merged in the items' order.

    With many items and ``ctx.emit_lines`` set, the items are split over worker processes
    instead (see ``collectors.processes``); ``fn`` must then be a module-level function (or
    a ``functools.partial`` of one), so it can be sent to them.
    """
    todo = list(items)
    from clusterwatch.collectors import processes  # (it imports this module)

    workers = processes.process_count(ctx, len(todo))
    if workers > 1:
        return processes.collect_in_processes(ctx, result, fn, todo, workers)
    parts: list[CollectResult | None] = [None] * len(todo)
    emit = ctx.emit

    async def run() -> None:
        async with AsyncHttp(ctx.http) as client:
            queue = iter(enumerate(todo))  # shared by the workers: one thread, no lock

            async def worker() -> None:
                for index, item in queue:
                    part = await fn(ctx, client, item)
                    if emit is not None and part.points:
                        emit(part.points)
                        part.points_emitted += len(part.points)
                        part.points = []
                    parts[index] = part

            await asyncio.gather(*(worker() for _ in range(min(concurrency, len(todo)))))

    if todo:
        asyncio.run(run())
    return merge(result, (part for part in parts if part is not None))


def merge(result: CollectResult, parts: Iterable[CollectResult]) -> CollectResult:
    for part in parts:
        result.points.extend(part.points)
        result.errors.extend(part.errors)
        result.targets_total += part.targets_total
        result.points_emitted += part.points_emitted
    return result


# -- URLs and hosts --------------------------------------------------------------------


def base_url(address: str, default_port: int, scheme: str = "http") -> str:
    """``host``, ``host:port`` or a full URL -> ``scheme://host:port`` (no trailing slash)."""
    text = address.strip().rstrip("/")
    if "://" in text:
        return text
    if text.startswith("//"):
        return f"{scheme}:{text}"
    host_part = text.rsplit("]", 1)[-1]
    if ":" not in host_part:
        text = f"{text}:{default_port}"
    return f"{scheme}://{text}"


def host_of(url: str) -> str:
    return urlsplit(url).hostname or url


def join(base: str, path: str) -> str:
    return base.rstrip("/") + "/" + path.lstrip("/")


# -- time ------------------------------------------------------------------------------


_ISO = re.compile(r"^(?P<base>[^.]+?)(?:\.(?P<fraction>\d+))?(?P<zone>Z|[+-]\d\d:?\d\d)$")


def iso_to_ns(text: Any) -> int | None:
    """ISO 8601 / RFC 3339 with a zone (``2014-03-08T16:57:17.507Z``, cAdvisor's nanosecond
    ``...53.544235192Z``) -> epoch nanoseconds, exact; None when it is not such a time."""
    match = _ISO.match(text) if isinstance(text, str) else None
    if match is None:
        return None
    seconds = _epoch_seconds(match.group("base"), match.group("zone"))
    if seconds is None:
        return None
    fraction = (match.group("fraction") or "")[:9].ljust(9, "0")
    return seconds * 1_000_000_000 + int(fraction)


@functools.lru_cache(maxsize=4096)
def _epoch_seconds(base: str, zone: str) -> int | None:
    """Whole seconds of ``base`` + ``zone``; cached, as the samples of one cycle share a few
    seconds (parsing them was a quarter of mapping a cAdvisor container)."""
    try:
        moment = datetime.fromisoformat(base + ("+00:00" if zone == "Z" else zone))
    except ValueError:
        return None
    return int(moment.timestamp())


def age_seconds(text: Any, now_ns: int) -> float | None:
    """Seconds from an ISO 8601 time to ``now_ns``; None when there is no usable time."""
    then = iso_to_ns(text)
    return None if then is None else (now_ns - then) / 1e9


# -- Marathon task ids -----------------------------------------------------------------

# Marathon task ids are the app id with "/" written as "_", a separator, then a UUID,
# optionally "instance-"/"marathon-" prefixed and "._app.N"-suffixed (1.4+). App ids may not
# contain "_", so the mapping back is exact.
_TASK_ID = re.compile(
    r"^(?P<prefix>[a-z0-9._-]+?)[._](?:instance-|marathon-)?"
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?:\..*)?$"
)


def marathon_app_id(task_id: Any) -> str | None:
    """The Marathon app id a task id belongs to (``web_portal.<uuid>`` -> ``/web/portal``)."""
    if not isinstance(task_id, str):
        return None
    match = _TASK_ID.match(task_id)
    if match is None:
        return None
    return "/" + match.group("prefix").replace("_", "/")
