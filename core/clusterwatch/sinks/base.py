"""What every sink writer promises, and the two ways a write can fail.

A writer sends one batch (bytes in the sink's wire format) and either returns, or raises
``SinkUnavailable`` (try again later: the batch stays in the spool) or ``SinkRejected`` (the
server refused this data: it goes to quarantine with the server's message, never retried).
"""

from __future__ import annotations

from typing import Protocol

from clusterwatch.core.errors import ClusterwatchError


class SinkError(ClusterwatchError):
    def __init__(self, sink: str, reason: str, status: int | None = None) -> None:
        self.sink = sink
        self.reason = reason
        self.status = status
        code = f" (HTTP {status})" if status is not None else ""
        super().__init__(f"sink {sink}{code}: {reason}")


class SinkUnavailable(SinkError):
    """Down, slow, 5xx, or misconfigured credentials: keep the data, retry later."""


class SinkRejected(SinkError):
    """The server refused this batch's content (4xx): retrying it would fail again."""


class SinkTooLarge(SinkError):
    """The batch is too large for the server (413): send it in smaller pieces."""


class Writer(Protocol):
    name: str

    def write(self, payload: bytes) -> None: ...

    def close(self) -> None: ...


# Statuses that mean "the data is fine, the sink is not ready": wait, don't quarantine.
RETRY_LATER_STATUSES = frozenset({401, 403, 404, 408, 429})


def classify_status(sink: str, status: int, reason: str) -> SinkError:
    """The error for an HTTP failure status of a write."""
    if status == 413:
        return SinkTooLarge(sink, reason, status)
    if status >= 500 or status in RETRY_LATER_STATUSES:
        return SinkUnavailable(sink, reason, status)
    return SinkRejected(sink, reason, status)
