"""Simulator throughput: requests/s of agent /metrics/snapshot across many agent addresses,
beside a baseline (http.server.ThreadingHTTPServer with a static body) in the same run.

Loopback only; bounded by request count and time. Prints ``<name>: <value> <unit>`` lines.
    .venv/bin/python bench/bench_sim.py [--agents 10000] [--seconds 5] [--threads 4]
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from clusterwatch.sim import Cluster


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
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()

    started = time.monotonic()
    with Cluster(agents=args.agents, apps=args.apps, seed=1) as cluster:
        print(f"sim_start_{args.agents}_agents: {time.monotonic() - started:.2f} s")
        targets = []
        for agent in cluster.agents[:: max(1, args.agents // 400)]:
            host, port = agent.mesos.split("//")[1].rsplit(":", 1)
            targets.append((host, int(port)))
        sample = http.client.HTTPConnection(*targets[0])
        sample.request("GET", "/metrics/snapshot")
        body = sample.getresponse().read()
        sample.close()
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
