"""Where the Mesos masters and their leader are, for the plugins (start-up light).

- ZooKeeper: masters register ephemeral sequential ``json.info_<seq>`` znodes under ``/mesos``
  holding MasterInfo JSON; the lowest sequence leads. kazoo is imported only when asked.
- ``/master/redirect``: every master, standby or leader, answers ``307`` with
  ``Location: //host:port`` of the leader it knows; the leader most of them name wins, so one
  standby that claims to lead is outvoted. With no leader elected it answers 503.

The rules and the ZooKeeper side are shared with the collectors (core.mesos_leader); the
transport here is :mod:`clusterwatch.core.quickhttp`, so that a plugin starts fast.
"""

from __future__ import annotations

from clusterwatch.checks import targets
from clusterwatch.core import mesos_leader, quickhttp
from clusterwatch.core.errors import FetchError

TYPE_CHECKING = False  # typing costs start-up time: annotations only
if TYPE_CHECKING:
    from collections.abc import Sequence

    from clusterwatch.checks.plugin import Progress

class Vote:
    """One master's answer to ``/master/redirect``: the leader it names, or why none."""

    __slots__ = ("error", "leader", "url")

    def __init__(self, url: str, leader: str | None = None, error: str | None = None) -> None:
        self.url = url
        self.leader = leader
        self.error = error


def ask_redirect(url: str, timeout: float) -> Vote:
    try:
        reply = quickhttp.get(quickhttp.join(url, "/master/redirect"), timeout)
    except FetchError as exc:
        return Vote(url, error=exc.reason)
    location = reply.header("location")
    if reply.status in (301, 302, 307, 308) and location:
        try:
            return Vote(url, mesos_leader.redirect_target(location, url.split("://", 1)[0]))
        except ValueError as exc:
            return Vote(url, error=str(exc))
    if reply.status == 503:
        return Vote(url, error="no leader elected")
    return Vote(url, error=f"HTTP {reply.status} without a Location")


def find_leader(urls: Sequence[str], progress: Progress) -> str:
    """The leading master's URL by ``/master/redirect`` votes; FetchError when there is none."""
    answers = targets.ask_all(urls, progress, "/master/redirect", asker=ask_redirect)
    votes = [a if isinstance(a, Vote) else Vote(a.url, error=a.error) for a in answers]
    leader = mesos_leader.elect(v.leader for v in votes if v.leader)
    if leader is None:
        named = sorted({v.leader for v in votes if v.leader})
        why = (f"masters disagree ({', '.join(named)})" if named else
               "; ".join(f"{v.url}: {v.error}" for v in votes))  # fmt: skip
        raise FetchError(", ".join(urls), f"no leading master found ({why})")
    return leader
