"""``clusterwatch collect --once``: one cycle of every (or one) source, for debugging.

With ``--print`` the line protocol goes to stdout and nothing to the sinks. Either way points
are handed on as they are mapped (per agent), not held for the whole cycle. Without a config
file, ``--mesos``, ``--marathon``, ``--zookeeper`` and ``--haproxy`` set up the matching
sources on the spot (agents and cAdvisor are found from the master; ``--cadvisor`` says where
cAdvisor listens when it is not ``http://{ip}:4194``).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import threading
from collections.abc import Callable, Sequence

from clusterwatch.core.config_schema import ClusterConfig, Config, SourceConfig
from clusterwatch.core.point import Point

# option -> (cluster field it fills, sources it enables)
QUICK_SOURCES: dict[str, tuple[str, tuple[str, ...]]] = {
    "mesos": ("mesos_masters", ("mesos_master", "mesos_agent", "cadvisor")),
    "marathon": ("marathon", ("marathon",)),
    "zookeeper": ("zookeeper", ("zookeeper",)),
    "haproxy": ("haproxy", ("haproxy",)),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--once", action="store_true", required=True, help="run one cycle")
    parser.add_argument("--source", action="append", help="only this source (repeatable)")
    parser.add_argument("--print", action="store_true", help="print line protocol, write none")
    parser.add_argument("--mesos", action="append", metavar="URL", help="a Mesos master URL")
    parser.add_argument("--marathon", action="append", metavar="URL", help="a Marathon URL")
    parser.add_argument("--zookeeper", metavar="HOSTS", help="ZooKeeper host:port,host:port")
    parser.add_argument("--haproxy", action="append", metavar="URL|SOCKET", help="HAProxy stats")
    parser.add_argument(
        "--cadvisor",
        action="append",
        metavar="URL|TEMPLATE",
        help="where cAdvisor listens: a URL, or a template with {ip} or {host} filled in per "
        "agent (default http://{ip}:4194)",
    )


def quick_config(args: argparse.Namespace, base: Config) -> Config:
    """``base`` plus the sources named by the quick options."""
    cluster_changes: dict[str, object] = {}
    sources = dict(base.sources)
    for option, (cluster_field, names) in QUICK_SOURCES.items():
        value = getattr(args, option)
        if not value:
            continue
        cluster_changes[cluster_field] = value if isinstance(value, str) else tuple(value)
        for name in names:
            sources.setdefault(name, SourceConfig())
    if getattr(args, "cadvisor", None):
        current = sources.get("cadvisor", SourceConfig())
        sources["cadvisor"] = dataclasses.replace(current, targets=tuple(args.cadvisor))
    cluster: ClusterConfig = dataclasses.replace(base.cluster, **cluster_changes)  # type: ignore[arg-type]
    return dataclasses.replace(base, cluster=cluster, sources=sources)


def run(args: argparse.Namespace) -> int:
    from clusterwatch.core.config import load_config
    from clusterwatch.core.errors import ConfigError
    from clusterwatch.core.registry import import_string

    if args.log_level is None:
        # every failed target is printed below, once, as "source: target: reason"; the
        # daemon's "target down" log records would say the same again
        import logging

        logging.getLogger("clusterwatch.scheduler.cycle").setLevel(logging.ERROR)
    quick = any(getattr(args, o) for o in (*QUICK_SOURCES, "cadvisor"))
    config = quick_config(args, load_config(args.config, require_file=not quick))
    names = args.source or [n for n, s in config.sources.items() if s.enabled]
    for name in names:
        import_string("source", name)  # an unknown name lists the known ones
        if name not in config.sources:
            config = dataclasses.replace(config, sources={**config.sources, name: SourceConfig()})
    if not names:
        raise ConfigError(["no sources configured: give --mesos/--marathon/... or a config"])
    if args.print:
        return 1 if _collect(config, names, _LinePrinter()) else 0
    from clusterwatch.scheduler.daemon import open_publisher

    publisher = open_publisher(config)

    def publish(points: Sequence[Point]) -> None:
        publisher.publish(points)

    try:
        failed = _collect(config, names, publish)
        results = publisher.drain(force=True)
    finally:
        publisher.close()
    for sink, result in results.items():
        print(f"sink {sink}: sent {result.sent}, pending {result.pending}", file=sys.stderr)
    return 1 if failed else 0


def _collect(config: Config, names: list[str], emit: Callable[[Sequence[Point]], None]) -> int:
    """One cycle of each source, every point to ``emit`` (per-agent ones as they are mapped);
    returns how many sources had errors."""
    from clusterwatch.core.http import Http
    from clusterwatch.scheduler.cycle import run_cycle

    failed = 0
    with Http(config.http) as http:
        for name in names:
            report = run_cycle(name, config, http, emit=emit)
            emit([*report.result.points, report.self_metrics(config.cluster.name)])
            failed += bool(report.result.errors)
            for error in report.result.errors:
                print(f"{name}: {error.target}: {error.reason}", file=sys.stderr)
    return failed


class _LinePrinter:
    """``--print``: line protocol to stdout, one batch at a time (batches come from threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def __call__(self, points: Sequence[Point]) -> None:
        from clusterwatch.core.lineprotocol import encode_lines

        data = encode_lines(points)
        with self._lock:
            sys.stdout.buffer.write(data)
