"""Every plugin's installed console script, run as Nagios runs it, on hostile inputs.

Bad arguments, --help, --version, an unreachable target, a target that hangs (bounded -t) and an
HTML/garbage reply: the exit code is the expected one, stdout starts with exactly one
``NAME STATE - summary [| perfdata]`` line, stderr stays empty, and no traceback shows.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.unit.check_fakes import closed_port, hang, http, reply, serving

BIN = Path(sys.executable).parent
LINE = re.compile(
    r"^(?P<name>[A-Z_]+) (?P<state>OK|WARNING|CRITICAL|UNKNOWN)( - [^|\n]+?)?( \| [^\n]+)?$"
)
CODES = {"OK": 0, "WARNING": 1, "CRITICAL": 2, "UNKNOWN": 3}


@dataclass
class Targets:
    refused: str
    hanging: str
    garbage_tcp: str
    html_url: str
    hanging_fifo: str
    garbage_file: str
    missing_file: str


@dataclass(frozen=True)
class Plugin:
    script: str
    name: str
    argv: Callable[[str, Targets], list[str]]
    """Arguments for a case: ``refused``, ``hang`` or ``garbage``."""
    codes: dict[str, int]
    """Expected exit code per case."""


def _zk(case: str, t: Targets) -> list[str]:
    host = {"refused": t.refused, "hang": t.hanging, "garbage": t.garbage_tcp}[case]
    return ["-H", host, "-t", "1"]


def _haproxy(case: str, t: Targets) -> list[str]:
    source = {
        "refused": ["-S", t.refused],
        "hang": ["-S", t.hanging],
        "garbage": ["-U", t.html_url],
    }[case]
    return [*source, "-t", "1"]


def _keepalived(case: str, t: Targets) -> list[str]:
    path = {"refused": t.missing_file, "hang": t.hanging_fifo, "garbage": t.garbage_file}[case]
    return ["-f", path, "-t", "1"]


def _http(
    *extra: str, flag: str = "-H", garbage: str = "html"
) -> Callable[[str, Targets], list[str]]:
    """Arguments for an HTTP plugin whose target is ``flag URL``; ``garbage``: ``html`` (an
    HTML page over HTTP) or ``tcp`` (a reply that is not HTTP at all)."""

    def argv(case: str, t: Targets) -> list[str]:
        junk = t.html_url if garbage == "html" else f"http://{t.garbage_tcp}"
        url = {"refused": f"http://{t.refused}", "hang": f"http://{t.hanging}",
               "garbage": junk}[case]  # fmt: skip
        return [flag, url, *extra, "-t", "1"]

    return argv


DOWN_IS_CRITICAL = {"refused": 2, "hang": 2, "garbage": 2}
"""Quorum-style checks: a member that cannot be read is down, and none up is CRITICAL."""
CANNOT_CHECK = {"refused": 3, "hang": 3, "garbage": 3}

PLUGINS = [
    # a ZooKeeper member that cannot be reached or hangs is down: 0/1 serving is CRITICAL
    Plugin("check_zookeeper_quorum", "ZOOKEEPER_QUORUM", _zk,
           {"refused": 2, "hang": 2, "garbage": 3}),
    Plugin("check_haproxy_backends", "HAPROXY_BACKENDS", _haproxy,
           {"refused": 3, "hang": 3, "garbage": 3}),
    Plugin("check_keepalived", "KEEPALIVED", _keepalived,
           {"refused": 3, "hang": 3, "garbage": 3}),
    Plugin("check_mesos_quorum", "MESOS_QUORUM", _http(), DOWN_IS_CRITICAL),
    Plugin("check_consul_quorum", "CONSUL_QUORUM", _http(), DOWN_IS_CRITICAL),
    Plugin("check_marathon_leader", "MARATHON_LEADER", _http(garbage="tcp"), DOWN_IS_CRITICAL),
    Plugin("check_mesos_agents", "MESOS_AGENTS", _http(), CANNOT_CHECK),
    Plugin("check_mesos_resources", "MESOS_RESOURCES", _http(), CANNOT_CHECK),
    Plugin("check_marathon_apps", "MARATHON_APPS", _http(), CANNOT_CHECK),
    Plugin("check_chronos_jobs", "CHRONOS_JOBS", _http(garbage="tcp"), CANNOT_CHECK),
    Plugin("check_freshness", "FRESHNESS", _http("--database", "cw", flag="--influxdb"),
           CANNOT_CHECK),
]
IDS = [p.script for p in PLUGINS]


@pytest.fixture(scope="module")
def targets(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Targets]:
    tmp = tmp_path_factory.mktemp("conformance")
    fifo = tmp / "hang.data"
    os.mkfifo(fifo)
    garbage = tmp / "garbage.data"
    garbage.write_bytes(b"\x00\xff<html>\n\x1b[31m not a dump \n")
    page = "<html><head><title>502</title></head><body>Bad Gateway</body></html>"
    with (
        serving(hang()) as stuck,
        serving(reply("<html><body>Bad Gateway</body></html>\r\n")) as junk,
        serving(http(200, page)) as web,
    ):
        yield Targets(
            refused=f"127.0.0.1:{closed_port()}",
            hanging=stuck.address,
            garbage_tcp=junk.address,
            html_url=f"http://{web.address}/stats",
            hanging_fifo=str(fifo),
            garbage_file=str(garbage),
            missing_file=str(tmp / "missing.data"),
        )


def run(script: str, argv: list[str]) -> subprocess.CompletedProcess[str]:
    path = BIN / script
    if not path.exists():
        pytest.skip(f"{script} is not installed (pip install -e .)")
    return subprocess.run(
        [str(path), *argv], capture_output=True, text=True, timeout=30,
        env={**os.environ, "LC_ALL": "C"},
    )


def assert_status_line(plugin: Plugin, result: subprocess.CompletedProcess[str]) -> str:
    assert result.stderr == ""
    assert "Traceback" not in result.stdout
    first = result.stdout.splitlines()[0]
    match = LINE.match(first)
    assert match, first
    assert match["name"] == plugin.name
    assert CODES[match["state"]] == result.returncode
    return first


@pytest.mark.parametrize("plugin", PLUGINS, ids=IDS)
@pytest.mark.parametrize(
    "argv", [["--bogus"], ["-t", "-1"], ["-w"], ["-t", "1", "stray"]], ids=str
)
def test_bad_arguments_exit_3_with_a_status_line(plugin: Plugin, argv: list[str]) -> None:
    result = run(plugin.script, argv)
    assert result.returncode == 3
    assert assert_status_line(plugin, result).startswith(f"{plugin.name} UNKNOWN - ")


@pytest.mark.parametrize("plugin", PLUGINS, ids=IDS)
def test_help_exits_0_on_stdout(plugin: Plugin) -> None:
    result = run(plugin.script, ["--help"])
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.startswith(f"usage: {plugin.script}")
    assert "--timeout" in result.stdout


@pytest.mark.parametrize("plugin", PLUGINS, ids=IDS)
def test_version_exits_0_on_stdout(plugin: Plugin) -> None:
    result = run(plugin.script, ["--version"])
    assert (result.returncode, result.stderr) == (0, "")
    assert re.fullmatch(rf"{plugin.script} \(clusterwatch\) \S+\n", result.stdout)


@pytest.mark.parametrize("plugin", PLUGINS, ids=IDS)
@pytest.mark.parametrize("case", ["refused", "hang", "garbage"])
def test_hostile_targets(plugin: Plugin, case: str, targets: Targets) -> None:
    result = run(plugin.script, plugin.argv(case, targets))
    first = assert_status_line(plugin, result)
    assert result.returncode == plugin.codes[case], first
    assert len(result.stdout.splitlines()) == 1  # no -v: one line only
    if case == "hang" and result.returncode == 3:
        assert re.search(r"time(d)? ?out", first), first
