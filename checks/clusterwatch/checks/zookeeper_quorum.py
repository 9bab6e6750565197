"""check_zookeeper_quorum - does the ZooKeeper ensemble serve, with exactly one leader?

    check_zookeeper_quorum -H zk1:2181,zk2:2181,zk3:2181 [-w MS] [-c MS]
                           [--outstanding-warning N] [--outstanding-critical N] [-t 10] [-v]

Every member is asked ``mntr`` (``srvr`` when ``mntr`` is not whitelisted), all at once, each
within 80 % of ``-t`` so that one hung member is counted down instead of timing out the run.

- CRITICAL: fewer than a majority of the voting members serve, or not exactly one leader;
- WARNING: a member is down (unreachable, or running but not serving), or the leader reports
  fewer synced followers than there are followers serving;
- UNKNOWN: a member answered something that is not ZooKeeper (with the reason), unless the
  quorum is lost even if it served (CRITICAL wins);
- ``-w``/``-c``: ranges on the worst average request latency (ms) among serving members;
  ``--outstanding-warning/-critical``: ranges on the most outstanding requests.

Perfdata: members_up, leaders, synced_followers, avg_latency, max_latency, outstanding_requests.
"""

from __future__ import annotations

import threading
import time

import nagiosplugin

from clusterwatch.checks import plugin
from clusterwatch.core import zk4lw
from clusterwatch.core.errors import FetchError

TYPE_CHECKING = False  # typing costs start-up time: annotations only
if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from typing import Any

NAME = "zookeeper_quorum"
MEMBER_SHARE = 0.8
"""Part of the time left that one member may take before it is counted down."""


class Member:
    """One ensemble member as asked: its status, or why there is none."""

    def __init__(self, target: str, error: str = "no answer") -> None:
        self.target = target
        self.status: zk4lw.ZkStatus | None = None
        self.error = error
        self.unreadable = False
        """It answered, but not as ZooKeeper does: we cannot tell whether it serves."""

    @property
    def serving(self) -> bool:
        return self.status is not None

    def describe(self, short: bool = False) -> str:
        if self.status is None:
            if self.unreadable:
                return f"{self.target}: unreadable reply" + ("" if short else f" ({self.error})")
            return f"{self.target}: down ({self.error})"
        s = self.status
        parts = [s.state]
        if s.avg_latency is not None:
            parts.append(f"latency avg {plugin.format_value(s.avg_latency)} ms")
        if s.max_latency is not None:
            parts.append(f"max {plugin.format_value(s.max_latency)} ms")
        if s.outstanding_requests is not None:
            parts.append(f"outstanding {s.outstanding_requests}")
        if s.znode_count is not None:
            parts.append(f"znodes {s.znode_count}")
        if s.synced_followers is not None:
            parts.append(f"synced followers {s.synced_followers}")
        if s.version:
            parts.append(f"version {s.version.split(',')[0]}")
        parts.append(f"via {s.source}")
        return f"{self.target}: " + ", ".join(parts)


def ask(target: str, timeout: float) -> Member:
    """One member's status; failures become a down (or unreadable) member, never an error."""
    member = Member(target)
    try:
        host, port = zk4lw.parse_target(target)
        member.status = zk4lw.status(host, port, timeout)
    except (zk4lw.ZkNotAllowed, zk4lw.ZkBadReply) as exc:
        member.error, member.unreadable = exc.reason, True
    except FetchError as exc:
        member.error = exc.reason
    except ValueError as exc:
        member.error = str(exc)
    return member


def ask_all(targets: Sequence[str], timeout: float, progress: plugin.Progress) -> list[Member]:
    """Ask every member in parallel; one that has not answered within ``timeout`` is down."""
    members = [Member(t, error=f"no answer within {timeout:.3g}s") for t in targets]

    def one(index: int) -> None:
        members[index] = ask(targets[index], timeout)

    threads = [
        threading.Thread(target=one, args=(i,), daemon=True, name=f"zk-{t}")
        for i, t in enumerate(targets)
    ]
    deadline = time.monotonic() + timeout * 1.1  # the sockets' own timeouts should fire first
    progress.step(f"asking {', '.join(targets)} for mntr")
    for thread in threads:
        thread.start()
    for thread, target in zip(threads, targets, strict=True):
        progress.step(f"waiting for mntr from {target}")
        thread.join(max(0.0, deadline - time.monotonic()))
    return list(members)


class Ensemble(nagiosplugin.Resource):  # type: ignore[misc]
    def __init__(self, targets: Sequence[str], progress: plugin.Progress) -> None:
        self.targets = list(targets)
        self.progress = progress
        self.members: list[Member] = []

    @property
    def name(self) -> str:
        return NAME.upper()

    def serving(self) -> list[Member]:
        return [m for m in self.members if m.serving]

    def role(self, *states: str) -> list[Member]:
        return [m for m in self.serving() if m.status and m.status.state in states]

    @property
    def voters(self) -> int:
        return len(self.members) - len(self.role("observer"))

    def probe(self) -> Iterator[nagiosplugin.Metric]:
        timeout = max(0.05, self.progress.remaining() * MEMBER_SHARE)
        self.members = ask_all(self.targets, timeout, self.progress)
        total = len(self.members)
        up = self.serving()
        yield nagiosplugin.Metric("members_up", len(up), min=0, max=total, context="members")
        yield nagiosplugin.Metric(
            "leaders", len(self.role("leader", "standalone")), min=0, max=total, context="leaders"
        )
        leader = self.role("leader")
        if len(leader) == 1 and leader[0].status and leader[0].status.synced_followers is not None:
            yield nagiosplugin.Metric(
                "synced_followers", leader[0].status.synced_followers, min=0,
                max=max(total - 1, 0), context="synced",
            )
        statuses = [m.status for m in up if m.status]
        avg = [s.avg_latency for s in statuses if s.avg_latency is not None]
        if avg:
            yield nagiosplugin.Metric("avg_latency", max(avg), "ms", min=0, context="latency")
        peak = [s.max_latency for s in statuses if s.max_latency is not None]
        if peak:
            yield nagiosplugin.Metric("max_latency", max(peak), "ms", min=0, context="plain")
        queued = [s.outstanding_requests for s in statuses if s.outstanding_requests is not None]
        if queued:
            yield nagiosplugin.Metric(
                "outstanding_requests", max(queued), min=0, context="outstanding"
            )
        for member in self.members:
            if member.unreadable:
                yield nagiosplugin.Metric(
                    f"reply {member.target}", member.error, context="unreadable"
                )


def _down_list(resource: Ensemble) -> str:
    return "; ".join(m.describe(short=True) for m in resource.members if not m.serving)


class MembersContext(nagiosplugin.Context):  # type: ignore[misc]
    """Quorum: CRITICAL below a majority of voters, WARNING when any member is not serving."""

    def __init__(self) -> None:
        super().__init__("members")

    def evaluate(self, metric: nagiosplugin.Metric, resource: Ensemble) -> nagiosplugin.Result:
        total, up = metric.max, metric.value
        voters = resource.voters
        serving_voters = up - len(resource.role("observer"))
        majority = voters // 2 + 1
        unreadable = len([m for m in resource.members if m.unreadable])
        text = f"{up}/{total} members serving"
        if serving_voters + unreadable < majority:  # lost, whatever the unreadable ones say
            need = f"{majority} of {voters} voters needed"
            hint = f"no quorum: {text}, {need} ({_down_list(resource)})"
            return nagiosplugin.Result(nagiosplugin.Critical, hint, metric)
        if up < total:
            return nagiosplugin.Result(
                nagiosplugin.Warn, f"{text} ({_down_list(resource)})", metric
            )
        return nagiosplugin.Result(nagiosplugin.Ok, text, metric)

    def performance(self, metric: nagiosplugin.Metric, resource: Ensemble) -> plugin.PerfData:
        total = metric.max
        majority = resource.voters // 2 + 1 + len(resource.role("observer"))
        return plugin.PerfData(
            "members_up", metric.value,
            warn=plugin.parse_range(f"{total}:"), crit=plugin.parse_range(f"{majority}:"),
            min=0, max=total,
        )


class LeadersContext(nagiosplugin.Context):  # type: ignore[misc]
    """Exactly one leader (a lone standalone server counts as one)."""

    def __init__(self) -> None:
        super().__init__("leaders")

    def evaluate(self, metric: nagiosplugin.Metric, resource: Ensemble) -> nagiosplugin.Result:
        leaders = resource.role("leader", "standalone")
        if len(leaders) == 1:
            return nagiosplugin.Result(nagiosplugin.Ok, f"leader {leaders[0].target}", metric)
        if not leaders and any(m.unreadable for m in resource.members):
            return nagiosplugin.Result(nagiosplugin.Unknown, "no leader among readable members",
                                       metric)
        if not leaders:
            return nagiosplugin.Result(nagiosplugin.Critical, "no leader", metric)
        names = ", ".join(m.target for m in leaders)
        return nagiosplugin.Result(
            nagiosplugin.Critical, f"{len(leaders)} leaders ({names})", metric
        )

    def performance(self, metric: nagiosplugin.Metric, resource: Ensemble) -> plugin.PerfData:
        return plugin.PerfData(
            "leaders", metric.value, crit=plugin.parse_range("1:1"), min=0, max=metric.max
        )


class SyncedContext(nagiosplugin.Context):  # type: ignore[misc]
    """The leader's synced followers against the followers that serve."""

    def __init__(self) -> None:
        super().__init__("synced")

    def expected(self, resource: Ensemble) -> int:
        return len(resource.role("follower"))

    def evaluate(self, metric: nagiosplugin.Metric, resource: Ensemble) -> nagiosplugin.Result:
        expected = self.expected(resource)
        text = f"{metric.value}/{expected} followers synced"
        state = nagiosplugin.Warn if metric.value < expected else nagiosplugin.Ok
        return nagiosplugin.Result(state, text, metric)

    def performance(self, metric: nagiosplugin.Metric, resource: Ensemble) -> plugin.PerfData:
        return plugin.PerfData(
            "synced_followers", metric.value,
            warn=plugin.parse_range(f"{self.expected(resource)}:"), min=0, max=metric.max,
        )


class UnreadableContext(nagiosplugin.Context):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__("unreadable")

    def evaluate(self, metric: nagiosplugin.Metric, resource: Any) -> nagiosplugin.Result:
        target = metric.name.split(" ", 1)[1]
        return nagiosplugin.Result(nagiosplugin.Unknown, f"{target}: {metric.value}", metric)


class EnsembleSummary(plugin.Summary):
    def ok(self, results: nagiosplugin.Results) -> str:
        wanted = ("members", "leaders", "synced", "latency")
        parts = [str(r) for r in results if r.metric and r.metric.context in wanted]
        return ", ".join(p for p in parts if p)

    def verbose(self, results: nagiosplugin.Results) -> list[str]:
        resource = results[0].resource if results else None
        if not isinstance(resource, Ensemble):
            return []
        return [m.describe() for m in resource.members]


def targets_arg(text: str) -> list[str]:
    out = []
    for item in text.split(","):
        if item.strip():
            try:
                zk4lw.parse_target(item)
            except ValueError as exc:
                raise plugin.BadValue(str(exc)) from None
            out.append(item.strip())
    if not out:
        raise plugin.BadValue("no host given")
    return out


def parser() -> plugin.ArgumentParser:
    p = plugin.make_parser(
        "check_zookeeper_quorum",
        "Check that a ZooKeeper ensemble has quorum and exactly one leader (4lw mntr/srvr).",
    )
    p.add_argument(
        "-H", "--hosts", type=targets_arg, action="append", required=True,
        metavar="HOST[:PORT],...",
        help="every member of the ensemble, comma separated (repeatable; port 2181 by default)",
    )
    p.add_argument("-w", "--warning", type=plugin.range_arg, metavar="RANGE",
                   help="range for the worst average latency, ms")
    p.add_argument("-c", "--critical", type=plugin.range_arg, metavar="RANGE",
                   help="range for the worst average latency, ms")
    p.add_argument("--outstanding-warning", type=plugin.range_arg, metavar="RANGE",
                   help="range for the most outstanding requests on a member")
    p.add_argument("--outstanding-critical", type=plugin.range_arg, metavar="RANGE",
                   help="range for the most outstanding requests on a member")
    return p


def build(args: plugin.Namespace, progress: plugin.Progress) -> nagiosplugin.Check:
    targets = [t for group in args.hosts for t in group]
    return nagiosplugin.Check(
        Ensemble(targets, progress),
        MembersContext(),
        LeadersContext(),
        SyncedContext(),
        UnreadableContext(),
        plugin.RangeContext("latency", args.warning, args.critical,
                            fmt_metric="avg latency {valueunit}"),
        plugin.RangeContext("plain", fmt_metric="{name} {valueunit}"),
        plugin.RangeContext("outstanding", args.outstanding_warning, args.outstanding_critical,
                            fmt_metric="{value} outstanding requests"),
        EnsembleSummary(),
    )


def main(argv: list[str] | None = None) -> int:
    return plugin.run(NAME, parser(), build, argv)


if __name__ == "__main__":
    raise SystemExit(main())
