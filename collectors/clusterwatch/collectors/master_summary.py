"""The leading master's agents and frameworks, read once per cycle by the sources mapping them.

mesos_master (the frameworks), mesos_agent (the agents and the framework names) and cadvisor
(the agents) all read the leader's ``/master/state-summary``: every registered agent and
framework, without a single task, 14 MB at 10,000 agents. Read here for the three of them:

- decoded pruned (``core.json_prune``): each agent cut to ``AGENT_KEYS`` as it is decoded,
  so ~15 MB are held instead of ~70 MB;
- shared (``core.shared_read``) between the sources that ask for the same leader in the same
  cycle (the same aligned timestamp): the scheduler starts them together when their
  intervals line up, and one read serves them all, failure included.

A master without the endpoint (404) is read the old way: ``/master/slaves`` for the agents,
``/master/frameworks`` for the frameworks (each source reads them itself).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from clusterwatch.collectors.common import join
from clusterwatch.collectors.discovery import registered_agents
from clusterwatch.core.collect import CollectContext
from clusterwatch.core.errors import FetchError
from clusterwatch.core.http import Http, loads
from clusterwatch.core.json_prune import loads_pruned
from clusterwatch.core.shared_read import SharedReads

SUMMARY = "/master/state-summary"

# What an agent's entry is read for, by every source: mesos_agent's master-side point
# (``REGISTERED``), the agent's URL (pid) and name, and whether it is active.
AGENT_KEYS = ("id", "hostname", "pid", "active", "resources", "used_resources")


def pruned_agent(agent: Any) -> dict[str, Any] | None:
    """An agent entry cut to ``AGENT_KEYS``; entries without a hostname are dropped, as
    ``registered_agents`` drops them."""
    if not isinstance(agent, dict):
        return None
    hostname = agent.get("hostname")
    if not isinstance(hostname, str) or not hostname:
        return None
    return {key: agent[key] for key in AGENT_KEYS if key in agent}


def _decode_pruned(body: bytes) -> Any:
    return loads_pruned(body, {"slaves": pruned_agent}, loads)


@dataclass(frozen=True, eq=False)  # no slots: shared through a weak reference
class Summary:
    """The registered agents (pruned) and the rest of the leader's state summary (its
    frameworks); both None from a master without the endpoint (404)."""

    agents: list[dict[str, Any]] | None
    frameworks_doc: dict[str, Any] | None


_reads: SharedReads[Summary] = SharedReads()


def leader_summary(ctx: CollectContext, leader: str) -> Summary:
    """The leader's state summary for this cycle: read, or shared with the sources reading
    it for the same cycle (FetchError or ValueError when it cannot be read)."""
    return _reads.get((leader, ctx.time_ns), functools.partial(read_summary, ctx.http, leader))


def read_summary(http: Http, leader: str) -> Summary:
    try:
        doc = http.request("GET", join(leader, SUMMARY)).json(_decode_pruned)
    except FetchError as exc:
        if exc.status != 404:
            raise
        return Summary(None, None)
    agents = registered_agents(doc)
    del doc["slaves"]
    return Summary(agents, doc)


def leader_agents(ctx: CollectContext, leader: str) -> tuple[Summary, list[dict[str, Any]]]:
    """The leader's registered agents (pruned), from its summary or, from a master without
    one, its ``/master/slaves``; and the summary, for the caller to hold while it uses them
    (so the sources of the same cycle share it)."""
    summary = leader_summary(ctx, leader)
    if summary.agents is not None:
        return summary, summary.agents
    slaves = ctx.http.request("GET", join(leader, "/master/slaves")).json(_decode_pruned)
    return summary, registered_agents(slaves)


def leader_frameworks(ctx: CollectContext, leader: str, summary: Summary | None = None) -> Any:
    """The leader's frameworks: its summary's (``summary``, or this cycle's), or from a
    master without one, its ``/master/frameworks`` (which lists every task: 150 MB on a
    10,000-agent cluster, where the summary lists none)."""
    summary = summary or leader_summary(ctx, leader)
    if summary.frameworks_doc is not None:
        return summary.frameworks_doc
    return ctx.http.get_json(join(leader, "/master/frameworks"))
