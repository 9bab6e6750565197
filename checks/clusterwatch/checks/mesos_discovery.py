"""Where the Mesos masters and their leader are, for the plugins (start-up light).

- ZooKeeper: masters register ephemeral sequential ``json.info_<seq>`` znodes under ``/mesos``
  holding MasterInfo JSON; the lowest sequence leads. kazoo is imported only when asked.
- ``/master/redirect``: every master, standby or leader, answers ``307`` with
  ``Location: //host:port`` of the leader it knows; the leader most of them name wins, so one
  standby that claims to lead is outvoted. With no leader elected it answers 503.

The collectors' ``discovery`` module does the same on top of ``requests``; this one stays on
:mod:`clusterwatch.core.quickhttp` so that a plugin starts fast.
"""

from __future__ import annotations

import json

from clusterwatch.checks import targets
from clusterwatch.core import quickhttp
from clusterwatch.core.errors import FetchError

TYPE_CHECKING = False  # typing costs start-up time: annotations only
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any

    from clusterwatch.checks.plugin import Progress

ZNODE_PREFIX = "json.info_"


def master_url(data: bytes | str, scheme: str = "http") -> str:
    """MasterInfo JSON (znode content) -> ``scheme://host:port``; ValueError if unusable."""
    try:
        doc = json.loads(data)
    except ValueError:
        raise ValueError("MasterInfo is not JSON") from None
    if not isinstance(doc, dict):
        raise ValueError("MasterInfo is not a JSON object")
    found = doc.get("address")
    address: dict[str, Any] = found if isinstance(found, dict) else {}
    host = address.get("hostname") or address.get("ip") or doc.get("hostname")
    port = address.get("port") or doc.get("port")
    if not isinstance(host, str) or not host or not isinstance(port, int):
        raise ValueError("MasterInfo has no address.hostname/ip and port")
    return f"{scheme}://{host}:{port}"


def masters_from_znodes(entries: Mapping[str, bytes]) -> list[tuple[int, str]]:
    """``(sequence, url)`` of every ``json.info_*`` znode whose data names a master, in order
    (leader first); znodes with unusable data are skipped."""
    found = []
    for name, data in entries.items():
        suffix = name.removeprefix(ZNODE_PREFIX)
        if name.startswith(ZNODE_PREFIX) and suffix.isdigit():
            try:
                found.append((int(suffix), master_url(data)))
            except ValueError:
                continue
    return sorted(found)


def read_znodes(hosts: str, path: str, timeout: float) -> dict[str, bytes]:
    """The ``json.info_*`` children of ``path`` and their data (a read-only kazoo session)."""
    from kazoo.client import KazooClient  # heavy: only in --zookeeper mode
    from kazoo.exceptions import KazooException, NoNodeError

    client = KazooClient(hosts=hosts, timeout=timeout, read_only=True)
    try:
        client.start(timeout=timeout)
        out: dict[str, bytes] = {}
        for child in client.get_children(path):
            if child.startswith(ZNODE_PREFIX):
                try:
                    out[child], _ = client.get(f"{path.rstrip('/')}/{child}")
                except NoNodeError:
                    continue  # the master went away between the listing and the read
        return out
    except NoNodeError:
        raise FetchError(hosts, f"no znode {path} in ZooKeeper") from None
    except (KazooException, TimeoutError) as exc:
        reason = " ".join(f"{type(exc).__name__} {exc}".split()) or "ZooKeeper error"
        raise FetchError(hosts, f"ZooKeeper: {reason}") from None
    finally:
        client.stop()
        client.close()


def redirect_target(location: str, scheme: str = "http") -> str:
    """``Location: //host:port[/path]`` (or a full URL) -> ``scheme://host:port``."""
    text = location.strip()
    if text.startswith("//"):
        text = f"{scheme}:{text}"
    if "://" not in text:
        raise ValueError(f"unusable Location {location!r}")
    rest = text.split("://", 1)[1].split("/", 1)[0]
    if not rest:
        raise ValueError(f"unusable Location {location!r}")
    return f"{text.split('://', 1)[0]}://{rest}"


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
            return Vote(url, redirect_target(location, url.split("://", 1)[0]))
        except ValueError as exc:
            return Vote(url, error=str(exc))
    if reply.status == 503:
        return Vote(url, error="no leader elected")
    return Vote(url, error=f"HTTP {reply.status} without a Location")


def elect(votes: Sequence[Vote]) -> str | None:
    """The leader most masters name (a tie between the top two is no leader)."""
    counts: dict[str, int] = {}
    for vote in votes:
        if vote.leader:
            counts[vote.leader] = counts.get(vote.leader, 0) + 1
    ranked = sorted(counts.items(), key=lambda item: -item[1])
    if not ranked or (len(ranked) > 1 and ranked[0][1] == ranked[1][1]):
        return None
    return ranked[0][0]


def find_leader(urls: Sequence[str], progress: Progress) -> str:
    """The leading master's URL by ``/master/redirect`` votes; FetchError when there is none."""
    answers = targets.ask_all(urls, progress, "/master/redirect", asker=ask_redirect)
    votes = [a if isinstance(a, Vote) else Vote(a.url, error=a.error) for a in answers]
    leader = elect(votes)
    if leader is None:
        named = sorted({v.leader for v in votes if v.leader})
        why = (f"masters disagree ({', '.join(named)})" if named else
               "; ".join(f"{v.url}: {v.error}" for v in votes))  # fmt: skip
        raise FetchError(", ".join(urls), f"no leading master found ({why})")
    return leader
