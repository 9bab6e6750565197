"""One full collection cycle against a simulated cluster, beside the raw fetch of the same data.

For each ``--agents`` size (``--containers-per-agent`` containers each) the simulator runs in
a child process, apart from the collectors' (this process and its workers). Measured here:

- **cycle**: ``run_cycle`` of mesos_master, mesos_agent, cadvisor and marathon, one after the
  other, as the daemon runs them (fetch, JSON, mapping to points), with ``emit`` and
  ``emit_lines`` set as the daemon sets them: per-agent points are handed over as they are
  mapped and encoded to line protocol there or, in worker processes (from 2,500 agents up),
  encoded there and streamed back, as the daemon's publisher queues them (then dropped: no
  spool on disk); wall time, CPU seconds of this process, its workers and the simulator,
  points, and the peak memory during the cycle (this process's peak RSS plus the workers'
  peak PSS, an upper bound; and both sampled at once every 50 ms, which may miss a short
  peak); then once more with the four sources started together, as the daemon's scheduler
  starts them;
- **baseline**: the same GETs (every agent's ``/metrics/snapshot`` and ``/monitor/statistics``,
  every cAdvisor's ``subcontainers`` with the same two samples, the leader's
  ``/master/state-summary`` and ``/master/slaves``, the masters' snapshots and Marathon's
  ``/v2/apps`` and ``/metrics``) through the same transports (the per-agent ones on the
  asyncio path, ``AsyncHttp``, with the cycle's concurrency; the rest with ``Http``), each
  body decoded and dropped: no mapping. cycle - baseline is what mapping and encoding cost;
- **threads baseline**: the same raw fetch with ``Http`` (``http.client``, kept alive) on 16
  threads, as the per-agent sources fetched before the asyncio path;
- **requests baseline** (sizes up to ``--requests-max-agents``): the same raw fetch through
  ``requests`` (one Session per target, as ``core.http`` used to), to show what the client
  alone costs.

The simulator shares the two cores, so wall times include waiting for it; the CPU figures
are this process only unless named ``simulator``. Loopback only. Prints
``<name>: <value> <unit>`` lines.

    .venv/bin/python bench/bench_collect.py [--agents 1000,5000,10000]
        [--containers-per-agent 10] [--requests-max-agents 1000]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from multiprocessing.connection import Connection
from typing import Any

from clusterwatch.collectors.cadvisor import PATH, QUERY
from clusterwatch.collectors.common import collect_each_async, fan_out
from clusterwatch.core.collect import CollectContext, CollectResult
from clusterwatch.core.config_schema import ClusterConfig, Config, HttpConfig, SourceConfig
from clusterwatch.core.http import Http, loads, target_of
from clusterwatch.core.http_async import AsyncHttp
from clusterwatch.core.lineprotocol import Precision, encode
from clusterwatch.core.malloc import limit_arenas
from clusterwatch.core.point import Point
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


def reset_peak_rss() -> None:
    """Start a new peak (Linux >= 4.0: ``5`` to clear_refs resets VmHWM), so each size's
    peak is its own, not the largest so far."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
            refs.write("5")
    except OSError:
        pass


def proc_mib(path: str, key: str) -> float:
    """A ``key:  N kB`` line of a /proc file, in MiB (0 where there is none)."""
    try:
        with open(path, encoding="ascii") as lines:
            for line in lines:
                if line.startswith(key):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def peak_rss_mib() -> float:
    return proc_mib("/proc/self/status", "VmHWM:") or (
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    )


def rss_mib(pid: int | str = "self") -> float:
    return proc_mib(f"/proc/{pid}/status", "VmRSS:")


def process_cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) of another process, from /proc; 0 where there is none."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def descendants(root: int, exclude: int) -> list[int]:
    """Processes below ``root`` (children, grandchildren...), without ``exclude``'s tree."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii") as stat:
                ppid = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [c for c in children.get(root, []) if c != exclude]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += [c for c in children.get(pid, []) if c != exclude]
    return found


def pss_mib(pid: int) -> float:
    """Proportional set size: forked workers share pages with their fork server, which RSS
    would count once per process."""
    return proc_mib(f"/proc/{pid}/smaps_rollup", "Pss:")


class Workers:
    """CPU seconds and peak memory (PSS) of this process's other children (the collectors'
    fork server and the worker processes it forks; the simulator left out), sampled every
    50 ms while a cycle runs: a worker's last <50 ms of CPU may be missed."""

    def __init__(self, simulator: int) -> None:
        self.simulator = simulator
        self.peak_rss_mib = 0.0
        self.peak_with_self_mib = 0.0  # this process's RSS + the workers' PSS, sampled at once
        self._start: dict[int, float] = {}
        self._last: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def cpu_seconds(self) -> float:
        return sum(cpu - self._start.get(pid, 0.0) for pid, cpu in self._last.items())

    def __enter__(self) -> Workers:
        for pid in descendants(os.getpid(), self.simulator):
            self._start[pid] = process_cpu_seconds(pid)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while True:
            pids = descendants(os.getpid(), self.simulator)
            for pid in pids:
                cpu = process_cpu_seconds(pid)
                if cpu:
                    self._last[pid] = cpu
            workers = sum(map(pss_mib, pids))
            self.peak_rss_mib = max(self.peak_rss_mib, workers)
            self.peak_with_self_mib = max(self.peak_with_self_mib, workers + rss_mib())
            if self._stop.wait(0.05):
                return


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


class Encoder:
    """What the daemon's publisher does with emitted points, short of the spool: encode them
    to line protocol (then drop them); thread-safe like the publisher."""

    def __init__(self) -> None:
        self.points = 0
        self.bytes = 0
        self._lock = threading.Lock()

    def __call__(self, points: Sequence[Point]) -> None:
        size = sum(len(line) + 1 for line in encode(points, "ns"))
        with self._lock:
            self.points += len(points)
            self.bytes += size

    def lines(self, by_precision: Mapping[Precision, Sequence[bytes]]) -> None:
        """Records encoded by a worker process: counted, as the publisher would queue them."""
        records = by_precision["ns"]
        with self._lock:
            self.points += len(records)
            self.bytes += sum(map(len, records))


def full_cycle(
    config: Config, http: Http, together: bool = False
) -> tuple[int, int, dict[str, float]]:
    """Every source's cycle, one after the other, or with ``together`` all at once on
    threads, as the daemon's scheduler starts them when their intervals are aligned."""
    per_source: dict[str, float] = {}
    errors: list[int] = []
    emit = Encoder()

    def one(name: str) -> None:
        started = time.perf_counter()
        report = run_cycle(name, config, http, emit=emit, emit_lines=emit.lines,
                           precisions=("ns",))  # fmt: skip
        emit([*report.result.points, report.self_metrics("bench")])
        per_source[name] = time.perf_counter() - started
        errors.append(len(report.result.errors))

    if not together:
        for name in SOURCES:
            one(name)
    else:
        threads = [threading.Thread(target=one, args=(name,)) for name in SOURCES]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    return emit.points, sum(errors), {name: per_source[name] for name in SOURCES}


def cluster_urls(info: dict[str, Any]) -> list[str]:
    """The URLs read once per cycle (leader, masters, Marathon)."""
    summary = info["leader"] + "/master/state-summary"
    urls = [summary, summary, info["leader"] + "/master/slaves",  # as the three sources do
            info["marathon_leader"] + "/v2/apps?embed=apps.counts&embed=apps.deployments"
            "&embed=apps.lastTaskFailure&embed=apps.taskStats"]  # fmt: skip
    urls += [m + "/metrics/snapshot" for m in info["masters"]]
    urls += [m + "/metrics" for m in info["marathon"]]
    return urls


def agent_urls(info: dict[str, Any]) -> list[str]:
    """The URLs read per agent (its /state only when cAdvisor lacks metadata: not here)."""
    urls = []
    for mesos, cadvisor in info["agents"]:
        urls += [mesos + "/metrics/snapshot", mesos + "/monitor/statistics",
                 cadvisor + PATH]  # fmt: skip
    return urls


def raw_urls(info: dict[str, Any]) -> list[str]:
    """Every URL the cycle reads."""
    return cluster_urls(info) + agent_urls(info)


async def _fetch_only(ctx: CollectContext, client: AsyncHttp, url: str) -> CollectResult:
    await client.get_json(url, QUERY if url.endswith(PATH) else None)
    return CollectResult()


def raw_fetch(info: dict[str, Any], http: Http) -> None:
    """Baseline: every body the cycle reads, GET + decode, nothing kept; the per-agent ones
    through the sources' own ``collect_each_async`` (one asyncio thread, the same
    concurrency), with a per-item step that only fetches."""
    fan_out(http.get_json, cluster_urls(info))
    ctx = CollectContext("bench", ClusterConfig(), SourceConfig(processes=1), http, 0)
    collect_each_async(ctx, CollectResult(), _fetch_only, agent_urls(info))


def raw_fetch_threads(info: dict[str, Any], http: Http) -> int:
    """The same raw fetch on 16 threads with ``Http`` (``http.client``): how the per-agent
    sources fetched before the asyncio path. Returns the bytes read."""

    def get(url: str) -> int:
        query = QUERY if url.endswith(PATH) else None
        body = http.request("GET", url, json_body=query).body
        loads(body)
        return len(body)

    return sum(fan_out(get, raw_urls(info)))


def raw_fetch_requests(info: dict[str, Any], config: HttpConfig) -> int:
    """The same raw fetch through requests, one Session per target (the old ``core.http``)."""
    import requests

    sessions: dict[str, requests.Session] = {}
    lock = threading.Lock()
    timeout = (config.connect_timeout_seconds, config.read_timeout_seconds)

    def session(url: str) -> requests.Session:
        with lock:
            found = sessions.get(target_of(url))
            if found is None:
                found = sessions[target_of(url)] = requests.Session()
            return found

    def get(url: str) -> int:
        query = QUERY if url.endswith(PATH) else None
        with session(url).get(url, json=query, timeout=timeout) as answer:
            body = answer.content
        json.loads(body)
        return len(body)

    try:
        return sum(fan_out(get, raw_urls(info)))
    finally:
        for found in sessions.values():
            found.close()


def bench_size(agents: int, per_agent: int, with_requests: bool) -> dict[str, float]:
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=serve, args=(agents, per_agent, child), daemon=True)
    proc.start()
    assert proc.pid is not None
    pid = proc.pid

    workers_rss = 0.0
    at_once = 0.0  # the peak of this process + workers sampled together (every 50 ms)

    def measured(fn: Callable[[], Any]) -> tuple[Any, float, float, float]:
        """Wall, CPU of this process and its workers, CPU of the simulator."""
        nonlocal workers_rss, at_once
        sim0 = process_cpu_seconds(pid)
        with Workers(pid) as workers:
            value, wall, cpu = timed(fn)
        workers_rss = max(workers_rss, workers.peak_rss_mib)
        at_once = max(at_once, workers.peak_with_self_mib)
        return value, wall, cpu + workers.cpu_seconds, process_cpu_seconds(pid) - sim0

    try:
        info: dict[str, Any] = parent.recv()
        print(f"[{agents} agents] simulator up in {info['start_seconds']:.1f} s, "
              f"{info['tasks']} tasks")  # fmt: skip
        config = config_for(info)
        out: dict[str, float] = {}
        with Http(config.http) as http:
            reset_peak_rss()
            (points, errors, per_source), wall, cpu, sim = measured(
                lambda: full_cycle(config, http)
            )
            rss = peak_rss_mib() + workers_rss
            print(f"[{agents} agents] cycle (cold): {wall:.2f} s wall, {cpu:.2f} s CPU "
                  f"(simulator {sim:.2f} s), {points} points, {errors} errors, "
                  f"peak RSS {rss:.0f} MiB (sampled at once {at_once:.0f}); "
                  + ", ".join(f"{k} {v:.2f} s" for k, v in per_source.items()))
            reset_peak_rss()
            workers_rss = at_once = 0.0
            (_, _, per_source2), wall2, cpu2, sim2 = measured(lambda: full_cycle(config, http))
            rss2 = peak_rss_mib() + workers_rss
            print(f"[{agents} agents] cycle (warm): {wall2:.2f} s wall, {cpu2:.2f} s CPU "
                  f"(simulator {sim2:.2f} s), peak RSS {rss2:.0f} MiB "
                  f"(sampled at once {at_once:.0f}); "
                  + ", ".join(f"{k} {v:.2f} s" for k, v in per_source2.items()))
            reset_peak_rss()
            workers_rss = at_once = 0.0
            _, wall3, cpu3, sim3 = measured(lambda: full_cycle(config, http, together=True))
            rss3 = peak_rss_mib() + workers_rss
            print(f"[{agents} agents] cycle (warm, sources together): {wall3:.2f} s wall, "
                  f"{cpu3:.2f} s CPU (simulator {sim3:.2f} s), peak RSS {rss3:.0f} MiB "
                  f"(sampled at once {at_once:.0f})")
            _, base_wall, base_cpu, base_sim = measured(lambda: raw_fetch(info, http))
            print(f"[{agents} agents] baseline raw fetch: {base_wall:.2f} s wall, "
                  f"{base_cpu:.2f} s CPU (simulator {base_sim:.2f} s)")
            size, thr_wall, thr_cpu, thr_sim = measured(lambda: raw_fetch_threads(info, http))
            print(f"[{agents} agents] threads baseline raw fetch: {thr_wall:.2f} s wall, "
                  f"{thr_cpu:.2f} s CPU (simulator {thr_sim:.2f} s), "
                  f"{size / 1e6:.0f} MB of JSON")
        if with_requests:
            _, req_wall, req_cpu, req_sim = measured(lambda: raw_fetch_requests(info, config.http))
            print(f"[{agents} agents] requests raw fetch: {req_wall:.2f} s wall, "
                  f"{req_cpu:.2f} s CPU (simulator {req_sim:.2f} s)")
            out.update(req_wall=req_wall, req_cpu=req_cpu)
        best_wall, best_cpu, best_sim = min((wall, cpu, sim), (wall2, cpu2, sim2))
        out.update({
            "wall": best_wall, "cpu": best_cpu, "sim": best_sim, "points": float(points),
            "errors": float(errors), "base_wall": base_wall, "base_cpu": base_cpu, "rss": rss,
            "thr_wall": thr_wall, "thr_cpu": thr_cpu, "rss_warm": rss2,
            "together_wall": wall3, "together_rss": rss3,
        })  # fmt: skip
        return out
    finally:
        parent.send("stop")
        proc.join(60)
        if proc.is_alive():
            proc.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", default="1000,5000,10000", help="comma-separated sizes")
    parser.add_argument("--containers-per-agent", type=int, default=10)
    parser.add_argument("--requests-max-agents", type=int, default=1000,
                        help="run the requests baseline for sizes up to this")  # fmt: skip
    args = parser.parse_args()
    limit_arenas()  # as the daemon does (core.malloc): the threads baseline would grow the heap
    sizes = [int(s) for s in args.agents.split(",") if s.strip()]
    results = {
        n: bench_size(n, args.containers_per_agent, n <= args.requests_max_agents)
        for n in sizes
    }
    for n, r in results.items():
        k = f"{n // 1000}k" if n % 1000 == 0 else str(n)
        print(f"cycle_wall_seconds_{k}_agents: {r['wall']:.2f} s")
        print(f"cycle_cpu_seconds_{k}_agents: {r['cpu']:.2f} s")
        print(f"cycle_simulator_cpu_seconds_{k}_agents: {r['sim']:.2f} s")
        print(f"cycle_points_{k}_agents: {r['points']:.0f} points")
        print(f"cycle_errors_{k}_agents: {r['errors']:.0f} errors")
        print(f"cycle_points_per_second_{k}_agents: {r['points'] / r['wall']:.0f} points/s")
        print(f"cycle_cpu_seconds_per_1000_points_{k}_agents: "
              f"{r['cpu'] / r['points'] * 1000:.3f} s")  # fmt: skip
        print(f"baseline_raw_fetch_wall_seconds_{k}_agents: {r['base_wall']:.2f} s")
        print(f"baseline_raw_fetch_cpu_seconds_{k}_agents: {r['base_cpu']:.2f} s")
        print(f"mapping_overhead_cpu_seconds_{k}_agents: {r['cpu'] - r['base_cpu']:.2f} s")
        print(f"baseline_threads_raw_fetch_wall_seconds_{k}_agents: {r['thr_wall']:.2f} s")
        print(f"baseline_threads_raw_fetch_cpu_seconds_{k}_agents: {r['thr_cpu']:.2f} s")
        if "req_cpu" in r:
            print(f"baseline_requests_raw_fetch_wall_seconds_{k}_agents: {r['req_wall']:.2f} s")
            print(f"baseline_requests_raw_fetch_cpu_seconds_{k}_agents: {r['req_cpu']:.2f} s")
        print(f"peak_rss_{k}_agents: {r['rss']:.0f} MiB")
        print(f"peak_rss_warm_{k}_agents: {r['rss_warm']:.0f} MiB")
        print(f"cycle_sources_together_wall_seconds_{k}_agents: {r['together_wall']:.2f} s")
        print(f"cycle_sources_together_peak_rss_{k}_agents: {r['together_rss']:.0f} MiB")


if __name__ == "__main__":
    main()
