"""check_marathon_leader - do all Marathon instances name the same leader?

    check_marathon_leader -H http://mt1:8080,http://mt2:8080,http://mt3:8080 [-t 10] [-v]

Every instance is asked ``/v2/leader`` at once. A leader answers ``{"leader": "host:port"}``;
with no leader Marathon answers 404 (``There is no leader``) and a standby that cannot find
one 503.

- CRITICAL: an instance answers that there is no leader, instances name different leaders,
  or no instance answers at all;
- WARNING: an instance does not answer (down, hanging, an HTML page from a proxy...).

Perfdata: instances_up, leaders (distinct leaders named).
"""

from __future__ import annotations

from clusterwatch.checks import findings, plugin, targets
from clusterwatch.checks.findings import CRITICAL, OK, WARNING, Finding
from clusterwatch.core import quickhttp
from clusterwatch.core.errors import FetchError

TYPE_CHECKING = False  # typing costs start-up time: annotations only
if TYPE_CHECKING:
    from collections.abc import Sequence


NAME = "marathon_leader"
NO_LEADER_STATUSES = (404, 503)


class InstanceView(targets.MemberView):
    """One instance as asked: the leader it names, ``no_leader`` (its words), or why down."""

    __slots__ = ("leader", "no_leader")

    def __init__(
        self, url: str, error: str | None = "no answer", leader: str | None = None,
        no_leader: str | None = None,
    ) -> None:
        super().__init__(url, error)
        self.leader = leader
        self.no_leader = no_leader

    def describe_up(self) -> str:
        if self.leader is None:
            return f"{self.url}: no leader ({self.no_leader})"
        return f"{self.url}: leader {self.leader}"


def from_reply(url: str, status: int, body: object, reason: str = "") -> InstanceView:
    """An instance from the status and parsed body of its ``/v2/leader`` answer."""
    if status in NO_LEADER_STATUSES:
        return InstanceView(url, error=None, no_leader=f"HTTP {status}: {reason or 'no leader'}")
    if not isinstance(body, dict) or not isinstance(body.get("leader"), str) or not body["leader"]:
        return InstanceView(url, error="/v2/leader answer has no leader field")
    return InstanceView(url, error=None, leader=body["leader"])


def ask_instance(url: str, timeout: float) -> InstanceView:
    try:
        reply = quickhttp.get(quickhttp.join(url, "/v2/leader"), timeout)
        if reply.status in NO_LEADER_STATUSES:
            return from_reply(url, reply.status, None, reply.error_text())
        if reply.status != 200:
            return InstanceView(url, error=f"HTTP {reply.status}: {reply.error_text()}")
        return from_reply(url, 200, reply.json())
    except FetchError as exc:
        status = f"HTTP {exc.status}: " if exc.status is not None else ""
        return InstanceView(url, error=f"{status}{exc.reason}")


def judge(instances: Sequence[InstanceView]) -> list[Finding]:
    up = [i for i in instances if i.up]
    if not up:
        why = "; ".join(f"{i.url}: {i.error}" for i in instances)
        return [Finding(CRITICAL, f"no Marathon instance answers ({why})")]
    out: list[Finding] = []
    named = sorted({i.leader for i in up if i.leader})
    leaderless = [i for i in up if i.leader is None]
    if leaderless:
        words = "; ".join(f"{i.url}: {i.no_leader}" for i in leaderless)
        out.append(Finding(CRITICAL, f"no leader ({words})"))
    if len(named) > 1:
        views = ", ".join(f"{i.url} says {i.leader}" for i in up if i.leader)
        out.append(Finding(CRITICAL, f"instances disagree on the leader ({views})"))
    elif named and not leaderless:
        out.append(Finding(OK, f"leader {named[0]}"))
    down = [i for i in instances if not i.up]
    if down:
        gone = "; ".join(f"{i.url}: {i.error}" for i in down)
        out.append(Finding(WARNING, f"{len(up)}/{len(instances)} instances answer ({gone})"))
    else:
        out.append(Finding(OK, f"{len(up)}/{len(instances)} instances agree"
                               if len(named) == 1 and not leaderless
                               else f"{len(up)}/{len(instances)} instances answer"))  # fmt: skip
    return out


class Measure(findings.Measure):
    def __call__(self) -> findings.Outcome:
        urls = targets.flatten(self.args.hosts)
        answers = targets.ask_all(urls, self.progress, "/v2/leader", asker=ask_instance)
        instances = [a if isinstance(a, InstanceView) else InstanceView(a.url, a.error)
                     for a in answers]  # fmt: skip
        up = [i for i in instances if i.up]
        metrics = [
            findings.perf("instances_up", len(up), min=0, max=len(instances)),
            findings.perf("leaders", len({i.leader for i in up if i.leader}), min=0),
        ]
        ranges: dict[str, tuple[str | None, str | None]] = {
            "instances_up": (f"{len(instances)}:", "1:"), "leaders": (None, "1:1"),
        }
        details = [i.describe() for i in instances]
        return findings.Outcome(judge(instances), metrics, details, ranges)


def parser() -> plugin.ArgumentParser:
    p = plugin.make_parser(
        "check_marathon_leader", "Check that every Marathon instance names the same leader."
    )
    p.add_argument("-H", "--hosts", type=targets.urls_arg, action="append", required=True,
                   metavar="URL,...", help="every Marathon instance, e.g. http://mt1:8080")
    return p


def main(argv: list[str] | None = None) -> int:
    return findings.run(NAME, parser(), Measure, argv)


if __name__ == "__main__":
    raise SystemExit(main())
