"""check_mesos_quorum - one elected Mesos master with a recovered registrar, and a quorum up?

    check_mesos_quorum -H http://m1:5050,http://m2:5050,http://m3:5050 [--quorum N] [-t 10] [-v]
    check_mesos_quorum --zookeeper zk1:2181,zk2:2181 [--znode /mesos] [--masters N] [-t 10] [-v]

Masters come from ``-H`` or from ZooKeeper (the ``json.info_*`` znodes under ``--znode``; the
lowest sequence is the leader ZooKeeper elected). Every master is asked ``/metrics/snapshot`` at
once (the elected one ``/flags`` too), each within 80 % of the time left; one that does not
answer, or answers something that is not a snapshot, counts as down (with the reason), never as
UNKNOWN. A leader count other than one is confirmed by asking again once (a fail-over in
progress shows 0 or 2 leaders for an instant).

- CRITICAL: no master with ``master/elected`` 1, or more than one; the leader's
  ``registrar/log/recovered`` is not 1; fewer masters up than the quorum; in ZooKeeper mode
  fewer znodes than the quorum, or the elected master is not the one ZooKeeper names;
- WARNING: a master down while enough are up (``-H`` lists every master; ``--masters``
  says how many there should be, by default ``2 * quorum - 1`` in ZooKeeper mode).

The quorum is ``--quorum``, else the masters' ``--quorum`` flag (``/flags``), else a majority.
Perfdata: masters_up, leaders, quorum (and znodes in ZooKeeper mode).
"""

from __future__ import annotations

import time

from clusterwatch.checks import findings, plugin, targets
from clusterwatch.checks.findings import CRITICAL, OK, WARNING, Finding
from clusterwatch.core import mesos_leader, quickhttp
from clusterwatch.core.errors import FetchError

TYPE_CHECKING = False  # typing costs start-up time: annotations only
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any


NAME = "mesos_quorum"
RATE_LIMIT_PAUSE = 0.6
"""Mesos rate-limits /metrics/snapshot on some builds (429): wait this long and ask once more."""


class MasterView(targets.MemberView):
    """One master as asked: elected, registrar recovered, its quorum flag; or why it is down."""

    __slots__ = ("elected", "quorum", "recovered")

    def __init__(
        self, url: str, error: str | None = "no answer", elected: bool = False,
        recovered: float | None = None, quorum: int | None = None,
    ) -> None:
        super().__init__(url, error)
        self.elected = elected
        self.recovered = recovered
        self.quorum = quorum

    def describe_up(self) -> str:
        if not self.elected:
            return f"{self.url}: standby"
        registrar = "recovered" if self.recovered == 1 else "NOT recovered"
        return f"{self.url}: leader, registrar {registrar}, quorum flag {self.quorum or '?'}"


def from_snapshot(url: str, snapshot: Any, flags: Any = None) -> MasterView:
    """A master from its parsed ``/metrics/snapshot`` (and ``/flags``) bodies."""
    if not isinstance(snapshot, dict) or "master/elected" not in snapshot:
        return MasterView(url, error="not a Mesos master snapshot (no master/elected)")
    quorum = None
    if isinstance(flags, dict) and isinstance(flags.get("flags"), dict):
        text = str(flags["flags"].get("quorum", ""))
        quorum = int(text) if text.isdigit() else None
    recovered = snapshot.get("registrar/log/recovered")
    return MasterView(
        url, error=None, elected=snapshot.get("master/elected") == 1,
        recovered=recovered if isinstance(recovered, int | float) else None, quorum=quorum,
    )


def _snapshot(url: str, deadline: float) -> Any:
    target = quickhttp.join(url, "/metrics/snapshot")
    reply = quickhttp.get(target, max(0.001, deadline - time.monotonic()))
    if reply.status == 429 and deadline - time.monotonic() > RATE_LIMIT_PAUSE * 2:
        time.sleep(RATE_LIMIT_PAUSE)
        reply = quickhttp.get(target, max(0.001, deadline - time.monotonic()))
    if reply.status != 200:
        raise FetchError(target, reply.error_text(), reply.status)
    return reply.json()


def ask_master(url: str, timeout: float) -> MasterView:
    """Snapshot, then the elected master's flags (its quorum); a failed snapshot is a down
    master, failed flags only an unknown quorum flag."""
    deadline = time.monotonic() + timeout
    try:
        snapshot = _snapshot(url, deadline)
    except FetchError as exc:
        status = f"HTTP {exc.status}: " if exc.status is not None else ""
        return MasterView(url, error=f"{status}{exc.reason}")
    if not isinstance(snapshot, dict) or snapshot.get("master/elected") != 1:
        return from_snapshot(url, snapshot)
    try:
        flags = quickhttp.get_json(
            quickhttp.join(url, "/flags"), max(0.001, deadline - time.monotonic())
        )
    except FetchError:
        flags = None
    return from_snapshot(url, snapshot, flags)


def quorum_of(masters: Sequence[MasterView], given: int | None, count: int) -> int:
    """``--quorum``, else the quorum flag most masters report, else a majority of ``count``."""
    if given:
        return given
    flags = [m.quorum for m in masters if m.up and m.quorum]
    if flags:
        return max(set(flags), key=flags.count)
    return count // 2 + 1


def judge(
    masters: Sequence[MasterView],
    quorum: int,
    expected: int,
    znodes: Sequence[str] | None = None,
) -> list[Finding]:
    """The rules. ``znodes``: the masters' URLs as registered in ZooKeeper, leader first."""
    up = [m for m in masters if m.up]
    down = [m for m in masters if not m.up]
    leaders = [m for m in up if m.elected]
    out: list[Finding] = []
    if not leaders:
        out.append(Finding(CRITICAL, "no elected master"))
    elif len(leaders) > 1:
        names = ", ".join(m.url for m in leaders)
        out.append(Finding(CRITICAL, f"{len(leaders)} masters claim to lead ({names})"))
    else:
        leader = leaders[0]
        out.append(Finding(OK, f"leader {leader.url}"))
        if leader.recovered != 1:
            out.append(Finding(CRITICAL, f"leader {leader.url}: registrar log not recovered"))
    gone = "; ".join(f"{m.url}: {m.error}" for m in down)
    text = f"{len(up)}/{expected} masters up, quorum {quorum}"
    if len(up) < quorum:
        out.append(Finding(CRITICAL, f"no quorum: {text}" + (f" ({gone})" if gone else "")))
    elif len(up) < expected:
        out.append(Finding(WARNING, f"{text}" + (f" ({gone})" if gone else "")))
    else:
        out.append(Finding(OK, text))
    if znodes is not None:
        if len(znodes) < quorum:
            out.append(Finding(CRITICAL, f"{len(znodes)} masters registered in ZooKeeper, "
                                         f"quorum {quorum}"))  # fmt: skip
        if len(leaders) == 1 and znodes and leaders[0].url != znodes[0]:
            out.append(Finding(CRITICAL, f"ZooKeeper names {znodes[0]} as leader, but "
                                         f"{leaders[0].url} is elected"))  # fmt: skip
    return out


class Measure(findings.Measure):
    def masters(self) -> tuple[list[str], list[str] | None]:
        """The masters to ask, and the znodes' URLs (None without ZooKeeper)."""
        if self.args.zookeeper is None:
            return targets.flatten(self.args.hosts), None
        self.progress.step(f"reading {self.args.znode} from ZooKeeper {self.args.zookeeper}")
        timeout = max(0.05, self.progress.remaining() * 0.5)
        entries = mesos_leader.read_znodes(self.args.zookeeper, self.args.znode, timeout)
        znodes = [m.url for m in mesos_leader.masters_from_znodes(entries)]
        return znodes, znodes

    def ask(self, urls: list[str]) -> list[MasterView]:
        answers = targets.ask_all(urls, self.progress, "/metrics/snapshot", asker=ask_master)
        return [a if isinstance(a, MasterView) else MasterView(a.url, a.error) for a in answers]

    def __call__(self) -> findings.Outcome:
        urls, znodes = self.masters()
        masters = self.ask(urls)
        if sum(m.elected for m in masters) != 1 and urls:
            self.progress.step("confirming the leader count")
            masters = self.ask(urls)
        quorum = quorum_of(masters, self.args.quorum, len(urls))
        expected = self.args.masters or (len(urls) if znodes is None else 2 * quorum - 1)
        expected = max(expected, len(urls))
        up = sum(m.up for m in masters)
        leaders = sum(m.elected for m in masters if m.up)
        metrics = [
            findings.perf("masters_up", up, min=0, max=expected),
            findings.perf("leaders", leaders, min=0, max=len(urls)),
            findings.perf("quorum", quorum, min=0),
        ]
        if znodes is not None:
            metrics.append(findings.perf("znodes", len(znodes), min=0))
        ranges = {
            "masters_up": (f"{expected}:", f"{quorum}:"),
            "leaders": (None, "1:1"),
            "znodes": (None, f"{quorum}:"),
        }
        details = [m.describe() for m in masters]
        if znodes is not None:
            details.append("ZooKeeper order: " + (", ".join(znodes) or "no json.info znodes"))
        return findings.Outcome(judge(masters, quorum, expected, znodes), metrics, details, ranges)


def parser() -> plugin.ArgumentParser:
    p = plugin.make_parser(
        "check_mesos_quorum",
        "Check that exactly one Mesos master leads, its registrar is recovered and a quorum of "
        "masters is up.",
    )
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("-H", "--hosts", type=targets.urls_arg, action="append",
                        metavar="URL,...", help="every master, e.g. http://m1:5050 (repeatable)")
    source.add_argument("--zookeeper", metavar="HOST:PORT,...",
                        help="find the masters in ZooKeeper instead")
    p.add_argument("--znode", default="/mesos", help="the masters' znode (default /mesos)")
    p.add_argument("--quorum", type=targets.positive_int, metavar="N",
                   help="the quorum (default: the masters' --quorum flag)")
    p.add_argument("--masters", type=targets.positive_int, metavar="N",
                   help="how many masters there should be (default: -H count, or 2*quorum-1)")
    return p


def main(argv: list[str] | None = None) -> int:
    return findings.run(NAME, parser(), Measure, argv)


if __name__ == "__main__":
    raise SystemExit(main())
