"""`clusterwatch demo` (what `make demo` runs): starts, collects, says where to look, stops."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

CLI = [sys.executable, "-m", "clusterwatch.core.cli"]
EXPECTED = {"mesos_cluster", "mesos_master", "mesos_agent", "mesos_executor", "marathon_app",
            "consul", "chronos_job", "clusterwatch"}  # fmt: skip


def measurements(path: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    for line in path.read_text().splitlines():
        name = line.split(",", 1)[0].split(" ", 1)[0]
        counts[name] = counts.get(name, 0) + 1
    return counts


def test_demo_runs_collects_and_stops_cleanly(tmp_path: Path) -> None:
    result = subprocess.run(
        [*CLI, "demo", "--duration", "6", "--interval", "2", "--output", str(tmp_path),
         "--no-influxdb"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "[demo] metrics: tail -f" in result.stdout
    assert result.stdout.rstrip().endswith("[demo] stopped cleanly")
    counts = measurements(tmp_path / "metrics.lp")
    assert set(counts) >= EXPECTED, counts
    log = (tmp_path / "clusterwatch.log").read_text()
    assert "Traceback" not in log and "Traceback" not in result.stderr


def test_demo_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [*CLI, "demo", "--interval", "1", "--output", str(tmp_path), "--no-influxdb"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        metrics = tmp_path / "metrics.lp"
        while time.monotonic() < deadline and not (metrics.exists() and metrics.stat().st_size):
            time.sleep(0.2)
        os.kill(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "stopped cleanly" in out
    assert "Traceback" not in err
