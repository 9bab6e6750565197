"""Where the leaders are: the Mesos masters (static list or ZooKeeper) and Marathon.

Fetch helpers are thin; the parsing (``Location: //host:port``, MasterInfo znodes, the
Marathon ``/v2/leader`` body) is pure and tested on its own.

- Static list: ``GET /master/redirect`` on every master; each, standby or leader, answers
  ``307`` with ``Location: //<leader host>:<port>``, and the leader most of them name wins
  (a standby that claims to lead is outvoted).
- ZooKeeper: masters register ephemeral sequential znodes ``json.info_<seq>`` under
  ``cluster.mesos_znode``, each holding MasterInfo JSON; the leader is the lowest sequence.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from clusterwatch.collectors.common import as_dict, as_list, base_url, dicts, fan_out, join
from clusterwatch.core.collect import CollectContext
from clusterwatch.core.errors import FetchError
from clusterwatch.core.http import Http
from clusterwatch.core.mesos_leader import (
    elect,
    masters_from_znodes,
    read_znodes,
    redirect_target,
)

MESOS_PORT = 5050
MARATHON_PORT = 8080
AGENT_PORT = 5051


@dataclass(frozen=True)
class Masters:
    """Every known master (leader first when known) and the leader's URL (None: no leader)."""

    urls: tuple[str, ...]
    leader: str | None


def static_masters(ctx: CollectContext, use_targets: bool = True) -> list[str]:
    listed = (ctx.config.targets if use_targets else ()) or ctx.cluster.mesos_masters
    return list(dict.fromkeys(base_url(item, MESOS_PORT) for item in listed))  # each once


def _redirect_vote(http: Http, url: str) -> str:
    """The leader ``url`` names through ``/master/redirect`` (FetchError when it names none)."""
    response = http.request("GET", join(url, "/master/redirect"), follow_redirects=False)
    location = response.headers.get("location", "")
    if response.status in (301, 302, 307, 308) and location:
        try:
            return redirect_target(location, url.split("://", 1)[0])
        except ValueError as exc:
            raise FetchError(url, str(exc)) from None
    raise FetchError(url, f"HTTP {response.status} without a Location (no leader?)")


def leader_by_redirect(http: Http, masters: list[str]) -> str:
    """Ask every master for ``/master/redirect``; the leader is the one most of them name.

    Every master, standby or leader, names the leader it knows from ZooKeeper, so one master
    that wrongly claims to lead (a split brain, a stale process) is outvoted by the others.
    Masters that do not answer do not vote; a tie between the answers is no leader.
    """

    def vote(url: str) -> str | FetchError:
        try:
            return _redirect_vote(http, url)
        except FetchError as exc:
            return exc

    named: list[str] = []
    reasons: list[str] = []
    for url, answer in zip(masters, fan_out(vote, masters), strict=True):
        if isinstance(answer, FetchError):
            reasons.append(f"{url}: {answer.reason}")
        else:
            named.append(answer)
    if not named:
        why = "; ".join(reasons or ["no masters"])
        raise FetchError("mesos masters", f"no leader found: {why}")
    leader = elect(named)
    if leader is None:
        counts = ", ".join(f"{url} ({named.count(url)})" for url in dict.fromkeys(named))
        raise FetchError("mesos masters", f"masters disagree on the leader: {counts}")
    return leader


def find_masters(ctx: CollectContext, use_targets: bool = True) -> Masters:
    """The masters to read and the leader among them: ZooKeeper when configured, else the list.

    ``use_targets`` False: the source's ``targets`` are not masters (cAdvisor's are its own).
    """
    targets = ctx.config.targets if use_targets else ()
    if ctx.cluster.zookeeper and not targets:
        found = masters_from_znodes(
            read_znodes(ctx.cluster.zookeeper, ctx.cluster.mesos_znode, ctx.config.timeout_seconds)
        )
        if not found:
            raise FetchError(ctx.cluster.zookeeper, "no masters registered under the znode")
        return Masters(tuple(info.url for info in found), found[0].url)
    masters = static_masters(ctx, use_targets)
    if not masters:
        raise FetchError("mesos masters", "no masters configured (cluster.mesos_masters)")
    urls, leader = adopt_leader(masters, leader_by_redirect(ctx.http, masters))
    return Masters(tuple(urls), leader)


def adopt_leader(urls: list[str], leader: str) -> tuple[list[str], str]:
    """The configured URL that reaches ``leader`` stands for it (so no server is read twice);
    a leader nobody configured is added to the list."""
    configured = next((url for url in urls if same_endpoint(url, leader)), None)
    if configured is None:
        return [*urls, leader], leader
    return list(urls), configured


def _addresses(host: str, port: int) -> set[str]:
    try:
        return {str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)}
    except (OSError, UnicodeError):
        return set()


def same_endpoint(a: str, b: str) -> bool:
    """Whether two URLs reach the same host and port (names resolved when they differ).

    ``/master/redirect`` names the leader by its MasterInfo hostname, which need not be how
    the master was listed in the config.
    """
    pa, pb = urlsplit(a), urlsplit(b)
    if pa.port != pb.port or not pa.hostname or not pb.hostname:
        return False
    if pa.hostname == pb.hostname:
        return True
    port = pa.port or 0
    return bool(_addresses(pa.hostname, port) & _addresses(pb.hostname, port))


def find_leader(ctx: CollectContext, use_targets: bool = True) -> str:
    leader = find_masters(ctx, use_targets).leader
    if leader is None:  # pragma: no cover - find_masters raises instead
        raise FetchError("mesos masters", "no leader")
    return leader


# -- agents --------------------------------------------------------------------------------

_PID = re.compile(r"^[^@]*@(?P<host>[^:]+):(?P<port>\d+)$")


def agent_url(agent: Mapping[str, Any]) -> str | None:
    """``pid`` ``slave(1)@10.0.0.5:5051`` -> ``http://10.0.0.5:5051``; else hostname:5051."""
    pid = agent.get("pid")
    match = _PID.match(pid) if isinstance(pid, str) else None
    if match is not None:
        return f"http://{match.group('host')}:{match.group('port')}"
    hostname = agent.get("hostname")
    return f"http://{hostname}:{AGENT_PORT}" if isinstance(hostname, str) and hostname else None


def registered_agents(doc: Any) -> list[dict[str, Any]]:
    """``/master/slaves`` (or ``/master/state``) -> the agent objects that have a hostname."""
    agents = dicts(as_list(as_dict(doc, "/master/slaves").get("slaves"), "slaves"))
    return [a for a in agents if isinstance(a.get("hostname"), str) and a["hostname"]]


INACTIVE = "agent inactive on the master (unreachable or deactivated): not fetched"


def owned_agents(ctx: CollectContext, agents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The agents this daemon collects (several daemons split them by agent id, see
    ``core.partition``); an agent without an id is keyed by its hostname."""
    out = []
    for agent in agents:
        agent_id = agent.get("id")
        if ctx.owns_agent(agent_id if isinstance(agent_id, str) else str(agent["hostname"])):
            out.append(agent)
    return out



# -- Marathon ------------------------------------------------------------------------------


def marathon_instances(ctx: CollectContext, use_targets: bool = True) -> list[str]:
    listed = (ctx.config.targets if use_targets else ()) or ctx.cluster.marathon
    return [base_url(item, MARATHON_PORT) for item in listed]


def parse_marathon_leader(doc: Any, scheme: str = "http") -> str:
    """``{"leader": "host:port"}`` -> ``scheme://host:port``."""
    leader = as_dict(doc, "/v2/leader").get("leader")
    if not isinstance(leader, str) or not leader:
        raise ValueError("/v2/leader names no leader")
    return base_url(leader, MARATHON_PORT, scheme)


def marathon_leader(http: Http, instances: list[str]) -> str:
    reasons: list[str] = []
    for url in instances:
        try:
            return parse_marathon_leader(
                http.get_json(join(url, "/v2/leader")), url.split("://", 1)[0]
            )
        except FetchError as exc:
            reasons.append(f"{url}: {exc.reason}")
        except ValueError as exc:
            reasons.append(f"{url}: {exc}")
    raise FetchError("marathon", "no leader found: " + "; ".join(reasons or ["none configured"]))
