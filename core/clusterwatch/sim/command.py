"""``clusterwatch sim``: run a simulated cluster until SIGINT/SIGTERM.

Imports stay inside ``run`` so that building the CLI costs nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from types import FrameType


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--agents", type=int, default=10, metavar="N", help="Mesos agents")
    parser.add_argument("--apps", type=int, default=5, metavar="M", help="Marathon apps")
    parser.add_argument("--masters", type=int, default=3, help="Mesos masters (default 3)")
    parser.add_argument("--zookeeper", metavar="HOSTS",
                        help="register masters in ZooKeeper, e.g. 127.0.0.1:2181")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--clock-speed", type=float, default=1.0,
                        help="simulated seconds per real second (default 1)")
    parser.add_argument("--snapshot-rate-limit", type=float, metavar="PER_SECOND",
                        help="answer /metrics/snapshot with 429 beyond this rate")
    parser.add_argument("--ports", choices=("real", "ephemeral"), default="real",
                        help="real default ports (5050, 5051, 8080, ...) or free ones")
    parser.add_argument("--endpoints-file", metavar="PATH",
                        help="write the endpoints as JSON once everything listens")


def _write_atomically(path: str, data: dict[str, object]) -> None:
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def run(args: argparse.Namespace) -> int:
    from clusterwatch.sim.addresses import Ports
    from clusterwatch.sim.cluster import Cluster

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        cluster = Cluster(
            agents=args.agents,
            apps=args.apps,
            seed=args.seed,
            zookeeper=args.zookeeper,
            ports=Ports() if args.ports == "real" else Ports.ephemeral(),
            masters=args.masters,
            clock_speed=args.clock_speed,
            snapshot_rate_limit=args.snapshot_rate_limit,
        )
        try:
            cluster.start()
        except (OSError, ValueError, RuntimeError) as exc:
            print(f"clusterwatch sim: cannot start: {exc}", file=sys.stderr)
            return 1
        try:
            endpoints = cluster.endpoints()
            if args.endpoints_file:
                _write_atomically(args.endpoints_file, endpoints)
            summary = {k: v for k, v in endpoints.items() if k != "agents"}
            agents = endpoints["agents"]
            summary["agents"] = f"{len(agents)} agents, the first: {agents[:1]}"
            print(json.dumps(summary, indent=2), flush=True)
            while not stop.wait(0.5):
                pass
        finally:
            cluster.stop()
        return 0
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="clusterwatch sim", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
