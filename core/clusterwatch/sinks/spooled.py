"""A sink behind its spool: producers submit records, ``drain`` sends them in order.

Nothing is lost: records wait on disk while the writer is unavailable, and drain again in
order when it is back (with exponential backoff between attempts). A batch the server
refuses (4xx) goes to a quarantine file with the server's message and is acknowledged, so
it is neither dropped silently nor retried forever. A batch too large for the server is
retried in halves. Records are newline-terminated; a batch's payload is their concatenation.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from clusterwatch.core.log import fields
from clusterwatch.core.spool import Batch, Spool
from clusterwatch.sinks.base import SinkRejected, SinkTooLarge, SinkUnavailable, Writer

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 60.0
QUARANTINE_MAX_BYTES = 64 << 20


@dataclass(slots=True)
class SinkStats:
    records_sent: int = 0
    batches_sent: int = 0
    records_quarantined: int = 0
    quarantine_dropped: int = 0  # quarantined records not written: quarantine file full
    send_failures: int = 0
    last_error: str = ""


@dataclass(frozen=True, slots=True)
class DrainResult:
    sent: int
    quarantined: int
    pending: int
    available: bool  # False: the writer failed and drain stopped early


class SpooledSink:
    def __init__(
        self,
        writer: Writer,
        spool: Spool,
        *,
        quarantine_path: Path,
        batch_records: int = 5000,
        batch_bytes: int = 8 << 20,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = writer.name
        self.writer = writer
        self.spool = spool
        self.quarantine_path = quarantine_path
        self.batch_records = batch_records
        self.batch_bytes = batch_bytes
        self.stats = SinkStats()
        self._clock = clock
        self._backoff = 0.0
        self._next_attempt = 0.0
        self._send_lock = threading.Lock()  # one sender at a time

    def submit(self, records: Sequence[bytes]) -> int:
        """Queue newline-terminated records on disk; returns how many were accepted."""
        return self.spool.append(records) if records else 0

    def drain(self, *, max_batches: int | None = None, force: bool = False) -> DrainResult:
        """Send queued batches until empty, ``max_batches``, or the writer fails."""
        sent = quarantined = batches = 0
        with self._send_lock:
            if not force and self._clock() < self._next_attempt:
                return DrainResult(0, 0, self.spool.depth_records, False)
            limit = self.batch_records
            while max_batches is None or batches < max_batches:
                batch = self.spool.read_batch(limit, self.batch_bytes)
                if batch is None:
                    break
                try:
                    self.writer.write(b"".join(batch.records))
                except SinkTooLarge as exc:
                    if len(batch) == 1:
                        quarantined += self._quarantine(batch, exc.reason)
                        continue
                    self.spool.rewind()
                    limit = max(1, len(batch) // 2)
                    continue
                except SinkRejected as exc:
                    quarantined += self._quarantine(batch, exc.reason)
                    continue
                except SinkUnavailable as exc:
                    self.spool.rewind()
                    self._failed(exc)
                    return DrainResult(sent, quarantined, self.spool.depth_records, False)
                self.spool.ack(batch)
                sent += len(batch)
                batches += 1
                self.stats.records_sent += len(batch)
                self.stats.batches_sent += 1
                self._backoff = 0.0
            return DrainResult(sent, quarantined, self.spool.depth_records, True)

    def _failed(self, exc: SinkUnavailable) -> None:
        self.stats.send_failures += 1
        self.stats.last_error = exc.reason
        self._backoff = min(MAX_BACKOFF_SECONDS, max(1.0, self._backoff * 2))
        self._next_attempt = self._clock() + self._backoff
        log.warning(
            "sink unavailable, data waits in the spool",
            extra=fields(
                sink=self.name,
                status=exc.status,
                reason=exc.reason,
                pending=self.spool.depth_records,
                retry_in_seconds=self._backoff,
            ),
        )

    def _quarantine(self, batch: Batch, reason: str) -> int:
        """Keep a refused batch with the server's message, then acknowledge it."""
        header = f"# {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} {reason}\n".encode()
        payload = header + b"".join(batch.records)
        self.quarantine_path.parent.mkdir(parents=True, exist_ok=True)
        try:
            size = self.quarantine_path.stat().st_size
        except FileNotFoundError:
            size = 0
        if size + len(payload) > QUARANTINE_MAX_BYTES:
            self.stats.quarantine_dropped += len(batch)
            log.error(
                "quarantine file full, refused batch dropped",
                extra=fields(sink=self.name, records=len(batch), reason=reason),
            )
        else:
            fd = os.open(self.quarantine_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, payload)
                os.fsync(fd)
            finally:
                os.close(fd)
            self.stats.records_quarantined += len(batch)
            log.error(
                "sink refused a batch; kept in quarantine",
                extra=fields(
                    sink=self.name,
                    records=len(batch),
                    reason=reason,
                    file=str(self.quarantine_path),
                ),
            )
        self.spool.ack(batch)
        return len(batch)

    def close(self) -> None:
        self.spool.close()
        self.writer.close()
