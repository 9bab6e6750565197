"""Simulator scale and throughput, with baselines in the same run.

- start time and resident memory of a cluster of ``--agents`` agents running
  ``--containers-per-agent`` containers each (10k x 10 is what the collector benchmark needs);
- cost of one agent ``/metrics/snapshot`` answer in process (no sockets): within a simulated
  tick (the cached body) and in scrape rounds that ask every agent once per tick (model
  advanced once per tick, every body rebuilt), beside the cost of JSON-encoding the same
  values (baseline);
- requests/s of agent /metrics/snapshot and /health over HTTP across many agent addresses,
  beside http.server.ThreadingHTTPServer serving the same body pre-built (baseline). On a
  small machine the Python client is the bottleneck of both, so the in-process figures are
  the ones that show the simulator's own cost.

Loopback only; bounded by request count and time. Prints ``<name>: <value> <unit>`` lines.
    .venv/bin/python bench/bench_sim.py [--agents 10000] [--containers-per-agent 10]
        [--seconds 5] [--threads 4]
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from clusterwatch.sim import Cluster
from clusterwatch.sim.engine import Simulation
from clusterwatch.sim.mesos_agent import AgentHost
from clusterwatch.sim.wire import Request

SNAPSHOT = Request("GET", "/metrics/snapshot", "/metrics/snapshot", {}, {}, b"", "", 5051)


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def handler_us(sim: Simulation, requests: int, rebuilt: bool) -> float:
    """Microseconds per in-process snapshot answer over a spread of agents.

    ``rebuilt``: a scrape round, every agent asked once per simulated tick, so every body is
    built again while the model advances once per tick; else all within one tick.
    """
    hosts = [AgentHost(sim, a) for a in sim.agents[:: max(1, len(sim.agents) // 400)]]
    tick = getattr(sim.config, "tick_seconds", 1.0)
    started = time.perf_counter()
    for i in range(requests):
        if rebuilt and i % len(hosts) == 0:
            sim.clock.advance(tick)
        hosts[i % len(hosts)].handle(SNAPSHOT)
    return (time.perf_counter() - started) / requests * 1e6


def encode_us(body: bytes, requests: int) -> float:
    values = json.loads(body)
    started = time.perf_counter()
    for _ in range(requests):
        json.dumps(values, separators=(",", ":")).encode()
    return (time.perf_counter() - started) / requests * 1e6


def _hammer(targets: list[tuple[str, int]], path: str, seconds: float, limit: int,
            threads: int, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    counts = [0] * threads
    deadline = time.monotonic() + seconds

    def worker(i: int) -> None:
        mine = targets[i::threads] or targets
        conns = [http.client.HTTPConnection(h, p, timeout=10) for h, p in mine[:50]]
        n = 0
        while time.monotonic() < deadline and n < limit // threads:
            conn = conns[n % len(conns)]
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            if response.status == 200:
                n += 1
        counts[i] = n
        for conn in conns:
            conn.close()

    started = time.monotonic()
    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    out.put((sum(counts), time.monotonic() - started))


def measure(targets: list[tuple[str, int]], path: str, seconds: float, threads: int,
            limit: int = 2_000_000) -> float:  # fmt: skip
    queue: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    proc = multiprocessing.Process(target=_hammer,
                                   args=(targets, path, seconds, limit, threads, queue))
    proc.start()
    done, elapsed = queue.get(timeout=seconds + 60)
    proc.join()
    return float(done / elapsed)


class _Static(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # fair baseline: no 40 ms delayed-ACK stalls
    body = b"{}"

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--agents", type=int, default=10_000)
    parser.add_argument("--apps", type=int, default=200)
    parser.add_argument("--containers-per-agent", type=int, default=10,
                        help="0: the usual few apps of 1-5 instances")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()

    per_agent = args.containers_per_agent or None
    label = f"{args.agents}_agents_{per_agent or 'few'}_containers_each"
    rss_before = rss_mb()
    started = time.monotonic()
    with Cluster(agents=args.agents, apps=args.apps, seed=1,
                 containers_per_agent=per_agent) as cluster:  # fmt: skip
        print(f"sim_start_{label}: {time.monotonic() - started:.2f} s")
        print(f"sim_rss_{label}: {rss_mb() - rss_before:.0f} MB")
        assert cluster.sim is not None
        print(f"sim_containers: {len(cluster.sim.tasks)}")
        targets = []
        for agent in cluster.agents[:: max(1, args.agents // 400)]:
            host, port = agent.mesos.split("//")[1].rsplit(":", 1)
            targets.append((host, int(port)))
        sample = http.client.HTTPConnection(*targets[0])
        sample.request("GET", "/metrics/snapshot")
        body = sample.getresponse().read()
        sample.close()
        same = handler_us(cluster.sim, 20000, rebuilt=False)
        print(f"sim_agent_snapshot_handler_same_tick: {same:.1f} us/request")
        rebuilt = handler_us(cluster.sim, 4000, rebuilt=True)
        print(f"sim_agent_snapshot_handler_rebuilt_each_tick: {rebuilt:.1f} us/request")
        print(f"baseline_json_encode_snapshot: {encode_us(body, 20000):.1f} us/request")
        rate = measure(targets, "/metrics/snapshot", args.seconds, args.threads)
        print(f"sim_agent_snapshot: {rate:.0f} requests/s")
        print(f"sim_agent_snapshot_addresses: {len(targets)} agents")
        health = measure(targets, "/health", args.seconds, args.threads)
        print(f"sim_agent_health: {health:.0f} requests/s")

    _Static.body = body  # the baseline serves the same bytes, pre-built
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Static)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = measure([server.server_address[:2]] * 4, "/", args.seconds,  # type: ignore[list-item]
                       args.threads)  # fmt: skip
        print(f"baseline_threading_http_server_static: {base:.0f} requests/s")
        print(f"sim_vs_baseline: {rate / base:.2f} x")
    finally:
        server.shutdown()
        server.server_close()


if __name__ == "__main__":
    main()
