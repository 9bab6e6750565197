"""cAdvisor on every agent: per-container CPU, memory, network, disk I/O and filesystem use.

Fetch (per cycle): the agents from the leading master's ``/master/state-summary`` (read once
per cycle for every source, see ``master_summary``), then per agent
``/api/v1.3/subcontainers/`` from its cAdvisor, asking for the newest two samples per
container (``{"num_stats": 2}`` in the request body, as cAdvisor's own client does; 60 by
default). Where cAdvisor listens comes from the source's ``targets``: an entry with ``{ip}``
or ``{host}`` is a template filled in per agent (``{ip}`` from the agent's pid, ``{host}``
its hostname; default ``http://{ip}:4194``), any other entry is one static cAdvisor URL. The
agents come from ``cluster.mesos_masters`` or ZooKeeper (the source's targets are cAdvisors,
never masters); when several daemons split the agents (``ctx.owns_agent``), only this
daemon's agents' cAdvisors are read.

Joining a container to Mesos and Marathon, in order:

1. ``spec.envs`` (cAdvisor's ``--env_metadata_whitelist``) or Docker labels carrying
   ``MESOS_TASK_ID`` / ``MARATHON_APP_ID``;
2. the ``mesos-<container id>`` alias (Mesos' Docker containerizer names containers so; older
   agents write ``mesos-<agent id>.<container id>``), looked up in the agent's ``/state``
   executors (read only when some container needs it);
3. the app id taken back from a Marathon task id.

Tags are cluster, host and app (bounded); container and task ids are fields. The CPU rate
(``cpu_usage_cores``) is computed from the newest two samples' cumulative nanoseconds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from clusterwatch.collectors.common import (
    Schema,
    as_dict,
    as_list,
    base_url,
    collect_each_async,
    dicts,
    guarded,
    guarded_async,
    host_of,
    iso_to_ns,
    join,
    marathon_app_id,
    sub,
)
from clusterwatch.collectors.discovery import INACTIVE, agent_url, find_leader, owned_agents
from clusterwatch.collectors.master_summary import SUMMARY, leader_agents
from clusterwatch.core.collect import CollectContext, CollectResult, TargetError
from clusterwatch.core.http_async import AsyncHttp
from clusterwatch.core.metric_table import (
    COUNTER,
    CUMULATIVE,
    GAUGE,
    TEXT,
    FieldValue,
    MetricTable,
)
from clusterwatch.core.point import Point

CADVISOR_PORT = 4194
DEFAULT_TEMPLATE = f"http://{{ip}}:{CADVISOR_PORT}"
PATH = "/api/v1.3/subcontainers/"
NO_LIMIT = 1 << 62  # cgroup v1 writes 2**64-1 (or near it) for "no limit"
MEASUREMENT = "cadvisor_container"
# cAdvisor's v1.x ContainerInfoRequest, read from the request body: the newest two samples
# are all the mapping uses (the rate needs two); the default is 60 per container.
QUERY = {"num_stats": 2}

# The newest stats sample of a container.
SAMPLE = MetricTable(MEASUREMENT, {
    ("cpu", "usage", "total"):           ("cpu_usage_seconds_total",   CUMULATIVE, 1e-9),
    ("cpu", "usage", "user"):            ("cpu_user_seconds_total",    CUMULATIVE, 1e-9),
    ("cpu", "usage", "system"):          ("cpu_system_seconds_total",  CUMULATIVE, 1e-9),
    ("memory", "usage"):                 ("memory_usage_bytes",        GAUGE),
    ("memory", "working_set"):           ("memory_working_set_bytes",  GAUGE),
    ("memory", "rss"):                   ("memory_rss_bytes",          GAUGE),
    ("memory", "cache"):                 ("memory_cache_bytes",        GAUGE),
    ("memory", "failcnt"):               ("memory_limit_hits_total",   COUNTER),
    ("memory", "container_data", "pgmajfault"): ("memory_major_faults_total", COUNTER),
})

# Sums over a sample's interfaces, block devices and filesystems (see ``totals``).
TOTALS = MetricTable(MEASUREMENT, {
    "network.interfaces[].rx_bytes":     ("network_rx_bytes_total",    COUNTER),
    "network.interfaces[].tx_bytes":     ("network_tx_bytes_total",    COUNTER),
    "network.interfaces[].rx_errors":    ("network_rx_errors_total",   COUNTER),
    "network.interfaces[].tx_errors":    ("network_tx_errors_total",   COUNTER),
    "network.interfaces[].rx_dropped":   ("network_rx_dropped_total",  COUNTER),
    "network.interfaces[].tx_dropped":   ("network_tx_dropped_total",  COUNTER),
    "diskio.io_service_bytes[].stats.Read":  ("disk_read_bytes_total", COUNTER),
    "diskio.io_service_bytes[].stats.Write": ("disk_write_bytes_total", COUNTER),
    "diskio.io_serviced[].stats.Read":   ("disk_reads_total",          COUNTER),
    "diskio.io_serviced[].stats.Write":  ("disk_writes_total",         COUNTER),
    "filesystem[].usage":                ("fs_usage_bytes",            GAUGE),
    "filesystem[].capacity":             ("fs_limit_bytes",            GAUGE),
})

# The container's spec.
SPEC = MetricTable(MEASUREMENT, {
    ("memory", "limit"):                 ("memory_limit_bytes",        GAUGE),
    ("cpu", "limit"):                    ("cpu_shares",                GAUGE),
    "image":                             ("image",                     TEXT),
})

SCHEMAS = (
    Schema(MEASUREMENT, ("cluster", "host", "app"),
           "Each Docker container cAdvisor sees on an agent, joined to its Mesos task and "
           "Marathon app.", (SAMPLE, TOTALS, SPEC),
           {"cpu_usage_cores": GAUGE, "container_id": TEXT, "container_name": TEXT,
            "mesos_container_id": TEXT, "task_id": TEXT}),
)

_NETWORK = ("rx_bytes", "tx_bytes", "rx_errors", "tx_errors", "rx_dropped", "tx_dropped")
_NETWORK_KEYS = {key: f"network.interfaces[].{key}" for key in _NETWORK}
_BLOCK = (("io_service_bytes", "Read"), ("io_service_bytes", "Write"),
          ("io_serviced", "Read"), ("io_serviced", "Write"))


@dataclass(frozen=True)
class Owner:
    """Who a container belongs to, as far as known."""

    task_id: str | None = None
    app: str | None = None


def _sum(items: list[dict[str, Any]], key: str) -> float:
    """The numbers under ``key`` in ``items``, summed (anything else counts 0)."""
    total = 0.0
    for item in items:
        value = item.get(key)
        if value.__class__ is int or value.__class__ is float:  # not bool, a subclass of int
            total += value
    return total


def totals(sample: Mapping[str, Any]) -> dict[str, float]:
    """Network, block I/O and filesystem figures of one sample, summed over devices (keys
    name what was summed: ``network.interfaces[].rx_bytes``; a v1 sample without an
    ``interfaces`` list has its first interface's counters at the top of ``network``)."""
    out: dict[str, float] = {}
    network = sample.get("network")
    if isinstance(network, dict):
        interfaces = dicts(network.get("interfaces")) or [network]
        for key in _NETWORK:
            out[_NETWORK_KEYS[key]] = _sum(interfaces, key)
    diskio = sample.get("diskio")
    if isinstance(diskio, dict):
        for group, op in _BLOCK:
            stats = [sub(device, "stats") for device in dicts(diskio.get(group))]
            out[f"diskio.{group}[].stats.{op}"] = _sum(stats, op)
    filesystems = dicts(sample.get("filesystem"))
    for key in ("usage", "capacity") if filesystems else ():
        out[f"filesystem[].{key}"] = _sum(filesystems, key)
    return out


def cpu_cores(previous: Mapping[str, Any], newest: Mapping[str, Any]) -> float | None:
    """CPU cores used between two samples: delta of cumulative ns over delta of time in ns."""
    t0, t1 = iso_to_ns(previous.get("timestamp")), iso_to_ns(newest.get("timestamp"))
    c0 = sub(sub(previous, "cpu"), "usage").get("total")
    c1 = sub(sub(newest, "cpu"), "usage").get("total")
    if t0 is None or t1 is None or t1 <= t0:
        return None
    if not isinstance(c0, int | float) or not isinstance(c1, int | float) or c1 < c0:
        return None  # a restarted container's counter went back: no rate this time
    return float(c1 - c0) / float(t1 - t0)


def mesos_container_id(aliases: Any) -> str | None:
    for alias in aliases if isinstance(aliases, list) else ():
        if isinstance(alias, str) and alias.startswith("mesos-"):
            return alias.removeprefix("mesos-").rsplit(".", 1)[-1]
    return None


def owner_from_metadata(info: Mapping[str, Any]) -> Owner:
    """MESOS_TASK_ID / MARATHON_APP_ID from the spec's envs, else from labels."""
    spec = sub(info, "spec")
    found: dict[str, str] = {}
    for source in (info.get("labels"), spec.get("labels"), spec.get("envs")):
        if isinstance(source, dict):
            for key in ("MESOS_TASK_ID", "MARATHON_APP_ID"):
                value = source.get(key)
                if isinstance(value, str) and value:
                    found[key] = value
    task = found.get("MESOS_TASK_ID")
    return Owner(task, found.get("MARATHON_APP_ID") or marathon_app_id(task))


def owners_from_agent_state(doc: Any) -> dict[str, Owner]:
    """The agent's ``/state``: Mesos container id -> the task its executor runs."""
    out: dict[str, Owner] = {}
    for fw in dicts(as_list(as_dict(doc, "/state").get("frameworks"), "frameworks")):
        for executor in dicts(fw.get("executors")):
            container = executor.get("container")
            tasks = dicts(executor.get("tasks"))
            task = tasks[0].get("id") if tasks else executor.get("id")
            if isinstance(container, str) and isinstance(task, str):
                out[container] = Owner(task, marathon_app_id(task))
    return out


def containers(doc: Any) -> list[dict[str, Any]]:
    """Docker containers with stats from ``subcontainers`` (a list) or ``docker/`` (a dict)."""
    listed = list(doc.values()) if isinstance(doc, dict) else as_list(doc, PATH)
    return [
        c for c in dicts(listed)
        if (c.get("aliases") or c.get("namespace") == "docker") and dicts(c.get("stats"))
    ]


def needs_agent_state(doc: Any) -> bool:
    return _needs_state(_with_owners(containers(doc)))


def map_container(
    info: Mapping[str, Any],
    host: str,
    fallback: Mapping[str, Owner],
    tags: Mapping[str, str],
    time_ns: int,
    owner: Owner | None = None,
) -> Point | None:
    """One container's point; ``owner`` is ``owner_from_metadata(info)`` when known."""
    stats = dicts(info.get("stats"))
    newest = stats[-1]
    spec = sub(info, "spec")
    values: dict[str, FieldValue] = SAMPLE.field_values(newest)
    values.update(TOTALS.field_values(totals(newest)))
    values.update(SPEC.field_values(spec))
    if float(values.get("memory_limit_bytes", 0.0)) >= NO_LIMIT:
        del values["memory_limit_bytes"]
    if len(stats) > 1:
        rate = cpu_cores(stats[-2], newest)
        if rate is not None:
            values["cpu_usage_cores"] = rate
    aliases = info.get("aliases")
    mesos_id = mesos_container_id(aliases)
    owner = owner_from_metadata(info) if owner is None else owner
    if owner.task_id is None and mesos_id is not None:
        owner = fallback.get(mesos_id, owner)
    texts = {
        "container_id": info.get("id") or str(info.get("name", "")).rsplit("/", 1)[-1],
        "container_name": aliases[0] if isinstance(aliases, list) and aliases else None,
        "mesos_container_id": mesos_id,
        "task_id": owner.task_id,
    }
    values.update({k: v for k, v in texts.items() if isinstance(v, str) and v})
    point_tags = {**tags, "host": host}
    if owner.app:
        point_tags["app"] = owner.app
    return Point(MEASUREMENT, point_tags, values, time_ns) if values else None


def map_containers(
    doc: Any, host: str, fallback: Mapping[str, Owner], tags: Mapping[str, str], time_ns: int
) -> list[Point]:
    return _map_found(_with_owners(containers(doc)), host, fallback, tags, time_ns)


def _with_owners(found: list[dict[str, Any]]) -> list[tuple[dict[str, Any], Owner]]:
    return [(info, owner_from_metadata(info)) for info in found]


def _needs_state(found: list[tuple[dict[str, Any], Owner]]) -> bool:
    return any(
        owner.task_id is None and mesos_container_id(info.get("aliases"))
        for info, owner in found
    )


def _map_found(
    found: list[tuple[dict[str, Any], Owner]],
    host: str,
    fallback: Mapping[str, Owner],
    tags: Mapping[str, str],
    time_ns: int,
) -> list[Point]:
    points = (map_container(c, host, fallback, tags, time_ns, owner) for c, owner in found)
    return [p for p in points if p is not None]


@dataclass(frozen=True)
class Target:
    host: str
    url: str
    agent: str | None  # the agent's own URL, for the /state fallback


def targets_for(
    templates: list[str], agents: list[dict[str, Any]], result: CollectResult | None = None
) -> list[Target]:
    """The cAdvisor of each active agent; an inactive one is recorded in ``result`` (one
    target down per template), as it cannot answer."""
    out: list[Target] = []
    for agent in agents:
        url = agent_url(agent)
        if url is None:
            continue
        ip = url.split("://", 1)[1].rsplit(":", 1)[0]
        host = str(agent["hostname"])
        found = [Target(host, t.format(ip=ip, host=host), url) for t in templates]
        if agent.get("active", True):
            out += found
        elif result is not None:
            result.targets_total += len(found)
            result.errors += [TargetError(join(t.url, PATH), INACTIVE) for t in found]
    return out


async def _collect_target(ctx: CollectContext, client: AsyncHttp, target: Target) -> CollectResult:
    """One cAdvisor: fetch, pick the containers (metadata read once), map, drop the body."""
    result = CollectResult(targets_total=1)
    url = join(target.url, PATH)

    async def found_containers() -> list[tuple[dict[str, Any], Owner]]:
        return _with_owners(containers(await client.get_json(url, QUERY)))

    found = await guarded_async(result, url, found_containers())
    if found is None:
        return result
    fallback: dict[str, Owner] = {}
    if target.agent is not None and _needs_state(found):
        state_url = join(target.agent, "/state")

        async def owners() -> dict[str, Owner]:
            return owners_from_agent_state(await client.get_json(state_url))

        fallback = await guarded_async(result, state_url, owners()) or {}
    points = guarded(
        result, url, lambda: _map_found(found, target.host, fallback, ctx.base_tags, ctx.time_ns)
    )
    result.points.extend(points or [])
    return result


def collect(ctx: CollectContext) -> CollectResult:
    result = CollectResult()
    templates = [t for t in ctx.config.targets if "{" in t]
    static = [base_url(t, CADVISOR_PORT) for t in ctx.config.targets if "{" not in t]
    targets = [Target(host_of(url), url, None) for url in static]
    if templates or not static:
        leader = guarded(result, "mesos masters", lambda: find_leader(ctx, use_targets=False))
        # (``found`` holds the summary to the end: the other sources may share it meanwhile)
        found = (
            guarded(result, join(leader, SUMMARY), lambda: leader_agents(ctx, leader))
            if leader
            else None
        )
        if found is None:
            result.targets_total += 1
        mine = owned_agents(ctx, found[1] if found else [])
        targets += targets_for(templates or [DEFAULT_TEMPLATE], mine, result)
    return collect_each_async(ctx, result, _collect_target, targets)
