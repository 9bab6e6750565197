"""One full collection cycle against a simulated cluster, beside the raw fetch of the same data.

For each ``--agents`` size (``--containers-per-agent`` containers each) the simulator runs in
a child process, so this process's CPU time is the collectors' alone. Measured here:

- **cycle**: ``run_cycle`` of mesos_master, mesos_agent, cadvisor and marathon, one after the
  other, as the daemon runs them (fetch, JSON, mapping to points); wall time, CPU seconds of
  this process, points, and the peak RSS of this process;
- **baseline**: the same GETs (every agent's ``/metrics/snapshot`` and ``/monitor/statistics``,
  every cAdvisor's ``subcontainers`` with the same two samples, the leader's
  ``/master/state-summary`` and ``/master/slaves``, the masters' snapshots and Marathon's
  ``/v2/apps`` and ``/metrics``) with the same ``Http`` client and the same fan-out, each body
  through ``json.loads`` and dropped: no mapping. cycle - baseline is what mapping costs.

The simulator shares the two cores, so wall times include waiting for it; the CPU figures
are this process only. Loopback only. Prints ``<name>: <value> <unit>`` lines.

    .venv/bin/python bench/bench_collect.py [--agents 1000,10000] [--containers-per-agent 10]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from clusterwatch.collectors.cadvisor import PATH, QUERY
from clusterwatch.collectors.common import fan_out
from clusterwatch.core.config_schema import ClusterConfig, Config, HttpConfig, SourceConfig
from clusterwatch.core.http import Http
from clusterwatch.scheduler.cycle import run_cycle

SOURCES = ("mesos_master", "mesos_agent", "cadvisor", "marathon")


def serve(agents: int, per_agent: int, conn: Connection) -> None:
    """Child process: run the simulated cluster until told to stop."""
    from clusterwatch.sim import Cluster

    started = time.perf_counter()
    with Cluster(agents=agents, apps=max(5, agents // 20), seed=1, clock_speed=0,
                 containers_per_agent=per_agent) as cluster:  # fmt: skip
        assert cluster.ports is not None and cluster.sim is not None
        conn.send({
            "masters": cluster.master_urls,
            "marathon": cluster.marathon_urls,
            "leader": cluster.leader_url,
            "marathon_leader": cluster.marathon_leader_url,
            "agents": [(a.mesos, a.cadvisor) for a in cluster.agents],
            "cadvisor_port": cluster.ports.cadvisor,
            "tasks": len(cluster.sim.tasks),
            "start_seconds": time.perf_counter() - started,
        })  # fmt: skip
        conn.recv()  # any message: stop


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    wall0, cpu0 = time.perf_counter(), cpu_seconds()
    value = fn()
    return value, time.perf_counter() - wall0, cpu_seconds() - cpu0


def config_for(info: dict[str, Any]) -> Config:
    http = HttpConfig(connect_timeout_seconds=5, read_timeout_seconds=30, retries=0)
    cadvisor = SourceConfig(targets=(f"http://{{ip}}:{info['cadvisor_port']}",))
    return Config(
        cluster=ClusterConfig(name="bench", mesos_masters=tuple(info["masters"]),
                              marathon=tuple(info["marathon"])),
        http=http,
        sources={"mesos_master": SourceConfig(), "mesos_agent": SourceConfig(),
                 "cadvisor": cadvisor, "marathon": SourceConfig()},
    )  # fmt: skip


def full_cycle(config: Config, http: Http) -> tuple[int, int, dict[str, float]]:
    points = errors = 0
    per_source: dict[str, float] = {}
    for name in SOURCES:
        started = time.perf_counter()
        report = run_cycle(name, config, http)
        per_source[name] = time.perf_counter() - started
        points += len(report.result.points) + 1  # + the self-metrics point
        errors += len(report.result.errors)
    return points, errors, per_source


def raw_fetch(info: dict[str, Any], http: Http) -> int:
    """Baseline: every body the cycle reads, GET + json.loads, nothing kept."""
    summary = info["leader"] + "/master/state-summary"
    urls = [summary, summary, info["leader"] + "/master/slaves",  # as the three sources do
            info["marathon_leader"] + "/v2/apps?embed=apps.counts&embed=apps.deployments"
            "&embed=apps.lastTaskFailure&embed=apps.taskStats"]  # fmt: skip
    urls += [m + "/metrics/snapshot" for m in info["masters"]]
    urls += [m + "/metrics" for m in info["marathon"]]
    for mesos, cadvisor in info["agents"]:
        urls += [mesos + "/metrics/snapshot", mesos + "/monitor/statistics",
                 cadvisor + PATH]  # fmt: skip

    def get(url: str) -> int:
        query = QUERY if url.endswith(PATH) else None
        body = http.request("GET", url, json_body=query).body
        json.loads(body)
        return len(body)

    return sum(fan_out(get, urls))


def bench_size(agents: int, per_agent: int) -> dict[str, float]:
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=serve, args=(agents, per_agent, child), daemon=True)
    proc.start()
    try:
        info: dict[str, Any] = parent.recv()
        print(f"[{agents} agents] simulator up in {info['start_seconds']:.1f} s, "
              f"{info['tasks']} tasks")  # fmt: skip
        config = config_for(info)
        with Http(config.http) as http:
            (points, errors, per_source), wall, cpu = timed(lambda: full_cycle(config, http))
            rss = peak_rss_mib()
            print(f"[{agents} agents] cycle (cold): {wall:.2f} s wall, {cpu:.2f} s CPU, "
                  f"{points} points, {errors} errors; "
                  + ", ".join(f"{k} {v:.2f} s" for k, v in per_source.items()))
            size, base_wall, base_cpu = timed(lambda: raw_fetch(info, http))
            print(f"[{agents} agents] baseline raw fetch: {base_wall:.2f} s wall, "
                  f"{base_cpu:.2f} s CPU, {size / 1e6:.0f} MB of JSON")
            (_, _, per_source2), wall2, cpu2 = timed(lambda: full_cycle(config, http))
            print(f"[{agents} agents] cycle (warm): {wall2:.2f} s wall, {cpu2:.2f} s CPU; "
                  + ", ".join(f"{k} {v:.2f} s" for k, v in per_source2.items()))
        best_wall, best_cpu = min((wall, cpu), (wall2, cpu2))
        return {
            "wall": best_wall, "cpu": best_cpu, "points": float(points), "errors": float(errors),
            "base_wall": base_wall, "base_cpu": base_cpu, "rss": rss,
        }  # fmt: skip
    finally:
        parent.send("stop")
        proc.join(60)
        if proc.is_alive():
            proc.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", default="1000,10000", help="comma-separated sizes")
    parser.add_argument("--containers-per-agent", type=int, default=10)
    args = parser.parse_args()
    sizes = [int(s) for s in args.agents.split(",") if s.strip()]
    results = {n: bench_size(n, args.containers_per_agent) for n in sizes}
    for n, r in results.items():
        k = f"{n // 1000}k" if n % 1000 == 0 else str(n)
        print(f"cycle_wall_seconds_{k}_agents: {r['wall']:.2f} s")
        print(f"cycle_cpu_seconds_{k}_agents: {r['cpu']:.2f} s")
        print(f"cycle_points_{k}_agents: {r['points']:.0f} points")
        print(f"cycle_errors_{k}_agents: {r['errors']:.0f} errors")
        print(f"cycle_points_per_second_{k}_agents: {r['points'] / r['wall']:.0f} points/s")
        print(f"cycle_cpu_seconds_per_1000_points_{k}_agents: "
              f"{r['cpu'] / r['points'] * 1000:.3f} s")  # fmt: skip
        print(f"baseline_raw_fetch_wall_seconds_{k}_agents: {r['base_wall']:.2f} s")
        print(f"baseline_raw_fetch_cpu_seconds_{k}_agents: {r['base_cpu']:.2f} s")
        print(f"mapping_overhead_cpu_seconds_{k}_agents: {r['cpu'] - r['base_cpu']:.2f} s")
        print(f"peak_rss_{k}_agents: {r['rss']:.0f} MiB")


if __name__ == "__main__":
    main()
