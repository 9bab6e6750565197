"""HAProxy ``show stat``: fetch it (stats socket or the ``;csv`` page) and parse it.

The CSV has one header line starting with ``# `` and a column set that grew from 52 names
(1.4) to 100 and more (2.x); rows are read *by header name*, never by position, so every version
parses the same way. Fetch and parse are separate: :func:`parse_csv` is pure.

Stdlib only (raw sockets through :mod:`clusterwatch.core.sockread`; ``http.client`` is imported
only when the HTTP page is used), so a Nagios plugin built on this starts fast. Failures raise
:class:`~clusterwatch.core.errors.FetchError`; a body that is not the stats CSV raises
:class:`StatsFormatError` from the parser and ``FetchError`` from the fetchers.
"""

from __future__ import annotations

import csv
import time

from clusterwatch.core.errors import FetchError
from clusterwatch.core.sockread import (
    ReplyTooLarge,
    connect,
    connect_unix,
    read_until_closed,
    socket_error_reason,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from _socket import socket
    from collections.abc import Iterable, Mapping

MAX_BYTES = 64 * 1024 * 1024
TYPES = {"0": "frontend", "1": "backend", "2": "server", "3": "listener"}


class StatsFormatError(ValueError):
    """The text is not HAProxy's stats CSV (no ``# pxname`` header, truncated rows...)."""


class StatRow:
    """One line of ``show stat``; ``fields`` holds every cell by header name, as text.

    A plain class (no dataclass): plugins built on this must start fast.
    """

    __slots__ = ("fields", "pxname", "status", "svname", "type")

    def __init__(
        self, pxname: str, svname: str, type: str, status: str, fields: Mapping[str, str]
    ) -> None:
        self.pxname = pxname
        self.svname = svname
        self.type = type
        """``frontend``, ``backend``, ``server`` or ``listener``."""
        self.status = status
        """As HAProxy writes it: ``UP``, ``UP 1/3``, ``DOWN 1/2``, ``MAINT``, ``no check``..."""
        self.fields = fields

    def __repr__(self) -> str:
        return f"StatRow({self.pxname!r}, {self.svname!r}, {self.type!r}, {self.status!r})"

    def text(self, name: str) -> str | None:
        """The cell under column ``name``; ``None`` when empty or absent in this version."""
        value = self.fields.get(name)
        return value if value else None

    def integer(self, name: str) -> int | None:
        """The cell as an integer, ``None`` when empty, absent or not a number."""
        value = self.fields.get(name)
        if not value:
            return None
        try:
            return int(value)
        except ValueError:
            return None

    @property
    def scur(self) -> int | None:
        return self.integer("scur")

    @property
    def smax(self) -> int | None:
        return self.integer("smax")

    @property
    def slim(self) -> int | None:
        return self.integer("slim")

    @property
    def stot(self) -> int | None:
        return self.integer("stot")

    @property
    def qcur(self) -> int | None:
        return self.integer("qcur")

    @property
    def rate(self) -> int | None:
        return self.integer("rate")

    @property
    def weight(self) -> int | None:
        return self.integer("weight")

    @property
    def check_status(self) -> str | None:
        return self.text("check_status")

    @property
    def hrsp(self) -> dict[str, int]:
        """HTTP responses by class (``1xx`` ... ``5xx``, ``other``) where HAProxy counts them."""
        out: dict[str, int] = {}
        for name in self.fields:
            if name.startswith("hrsp_"):
                value = self.integer(name)
                if value is not None:
                    out[name[5:]] = value
        return out

    @property
    def state(self) -> str:
        """The status reduced to one word: ``up``, ``down``, ``maint``, ``drain``, ``open``...

        ``UP 1/3`` (failing checks, not yet down) is ``up``; ``DOWN 1/2`` (passing checks, not
        yet up) is ``down``; ``no check`` is ``up`` (HAProxy sends it traffic); ``NOLB`` and
        ``DRAIN`` are ``drain`` (up, but no new traffic); every ``MAINT...`` is ``maint``.
        """
        word = self.status.strip().split(" ", 1)[0].upper()
        if self.status.strip().lower() == "no check":
            return "up"
        if word.startswith("MAINT"):
            return "maint"
        if word in ("NOLB", "DRAIN"):
            return "drain"
        return word.lower() or "unknown"

    @property
    def in_transition(self) -> bool:
        """True for ``UP 1/3``-style statuses: checks are changing the server's state."""
        parts = self.status.split()
        return len(parts) > 1 and "/" in parts[1]


def parse_csv(text: str) -> list[StatRow]:
    """Parse ``show stat`` / ``;csv`` output into rows; raise :class:`StatsFormatError`."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip()), None)
    if start is None:
        raise StatsFormatError("empty reply")
    header_line = lines[start]
    if not header_line.startswith("# pxname"):
        raise StatsFormatError(f"no '# pxname,svname,...' header, got {_excerpt(header_line)}")
    header = next(csv.reader([header_line[2:]]))
    names = [name.strip() for name in header]
    while names and not names[-1]:
        names.pop()
    if "svname" not in names or "status" not in names:
        raise StatsFormatError("header lacks svname or status")
    rows: list[StatRow] = []
    for number, cells in enumerate(csv.reader(lines[start + 1 :]), start=start + 2):
        if not cells or (len(cells) == 1 and not cells[0].strip()):
            continue
        if len(cells) < len(names):
            raise StatsFormatError(
                f"line {number} has {len(cells)} fields, header has {len(names)} (truncated?)"
            )
        fields = dict(zip(names, cells, strict=False))
        rows.append(_row(fields))
    return rows


def _row(fields: dict[str, str]) -> StatRow:
    svname = fields["svname"]
    kind = TYPES.get(fields.get("type", ""))
    if kind is None:
        kind = {"FRONTEND": "frontend", "BACKEND": "backend"}.get(svname, "server")
    return StatRow(
        pxname=fields.get("pxname", ""),
        svname=svname,
        type=kind,
        status=fields.get("status", ""),
        fields=fields,
    )


def backends(rows: Iterable[StatRow]) -> dict[str, list[StatRow]]:
    """Server rows grouped by backend (proxy) name, in file order; BACKEND rows excluded."""
    out: dict[str, list[StatRow]] = {}
    for row in rows:
        if row.type == "backend":
            out.setdefault(row.pxname, [])
        elif row.type == "server":
            out.setdefault(row.pxname, []).append(row)
    return out


def _excerpt(text: str, limit: int = 60) -> str:
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= limit else flat[: limit - 3] + "...")


def _split_hostport(address: str) -> tuple[str, int]:
    host, sep, port = address.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit():
        raise FetchError(address, "stats socket must be a path or host:port")
    return host, int(port)


def fetch_socket(address: str, timeout: float) -> str:
    """Send ``show stat`` to a stats socket: a unix path (contains ``/``) or ``host:port``."""
    deadline = time.monotonic() + timeout
    try:
        if "/" in address:
            sock = connect_unix(address, timeout)
        else:
            sock = connect(*_split_hostport(address), timeout)
        try:
            sock.sendall(b"show stat\n")
            data = _read_all(sock, deadline, address)
        finally:
            sock.close()
    except FetchError:
        raise
    except FileNotFoundError:
        raise FetchError(address, "no such socket") from None
    except OSError as exc:
        raise FetchError(address, socket_error_reason(exc, timeout)) from None
    text = data.decode("utf-8", errors="replace")
    if text.startswith("Unknown command") or text.startswith("Permission denied"):
        raise FetchError(address, f"refused 'show stat': {_excerpt(text)}")
    return text


def _read_all(sock: socket, deadline: float, target: str) -> bytes:
    try:
        return read_until_closed(sock, deadline, MAX_BYTES)
    except ReplyTooLarge as exc:
        raise FetchError(target, str(exc)) from None


def csv_url(url: str) -> str:
    """The stats page URL with ``;csv`` appended where it is not there yet."""
    base, sep, query = url.partition("?")
    if not base.rstrip("/").endswith(";csv"):
        base = base + ";csv"
    return base + sep + query


def _basic_auth(user: str | None, password: str | None) -> dict[str, str]:
    if user is None:
        return {}
    import base64

    token = base64.b64encode(f"{user}:{password or ''}".encode()).decode("ascii")
    return {"Authorization": f"Basic {token}"}


def fetch_http(
    url: str, timeout: float, user: str | None = None, password: str | None = None
) -> str:
    """GET the ``;csv`` stats page (basic auth when ``user`` is given), via core.quickhttp."""
    from clusterwatch.core import quickhttp

    full = csv_url(url)
    if not full.startswith(("http://", "https://")):
        raise FetchError(url, "stats URL must be http:// or https://host[:port]/path")
    headers = {"Accept": "text/csv, text/plain", **_basic_auth(user, password)}
    reply = quickhttp.get(full, timeout, headers)
    if reply.status == 401:
        raise FetchError(full, "unauthorized (check user and password)", reply.status)
    if reply.status != 200:
        raise FetchError(full, reply.error_text(), reply.status)
    return reply.body.decode("utf-8", errors="replace")


def fetch(
    source: str, timeout: float, user: str | None = None, password: str | None = None
) -> list[StatRow]:
    """Fetch and parse: ``source`` is an ``http(s)://`` URL, a unix path or ``host:port``."""
    if source.startswith(("http://", "https://")):
        text = fetch_http(source, timeout, user, password)
    else:
        text = fetch_socket(source, timeout)
    try:
        return parse_csv(text)
    except StatsFormatError as exc:
        raise FetchError(source, f"not HAProxy stats CSV: {exc}") from None
