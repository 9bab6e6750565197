"""`clusterwatch sim` + `clusterwatch sim-control`: faults set from the shell reach the API."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration

CLI = [sys.executable, "-m", "clusterwatch.core.cli"]


def control(endpoints: Path, *args: str) -> Any:
    done = subprocess.run(
        [*CLI, "sim-control", "--endpoints-file", str(endpoints), *args],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_faults_and_failover_from_the_command_line(tmp_path: Path) -> None:
    endpoints = tmp_path / "endpoints.json"
    sim = subprocess.Popen(
        [*CLI, "sim", "--agents", "4", "--apps", "2", "--ports", "ephemeral",
         "--endpoints-file", str(endpoints)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not endpoints.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        urls = json.loads(endpoints.read_text())
        agent = urls["agents"][1]
        snapshot = agent["mesos"] + "/metrics/snapshot"
        assert get(snapshot)[0] == 200

        fault = control(endpoints, "fault", "html", "--host", agent["mesos"], "--path", "/metrics")
        status, body = get(snapshot)
        assert status >= 500 and body.lstrip().startswith(b"<")
        assert get(urls["agents"][0]["mesos"] + "/metrics/snapshot")[0] == 200  # others fine
        assert [f["id"] for f in control(endpoints, "status")["faults"]] == [fault["id"]]
        control(endpoints, "clear-faults")
        assert get(snapshot)[0] == 200

        before = control(endpoints, "status")["leader"]
        after = control(endpoints, "master-failover")["leader"]
        assert after != before
        assert control(endpoints, "status")["leader"] == after
    finally:
        sim.send_signal(signal.SIGINT)
        sim.wait(30)
    assert sim.returncode == 0


def test_unreachable_simulator_is_a_clear_error(tmp_path: Path) -> None:
    done = subprocess.run(
        [*CLI, "sim-control", "--control", "http://127.0.0.1:9", "status"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert done.returncode == 1
    assert "cannot reach the simulator" in done.stderr
    assert "Traceback" not in done.stderr
