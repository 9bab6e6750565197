"""Application ``/metrics`` (Prometheus text format) from opted-in Marathon tasks and static URLs.

Targets:

- **Marathon tasks** (when ``cluster.marathon`` is set): apps opt in with labels
  ``clusterwatch.metrics.path`` (e.g. ``/metrics``; required) and
  ``clusterwatch.metrics.port-index`` (which of the task's host ports, default 0). Every
  running task of such an app is scraped at ``http://<task host>:<port><path>``; tags app
  (the Marathon app id) and host (the task's agent).
- **Static** entries in the source's ``targets``: ``http://host:port/metrics``, or
  ``name=http://...`` to set the ``app`` tag (default: the URL's ``host:port``).

Each sample becomes one field of measurement ``app_metrics`` named after the sample
(``http_requests_total``, ``..._bucket``, ``..._sum``). Labels are bounded: those in
:data:`TAG_LABELS` become tags; any other label is folded into the field name as
``name;label=value`` (labels sorted; ``,``, ``=``, ``;`` and spaces in values become ``_``).
All values are floats (the exposition format has no integers). A target exposing more than
:data:`MAX_FIELDS` distinct fields is cut there and the excess recorded as an error.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from clusterwatch.collectors.common import (
    Schema,
    as_dict,
    as_list,
    dicts,
    fan_out,
    guarded,
    host_of,
    join,
    merge,
    sub,
)
from clusterwatch.collectors.discovery import marathon_instances, marathon_leader
from clusterwatch.core.collect import CollectContext, CollectResult, TargetError
from clusterwatch.core.metric_table import GAUGE, FieldValue
from clusterwatch.core.point import Point
from clusterwatch.core.quickhttp import html_title, looks_like_html

MEASUREMENT = "app_metrics"
PATH_LABEL = "clusterwatch.metrics.path"
PORT_INDEX_LABEL = "clusterwatch.metrics.port-index"
TAG_LABELS = ("code", "method", "status", "le", "quantile")
MAX_FIELDS = 5000
APPS_PATH = "/v2/apps?embed=apps.tasks"

SCHEMAS = (
    Schema(MEASUREMENT, ("cluster", "app", "host", *TAG_LABELS),
           "Samples scraped from applications' Prometheus /metrics; one float field per "
           "sample name (other labels folded into the name).", dynamic=GAUGE),
)

_UNSAFE = re.compile(r"[,=; ]")


@dataclass(frozen=True)
class Target:
    url: str
    app: str
    host: str


def field_name(name: str, labels: Mapping[str, str]) -> str:
    folded = [f"{k}={_UNSAFE.sub('_', v)}" for k, v in sorted(labels.items())]
    return ";".join([name, *folded])


def map_exposition(
    text: str, target: Target, tags: Mapping[str, str], time_ns: int
) -> tuple[list[Point], int]:
    """Prometheus text -> points (one per allowed-label set) and how many fields were cut."""
    by_tags: dict[tuple[tuple[str, str], ...], dict[str, FieldValue]] = {}
    count = dropped = 0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            value = float(sample.value)
            if not math.isfinite(value):
                continue
            kept = tuple((k, v) for k, v in sorted(sample.labels.items()) if k in TAG_LABELS)
            folded = {k: v for k, v in sample.labels.items() if k not in TAG_LABELS}
            fields = by_tags.setdefault(kept, {})
            name = field_name(sample.name, folded)
            if name not in fields:
                if count >= MAX_FIELDS:
                    dropped += 1
                    continue
                count += 1
            fields[name] = value
    base = {**tags, "app": target.app, "host": target.host}
    points = [
        Point(MEASUREMENT, {**base, **dict(kept)}, fields, time_ns)
        for kept, fields in by_tags.items()
        if fields
    ]
    return points, dropped


def static_target(entry: str) -> Target:
    name, sep, url = entry.partition("=")
    if not sep or "://" in name:
        url, name = entry, ""
    netloc = url.split("://", 1)[-1].split("/", 1)[0]
    return Target(url, name or netloc, host_of(url))


def _port_index(labels: Mapping[str, Any]) -> int | None:
    text = str(labels.get(PORT_INDEX_LABEL, "0")).strip()
    return int(text) if text.isdigit() else None


def marathon_targets(doc: Any) -> list[Target]:
    """``/v2/apps?embed=apps.tasks`` -> a target per running task of each opted-in app."""
    out: list[Target] = []
    for app in dicts(as_list(as_dict(doc, "/v2/apps").get("apps"), "apps")):
        labels = sub(app, "labels")
        path = labels.get(PATH_LABEL)
        index = _port_index(labels)
        if not isinstance(path, str) or not path or index is None:
            continue
        for task in dicts(app.get("tasks")):
            ports, host = task.get("ports"), task.get("host")
            if task.get("state", "TASK_RUNNING") != "TASK_RUNNING" or not isinstance(host, str):
                continue
            if isinstance(ports, list) and index < len(ports) and isinstance(ports[index], int):
                url = f"http://{host}:{ports[index]}/{path.lstrip('/')}"
                out.append(Target(url, str(app.get("id")), host))
    return out


def _scrape(ctx: CollectContext, target: Target) -> CollectResult:
    result = CollectResult(targets_total=1)

    def fetch_and_map() -> list[Point]:
        response = ctx.http.request("GET", target.url)
        if looks_like_html(response.headers, response.body):
            raise ValueError(f"expected Prometheus text, got an HTML page "
                             f"({html_title(response.body)})")
        text = response.body.decode("utf-8", "replace")
        points, dropped = map_exposition(text, target, ctx.base_tags, ctx.time_ns)
        if dropped:
            result.errors.append(
                TargetError(target.url, f"{dropped} fields over the limit of {MAX_FIELDS} cut")
            )
        return points

    result.points.extend(guarded(result, target.url, fetch_and_map) or [])
    return result


def _discover(ctx: CollectContext, result: CollectResult) -> list[Target]:
    instances = marathon_instances(ctx, use_targets=False)
    if not instances:
        return []
    leader = guarded(result, "marathon", lambda: marathon_leader(ctx.http, instances))
    if leader is None:
        return []
    url = join(leader, APPS_PATH)
    return guarded(result, url, lambda: marathon_targets(ctx.http.get_json(url))) or []


def collect(ctx: CollectContext) -> CollectResult:
    result = CollectResult()
    targets = [static_target(entry) for entry in ctx.config.targets]
    targets += _discover(ctx, result)
    return merge(result, fan_out(lambda t: _scrape(ctx, t), targets))
