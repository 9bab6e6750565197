"""ZooKeeper: ``mntr`` of every ensemble member, through ``clusterwatch.core.zk4lw``.

Members are the source's ``targets`` or the hosts of ``cluster.zookeeper`` (a connect string,
``h1:2181,h2:2181[/chroot]``). A member that does not answer, is not serving, or does not
allow ``mntr`` is a per-target error.
"""

from __future__ import annotations

from collections.abc import Mapping

from clusterwatch.collectors.common import Schema, fan_out, guarded, merge
from clusterwatch.core import zk4lw
from clusterwatch.core.collect import CollectContext, CollectResult
from clusterwatch.core.metric_table import COUNTER, FLAG, GAUGE, TEXT, MetricTable
from clusterwatch.core.point import Point

MNTR = MetricTable("zookeeper", {
    "zk_server_state":                ("state",                     TEXT),
    "zk_version":                     ("version",                   TEXT),
    "zk_avg_latency":                 ("latency_avg_seconds",       GAUGE, 1e-3),
    "zk_min_latency":                 ("latency_min_seconds",       GAUGE, 1e-3),
    "zk_max_latency":                 ("latency_max_seconds",       GAUGE, 1e-3),
    "zk_packets_received":            ("packets_received_total",    COUNTER),
    "zk_packets_sent":                ("packets_sent_total",        COUNTER),
    "zk_num_alive_connections":       ("connections",               GAUGE),
    "zk_outstanding_requests":        ("outstanding_requests",      GAUGE),
    "zk_znode_count":                 ("znodes",                    GAUGE),
    "zk_watch_count":                 ("watches",                   GAUGE),
    "zk_ephemerals_count":            ("ephemerals",                GAUGE),
    "zk_approximate_data_size":       ("data_size_bytes",           GAUGE),
    "zk_open_file_descriptor_count":  ("open_file_descriptors",     GAUGE),
    "zk_max_file_descriptor_count":   ("max_file_descriptors",      GAUGE),
    "zk_followers":                   ("followers",                 GAUGE),
    "zk_learners":                    ("followers",                 GAUGE),
    "zk_synced_followers":            ("synced_followers",          GAUGE),
    "zk_pending_syncs":               ("pending_syncs",             GAUGE),
    "zk_uptime":                      ("uptime_seconds",            GAUGE, 1e-3),
    "zk_fsync_threshold_exceed_count": ("fsync_threshold_exceeded_total", COUNTER),
})

SCHEMAS = (
    Schema("zookeeper", ("cluster", "host", "port"),
           "Each ensemble member's `mntr` (leader-only fields only on the leader).", (MNTR,),
           {"leader": FLAG}),
)


def members(connect: str) -> list[str]:
    """``h1:2181,h2:2181/mesos`` -> ["h1:2181", "h2:2181"]."""
    hosts = connect.split("/", 1)[0]
    return [h.strip() for h in hosts.split(",") if h.strip()]


def map_status(status: zk4lw.ZkStatus, host: str, port: int, tags: Mapping[str, str],
               time_ns: int) -> Point | None:
    extra = {"leader": status.state == "leader"}
    return MNTR.point(status.raw, {**tags, "host": host, "port": str(port)}, time_ns, extra)


def _collect_member(ctx: CollectContext, member: str) -> CollectResult:
    result = CollectResult(targets_total=1)

    def fetch_and_map() -> Point | None:
        host, port = zk4lw.parse_target(member)
        status = zk4lw.mntr(host, port, ctx.config.timeout_seconds)
        return map_status(status, host, port, ctx.base_tags, ctx.time_ns)

    point = guarded(result, member, fetch_and_map)
    if point is not None:
        result.points.append(point)
    return result


def collect(ctx: CollectContext) -> CollectResult:
    listed = list(ctx.config.targets) or members(ctx.cluster.zookeeper)
    return merge(CollectResult(), fan_out(lambda m: _collect_member(ctx, m), listed))
