"""Read a socket to its end within a deadline and a size cap (raw-socket clients share it:
the plugins' HTTP/1.0 client, the HAProxy stats socket and ZooKeeper's four-letter words)."""

from __future__ import annotations

import time

TYPE_CHECKING = False  # typing costs start-up time: annotations only
if TYPE_CHECKING:
    import socket


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
