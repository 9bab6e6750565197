"""A bounded, crash-safe on-disk queue of byte records, one directory per sink.

Producers :meth:`Spool.append` records; one sender loops :meth:`Spool.read_batch`, sends,
and :meth:`Spool.ack`. The acknowledged position lives in ``state.json`` (replaced
atomically, read once at open) and nothing else decides where reading resumes, so a batch
read but not acknowledged is read again after a restart: at-least-once for that batch,
exactly-once for everything before it. File layout: :mod:`clusterwatch.core.spool_format`.

Durability of appended records (acknowledgements are as durable as the state file):

``always``  fdatasync after every ``append`` call, before it returns; the state file is
            fsynced on every ack. Survives power loss: a record whose append returned is kept.
``batch``   fdatasync when an ``append`` finds the last sync older than ``fsync_interval_ms``,
            on :meth:`Spool.flush`, before each ack is persisted, when a segment rolls, and on
            close; the state file is fsynced on every ack. A process crash loses nothing; a
            power loss loses at most the appends since the last of those syncs.
``never``   no fsync at all (state file included; its rename is still atomic). A process
            crash loses nothing (the page cache survives it); a power loss may lose anything
            the OS had not written back, and may replay already sent batches.

In every mode a torn record at the tail (crash mid-write) is cut off on open and counted;
a damaged record elsewhere makes the reader skip the rest of its segment, counted and logged.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import fcntl
import logging
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Literal

from clusterwatch.core import spool_format as fmt
from clusterwatch.core.errors import ClusterwatchError
from clusterwatch.core.spool_format import FRAME_SIZE, HEADER_SIZE, Position

log = logging.getLogger(__name__)

FsyncPolicy = Literal["always", "batch", "never"]
FullPolicy = Literal["drop_oldest", "reject_new"]

MIN_SEGMENT_BYTES = 256
_SCAN_BYTES = 1 << 20  # read window when scanning the tail segment at open


class SpoolError(ClusterwatchError):
    """The spool cannot do its job (directory unusable, disk write failed)."""


class SpoolLockedError(SpoolError):
    """Another process owns this spool directory."""


@dataclass(slots=True)
class SpoolStats:
    """Counters since this :class:`Spool` was opened (records unless said otherwise)."""

    appended: int = 0
    acked: int = 0
    dropped_full: int = 0  # lost to the size cap: oldest dropped, or new ones rejected
    rejected_oversize: int = 0  # a single record larger than a segment can hold
    torn_tail_truncated: int = 0  # torn tails cut off at open (events; bytes are logged)
    corrupted_skipped: int = 0  # records skipped because their segment was damaged


@dataclass(frozen=True, slots=True)
class Batch:
    """Records read together; hand the whole batch back to :meth:`Spool.ack`.

    ``start`` and ``end`` are opaque positions; ``end`` is what the ack persists.
    """

    records: tuple[bytes, ...]
    start: Position
    end: Position

    def __len__(self) -> int:
        return len(self.records)

    @property
    def nbytes(self) -> int:
        return sum(len(r) for r in self.records)


class Spool:
    """One sink's spool directory, owned by this process until :meth:`close`.

    ``max_bytes`` caps the segment files on disk (acknowledged bytes still in a segment
    count until the segment goes). ``segment_bytes`` is lowered to ``max_bytes // 4`` if
    larger, so the cap is kept in steps of a quarter at worst. A record must fit in one
    segment (``segment_bytes - 24`` bytes); larger ones are refused and counted.
    Thread-safe: producers and the sender may call from different threads.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        max_bytes: int,
        segment_bytes: int = 16 << 20,
        fsync: FsyncPolicy = "batch",
        fsync_interval_ms: int = 1000,
        when_full: FullPolicy = "drop_oldest",
    ) -> None:
        if fsync not in ("always", "batch", "never"):
            raise ValueError(f"fsync must be always, batch or never, not {fsync!r}")
        if when_full not in ("drop_oldest", "reject_new"):
            raise ValueError(f"when_full must be drop_oldest or reject_new, not {when_full!r}")
        if max_bytes < 4 * MIN_SEGMENT_BYTES:
            raise ValueError(f"max_bytes must be at least {4 * MIN_SEGMENT_BYTES}")
        if segment_bytes < MIN_SEGMENT_BYTES:
            raise ValueError(f"segment_bytes must be at least {MIN_SEGMENT_BYTES}")
        self.path = os.fspath(path)
        self.max_bytes = max_bytes
        self.segment_bytes = min(segment_bytes, max_bytes // 4)
        self.fsync = fsync
        self.when_full = when_full
        self._interval = fsync_interval_ms / 1000.0
        self._durable = fsync != "never"
        self._mutex = threading.Lock()
        self._stats = SpoolStats()
        self._sizes: dict[int, int] = {}  # segment first seq -> bytes on disk, oldest first
        self._total = 0
        self._wfd = -1
        self._rfd: tuple[int, int] | None = None  # (segment, fd) for a sealed segment
        self._dirty = False
        self._last_sync = time.monotonic()
        self._closed = False
        self._lock_fd = self._take_lock()
        try:
            self._open()
        except OSError as exc:
            self._release()
            raise SpoolError(f"cannot open spool {self.path}: {exc}") from None
        except BaseException:
            self._release()
            raise

    # -- opening -----------------------------------------------------------------------

    def _take_lock(self) -> int:
        try:
            os.makedirs(self.path, mode=0o700, exist_ok=True)
            fd = os.open(os.path.join(self.path, fmt.LOCK_NAME), os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise SpoolError(f"spool directory {self.path}: {exc.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise SpoolLockedError(
                    f"spool directory {self.path} is in use by another process (pid {holder});"
                    " only one process may own a spool"
                ) from None
            raise SpoolError(f"cannot lock spool directory {self.path}: {exc.strerror}") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        return fd

    def _open(self) -> None:
        try:
            names = os.listdir(self.path)
        except OSError as exc:
            raise SpoolError(f"spool directory {self.path}: {exc.strerror}") from None
        segments = sorted(s for s in map(fmt.parse_segment_name, names) if s is not None)
        state = fmt.read_state(self.path)
        if isinstance(state, str):
            log.error(
                "spool_state_unusable path=%s reason=%r action=replay_from_oldest",
                self.path,
                state,
            )
            state = None
        if not segments:
            segments = [state.seq if state else 0]
            os.close(self._create_segment(segments[0]))
        # Segments wholly before the acked position: an ack persisted, deletion interrupted.
        while state and len(segments) > 1 and segments[1] <= state.seq:
            self._unlink(segments.pop(0))
        for seg in segments:
            self._sizes[seg] = os.stat(self._seg_path(seg)).st_size
        self._total = sum(self._sizes.values())
        last = segments[-1]
        self._wfd = os.open(self._seg_path(last), os.O_RDWR | os.O_APPEND)
        acked_offset = state.offset if state and state.segment == last else None
        self._next_seq, acked_in_last = self._recover_tail(last, acked_offset)
        self._acked = self._resolve_acked(state, acked_in_last)
        self._drop_acked_segments()
        self._read = self._acked

    def _recover_tail(self, last: int, acked_offset: int | None) -> tuple[int, Position | None]:
        """Scan the newest segment, cut a torn tail; return next seq and the acked position
        in it mapped to a record boundary (None if the state points elsewhere)."""
        size = self._sizes[last]
        if not fmt.header_ok(os.pread(self._wfd, HEADER_SIZE, 0), last):
            self._truncate_tail(last, 0, size)
            os.write(self._wfd, fmt.encode_header(last))
            self._set_size(last, HEADER_SIZE)
            return last, (None if acked_offset is None else Position(last, last, HEADER_SIZE))
        acked = None
        offset, seq = HEADER_SIZE, last
        if acked_offset is not None:
            offset, seq, _ = self._scan(offset, min(acked_offset, size), seq)
            if offset != acked_offset:
                log.warning(
                    "spool_state_mismatch path=%s segment=%d state_offset=%d resume_offset=%d",
                    self.path,
                    last,
                    acked_offset,
                    offset,
                )
            acked = Position(seq, last, offset)
        offset, seq, clean = self._scan(offset, size, seq)
        if not clean:
            self._truncate_tail(last, offset, size)
        return seq, acked

    def _scan(self, offset: int, end: int, seq: int) -> tuple[int, int, bool]:
        while offset < end:
            found = fmt.read_frames(self._wfd, offset, end, 1 << 16, _SCAN_BYTES)
            offset, seq = found.offset, seq + len(found.records)
            if found.bad:
                return offset, seq, False
        return offset, seq, True

    def _truncate_tail(self, seg: int, offset: int, size: int) -> None:
        os.ftruncate(self._wfd, offset)
        if self._durable:
            os.fsync(self._wfd)
        self._set_size(seg, offset)
        self._stats.torn_tail_truncated += 1
        log.warning(
            "spool_torn_tail path=%s segment=%d offset=%d bytes_cut=%d",
            self.path,
            seg,
            offset,
            size - offset,
        )

    def _resolve_acked(self, state: Position | None, in_last: Position | None) -> Position:
        order = list(self._sizes)
        if in_last is not None:
            return in_last
        oldest = Position(order[0], order[0], HEADER_SIZE)
        if state is None or state.segment not in self._sizes:
            # Missing segment: acked or dropped before the state caught up; resume after it.
            later = [s for s in order if s > (state.segment if state else -1)]
            if not later:
                return self._write_end()
            return Position(later[0], later[0], HEADER_SIZE)
        nxt = order[order.index(state.segment) + 1]  # not the last, else in_last was set
        if not (state.segment <= state.seq <= nxt) or not (
            HEADER_SIZE <= state.offset <= self._sizes[state.segment]
        ):
            log.warning(
                "spool_state_mismatch path=%s state=%s action=replay_segment", self.path, state
            )
            return oldest
        return state

    # -- appending ---------------------------------------------------------------------

    def append(self, records: Sequence[bytes]) -> int:
        """Write records in order; return how many were accepted.

        Refused records (too large for a segment, or the spool full under ``reject_new``)
        are counted and logged, not raised: the spool is the only buffer, so callers should
        not hold on to them. Raises :class:`SpoolError` if the disk write itself fails.
        """
        with self._mutex:
            self._check_open()
            return self._append(records)

    def _append(self, records: Sequence[bytes]) -> int:
        pend: list[bytes] = []
        pend_bytes = accepted = oversize = rejected = 0
        dropped: list[tuple[int, int]] = []
        for i, rec in enumerate(records):
            size = FRAME_SIZE + len(rec)
            if HEADER_SIZE + size > self.segment_bytes:
                oversize += 1
                continue
            roll = self._sizes[self._active] + pend_bytes + size > self.segment_bytes
            need = size + (HEADER_SIZE if roll else 0)
            if self._total + pend_bytes + need > self.max_bytes and self.when_full == "reject_new":
                rejected = len(records) - i
                break
            if roll:
                self._write(pend, pend_bytes)
                pend, pend_bytes = [], 0
                self._roll()
            while self._total + pend_bytes + size > self.max_bytes and len(self._sizes) > 1:
                dropped.append(self._drop_oldest())
            pend.append(fmt.encode_frame(rec))
            pend_bytes += size
            accepted += 1
        self._write(pend, pend_bytes)
        if accepted and (
            self.fsync == "always"
            or (self.fsync == "batch" and time.monotonic() - self._last_sync >= self._interval)
        ):
            self._sync()
        self._stats.appended += accepted
        self._report_refusals(oversize, rejected, dropped)
        return accepted

    def _report_refusals(
        self, oversize: int, rejected: int, dropped: list[tuple[int, int]]
    ) -> None:
        if oversize:
            self._stats.rejected_oversize += oversize
            log.error(
                "spool_record_too_large path=%s records=%d max_record_bytes=%d",
                self.path,
                oversize,
                self.segment_bytes - HEADER_SIZE - FRAME_SIZE,
            )
        if rejected:
            self._stats.dropped_full += rejected
            log.warning(
                "spool_full path=%s action=reject_new records=%d max_bytes=%d",
                self.path,
                rejected,
                self.max_bytes,
            )
        if dropped:
            records = sum(r for r, _ in dropped)
            self._stats.dropped_full += records
            log.warning(
                "spool_full path=%s action=drop_oldest segments=%d records=%d bytes=%d"
                " max_bytes=%d",
                self.path,
                len(dropped),
                records,
                sum(b for _, b in dropped),
                self.max_bytes,
            )

    def _write(self, frames: list[bytes], nbytes: int) -> None:
        if not frames:
            return
        seg = self._active
        before = self._sizes[seg]
        data = memoryview(b"".join(frames))
        try:
            while data:
                data = data[os.write(self._wfd, data) :]
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.ftruncate(self._wfd, before)  # never leave a torn record behind us
            raise SpoolError(f"cannot write to spool {self.path}: {exc.strerror}") from None
        self._set_size(seg, before + nbytes)
        self._next_seq += len(frames)
        self._dirty = True

    def _roll(self) -> None:
        """Seal the active segment and start a new one named by the next sequence number."""
        if self._durable and self._dirty:
            self._sync()  # a sealed segment is complete on disk before any newer one exists
        fd = self._create_segment(self._next_seq)  # on failure the old one stays active
        os.close(self._wfd)
        self._wfd = fd

    def _create_segment(self, first_seq: int) -> int:
        path = self._seg_path(first_seq)
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        except OSError as exc:
            raise SpoolError(f"cannot create spool segment {path}: {exc.strerror}") from None
        try:
            os.write(fd, fmt.encode_header(first_seq))
            if self._durable:
                os.fsync(fd)
                fmt.fsync_dir(self.path)
        except OSError as exc:
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(path)
            raise SpoolError(f"cannot create spool segment {path}: {exc.strerror}") from None
        self._sizes[first_seq] = HEADER_SIZE
        self._total += HEADER_SIZE
        return fd

    def _drop_oldest(self) -> tuple[int, int]:
        """Delete the oldest segment (never the active one); return (records, bytes) lost."""
        old, nxt = list(self._sizes)[:2]
        read_from = self._acked if self._acked.segment == old else Position(old, old, HEADER_SIZE)
        lost = nxt - read_from.seq
        lost_bytes = self._sizes[old] - read_from.offset
        self._unlink(old)
        self._acked = Position(nxt, nxt, HEADER_SIZE)
        if self._read.seq < nxt:
            self._read = self._acked
        return lost, lost_bytes

    # -- reading -----------------------------------------------------------------------

    def read_batch(self, max_records: int, max_bytes: int) -> Batch | None:
        """The next records after the last batch read, or None if there are none.

        At most ``max_records`` records and ``max_bytes`` of payload, except that a single
        record larger than ``max_bytes`` comes alone. Batches may be read ahead of acks.
        """
        if max_records < 1 or max_bytes < 1:
            raise ValueError("max_records and max_bytes must be positive")
        with self._mutex:
            self._check_open()
            start = pos = self._read
            records: list[bytes] = []
            nbytes = 0
            while len(records) < max_records and (records == [] or nbytes < max_bytes):
                pos = self._advance(pos)
                end = self._sizes[pos.segment]
                if pos.offset >= end:
                    break  # caught up with the writer
                fd = self._fd_for(pos.segment)
                found = (
                    fmt.read_frames(
                        fd,
                        pos.offset,
                        end,
                        max_records - len(records),
                        max_bytes - nbytes,
                        at_least_one=not records,
                    )
                    if fd is not None
                    else fmt.FrameRead([], pos.offset, True)
                )
                records += found.records
                nbytes += sum(len(r) for r in found.records)
                pos = Position(pos.seq + len(found.records), pos.segment, found.offset)
                if found.bad:
                    pos = self._skip_damaged(pos)
                elif not found.records:
                    break  # the next record does not fit the byte budget
            self._read = pos
            if not records:
                return None
            return Batch(tuple(records), start, pos)

    def _advance(self, pos: Position) -> Position:
        """Step past the end of sealed segments (and over ones deleted under us)."""
        while True:
            if pos.segment not in self._sizes:
                later = [s for s in self._sizes if s > pos.segment]
                pos = Position(later[0], later[0], HEADER_SIZE)  # the active one always exists
            if pos.segment == self._active or pos.offset < self._sizes[pos.segment]:
                return pos
            nxt = self._next_segment(pos.segment)
            pos = Position(nxt, nxt, HEADER_SIZE)

    def _fd_for(self, seg: int) -> int | None:
        """A descriptor to read ``seg``, or None if its file is missing or has a bad header."""
        if seg == self._active:
            return self._wfd
        if self._rfd is not None and self._rfd[0] == seg:
            return self._rfd[1]
        self._close_reader()
        try:
            fd = os.open(self._seg_path(seg), os.O_RDONLY)
        except OSError:
            return None
        if not fmt.header_ok(os.pread(fd, HEADER_SIZE, 0), seg):
            os.close(fd)
            return None
        self._rfd = (seg, fd)
        return fd

    def _skip_damaged(self, pos: Position) -> Position:
        """Give up on the rest of ``pos.segment``: the frames past a damaged one cannot be
        found again (no sync markers), but the next segment starts clean."""
        if pos.segment == self._active:
            self._roll()  # damage under the writer after open: seal it and move on
        nxt = self._next_segment(pos.segment)
        lost = nxt - pos.seq
        self._stats.corrupted_skipped += lost
        log.error(
            "spool_corrupt path=%s segment=%d offset=%d records_skipped=%d bytes_skipped=%d",
            self.path,
            pos.segment,
            pos.offset,
            lost,
            self._sizes[pos.segment] - pos.offset,
        )
        return Position(nxt, nxt, HEADER_SIZE)

    def rewind(self) -> None:
        """Read again from the acknowledged position (after a send failed, for instance)."""
        with self._mutex:
            self._check_open()
            self._read = self._acked

    # -- acknowledging -----------------------------------------------------------------

    def ack(self, batch: Batch) -> None:
        """Record that ``batch`` (and everything before it) was sent; persist that position.

        Acks are cumulative and idempotent; an ack for records already acknowledged or
        dropped does nothing.
        """
        with self._mutex:
            self._check_open()
            end = batch.end
            if end.seq > self._next_seq or end.offset > self._sizes.get(end.segment, end.offset):
                raise ValueError("batch does not belong to this spool")
            if end.seq <= self._acked.seq or end.segment not in self._sizes:
                return  # already acknowledged, or dropped since it was read
            if self.fsync == "batch" and self._dirty:
                self._sync()  # the state must never point past data that is on disk
            pos = self._advance(end)
            try:
                fmt.write_state(self.path, pos, durable=self._durable)
            except OSError as exc:
                msg = f"cannot save spool state in {self.path}: {exc.strerror}"
                raise SpoolError(msg) from None
            self._stats.acked += min(len(batch.records), end.seq - self._acked.seq)
            self._acked = pos
            self._drop_acked_segments()
            if self._read.seq < pos.seq:
                self._read = pos

    def _drop_acked_segments(self) -> None:
        for seg in list(self._sizes):
            if seg >= self._acked.segment:
                break
            self._unlink(seg)

    # -- state and housekeeping ----------------------------------------------------------

    @property
    def depth_records(self) -> int:
        """Records appended and not yet acknowledged (including any not yet read)."""
        with self._mutex:
            return self._next_seq - self._acked.seq

    @property
    def depth_bytes(self) -> int:
        """Bytes on disk (frames, not headers) of records not yet acknowledged."""
        with self._mutex:
            frames = self._total - HEADER_SIZE * len(self._sizes)
            return frames - (self._acked.offset - HEADER_SIZE)

    @property
    def stats(self) -> SpoolStats:
        with self._mutex:
            return dataclasses.replace(self._stats)

    def flush(self) -> None:
        """Force appended records to disk now, whatever the fsync policy."""
        with self._mutex:
            self._check_open()
            if self._dirty:
                self._sync()

    def close(self) -> None:
        """Sync (unless ``fsync="never"``), close files and release the directory lock."""
        with self._mutex:
            if self._closed:
                return
            self._closed = True
            try:
                if self._durable and self._dirty:
                    self._sync()
            finally:
                self._release()

    def __enter__(self) -> Spool:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _release(self) -> None:
        self._close_reader()
        if self._wfd >= 0:
            os.close(self._wfd)
            self._wfd = -1
        os.close(self._lock_fd)  # closing the descriptor drops the flock

    def _check_open(self) -> None:
        if self._closed:
            raise SpoolError(f"spool {self.path} is closed")

    def _sync(self) -> None:
        os.fdatasync(self._wfd)
        self._dirty = False
        self._last_sync = time.monotonic()

    @property
    def _active(self) -> int:
        return next(reversed(self._sizes))

    def _next_segment(self, seg: int) -> int:
        return next(s for s in self._sizes if s > seg)

    def _write_end(self) -> Position:
        return Position(self._next_seq, self._active, self._sizes[self._active])

    def _set_size(self, seg: int, size: int) -> None:
        self._total += size - self._sizes[seg]
        self._sizes[seg] = size

    def _seg_path(self, seg: int) -> str:
        return os.path.join(self.path, fmt.segment_name(seg))

    def _close_reader(self) -> None:
        if self._rfd is not None:
            os.close(self._rfd[1])
            self._rfd = None

    def _unlink(self, seg: int) -> None:
        if self._rfd is not None and self._rfd[0] == seg:
            self._close_reader()
        try:
            os.unlink(self._seg_path(seg))
        except FileNotFoundError:
            pass
        except OSError as exc:  # left behind; reopening deletes it as already acknowledged
            log.warning(
                "spool_delete_failed path=%s segment=%d error=%r", self.path, seg, exc.strerror
            )
        self._total -= self._sizes.pop(seg, 0)
