"""Running ``clusterwatch run`` as a child process in tests: its config written for a
simulated cluster, its log kept, and a fixture that kills whatever a test left running; and
running a ``Daemon`` on a thread of the test's process until a condition holds."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from clusterwatch.scheduler.daemon import Daemon
from clusterwatch.sim import Cluster

CLI = Path(sys.executable).with_name("clusterwatch")
SOURCES = ("mesos_master", "mesos_agent", "cadvisor", "marathon", "consul")


def wait_until(what: str, check: Callable[[], Any], timeout: float = 90.0) -> Any:
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.25)


def run_daemon_until(daemon: Daemon, condition: Callable[[], Any], timeout: float = 20.0) -> None:
    """Run ``daemon`` on a thread until ``condition()`` holds (or ``timeout``), then stop it
    as SIGTERM would and check it stopped."""
    thread = threading.Thread(target=daemon.run)
    thread.start()
    deadline = time.monotonic() + timeout
    try:
        while not condition() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        daemon.request_stop()
        thread.join(timeout)
    assert not thread.is_alive()


def toml_list(items: list[str] | tuple[str, ...]) -> str:
    return json.dumps(list(items))


def daemon_config(
    cluster: Cluster,
    state_dir: Path,
    sinks: dict[str, dict[str, str]],
    *,
    sources: tuple[str, ...] = SOURCES,
    interval: float = 1.0,
    name: str = "sim",
    zookeeper: str = "",
) -> str:
    assert cluster.ports is not None
    lines = [
        "[cluster]",
        f'name = "{name}"',
        f"mesos_masters = {toml_list(cluster.master_urls)}",
        f"marathon = {toml_list(cluster.marathon_urls)}",
        f'consul = "{cluster.consul_url}"',
        f'chronos = "{cluster.chronos_url or ""}"',
        f'zookeeper = "{zookeeper}"',
        "[http]",
        "connect_timeout_seconds = 1.0",
        "read_timeout_seconds = 2.0",
        "retries = 0",
        "[daemon]",
        f'state_dir = "{state_dir}"',
    ]
    for source in sources:
        lines += [f"[sources.{source}]", f"interval_seconds = {interval}"]
        if source == "cadvisor":
            lines.append(f'targets = ["http://{{ip}}:{cluster.ports.cadvisor}"]')
    for sink, settings in sinks.items():
        lines.append(f"[sinks.{sink}]")
        lines += [f'{key} = "{value}"' for key, value in settings.items()]
    return "\n".join(lines) + "\n"


class DaemonProcess:
    """One ``clusterwatch run --config F`` child with its log in the test's directory."""

    def __init__(self, config_path: Path, log_path: Path) -> None:
        self.config_path = config_path
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> DaemonProcess:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [str(CLI), "--log-level", "info", "run", "--config", str(self.config_path)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        log.close()
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 60.0) -> int:
        """SIGTERM and wait: a graceful stop drains what it can."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()  # SIGKILL: no chance to flush anything
        self.proc.wait(30)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@pytest.fixture
def daemons() -> Iterator[list[DaemonProcess]]:
    """Daemons a test starts go here; whatever still runs at the end is killed."""
    started: list[DaemonProcess] = []
    yield started
    for daemon in started:
        if daemon.alive():
            daemon.kill()
