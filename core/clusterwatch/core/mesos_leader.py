"""Finding the Mesos masters and their leader: the parts the collectors and the Nagios
plugins share (each brings its own HTTP transport). Start-up light: no typing or
dataclasses at runtime, kazoo only when ZooKeeper is asked.

- ZooKeeper: masters register ephemeral sequential ``json.info_<seq>`` znodes under the
  Mesos znode (``/mesos``), each holding MasterInfo JSON; the lowest sequence leads.
- ``/master/redirect``: every master, standby or leader, answers 307 with
  ``Location: //host:port`` of the leader it knows; the leader most of them name wins, so one
  master that wrongly claims to lead is outvoted. A tie is no leader.
"""

from __future__ import annotations

import contextlib
import json

from clusterwatch.core.errors import FetchError

TYPE_CHECKING = False  # typing costs start-up time: annotations only
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from typing import Any

ZNODE_PREFIX = "json.info_"


class MasterInfo:
    """Where one registered master is reached, and its znode sequence (lowest leads)."""

    __slots__ = ("hostname", "sequence", "url")

    def __init__(self, url: str, hostname: str, sequence: int) -> None:
        self.url = url
        self.hostname = hostname
        self.sequence = sequence

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MasterInfo) and (self.url, self.hostname, self.sequence) == (
            other.url,
            other.hostname,
            other.sequence,
        )

    def __hash__(self) -> int:
        return hash((self.url, self.sequence))

    def __repr__(self) -> str:
        return f"MasterInfo({self.url!r}, {self.hostname!r}, {self.sequence})"


def parse_master_info(data: bytes | str, sequence: int = 0, scheme: str = "http") -> MasterInfo:
    """MasterInfo JSON (znode content) -> where to reach that master; ValueError if unusable.

    The URL uses ``address.hostname`` (as ``/master/redirect`` does), else ``address.ip``, else
    the top-level ``hostname``; the port is ``address.port`` or ``port``.
    """
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
    return MasterInfo(f"{scheme}://{host}:{port}", str(doc.get("hostname") or host), sequence)


def masters_from_znodes(entries: Mapping[str, bytes], scheme: str = "http") -> list[MasterInfo]:
    """The masters of the ``json.info_*`` znodes, leader (lowest sequence) first; znodes
    whose data names no master are skipped."""
    found = []
    for name, data in entries.items():
        suffix = name.removeprefix(ZNODE_PREFIX)
        if name.startswith(ZNODE_PREFIX) and suffix.isdigit():
            try:
                found.append(parse_master_info(data, int(suffix), scheme))
            except ValueError:
                continue
    return sorted(found, key=lambda info: info.sequence)


def read_znodes(hosts: str, path: str, timeout: float) -> dict[str, bytes]:
    """The ``json.info_*`` children of ``path`` and their data (a read-only kazoo session)."""
    from kazoo.client import KazooClient  # heavy: only when ZooKeeper is asked
    from kazoo.exceptions import KazooException, NoNodeError

    client = KazooClient(hosts=hosts, timeout=timeout, read_only=True)
    try:
        client.start(timeout=timeout)
        # our member may lag behind the one a master wrote through; a read-only member (an
        # ensemble without quorum) cannot sync, and then what it has is read
        with contextlib.suppress(KazooException):
            client.sync(path)
        out: dict[str, bytes] = {}
        for child in client.get_children(path):
            if child.startswith(ZNODE_PREFIX):
                try:
                    out[child], _ = client.get(f"{path.rstrip('/')}/{child}")
                except NoNodeError:
                    continue  # the master went away between the listing and the read
        return out
    except NoNodeError:
        raise FetchError(
            hosts, f"no znode {path} in ZooKeeper (is the Mesos znode right?)"
        ) from None
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


def elect(named: Iterable[str]) -> str | None:
    """The leader most masters name; None when nobody names one or the top two tie."""
    counts: dict[str, int] = {}
    for leader in named:
        counts[leader] = counts.get(leader, 0) + 1
    ranked = sorted(counts.items(), key=lambda item: -item[1])
    if not ranked or (len(ranked) > 1 and ranked[0][1] == ranked[1][1]):
        return None
    return ranked[0][0]
