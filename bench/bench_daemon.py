"""The daemon as it runs: ``clusterwatch run`` against a simulated cluster, cycle after cycle.

``bench_collect`` times one cycle inside the benchmark's own process; this runs the real
daemon (scheduler, publisher, on-disk spool, a line-protocol file sink) as a child process
with mesos_master, mesos_agent, cadvisor and marathon on the same interval, so the scheduler
starts them together every cycle, and samples every 100 ms, from /proc:

- the memory of the daemon (RSS) and of its descendants (PSS: the fork server, the worker
  processes, multiprocessing's resource tracker), summed at each sample; the peak of each
  interval, and the daemon's own RSS at the end of each (between cycles: what it keeps);
- the CPU seconds of the daemon and its descendants per interval.

The cycle durations and point counts are the daemon's own self-metrics (``clusterwatch``
measurement) read back from the file sink. Baseline in the same run: the same daemon idle
(the same config with marathon alone enabled, five seconds after it started). The simulator
runs in another child process on the same cores. Loopback only. Prints ``<name>: <value>
<unit>`` lines.

    .venv/bin/python bench/bench_daemon.py [--agents 10000] [--cycles 5] [--interval 30]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench_collect import descendants, process_cpu_seconds, pss_mib, rss_mib, serve

SOURCES = ("mesos_master", "mesos_agent", "cadvisor", "marathon")  # (marathon last: see idle)
CLI = Path(sys.executable).with_name("clusterwatch")


def config_text(info: dict[str, Any], state_dir: Path, out: Path, interval: float) -> str:
    def toml_list(items: list[str]) -> str:
        return "[" + ", ".join(f'"{item}"' for item in items) + "]"

    lines = [
        "[cluster]", 'name = "bench"',
        f"mesos_masters = {toml_list(info['masters'])}",
        f"marathon = {toml_list(info['marathon'])}",
        "[http]", "connect_timeout_seconds = 5.0", "read_timeout_seconds = 30.0", "retries = 0",
        "[daemon]", f'state_dir = "{state_dir}"',
        "[logging]", 'level = "warning"',
        "[sinks.file]", 'type = "file"', f'path = "{out}"', 'precision = "s"',
    ]  # fmt: skip
    for source in SOURCES:
        lines += [f"[sources.{source}]", f"interval_seconds = {interval}",
                  f"timeout_seconds = {interval}"]  # fmt: skip
        if source == "cadvisor":
            lines.append(f'targets = ["http://{{ip}}:{info["cadvisor_port"]}"]')
    return "\n".join(lines) + "\n"


class Sampler:
    """The daemon and its descendants, every 100 ms, in windows of one interval each."""

    def __init__(self, daemon: int, simulator: int) -> None:
        self.daemon, self.simulator = daemon, simulator
        self.peak_mib = 0.0
        self.peak_daemon_mib = 0.0
        self.cpu: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def window(self) -> tuple[float, float, float]:
        """Peak total and peak daemon RSS since the last call, and the CPU seconds so far."""
        peak, peak_daemon = self.peak_mib, self.peak_daemon_mib
        self.peak_mib = self.peak_daemon_mib = 0.0
        return peak, peak_daemon, sum(self.cpu.values())

    def start(self) -> Sampler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            others = descendants(self.daemon, self.simulator)
            daemon = rss_mib(self.daemon)
            self.peak_daemon_mib = max(self.peak_daemon_mib, daemon)
            self.peak_mib = max(self.peak_mib, daemon + sum(map(pss_mib, others)))
            for pid in [self.daemon, *others]:
                cpu = process_cpu_seconds(pid)
                if cpu:
                    self.cpu[pid] = cpu


def idle_mib(config: Path, idle_config: Path, simulator: int) -> float:
    """The baseline: the same daemon with only marathon enabled (one source must be), a few
    seconds after start."""
    text = config.read_text()
    for source in SOURCES[:-1]:
        text = text.replace(f"[sources.{source}]\n", f"[sources.{source}]\nenabled = false\n")
    idle_config.write_text(text)
    daemon = subprocess.Popen([str(CLI), "run", "--config", str(idle_config)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)  # fmt: skip
    sampler = Sampler(daemon.pid, simulator).start()
    try:
        time.sleep(5)
        return sampler.window()[0]
    finally:
        sampler.stop()
        daemon.terminate()
        daemon.wait(60)


def self_metrics(out: Path) -> dict[int, dict[str, tuple[float, float]]]:
    """Per cycle timestamp, per source: (duration seconds, points), from the file sink."""
    cycles: dict[int, dict[str, tuple[float, float]]] = {}
    if not out.exists():
        return cycles
    with out.open("rb") as lines:
        for line in lines:
            if not line.startswith(b"clusterwatch,"):
                continue
            head, fields, stamp = line.decode().rsplit(" ", 2)
            tags = dict(t.split("=", 1) for t in head.split(",")[1:])
            values = dict(f.split("=", 1) for f in fields.split(","))
            if "duration_seconds" not in values:
                continue  # the publisher's own (per sink)
            cycles.setdefault(int(stamp), {})[tags["source"]] = (
                float(values["duration_seconds"]), float(values["points"]))
    return cycles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=10_000)
    parser.add_argument("--containers-per-agent", type=int, default=10)
    parser.add_argument("--cycles", type=int, default=5)
    parser.add_argument("--interval", type=float, default=30.0)
    args = parser.parse_args()

    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    sim = ctx.Process(target=serve, args=(args.agents, args.containers_per_agent, child),
                      daemon=True)  # fmt: skip
    sim.start()
    assert sim.pid is not None
    with tempfile.TemporaryDirectory(prefix="cw-bench-daemon-") as tmp:
        info: dict[str, Any] = parent.recv()
        out = Path(tmp) / "points.lp"
        config = Path(tmp) / "clusterwatch.toml"
        config.write_text(config_text(info, Path(tmp) / "state", out, args.interval))
        idle = idle_mib(config, Path(tmp) / "idle.toml", sim.pid)
        print(f"[{args.agents} agents] daemon idle (marathon alone): {idle:.0f} MiB")
        log = (Path(tmp) / "daemon.log").open("wb")
        daemon = subprocess.Popen([str(CLI), "run", "--config", str(config)],
                                  stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
        started = time.monotonic()  # the daemon runs every source at once, then each interval
        sampler = Sampler(daemon.pid, sim.pid).start()
        peaks: list[float] = []
        cpu_before = 0.0
        try:
            for cycle in range(1, args.cycles + 1):
                time.sleep(max(0.0, started + cycle * args.interval - 0.3 - time.monotonic()))
                peak, peak_daemon, cpu = sampler.window()
                kept = rss_mib(daemon.pid)
                peaks.append(peak)
                print(f"[{args.agents} agents] interval {cycle}: peak {peak:.0f} MiB "
                      f"(daemon alone {peak_daemon:.0f}), daemon between cycles {kept:.0f} MiB, "
                      f"CPU {cpu - cpu_before:.1f} s")  # fmt: skip
                cpu_before = cpu
        finally:
            sampler.stop()
            daemon.terminate()
            daemon.wait(60)
            log.close()
            parent.send("stop")
            sim.join(60)
        cycles = self_metrics(out)
        for stamp in sorted(cycles):
            sources = cycles[stamp]
            points = sum(p for _, p in sources.values())
            longest = max(d for d, _ in sources.values())
            print(f"[{args.agents} agents] cycle {stamp}: {points:.0f} points, longest source "
                  + f"{longest:.2f} s; " + ", ".join(f"{name} {d:.2f} s"
                                                     for name, (d, _) in sorted(sources.items())))
        logged = (Path(tmp) / "daemon.log").read_text(errors="replace")
        if daemon.returncode not in (0, -15):
            print(logged[-3000:])
        said = logged.splitlines()  # the daemon logs warnings and errors only here
        print(f"[{args.agents} agents] the daemon's log: {len(said)} lines"
              + "".join(f"\n  {line}" for line in said[:5]))  # fmt: skip
    warm = peaks[1:] or peaks
    print(f"daemon_idle_mib_{args.agents}_agents: {idle:.0f} MiB")
    print(f"daemon_peak_mib_first_cycle_{args.agents}_agents: {peaks[0]:.0f} MiB")
    print(f"daemon_peak_mib_later_cycles_{args.agents}_agents: {max(warm):.0f} MiB")
    print(f"daemon_cycles_{args.agents}_agents: {len(cycles)} cycles")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
