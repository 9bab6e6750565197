"""``clusterwatch sim-control``: break or steer a running simulator from the shell.

A thin client of the simulator's HTTP control endpoint (see sim/control.py); the endpoint
comes from ``--control URL`` or from the ``--endpoints-file`` that ``clusterwatch sim`` wrote.
Each action is one row of ACTIONS: its arguments, and how they become a request.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

Request = tuple[str, str, dict[str, Any] | None]  # method, path, JSON body


def _fault(a: argparse.Namespace) -> Request:
    params = dict(p.split("=", 1) for p in a.param)
    body = {"kind": a.kind, "role": a.role, "host": a.host, "path": a.path, "count": a.count}
    body = {k: v for k, v in body.items() if v is not None}
    return "POST", "/control/faults", {**body, "params": params}


def _app_path(app: str, what: str) -> str:
    return f"/control/apps/{urllib.parse.quote(app.strip('/'))}/{what}"


# action -> (help, arguments, request builder)
ACTIONS: dict[str, tuple[str, list[tuple[list[str], dict[str, Any]]], Callable[..., Request]]] = {
    "status": ("endpoints, leaders and active faults", [], lambda a: ("GET", "/control", None)),
    "fault": (
        "break answers: delay, hang, error, html, truncate, huge or reset",
        [
            (["kind"], {}),
            (["--role"], {"help": "master, agent, marathon, consul, chronos, cadvisor"}),
            (["--host"], {"help": "one host (its IP or URL)"}),
            (["--path"], {"help": "only requests for this path (regular expression)"}),
            (["--count"], {"type": int, "help": "only the next N requests"}),
            (["--param"], {"action": "append", "default": [], "metavar": "KEY=VALUE"}),
        ],
        _fault,
    ),
    "clear-faults": ("remove every fault", [], lambda a: ("DELETE", "/control/faults", None)),
    "master-failover": (
        "the leading Mesos master fails; another is elected",
        [(["--to"], {"type": int, "help": "index of the master to elect"})],
        lambda a: ("POST", "/control/masters/failover", {"to": a.to}),
    ),
    "standby-mode": (
        "how a standby master answers: redirect, local or claims_leader",
        [(["index"], {"type": int}), (["mode"], {})],
        lambda a: ("POST", f"/control/masters/{a.index}/standby-mode", {"mode": a.mode}),
    ),
    "marathon-failover": (
        "another Marathon instance becomes leader",
        [(["--to"], {"type": int})],
        lambda a: ("POST", "/control/marathon/failover", {"to": a.to}),
    ),
    "agent": (
        "lose, remove or restore an agent",
        [(["what"], {"choices": ("lose", "remove", "restore")}), (["agent_id"], {})],
        lambda a: ("POST", f"/control/agents/{a.agent_id}/{a.what}", {}),
    ),
    "scale": (
        "scale a Marathon app",
        [(["app"], {}), (["instances"], {"type": int}), (["--force"], {"action": "store_true"})],
        lambda a: ("POST", _app_path(a.app, "scale"), {"instances": a.instances, "force": a.force}),
    ),
    "stuck": (
        "the app's deployments never finish (--off: they do again)",
        [(["app"], {}), (["--off"], {"action": "store_true"})],
        lambda a: ("POST", _app_path(a.app, "stuck"), {"stuck": not a.off}),
    ),
    "flapping": (
        "a task of the app fails every N simulated seconds (--off: stop)",
        [
            (["app"], {}),
            (["--every"], {"type": float, "default": 30.0}),
            (["--off"], {"action": "store_true"}),
        ],
        lambda a: ("POST", _app_path(a.app, "flapping"), {"every": None if a.off else a.every}),
    ),
    "unhealthy": (
        "the app's health checks fail (--off: they pass again)",
        [(["app"], {}), (["--off"], {"action": "store_true"})],
        lambda a: ("POST", _app_path(a.app, "unhealthy"), {"unhealthy": not a.off}),
    ),
    "consul-leader": (
        "Consul has a leader (present) or not (absent)",
        [(["state"], {"choices": ("present", "absent")})],
        lambda a: ("POST", "/control/consul/leader", {"present": a.state == "present"}),
    ),
    "zk-session-loss": (
        "a master's ZooKeeper session expires",
        [(["--master"], {"type": int})],
        lambda a: ("POST", "/control/zookeeper/session-loss", {"master": a.master}),
    ),
    "advance": (
        "move the simulated clock forward",
        [(["seconds"], {"type": float})],
        lambda a: ("POST", "/control/clock/advance", {"seconds": a.seconds}),
    ),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--control", metavar="URL", help="the simulator's control URL")
    where.add_argument("--endpoints-file", metavar="PATH", help="written by clusterwatch sim")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    for name, (help_text, arguments, _) in ACTIONS.items():
        sub = actions.add_parser(name, help=help_text, description=help_text)
        for flags, options in arguments:
            sub.add_argument(*flags, **options)


def control_url(args: argparse.Namespace) -> str:
    if args.control:
        return str(args.control).rstrip("/")
    with open(args.endpoints_file, encoding="utf-8") as handle:
        return str(json.load(handle)["control"]).rstrip("/")


def run(args: argparse.Namespace) -> int:
    method, path, body = ACTIONS[args.action][2](args)
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        control_url(args) + path, data=data, method=method,
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            print(answer.read().decode())
            return 0
    except urllib.error.HTTPError as exc:
        print(f"clusterwatch sim-control: {exc.code}: {exc.read().decode()}", file=sys.stderr)
    except (urllib.error.URLError, OSError) as exc:
        print(f"clusterwatch sim-control: cannot reach the simulator: {exc}", file=sys.stderr)
    return 1
