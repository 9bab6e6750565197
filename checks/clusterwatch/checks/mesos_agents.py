"""check_mesos_agents - enough active Mesos agents?

    check_mesos_agents -H http://m1:5050[,http://m2:5050...] [--expected N] [-w MIN] [-c MIN]
                       [-t 10] [-v]

The leading master is found through ``/master/redirect`` (the leader most masters name), and
its ``/master/slaves`` read. An agent is healthy when it is registered and ``active``;
inactive ones, ``recovered_slaves`` (known from the registry, not re-registered since a
fail-over) and ``unreachable_slaves`` (where Mesos lists them) are not.

``-w``/``-c`` are the *minimum* healthy agents: ``8`` means at least 8, ``90%`` at least 90 %
of ``--expected`` (or, without it, of every agent the master knows); any other range is taken as
written. Defaults: ``-w 100%`` (any unhealthy agent warns), ``-c 50%``. With ``--expected``,
fewer agents registered than expected are counted missing. Long output (``-v``) lists the
unhealthy agents by hostname and id. No leading master, or a reply that is not the agent list,
is UNKNOWN. Perfdata: agents_active, agents_inactive, agents_registered.
"""

from __future__ import annotations

import nagiosplugin

from clusterwatch.checks import findings, mesos_discovery, minimum, plugin, targets
from clusterwatch.checks.findings import CRITICAL, OK, WARNING, Finding
from clusterwatch.core import quickhttp
from clusterwatch.core.errors import ClusterwatchError

TYPE_CHECKING = False  # typing costs start-up time: annotations only
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

NAME = "mesos_agents"


class AgentView:
    __slots__ = ("hostname", "id", "state")

    def __init__(self, id: str, hostname: str, state: str) -> None:
        self.id = id
        self.hostname = hostname
        self.state = state
        """``active``, ``inactive``, ``recovered`` (not re-registered) or ``unreachable``."""

    def __repr__(self) -> str:
        return f"AgentView({self.id!r}, {self.hostname!r}, {self.state!r})"

    def describe(self) -> str:
        return f"{self.hostname} ({self.id}): {self.state}"


def parse_agents(body: Any) -> list[AgentView]:
    """Every agent in a ``/master/slaves`` body; ValueError when it is not one."""
    if not isinstance(body, dict) or not isinstance(body.get("slaves"), list):
        raise ValueError("not a /master/slaves answer (no slaves list)")
    agents: list[AgentView] = []
    seen: set[str] = set()
    for key, default in (("slaves", None), ("recovered_slaves", "recovered"),
                         ("unreachable_slaves", "unreachable")):  # fmt: skip
        for entry in body.get(key) or []:
            if not isinstance(entry, dict):
                continue
            agent_id = str(entry.get("id") or entry.get("agent_id", {}).get("value", "?"))
            if agent_id in seen:
                continue
            seen.add(agent_id)
            state = default or ("active" if entry.get("active") is True else "inactive")
            agents.append(AgentView(agent_id, str(entry.get("hostname") or "?"), state))
    return agents


def judge(
    agents: Sequence[AgentView],
    expected: int | None,
    warning: minimum.Minimum | None,
    critical: minimum.Minimum | None,
) -> list[Finding]:
    active = sum(a.state == "active" for a in agents)
    base = expected or len(agents)
    text = f"{active}/{base} agents active"
    missing = (expected or 0) - len(agents)
    problems = [a for a in agents if a.state != "active"]
    if problems:
        names = ", ".join(f"{a.hostname} {a.state}" for a in problems[:5])
        more = f" and {len(problems) - 5} more" if len(problems) > 5 else ""
        text += f" ({names}{more})"
    if missing > 0:
        text += f", {missing} expected agent{'s' if missing != 1 else ''} not registered"
    for limit, state, word in ((critical, CRITICAL, "critical"), (warning, WARNING, "warning")):
        if limit is not None and not limit.matches(active, base):
            return [Finding(state, f"{text}, {word} minimum {limit}")]
    return [Finding(OK, text)]


class Measure(findings.Measure):
    def __call__(self) -> findings.Outcome:
        leader = mesos_discovery.find_leader(targets.flatten(self.args.hosts), self.progress)
        url = quickhttp.join(leader, "/master/slaves")
        self.progress.step(f"reading {url}")
        body = quickhttp.get_json(url, self.progress.remaining())
        try:
            agents = parse_agents(body)
        except ValueError as exc:
            raise ClusterwatchError(f"{url}: {exc}") from None
        args = self.args
        active = sum(a.state == "active" for a in agents)
        base = args.expected or len(agents)
        metrics = [
            nagiosplugin.Metric("agents_active", active, min=0, max=base, context="active"),
            findings.perf("agents_inactive", len(agents) - active, min=0),
            findings.perf("agents_registered", len(agents), min=0),
        ]
        details = [f"leading master {leader}"]
        details += [a.describe() for a in agents if a.state != "active"]
        outcome = findings.Outcome(
            judge(agents, args.expected, args.warning, args.critical), metrics, details
        )
        return outcome


class ActiveContext(minimum.MinimumContext):
    """Perfdata for agents_active, the thresholds as agent counts (judged by ``judge``)."""

    def __init__(self, warning: minimum.Minimum | None, critical: minimum.Minimum | None):
        super().__init__("active", warning, critical, fmt_metric=None)

    def evaluate(self, metric: nagiosplugin.Metric, resource: Any) -> nagiosplugin.Result:
        return nagiosplugin.Result(nagiosplugin.Ok, None, metric)


def parser() -> plugin.ArgumentParser:
    p = plugin.make_parser(
        "check_mesos_agents", "Check that enough Mesos agents are registered and active."
    )
    p.add_argument("-H", "--hosts", type=targets.urls_arg, action="append", required=True,
                   metavar="URL,...", help="Mesos masters, e.g. http://m1:5050 (any of them)")
    p.add_argument("--expected", type=targets.positive_int, metavar="N",
                   help="agents there should be (percentages are of this; default: all known)")
    p.add_argument("-w", "--warning", type=minimum.minimum_arg, metavar="MIN",
                   default=minimum.minimum_arg("100%"),
                   help="minimum active agents, count or N%% (default 100%%)")
    p.add_argument("-c", "--critical", type=minimum.minimum_arg, metavar="MIN",
                   default=minimum.minimum_arg("50%"),
                   help="minimum active agents, count or N%% (default 50%%)")
    return p


def build(args: plugin.Namespace, progress: plugin.Progress) -> nagiosplugin.Check:
    return findings.check(NAME, Measure(args, progress), ActiveContext(args.warning, args.critical))


def main(argv: list[str] | None = None) -> int:
    return plugin.run(NAME, parser(), build, argv)


if __name__ == "__main__":
    raise SystemExit(main())
