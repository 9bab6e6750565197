"""Line-protocol encoding: clusterwatch's encoder against influxdb-client's Point, same points.

Each side starts from the same plain data (measurement, tag dict, field dict, timestamp), as a
collector has it, and ends with the bytes a sink sends:

- ours: build a ``clusterwatch.core.point.Point`` per sample, then ``encode_lines``;
- ours, encode only: ``encode_lines`` over points built beforehand;
- influxdb-client: ``Point(m).tag(...).field(...).time(t)`` and ``to_line_protocol()`` per
  sample, joined with newlines (what its write API does).

The outputs are compared byte for byte before timing. Run:
``.venv/bin/python bench/bench_lineprotocol.py [--points N] [--repeats R]``.
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import time
from collections.abc import Callable
from typing import Any

from influxdb_client.client.write import point as client_point

from clusterwatch.core.lineprotocol import LineEncoder
from clusterwatch.core.point import Point

Sample = tuple[str, dict[str, str], dict[str, Any], int]
ClientPoint: Any = client_point.Point  # untyped


def samples(count: int, seed: int = 1) -> list[Sample]:
    """cAdvisor-container-like samples: 6 tags, 10 fields (6 ints, 4 floats)."""
    rng = random.Random(seed)
    apps = [f"/prod/team{i % 12}/service-{i}" for i in range(300)]
    images = [
        f"registry.cluster.local/team{i % 12}/service-{i}:1.{i % 7}.{i % 3}" for i in range(300)
    ]
    start = 1_700_000_000_000_000_000
    out: list[Sample] = []
    for i in range(count):
        app = rng.randrange(len(apps))
        tags = {
            "cluster": "tier1-prod",
            "datacenter": "dc-east",
            "agent": f"agent-{rng.randrange(2000):04d}.cluster.local",
            "app_id": apps[app],
            "image": images[app],
            "framework": "marathon",
        }
        fields = {
            "cpu_usage_total": rng.randrange(10**12),
            "cpu_usage_user": rng.randrange(10**12),
            "cpu_usage_system": rng.randrange(10**11),
            "cpu_load_average": rng.random() * 4,
            "memory_usage_bytes": rng.randrange(2**34),
            "memory_working_set_bytes": rng.randrange(2**34),
            "memory_cache_ratio": rng.random(),
            "network_rx_bytes": rng.randrange(10**13),
            "network_tx_bytes": rng.randrange(10**13),
            "fs_usage_ratio": float(rng.randrange(100)),  # whole-number floats are common
        }
        out.append(("cadvisor_container", tags, fields, start + i * 1_000_000))
    return out


def ours_build_and_encode(data: list[Sample]) -> bytes:
    encoder = LineEncoder()
    return encoder.encode_lines([Point(m, t, f, ts) for m, t, f, ts in data])


def influxdb_client(data: list[Sample]) -> bytes:
    lines = []
    for measurement, tags, fields, ts in data:
        point = ClientPoint(measurement)
        for key, value in tags.items():
            point.tag(key, value)
        for key, value in fields.items():
            point.field(key, value)
        point.time(ts)
        lines.append(point.to_line_protocol())
    lines.append("")
    return "\n".join(lines).encode("utf-8")


def best_of(repeats: int, run: Callable[[], object]) -> float:
    """Fastest wall time of ``repeats`` runs, in seconds; the collector is off, as in timeit."""
    best = float("inf")
    for _ in range(repeats):
        gc.collect()
        gc.disable()
        try:
            start = time.perf_counter()
            run()
            best = min(best, time.perf_counter() - start)
        finally:
            gc.enable()
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=200_000, help="points per run")
    parser.add_argument("--repeats", type=int, default=5, help="runs per encoder; best counts")
    args = parser.parse_args(argv)
    n = args.points

    data = samples(n)
    prebuilt = [Point(m, t, f, ts) for m, t, f, ts in data]
    if ours_build_and_encode(data) != influxdb_client(data):
        print("error: output differs from influxdb-client", file=sys.stderr)
        return 1
    print(f"{n} points, identical output, best of {args.repeats}")

    # A fresh encoder per run: its caches start cold, as at the first cycle after start-up.
    ours = best_of(args.repeats, lambda: ours_build_and_encode(data))
    ours_encode = best_of(args.repeats, lambda: LineEncoder().encode_lines(prebuilt))
    client = best_of(args.repeats, lambda: influxdb_client(data))

    for label, seconds in [
        ("ours (build Point + encode)", ours),
        ("ours (encode only)", ours_encode),
        ("influxdb-client (build Point + to_line_protocol)", client),
    ]:
        print(f"  {label:<50} {seconds:8.3f} s  {n / seconds:12,.0f} points/s")

    print(f"points_per_second_ours: {n / ours:.0f} points/s")
    print(f"points_per_second_ours_encode_only: {n / ours_encode:.0f} points/s")
    print(f"points_per_second_influxdb_client: {n / client:.0f} points/s")
    print(f"speedup_vs_influxdb_client: {client / ours:.1f} x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
