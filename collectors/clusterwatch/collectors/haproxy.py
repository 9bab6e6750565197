"""HAProxy: every frontend, backend and server of each load balancer's ``show stat``.

Fetch and parse through ``clusterwatch.core.haproxy_stats`` (stats socket path, ``host:port``
or the ``;csv`` stats page; sources are the source's ``targets`` or ``cluster.haproxy``).

``up`` is true for ``UP`` (also ``UP 1/3``: failing checks but still up), ``OPEN``, ``no check``
and ``DRAIN``/``NOLB`` (up, taking no new traffic); ``status`` keeps HAProxy's own text.

Servers are joined to Marathon tasks when ``cluster.marathon`` is set (one ``/v2/tasks`` per
cycle from the leader). Supported server names:

- ``<task id>`` (a Marathon task id): the app comes from the id itself;
- ``<ip>_<port>`` with the address's dots written as ``_`` (marathon-lb:
  ``10_0_6_25_16916``) or ``<ip>:<port>``: matched to the task whose ``host`` or one of whose
  ``ipAddresses`` is that IP and which has that host port.

A joined server gets the ``app`` tag and a ``task_id`` field; other names stay unjoined.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import partial
from typing import Any

from clusterwatch.collectors.common import (
    Schema,
    as_dict,
    as_list,
    dicts,
    guarded,
    join,
    marathon_app_id,
)
from clusterwatch.collectors.discovery import marathon_instances, marathon_leader
from clusterwatch.core import haproxy_stats
from clusterwatch.core.collect import CollectContext, CollectResult
from clusterwatch.core.haproxy_stats import StatRow
from clusterwatch.core.metric_table import COUNTER, FLAG, GAUGE, TEXT, FieldValue, MetricTable
from clusterwatch.core.point import Point

MEASUREMENT = "haproxy"
UP_STATES = frozenset({"up", "open", "drain"})

ROW = MetricTable(MEASUREMENT, {
    "scur":            ("sessions_current",        GAUGE),
    "smax":            ("sessions_max",            GAUGE),
    "slim":            ("sessions_limit",          GAUGE),
    "stot":            ("sessions_total",          COUNTER),
    "qcur":            ("queue_current",           GAUGE),
    "qmax":            ("queue_max",               GAUGE),
    "rate":            ("session_rate",            GAUGE),
    "req_rate":        ("request_rate",            GAUGE),
    "req_tot":         ("requests_total",          COUNTER),
    "bin":             ("bytes_in_total",          COUNTER),
    "bout":            ("bytes_out_total",         COUNTER),
    "hrsp_1xx":        ("responses_1xx_total",     COUNTER),
    "hrsp_2xx":        ("responses_2xx_total",     COUNTER),
    "hrsp_3xx":        ("responses_3xx_total",     COUNTER),
    "hrsp_4xx":        ("responses_4xx_total",     COUNTER),
    "hrsp_5xx":        ("responses_5xx_total",     COUNTER),
    "hrsp_other":      ("responses_other_total",   COUNTER),
    "ereq":            ("request_errors_total",    COUNTER),
    "econ":            ("connection_errors_total", COUNTER),
    "eresp":           ("response_errors_total",   COUNTER),
    "dreq":            ("requests_denied_total",   COUNTER),
    "dresp":           ("responses_denied_total",  COUNTER),
    "wretr":           ("retries_total",           COUNTER),
    "wredis":          ("redispatches_total",      COUNTER),
    "cli_abrt":        ("client_aborts_total",     COUNTER),
    "srv_abrt":        ("server_aborts_total",     COUNTER),
    "chkfail":         ("check_failures_total",    COUNTER),
    "chkdown":         ("check_downs_total",       COUNTER),
    "downtime":        ("downtime_seconds_total",  COUNTER),
    "lastchg":         ("last_change_seconds",     GAUGE),
    "weight":          ("weight",                  GAUGE),
    "act":             ("servers_active",          GAUGE),
    "bck":             ("servers_backup",          GAUGE),
    "check_status":    ("check_status",            TEXT),
    "check_duration":  ("check_duration_seconds",  GAUGE, 1e-3),
    "qtime":           ("queue_time_seconds",      GAUGE, 1e-3),
    "ctime":           ("connect_time_seconds",    GAUGE, 1e-3),
    "rtime":           ("response_time_seconds",   GAUGE, 1e-3),
    "ttime":           ("total_time_seconds",      GAUGE, 1e-3),
})

SCHEMAS = (
    Schema(MEASUREMENT, ("cluster", "host", "proxy", "sv", "type", "app"),
           "Each frontend, backend and server of a load balancer's `show stat`; `host` names "
           "the load balancer, `app` the Marathon app of a joined server.", (ROW,),
           {"up": FLAG, "status": TEXT, "task_id": TEXT}),
)

_UNDERSCORED = re.compile(r"^(\d{1,3})_(\d{1,3})_(\d{1,3})_(\d{1,3})_(\d{1,5})$")
_COLON = re.compile(r"^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$")


def server_address(name: str) -> tuple[str, int] | None:
    """``10_0_6_25_16916`` or ``10.0.6.25:16916`` -> ("10.0.6.25", 16916)."""
    match = _UNDERSCORED.match(name)
    if match:
        return ".".join(match.groups()[:4]), int(match.group(5))
    match = _COLON.match(name)
    return (match.group(1), int(match.group(2))) if match else None


def task_index(doc: Any) -> dict[tuple[str, int], str]:
    """Marathon ``/v2/tasks`` -> (IP or host, host port) -> task id."""
    out: dict[tuple[str, int], str] = {}
    for task in dicts(as_list(as_dict(doc, "/v2/tasks").get("tasks"), "tasks")):
        task_id = task.get("id")
        ports = [p for p in task.get("ports") or () if isinstance(p, int)]
        if not isinstance(task_id, str) or not ports:
            continue
        hosts = {task.get("host")} | {
            a.get("ipAddress") for a in dicts(task.get("ipAddresses"))
        }
        for host in hosts:
            if isinstance(host, str) and host:
                out.update({(host, port): task_id for port in ports})
    return out


def server_task(name: str, tasks: Mapping[tuple[str, int], str]) -> str | None:
    if marathon_app_id(name):
        return name
    address = server_address(name)
    return tasks.get(address) if address else None


def map_row(
    row: StatRow,
    tasks: Mapping[tuple[str, int], str],
    tags: Mapping[str, str],
    time_ns: int,
) -> Point | None:
    point_tags = {**tags, "proxy": row.pxname, "sv": row.svname, "type": row.type}
    extra: dict[str, FieldValue] = {"up": row.state in UP_STATES, "status": row.status}
    task_id = server_task(row.svname, tasks) if row.type == "server" else None
    app = marathon_app_id(task_id)
    if task_id and app:
        point_tags["app"] = app
        extra["task_id"] = task_id
    return ROW.point(row.fields, point_tags, time_ns, extra)


def map_rows(
    rows: list[StatRow],
    tasks: Mapping[tuple[str, int], str],
    host: str,
    tags: Mapping[str, str],
    time_ns: int,
) -> list[Point]:
    points = (map_row(row, tasks, {**tags, "host": host}, time_ns) for row in rows)
    return [p for p in points if p is not None]


def balancer_name(source: str) -> str:
    """The ``host`` tag for a stats source: the URL's or address's host, or the socket path."""
    if "://" in source:
        return source.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)[0]
    if "/" in source:
        return source
    return source.rsplit(":", 1)[0]


def _marathon_tasks(ctx: CollectContext, result: CollectResult) -> dict[tuple[str, int], str]:
    instances = marathon_instances(ctx, use_targets=False)
    if not instances:
        return {}
    leader = guarded(result, "marathon", lambda: marathon_leader(ctx.http, instances))
    if leader is None:
        return {}
    url = join(leader, "/v2/tasks")
    return guarded(result, url, lambda: task_index(ctx.http.get_json(url))) or {}


def collect(ctx: CollectContext) -> CollectResult:
    result = CollectResult()
    sources = list(ctx.config.targets or ctx.cluster.haproxy)
    result.targets_total = len(sources)
    tasks = _marathon_tasks(ctx, result) if sources else {}
    user = ctx.http.config.username or None
    password = ctx.http.config.password.reveal() if ctx.http.config.password else None
    for source in sources:
        fetch = partial(haproxy_stats.fetch, source, ctx.config.timeout_seconds, user, password)
        rows = guarded(result, source, fetch)
        if rows is not None:
            host = balancer_name(source)
            result.points += map_rows(rows, tasks, host, ctx.base_tags, ctx.time_ns)
    return result
