"""``clusterwatch demo``: a simulated cluster with everything that exists pointed at it.

It starts the simulator on loopback, writes a config for it, runs the daemon (every
registered collector, a line-protocol file sink, and a local InfluxDB 1.x when one answers
on 127.0.0.1:8086), prints what it is doing and where to look, and a status table every
few seconds. Ctrl-C (or ``--duration``) stops everything cleanly.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

LOCAL_INFLUXDB = "http://127.0.0.1:8086"
# Sources with nothing to read in the simulated cluster (no ZooKeeper or HAProxy in it).
DEMO_SKIPS = frozenset({"zookeeper", "haproxy"})


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--agents", type=int, default=12, help="simulated agents (default 12)")
    parser.add_argument("--apps", type=int, default=5, help="simulated Marathon apps (default 5)")
    parser.add_argument(
        "--output", type=Path, default=Path("demo-output"), help="where files go (./demo-output)"
    )
    parser.add_argument("--interval", type=float, default=5.0, help="collection interval, s")
    parser.add_argument("--duration", type=float, default=None, help="stop after N seconds")
    parser.add_argument("--no-influxdb", action="store_true", help="ignore a local InfluxDB")
    parser.add_argument(
        "--no-scenario",
        dest="scenario",
        action="store_false",
        help="do not break things on a timeline (agent lost, master failover, ...)",
    )


# What the demo breaks, and when (seconds after start), so the checks have something to see.
SCENARIO: list[tuple[float, str, Callable[[Any], object]]] = [
    (40, "the last agent is lost", lambda c: c.lose_agent(c.agents[-1].id)),
    (70, "the leading Mesos master fails over", lambda c: c.fail_over_master()),
    (100, "the lost agent is back", lambda c: c.restore_agent(c.agents[-1].id)),
]


def influxdb_is_there(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/ping", timeout=0.5) as answer:
            return bool(answer.status == 204)
    except OSError:
        return False


def say(text: str, out: TextIO = sys.stdout) -> None:
    print(f"[demo] {text}", file=out, flush=True)


def run(args: argparse.Namespace) -> int:
    from clusterwatch.core.config_schema import (
        ClusterConfig,
        Config,
        DaemonConfig,
        SinkConfig,
        SourceConfig,
    )
    from clusterwatch.core.log import configure
    from clusterwatch.core.registry import names
    from clusterwatch.scheduler.daemon import Daemon
    from clusterwatch.sim.cluster import Cluster

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)

    output: Path = args.output.resolve()
    output.mkdir(parents=True, exist_ok=True)
    log_path = output / "clusterwatch.log"
    log_file = log_path.open("a", encoding="utf-8")
    configure(args.log_level or "info", args.log_format or "kv", log_file)
    say(f"logs: {log_path}")
    say(f"starting a simulated cluster: 3 Mesos masters, {args.agents} agents, "
        f"3 Marathons, {args.apps} apps, Consul, Chronos (all on 127.x.y.z loopback)")  # fmt: skip
    with Cluster(agents=args.agents, apps=args.apps, seed=7, task_listeners=True) as cluster:
        say(f"  Mesos masters  {' '.join(cluster.master_urls)}")
        say(f"  Marathon       {' '.join(cluster.marathon_urls)}")
        say(f"  Consul         {cluster.consul_url}")
        say(f"  Chronos        {cluster.chronos_url}")
        say(f"  agent 1 of {args.agents}   {cluster.agents[0].mesos}  cAdvisor "
            f"{cluster.agents[0].cadvisor}")  # fmt: skip
        say(f"  fault control  {cluster.control_url}")
        sinks = {
            "demo_file": SinkConfig(
                type="file", path=str(output / "metrics.lp"), precision="s", fsync="never"
            )
        }
        if not args.no_influxdb and influxdb_is_there(LOCAL_INFLUXDB):
            sinks["local_influxdb"] = SinkConfig(
                type="influxdb1", url=LOCAL_INFLUXDB, database="clusterwatch_demo"
            )
            say(f"a local InfluxDB answers at {LOCAL_INFLUXDB}: writing to clusterwatch_demo")
        # The sources that have something to read in the simulated cluster; cAdvisor listens
        # on its own port on every agent's address.
        cadvisor_port = cluster.agents[0].cadvisor.rsplit(":", 1)[1]
        targets = {"cadvisor": (f"http://{{ip}}:{cadvisor_port}",)}
        sources = {
            name: SourceConfig(interval_seconds=args.interval, targets=targets.get(name, ()))
            for name in names("source")
            if name not in DEMO_SKIPS
        }
        config = Config(
            cluster=ClusterConfig(
                name="demo",
                mesos_masters=tuple(cluster.master_urls),
                marathon=tuple(cluster.marathon_urls),
                consul=cluster.consul_url,
                chronos=cluster.chronos_url or "",
            ),
            daemon=DaemonConfig(state_dir=str(output / "state")),
            sources=sources,
            sinks=sinks,
        )
        say(f"collectors: {', '.join(sources) or 'none registered yet'}; "
            f"every {args.interval:g} s")  # fmt: skip
        say(f"metrics: tail -f {output / 'metrics.lp'}")
        daemon = Daemon(config)
        thread = threading.Thread(target=daemon.run, name="daemon")
        thread.start()
        started = time.monotonic()
        try:
            while not stop.wait(1.0):
                elapsed = time.monotonic() - started
                if int(elapsed) % 10 == 0:
                    print_status(daemon, output)
                if int(elapsed) % 30 == 2:
                    print_checks(cluster)
                for at, what, action in SCENARIO:
                    if args.scenario and at <= elapsed < at + 1:
                        say(f"scenario: {what}")
                        action(cluster)
                if args.duration is not None and elapsed >= args.duration:
                    break
        finally:
            say("stopping: daemon first (flushes the spools), then the simulator")
            daemon.request_stop()
            thread.join(30)
        print_status(daemon, output)
    say("stopped cleanly")
    return 0


def print_checks(cluster: object) -> None:
    from clusterwatch.scheduler.demo_checks import run_checks, table

    results = run_checks(cluster)
    if results:
        say("checks, as Nagios runs them (see packaging/nagios/):")
        for row in table(results):
            print(row, flush=True)


def print_status(daemon: object, output: Path) -> None:
    from clusterwatch.scheduler.daemon import Daemon

    assert isinstance(daemon, Daemon)
    metrics = output / "metrics.lp"
    lines = 0
    if metrics.exists():
        with metrics.open("rb") as fh:
            lines = sum(1 for _ in fh)
    sinks = ", ".join(
        f"{s.name}: {s.stats.records_sent} sent, {s.spool.depth_records} waiting"
        for s, _ in daemon.publisher.sinks
    )
    say(f"status: {daemon.cycles} collection cycles, {lines} lines in metrics.lp; {sinks}")
