"""Raw-socket reading shared by the plugins' HTTP/1.0 client, the HAProxy stats socket and
ZooKeeper's four-letter words: connecting, reading to the end within a deadline and a size cap,
and one line of words for a socket error.

Built on ``_socket``, the C module under :mod:`socket`: the ``socket`` module itself costs ~4 ms
of start-up (it wraps its constants in enums and imports ``selectors``), paid by every plugin run,
and these clients need none of what it adds.
"""

from __future__ import annotations

import _socket
import time


class ReplyTooLarge(ValueError):
    """The peer sent more than the cap; the caller names its target in its own error."""


def connect(host: str, port: int, timeout: float) -> _socket.socket:
    """A TCP connection to the first address of ``host`` that answers, as
    ``socket.create_connection``: the last address's error when none does."""
    error: OSError | None = None
    for family, kind, proto, _, address in _socket.getaddrinfo(
        _ascii_host(host), port, 0, _socket.SOCK_STREAM
    ):
        sock = None
        try:
            sock = _socket.socket(family, kind, proto)
            sock.settimeout(timeout)
            sock.connect(address)
            return sock
        except OSError as exc:
            if sock is not None:
                sock.close()
            error = exc
    raise error or OSError("getaddrinfo returns an empty list")


def _ascii_host(host: str) -> bytes | str:
    """An ASCII host name as the bytes the IDNA codec would make of it, checked the same way.

    ``getaddrinfo`` encodes a ``str`` host with the ``idna`` codec, whose import (with
    ``stringprep`` and ``unicodedata``) costs ~2 ms of start-up, even for ``127.0.0.1``. Other
    names are left to the codec (and a label it rejects to its error)."""
    labels = host.split(".")
    if host.isascii() and all(0 < len(x) < 64 for x in labels[:-1]) and len(labels[-1]) < 64:
        return host.encode("ascii")
    return host


def connect_unix(path: str, timeout: float) -> _socket.socket:
    """A stream connection to the unix socket at ``path``."""
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect(path)
    except BaseException:
        sock.close()
        raise
    return sock


def read_until_closed(sock: _socket.socket, deadline: float, limit: int) -> bytes:
    """Everything until the peer closes; TimeoutError past ``deadline`` (a monotonic time),
    ReplyTooLarge past ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("timed out")
        sock.settimeout(left)
        chunk = sock.recv(65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise ReplyTooLarge(f"reply longer than {limit} bytes")


def socket_error_reason(exc: OSError, timeout: float) -> str:
    """One line for a failed connect/send/receive, the same words in every raw client."""
    if isinstance(exc, _socket.gaierror):
        return f"cannot resolve host: {exc.strerror}"
    if isinstance(exc, TimeoutError):
        return f"timed out after {timeout:.3g}s"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ConnectionResetError):
        return "connection reset by peer"
    return (exc.strerror or str(exc) or type(exc).__name__).lower()
