"""check_marathon_apps - Marathon apps at capacity, deployments finishing, nothing stuck queued?

    check_marathon_apps -H http://mt1:8080 [--app REGEX] [--deployment-max-age SECONDS]
                        [--queue-max-age SECONDS] [-t 10] [-v]

Reads ``/v2/apps``, ``/v2/deployments`` and ``/v2/queue`` (any instance: standbys proxy to the
leader; with several ``-H`` URLs the first that answers is used). ``--app`` is a regular
expression searched in app ids.

- CRITICAL: an app with instances wanted and none healthy;
- WARNING: an app with fewer healthy tasks than instances; a deployment running longer than
  ``--deployment-max-age`` (default 900 s); instances waiting in the launch queue longer than
  ``--queue-max-age`` (default 300 s).

Healthy means ``tasksHealthy`` for an app with health checks, ``tasksRunning`` without. An app
under a deployment younger than the limit is not judged on capacity (it is being scaled or
restarted; a deployment that does not finish is). Ages are measured with this host's clock.
Long output (``-v``) names every app with a problem, deployment and queue entry.
Perfdata: apps, apps_degraded, apps_down, deployments, deployments_overdue, queued_instances.
"""

from __future__ import annotations

import time

from clusterwatch.checks import findings, plugin, targets
from clusterwatch.checks.findings import CRITICAL, OK, WARNING, Finding
from clusterwatch.checks.times import age_text, epoch, seconds_arg
from clusterwatch.core import quickhttp
from clusterwatch.core.errors import ClusterwatchError, FetchError

TYPE_CHECKING = False  # typing costs start-up time: annotations only
if TYPE_CHECKING:
    import re
    from collections.abc import Sequence
    from typing import Any


NAME = "marathon_apps"
DEFAULT_DEPLOYMENT_MAX_AGE = 900.0
DEFAULT_QUEUE_MAX_AGE = 300.0


class AppView:
    __slots__ = ("deploying", "healthy", "id", "instances")

    def __init__(self, id: str, instances: int, healthy: int, deploying: bool) -> None:
        self.id = id
        self.instances = instances
        self.healthy = healthy
        self.deploying = deploying


class Waiting:
    """Something that has been waiting: a deployment (``what`` = its apps) or a queue entry."""

    __slots__ = ("age", "count", "id", "what")

    def __init__(self, id: str, what: str, age: float, count: int = 0) -> None:
        self.id = id
        self.what = what
        self.age = age
        self.count = count


def parse_apps(body: Any) -> list[AppView]:
    if not isinstance(body, dict) or not isinstance(body.get("apps"), list):
        raise ValueError("not a /v2/apps answer (no apps list)")
    out = []
    for app in body["apps"]:
        if not isinstance(app, dict) or not isinstance(app.get("id"), str):
            continue
        checked = bool(app.get("healthChecks"))
        healthy = app.get("tasksHealthy" if checked else "tasksRunning") or 0
        out.append(AppView(app["id"], int(app.get("instances") or 0), int(healthy),
                           bool(app.get("deployments"))))  # fmt: skip
    return out


def parse_deployments(body: Any, now: float) -> list[Waiting]:
    if not isinstance(body, list):
        raise ValueError("not a /v2/deployments answer (not a list)")
    out = []
    for dep in body:
        if not isinstance(dep, dict):
            continue
        started = epoch(dep.get("version"))
        apps = ", ".join(str(a) for a in dep.get("affectedApps") or []) or "no app"
        age = now - started if started is not None else 0.0
        out.append(Waiting(str(dep.get("id", "?")), apps, age))
    return out


def parse_queue(body: Any, now: float) -> list[Waiting]:
    if not isinstance(body, dict) or not isinstance(body.get("queue"), list):
        raise ValueError("not a /v2/queue answer (no queue list)")
    out = []
    for entry in body["queue"]:
        if not isinstance(entry, dict):
            continue
        found = entry.get("app")
        app: dict[str, Any] = found if isinstance(found, dict) else {}
        app_id = str(app.get("id") or (entry.get("pod") or {}).get("id") or "?")
        since = epoch(entry.get("since"))
        count = int(entry.get("count") or 0)
        out.append(Waiting(app_id, app_id, now - since if since is not None else 0.0, count))
    return out


def short_apps(apps: Sequence[AppView], overdue: Sequence[Waiting]) -> list[AppView]:
    """Apps with fewer healthy tasks than instances, except those under a deployment that is
    not overdue (being scaled or restarted: the deployment's age judges them)."""
    stuck = {app.strip() for d in overdue for app in d.what.split(",")}
    return [
        a for a in apps
        if a.instances > 0 and a.healthy < a.instances and (not a.deploying or a.id in stuck)
    ]


def judge(
    apps: Sequence[AppView], deployments: Sequence[Waiting], queue: Sequence[Waiting],
    deployment_max_age: float, queue_max_age: float,
) -> list[Finding]:
    out: list[Finding] = []
    overdue = [d for d in deployments if d.age > deployment_max_age]
    for app in short_apps(apps, overdue):
        text = f"{app.id} {app.healthy}/{app.instances} healthy"
        out.append(Finding(CRITICAL if app.healthy == 0 else WARNING, text))
    for dep in overdue:
        out.append(Finding(WARNING, f"deployment of {dep.what} running for {age_text(dep.age)}"))
    for entry in queue:
        if entry.count > 0 and entry.age > queue_max_age:
            out.append(Finding(WARNING, f"{entry.id} {entry.count} instance"
                                        f"{'s' if entry.count != 1 else ''} queued for "
                                        f"{age_text(entry.age)}"))  # fmt: skip
    if not out:
        running = sum(1 for a in apps if a.instances > 0)
        text = f"{running} app{'s' if running != 1 else ''} at capacity"
        if deployments:
            text += f", {len(deployments)} deployment{'s' if len(deployments) != 1 else ''}"
        out.append(Finding(OK, text))
    return out


def details(
    apps: Sequence[AppView], deployments: Sequence[Waiting], queue: Sequence[Waiting]
) -> list[str]:
    lines = [f"app {a.id}: {a.healthy}/{a.instances} healthy"
             + (" (deploying)" if a.deploying else "") for a in apps]  # fmt: skip
    lines += [f"deployment {d.id}: {d.what}, running for {age_text(d.age)}" for d in deployments]
    lines += [f"queue {q.id}: {q.count} waiting for {age_text(q.age)}" for q in queue]
    return lines


class Measure(findings.Measure):
    def get(self, path: str) -> tuple[str, Any]:
        """``path`` from the first Marathon URL that answers."""
        errors = []
        for base in targets.flatten(self.args.hosts):
            url = quickhttp.join(base, path)
            self.progress.step(f"reading {url}")
            try:
                return url, quickhttp.get_json(url, self.progress.remaining())
            except FetchError as exc:
                errors.append(str(exc))
        raise ClusterwatchError("; ".join(errors))

    def __call__(self) -> findings.Outcome:
        pattern: re.Pattern[str] | None = self.args.app
        url, body = self.get("/v2/apps")
        try:
            apps = parse_apps(body)
            url, body = self.get("/v2/deployments")
            now = time.time()
            deployments = parse_deployments(body, now)
            url, body = self.get("/v2/queue")
            queue = parse_queue(body, now)
        except ValueError as exc:
            raise ClusterwatchError(f"{url}: {exc}") from None
        if pattern is not None:
            apps = [a for a in apps if pattern.search(a.id)]
            deployments = [d for d in deployments if pattern.search(d.what)]
            queue = [q for q in queue if pattern.search(q.id)]
            if not apps:
                raise ClusterwatchError(f"no app matching {pattern.pattern!r}")
        args = self.args
        found = judge(apps, deployments, queue, args.deployment_max_age, args.queue_max_age)
        overdue = [d for d in deployments if d.age > args.deployment_max_age]
        short = short_apps(apps, overdue)
        metrics = [
            findings.perf("apps", len(apps), min=0),
            findings.perf("apps_degraded", sum(a.healthy > 0 for a in short), min=0),
            findings.perf("apps_down", sum(a.healthy == 0 for a in short), min=0),
            findings.perf("deployments", len(deployments), min=0),
            findings.perf("deployments_overdue", len(overdue), min=0),
            findings.perf("queued_instances", sum(q.count for q in queue), min=0),
        ]
        ranges: dict[str, tuple[str | None, str | None]] = {
            "apps_degraded": ("0", None), "apps_down": (None, "0"),
            "deployments_overdue": ("0", None),
        }
        return findings.Outcome(found, metrics, details(apps, deployments, queue), ranges)


def parser() -> plugin.ArgumentParser:
    p = plugin.make_parser(
        "check_marathon_apps",
        "Check Marathon apps' healthy tasks, deployments that do not finish and the launch queue.",
    )
    p.add_argument("-H", "--hosts", type=targets.urls_arg, action="append", required=True,
                   metavar="URL,...", help="Marathon, e.g. http://mt1:8080 (the first answering)")
    p.add_argument("--app", type=targets.regex_arg, metavar="REGEX",
                   help="only apps whose id matches (re.search)")
    p.add_argument("--deployment-max-age", type=seconds_arg, metavar="SECONDS",
                   default=DEFAULT_DEPLOYMENT_MAX_AGE,
                   help=f"warn on deployments older (default {DEFAULT_DEPLOYMENT_MAX_AGE:g})")
    p.add_argument("--queue-max-age", type=seconds_arg, metavar="SECONDS",
                   default=DEFAULT_QUEUE_MAX_AGE,
                   help=f"warn on instances queued longer (default {DEFAULT_QUEUE_MAX_AGE:g})")
    return p


def main(argv: list[str] | None = None) -> int:
    return findings.run(NAME, parser(), Measure, argv)


if __name__ == "__main__":
    raise SystemExit(main())
