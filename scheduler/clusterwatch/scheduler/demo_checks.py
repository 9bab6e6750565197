"""The Nagios plugins against the demo's simulated cluster, run as Nagios would run them:
each its own process, its exit code the state, its first line the result."""

from __future__ import annotations

import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STATES = {0: "OK", 1: "WARNING", 2: "CRITICAL", 3: "UNKNOWN"}


@dataclass(frozen=True, slots=True)
class CheckResult:
    plugin: str
    state: str
    line: str


def plugin_argvs(cluster: Any) -> dict[str, list[str]]:
    """plugin -> its arguments for this cluster (``cluster`` is a running sim Cluster)."""
    masters = ",".join(cluster.master_urls)
    marathons = ",".join(cluster.marathon_urls)
    argvs = {
        "check_mesos_quorum": ["-H", masters],
        "check_mesos_agents": ["-H", masters, "--expected", str(len(cluster.agents))],
        "check_mesos_resources": ["-H", masters],
        "check_marathon_leader": ["-H", marathons],
        "check_marathon_apps": ["-H", marathons],
        "check_consul_quorum": ["-H", cluster.consul_url],
    }
    if cluster.chronos_url:
        argvs["check_chronos_jobs"] = ["-H", cluster.chronos_url]
    return argvs


def run_plugin(executable: str, args: list[str], timeout: float = 10.0) -> CheckResult:
    name = Path(executable).name
    try:
        done = subprocess.run(
            [executable, *args, "-t", str(int(timeout))],
            capture_output=True, text=True, timeout=timeout + 5,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return CheckResult(name, "UNKNOWN", "did not finish (killed)")
    first = done.stdout.splitlines()[0] if done.stdout else "(no output)"
    return CheckResult(name, STATES.get(done.returncode, f"exit {done.returncode}"), first)


def run_checks(cluster: Any) -> list[CheckResult]:
    bin_dir = str(Path(sys.executable).parent)
    jobs = []
    for plugin, args in plugin_argvs(cluster).items():
        executable = shutil.which(plugin, path=bin_dir) or shutil.which(plugin)
        if executable:
            jobs.append((executable, args))
    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(lambda job: run_plugin(*job), jobs))


def table(results: list[CheckResult], width: int = 110) -> list[str]:
    rows = []
    for result in results:
        summary = result.line.split(" | ", 1)[0]
        rows.append(f"  {result.state:<9} {result.plugin:<24} {summary}"[:width])
    return rows
