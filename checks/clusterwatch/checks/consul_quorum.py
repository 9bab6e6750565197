"""check_consul_quorum - a Consul leader all servers agree on, and enough raft peers?

    check_consul_quorum -H http://c1:8500[,http://c2:8500...] [--expected-peers N] [-t 10] [-v]

Every server given is asked ``/v1/status/leader`` and ``/v1/status/peers`` at once. Consul
answers the leader query with 200 and ``""`` when the cluster has none.

- CRITICAL: no leader (every server that answers says ``""``), servers naming different
  leaders, raft peers below a majority of the expected count, or no server answering;
- WARNING: a server given does not answer, or raft peers below the expected count.

The expected peer count is ``--expected-peers``, else the number of servers given with ``-H``
when more than one (with one server, peers are reported, not judged).
Perfdata: servers_up, leaders (distinct leaders named), peers.
"""

from __future__ import annotations

import time

from clusterwatch.checks import findings, plugin, targets
from clusterwatch.checks.findings import CRITICAL, OK, WARNING, Finding
from clusterwatch.core import quickhttp
from clusterwatch.core.errors import FetchError

TYPE_CHECKING = False  # typing costs start-up time: annotations only
if TYPE_CHECKING:
    from collections.abc import Sequence


NAME = "consul_quorum"


class ServerView(targets.MemberView):
    """One Consul server as asked: the leader it names (``""``: none) and its raft peers."""

    __slots__ = ("leader", "peers")

    def __init__(
        self, url: str, error: str | None = "no answer", leader: str = "",
        peers: Sequence[str] = (),
    ) -> None:
        super().__init__(url, error)
        self.leader = leader
        self.peers = list(peers)

    def describe_up(self) -> str:
        return (f"{self.url}: leader {self.leader or 'none'}, "
                f"{len(self.peers)} peers ({', '.join(self.peers)})")  # fmt: skip


def ask_server(url: str, timeout: float) -> ServerView:
    deadline = time.monotonic() + timeout
    try:
        leader = quickhttp.get_json(quickhttp.join(url, "/v1/status/leader"), timeout)
        left = max(0.001, deadline - time.monotonic())
        peers = quickhttp.get_json(quickhttp.join(url, "/v1/status/peers"), left)
    except FetchError as exc:
        status = f"HTTP {exc.status}: " if exc.status is not None else ""
        return ServerView(url, error=f"{status}{exc.reason}")
    if not isinstance(leader, str):
        return ServerView(url, error="/v1/status/leader is not a JSON string")
    if not isinstance(peers, list) or not all(isinstance(p, str) for p in peers):
        return ServerView(url, error="/v1/status/peers is not a list of addresses")
    return ServerView(url, error=None, leader=leader, peers=peers)


def judge(servers: Sequence[ServerView], expected_peers: int | None) -> list[Finding]:
    up = [s for s in servers if s.up]
    out: list[Finding] = []
    if not up:
        why = "; ".join(f"{s.url}: {s.error}" for s in servers)
        return [Finding(CRITICAL, f"no Consul server answers ({why})")]
    named = sorted({s.leader for s in up if s.leader})
    if not named:
        out.append(Finding(CRITICAL, "no leader (raft has not elected one)"))
    elif len(named) > 1 or any(not s.leader for s in up):
        views = ", ".join(f"{s.url} says {s.leader or 'none'}" for s in up)
        out.append(Finding(CRITICAL, f"servers disagree on the leader ({views})"))
    else:
        out.append(Finding(OK, f"leader {named[0]}"))
    down = [s for s in servers if not s.up]
    if down:
        gone = "; ".join(f"{s.url}: {s.error}" for s in down)
        out.append(Finding(WARNING, f"{len(up)}/{len(servers)} servers answer ({gone})"))
    peers = max(len(s.peers) for s in up)
    if expected_peers is None:
        out.append(Finding(OK, f"{peers} raft peers"))
    else:
        majority = expected_peers // 2 + 1
        text = f"{peers}/{expected_peers} raft peers"
        if peers < majority:
            out.append(Finding(CRITICAL, f"{text}, below a majority ({majority})"))
        elif peers < expected_peers:
            out.append(Finding(WARNING, text))
        else:
            out.append(Finding(OK, text))
    return out


class Measure(findings.Measure):
    def __call__(self) -> findings.Outcome:
        urls = targets.flatten(self.args.hosts)
        answers = targets.ask_all(urls, self.progress, "the raft leader", asker=ask_server)
        servers = [a if isinstance(a, ServerView) else ServerView(a.url, a.error)
                   for a in answers]  # fmt: skip
        expected = self.args.expected_peers or (len(urls) if len(urls) > 1 else None)
        up = [s for s in servers if s.up]
        peers = max((len(s.peers) for s in up), default=0)
        metrics = [
            findings.perf("servers_up", len(up), min=0, max=len(servers)),
            findings.perf("leaders", len({s.leader for s in up if s.leader}), min=0),
            findings.perf("peers", peers, min=0),
        ]
        ranges: dict[str, tuple[str | None, str | None]] = {
            "servers_up": (f"{len(servers)}:", "1:"), "leaders": (None, "1:1"),
        }
        if expected:
            ranges["peers"] = (f"{expected}:", f"{expected // 2 + 1}:")
        details = [s.describe() for s in servers]
        return findings.Outcome(judge(servers, expected), metrics, details, ranges)


def parser() -> plugin.ArgumentParser:
    p = plugin.make_parser(
        "check_consul_quorum",
        "Check that the Consul servers agree on one raft leader and enough peers are in raft.",
    )
    p.add_argument("-H", "--hosts", type=targets.urls_arg, action="append", required=True,
                   metavar="URL,...", help="Consul servers' HTTP API, e.g. http://c1:8500")
    p.add_argument("--expected-peers", type=targets.positive_int, metavar="N",
                   help="raft peers there should be (default: the -H count when more than one)")
    return p


def main(argv: list[str] | None = None) -> int:
    return findings.run(NAME, parser(), Measure, argv)


if __name__ == "__main__":
    raise SystemExit(main())
