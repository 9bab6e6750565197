"""ZooKeeper four-letter words (``mntr``, ``srvr``, ``ruok``) over a raw socket.

Two halves: :func:`send_command` and the fetch helpers talk to a server; :func:`parse_mntr` and
:func:`parse_srvr` are pure and turn a reply into a :class:`ZkStatus`. No check logic here:
collectors and checks both build on it.

Every failure raises a :class:`~clusterwatch.core.errors.FetchError` subclass that says what
kind of failure it was, because callers judge them differently:

- :class:`ZkUnreachable` - DNS, refused, reset, timed out: the member is down;
- :class:`ZkNotServing` - the process answers but is not in a quorum (``This ZooKeeper
  instance is not currently serving requests``): the member is down too;
- :class:`ZkNotAllowed` - the command is not in ``4lw.commands.whitelist``;
- :class:`ZkBadReply` - something answered, but not ZooKeeper (an HTML page, garbage).
"""

from __future__ import annotations

import time

from clusterwatch.core.errors import FetchError
from clusterwatch.core.sockread import (
    ReplyTooLarge,
    connect,
    read_until_closed,
    socket_error_reason,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

DEFAULT_PORT = 2181
MAX_REPLY_BYTES = 4 * 1024 * 1024
NOT_SERVING = "not currently serving requests"
NOT_ALLOWED = "is not executed because it is not in the whitelist"


class ZkUnreachable(FetchError):
    """No answer at all: name not resolved, connection refused or reset, or timed out."""


class ZkNotServing(FetchError):
    """The server runs but does not serve (not part of a quorum)."""


class ZkNotAllowed(FetchError):
    """The four-letter word is not whitelisted on this server."""


class ZkBadReply(FetchError):
    """The reply is not what ZooKeeper sends."""


class ZkStatus:
    """What one server says about itself; ``None`` where the command did not tell.

    A plain class, not a dataclass: the plugins built on this must start fast, and
    ``dataclasses`` alone costs them several milliseconds of imports.
    """

    __slots__ = (
        "alive_connections", "avg_latency", "followers", "max_latency", "min_latency",
        "outstanding_requests", "pending_syncs", "raw", "source", "state", "synced_followers",
        "version", "znode_count",
    )

    def __init__(
        self,
        state: str,
        *,
        version: str | None = None,
        avg_latency: float | None = None,
        min_latency: float | None = None,
        max_latency: float | None = None,
        outstanding_requests: int | None = None,
        znode_count: int | None = None,
        alive_connections: int | None = None,
        followers: int | None = None,
        synced_followers: int | None = None,
        pending_syncs: int | None = None,
        source: str = "mntr",
        raw: Mapping[str, str] | None = None,
    ) -> None:
        self.state = state
        """``leader``, ``follower``, ``standalone``, ``observer`` (as the server spells it)."""
        self.version = version
        self.avg_latency = avg_latency
        """Milliseconds, like min and max."""
        self.min_latency = min_latency
        self.max_latency = max_latency
        self.outstanding_requests = outstanding_requests
        self.znode_count = znode_count
        self.alive_connections = alive_connections
        self.followers = followers
        """Leader only: connected learners (``zk_followers``/``zk_learners``)."""
        self.synced_followers = synced_followers
        """Leader only."""
        self.pending_syncs = pending_syncs
        """Leader only."""
        self.source = source
        """The command that produced this status (``mntr`` or ``srvr``)."""
        self.raw: Mapping[str, str] = raw if raw is not None else {}
        """Every key/value the server sent, unconverted."""

    def __repr__(self) -> str:
        return (
            f"ZkStatus(state={self.state!r}, version={self.version!r}, "
            f"avg_latency={self.avg_latency!r}, source={self.source!r})"
        )


def parse_target(target: str, default_port: int = DEFAULT_PORT) -> tuple[str, int]:
    """``host``, ``host:port``, ``[v6]:port`` or a bare v6 address -> (host, port)."""
    text = target.strip()
    if not text:
        raise ValueError("empty host")
    has_port = False
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ValueError(f"bad address {target!r}")
        port_text, has_port = rest[1:], bool(rest)
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
        has_port = True
    else:
        host, port_text = text, ""
    if not host:
        raise ValueError(f"bad address {target!r}")
    if not has_port:
        return host, default_port
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"bad port in {target!r}")
    return host, int(port_text)


def send_command(host: str, port: int, command: str, timeout: float) -> str:
    """Send a four-letter word and read the reply up to EOF, all within ``timeout`` seconds."""
    target = f"{host}:{port}"
    deadline = time.monotonic() + timeout
    try:
        sock = connect(host, port, timeout)
        try:
            sock.sendall(command.encode("ascii"))
            reply = read_until_closed(sock, deadline, MAX_REPLY_BYTES)
        finally:
            sock.close()
    except ReplyTooLarge:
        raise ZkBadReply(target, f"{command} reply longer than {MAX_REPLY_BYTES} bytes") from None
    except OSError as exc:
        raise ZkUnreachable(target, socket_error_reason(exc, timeout)) from None
    return reply.decode("utf-8", errors="replace")


def _number(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        return None


def _integer(text: str | None) -> int | None:
    value = _number(text)
    return None if value is None else int(value)


class _Refusal(ValueError):
    def __init__(self, kind: str, reason: str) -> None:
        self.kind = kind
        super().__init__(reason)


def _check_refusal(text: str, command: str) -> None:
    """Raise :class:`_Refusal` for the two refusals ZooKeeper answers in prose."""
    if NOT_SERVING in text:
        raise _Refusal("not serving", "not serving requests (no quorum?)")
    if NOT_ALLOWED in text:
        raise _Refusal("not allowed", f"{command} is not in 4lw.commands.whitelist")


def parse_mntr(text: str) -> ZkStatus:
    """Parse ``mntr`` output (tab-separated ``zk_key value`` lines).

    Raises ``ValueError`` with a short reason when the text is not an ``mntr`` reply.
    """
    _check_refusal(text, "mntr")
    raw: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("\t")
        if not sep:
            key, sep, value = line.partition(" ")
        if sep and key.startswith("zk_"):
            raw[key.strip()] = value.strip()
    state = raw.get("zk_server_state")
    if not state:
        what = "empty reply" if not text.strip() else "no zk_server_state in reply"
        raise ValueError(f"not an mntr reply ({what}): {_excerpt(text)}")
    return ZkStatus(
        state=state,
        version=raw.get("zk_version"),
        avg_latency=_number(raw.get("zk_avg_latency")),
        min_latency=_number(raw.get("zk_min_latency")),
        max_latency=_number(raw.get("zk_max_latency")),
        outstanding_requests=_integer(raw.get("zk_outstanding_requests")),
        znode_count=_integer(raw.get("zk_znode_count")),
        alive_connections=_integer(raw.get("zk_num_alive_connections")),
        followers=_integer(raw.get("zk_followers", raw.get("zk_learners"))),
        synced_followers=_integer(raw.get("zk_synced_followers")),
        pending_syncs=_integer(raw.get("zk_pending_syncs")),
        source="mntr",
        raw=raw,
    )


def parse_srvr(text: str) -> ZkStatus:
    """Parse ``srvr`` output (``Key: value`` lines, ``Latency min/avg/max: a/b/c``)."""
    _check_refusal(text, "srvr")
    raw: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            raw[key.strip()] = value.strip()
    state = raw.get("Mode")
    if not state:
        what = "empty reply" if not text.strip() else "no Mode line in reply"
        raise ValueError(f"not a srvr reply ({what}): {_excerpt(text)}")
    latency: list[float | None] = [None, None, None]
    parts = raw.get("Latency min/avg/max", "").split("/")
    if len(parts) == 3:
        latency = [_number(p) for p in parts]
    return ZkStatus(
        state=state,
        version=raw.get("Zookeeper version"),
        min_latency=latency[0],
        avg_latency=latency[1],
        max_latency=latency[2],
        outstanding_requests=_integer(raw.get("Outstanding")),
        znode_count=_integer(raw.get("Node count")),
        alive_connections=_integer(raw.get("Connections")),
        source="srvr",
        raw=raw,
    )


def _excerpt(text: str, limit: int = 60) -> str:
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= limit else flat[: limit - 3] + "...")


def _parsed(target: str, command: str, text: str) -> ZkStatus:
    parser = parse_mntr if command == "mntr" else parse_srvr
    try:
        return parser(text)
    except _Refusal as exc:
        kind = ZkNotServing if exc.kind == "not serving" else ZkNotAllowed
        raise kind(target, str(exc)) from None
    except ValueError as exc:
        raise ZkBadReply(target, str(exc)) from None


def mntr(host: str, port: int = DEFAULT_PORT, timeout: float = 5.0) -> ZkStatus:
    """``mntr`` on one server."""
    return _parsed(f"{host}:{port}", "mntr", send_command(host, port, "mntr", timeout))


def srvr(host: str, port: int = DEFAULT_PORT, timeout: float = 5.0) -> ZkStatus:
    """``srvr`` on one server."""
    return _parsed(f"{host}:{port}", "srvr", send_command(host, port, "srvr", timeout))


def ruok(host: str, port: int = DEFAULT_PORT, timeout: float = 5.0) -> bool:
    """True when the server answers ``imok`` (it runs; it may still not serve)."""
    return send_command(host, port, "ruok", timeout).strip() == "imok"


def status(host: str, port: int = DEFAULT_PORT, timeout: float = 5.0) -> ZkStatus:
    """``mntr``, or ``srvr`` when ``mntr`` is not whitelisted; both within ``timeout``."""
    deadline = time.monotonic() + timeout
    try:
        return mntr(host, port, timeout)
    except ZkNotAllowed:
        return srvr(host, port, max(0.001, deadline - time.monotonic()))
