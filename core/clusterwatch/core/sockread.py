"""Raw-socket reading shared by the plugins' HTTP/1.0 client, the HAProxy stats socket and
ZooKeeper's four-letter words: to the end within a deadline and a size cap, and one line of
words for a socket error."""

from __future__ import annotations

import socket
import time


class ReplyTooLarge(ValueError):
    """The peer sent more than the cap; the caller names its target in its own error."""


def read_until_closed(sock: socket.socket, deadline: float, limit: int) -> bytes:
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
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve host: {exc.strerror}"
    if isinstance(exc, TimeoutError):
        return f"timed out after {timeout:.3g}s"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ConnectionResetError):
        return "connection reset by peer"
    return (exc.strerror or str(exc) or type(exc).__name__).lower()
