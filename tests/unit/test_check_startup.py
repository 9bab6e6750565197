"""What a plugin run imports: nothing that costs start-up time beyond ``import nagiosplugin``.

Nagios starts a plugin for every check, so what it imports is paid on every run; the goal is a
run within 1.5x of ``python -c "import nagiosplugin"`` (bench/bench_checks.py measures it). Each
plugin runs here in a fresh interpreter, a whole plain run against a closed port (or a missing
file), and the modules left in ``sys.modules`` are compared with the floor's. Never timed.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.unit.check_fakes import closed_port

REFUSED = f"127.0.0.1:{closed_port()}"
RUNS = {
    "zookeeper_quorum": ["-H", REFUSED],
    "haproxy_backends": ["-U", f"http://{REFUSED}/stats"],
    "keepalived": ["-f", "/nonexistent/keepalived.data"],
    "mesos_quorum": ["-H", f"http://{REFUSED}"],
    "consul_quorum": ["-H", f"http://{REFUSED}"],
    "marathon_leader": ["-H", f"http://{REFUSED}"],
    "mesos_agents": ["-H", f"http://{REFUSED}", "-w", "90%"],
    "mesos_resources": ["-H", f"http://{REFUSED}", "--cpus", "70,95"],
    "marathon_apps": ["-H", f"http://{REFUSED}", "--app", "^/web"],
    "chronos_jobs": ["-H", f"http://{REFUSED}", "--grace", "60"],
    "freshness": ["--influxdb", f"http://{REFUSED}", "--database", "cw", "-w", "~:300"],
}
FORBIDDEN = {
    # the command line is parsed by checks.options; argparse only for --help and errors
    "argparse", "gettext", "locale",
    # raw sockets through _socket; ASCII host names reach getaddrinfo as bytes (no IDNA codec)
    "socket", "selectors", "encodings.idna", "stringprep", "unicodedata",
    # HTTP is core.quickhttp (its own query-string quoting); TLS only for https://
    "urllib.parse", "http.client", "email", "ssl", "requests", "urllib3",
    # records are plain classes with __slots__, threads plain threading.Thread, annotations
    # behind TYPE_CHECKING; datetime only where a time is read
    "concurrent.futures", "asyncio", "dataclasses", "typing", "datetime", "ipaddress", "kazoo",
    "subprocess",
}  # fmt: skip
EXTRA = {"_socket", "csv", "_csv"}
"""What a plugin may import beyond the floor and its own modules (``csv``: HAProxy's stats)."""
SCRIPT = """
import contextlib, importlib, io, sys
{body}
print("\\n".join(sorted(sys.modules)))
"""
RUN = """
module = importlib.import_module("clusterwatch.checks." + sys.argv[1])
with contextlib.redirect_stdout(io.StringIO()):
    code = module.main(sys.argv[2:])
assert code in (2, 3), code  # the check ran: refused, or the file is missing
"""


def modules_after(body: str, *argv: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(body=body), *argv],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return set(done.stdout.split())


@pytest.fixture(scope="module")
def floor() -> set[str]:
    return modules_after("import nagiosplugin")


@pytest.mark.parametrize("name", sorted(RUNS))
def test_a_plain_run_imports_nothing_slow(name: str, floor: set[str]) -> None:
    loaded = modules_after(RUN, name, *RUNS[name])
    assert f"clusterwatch.checks.{name}" in loaded
    assert sorted(loaded & FORBIDDEN) == []
    ours = {m for m in loaded if m == "clusterwatch" or m.startswith("clusterwatch.")}
    assert sorted(loaded - floor - ours - EXTRA) == []


def test_the_floor_is_what_the_plugins_are_measured_against(floor: set[str]) -> None:
    # nagiosplugin brings these itself, so using them costs a plugin nothing at start-up
    assert {"nagiosplugin", "json", "re", "threading", "logging"} <= floor
    assert not floor & {"argparse", "socket", "datetime", "urllib.parse"}
