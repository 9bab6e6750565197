"""The spool's on-disk format: segment files of CRC-framed records, and the ack state file.

A spool directory holds::

    lock                          flock'ed by the owning process (holds its pid, for errors)
    state.json                    acknowledged position, replaced atomically
    00000000000000000000.seg      segment files, named by the sequence number of their
    00000000000000004711.seg      first record (20 digits, so names sort like numbers)

A segment is a 16-byte header (``CWSPOOL`` + format version byte + first sequence number,
u64 little-endian) followed by frames: u32 payload length, u32 CRC-32 (zlib) of the four
length bytes followed by the payload, then the payload. Only the newest segment is ever
appended to. Because names carry first sequence numbers, the record count of every sealed
segment is known without reading it (next name - own name).
"""

from __future__ import annotations

import json
import os
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

MAGIC = b"CWSPOOL\x01"
HEADER = struct.Struct("<8sQ")
HEADER_SIZE = HEADER.size  # 16
FRAME = struct.Struct("<II")
FRAME_SIZE = FRAME.size  # 8
SUFFIX = ".seg"
STATE_NAME = "state.json"
LOCK_NAME = "lock"
STATE_FORMAT = 1


@dataclass(frozen=True, slots=True, order=True)
class Position:
    """A place in the spool: segment (its first seq), byte offset in it, seq of the next record.

    ``seq`` alone orders positions (sequence numbers grow by one per record, never reused).
    """

    seq: int
    segment: int
    offset: int


def segment_name(first_seq: int) -> str:
    return f"{first_seq:020d}{SUFFIX}"


def parse_segment_name(name: str) -> int | None:
    """The first sequence number a segment file name carries, or None for other files."""
    stem = name.removesuffix(SUFFIX)
    if stem == name or len(stem) != 20 or not stem.isdigit():
        return None
    return int(stem)


def encode_header(first_seq: int) -> bytes:
    return HEADER.pack(MAGIC, first_seq)


def header_ok(data: bytes, first_seq: int) -> bool:
    """True if ``data`` is a valid header for the segment named ``first_seq``."""
    return len(data) >= HEADER_SIZE and HEADER.unpack_from(data) == (MAGIC, first_seq)


def _crc(length_bytes: bytes | memoryview, payload: bytes | memoryview) -> int:
    # The length is covered too, so a flipped length bit is caught, not followed.
    return zlib.crc32(payload, zlib.crc32(length_bytes))


def encode_frame(payload: bytes) -> bytes:
    length_bytes = struct.pack("<I", len(payload))
    return length_bytes + struct.pack("<I", _crc(length_bytes, payload)) + payload


def iter_frames(buf: bytes, start: int = 0) -> Iterator[tuple[int, memoryview]]:
    """Yield ``(end_offset, payload view)`` for each valid frame in ``buf`` from ``start``.

    Stops at the first frame that is incomplete or fails its CRC; the caller compares the
    last end offset with ``len(buf)`` to tell whether the rest was clean.
    """
    view = memoryview(buf)
    pos = start
    total = len(buf)
    while pos + FRAME_SIZE <= total:
        length, crc = FRAME.unpack_from(buf, pos)
        end = pos + FRAME_SIZE + length
        if end > total:
            return
        payload = view[pos + FRAME_SIZE : end]
        if _crc(view[pos : pos + 4], payload) != crc:
            return
        yield end, payload
        pos = end


def frame_length_at(buf: bytes, pos: int) -> int | None:
    """The payload length the frame at ``pos`` claims, or None if its header is cut."""
    if pos + FRAME_SIZE > len(buf):
        return None
    return int(FRAME.unpack_from(buf, pos)[0])


@dataclass(frozen=True, slots=True)
class FrameRead:
    """What :func:`read_frames` found: payloads, the offset after them, and whether it stopped
    at an invalid frame (bad CRC, impossible length, or cut short) before ``end``."""

    records: list[bytes]
    offset: int
    bad: bool


def read_frames(
    fd: int, offset: int, end: int, max_records: int, max_bytes: int, *, at_least_one: bool = True
) -> FrameRead:
    """Read whole frames from ``fd`` in ``[offset, end)``, at most ``max_records`` records and
    ``max_bytes`` of payload (but with ``at_least_one``, one record however large).

    Memory stays bounded by the budget: the file is read in windows of about ``max_bytes``.
    """
    records: list[bytes] = []
    nbytes = 0
    while offset < end and len(records) < max_records:
        budget = max_bytes - nbytes
        if records and budget <= 0:
            break
        want = min(end - offset, max(budget, 0) + FRAME_SIZE * (max_records - len(records)))
        buf = os.pread(fd, want, offset)
        got = 0
        for frame_end, payload in iter_frames(buf):
            if (records or not at_least_one) and nbytes + len(payload) > max_bytes:
                return FrameRead(records, offset + got, False)
            records.append(payload.tobytes())
            nbytes += len(payload)
            got = frame_end
            if len(records) == max_records:
                break
        if got:
            offset += got
            continue
        # Nothing whole in the window: either one frame larger than the window, or damage.
        length = frame_length_at(buf, 0)
        whole = None if length is None else FRAME_SIZE + length
        if whole is None or whole <= len(buf) or offset + whole > end:
            return FrameRead(records, offset, True)
        if (records or not at_least_one) and nbytes + whole - FRAME_SIZE > max_bytes:
            break
        frames = list(iter_frames(os.pread(fd, whole, offset)))
        if not frames:
            return FrameRead(records, offset, True)
        records.append(frames[0][1].tobytes())
        nbytes += whole - FRAME_SIZE
        offset += whole
    return FrameRead(records, offset, False)


def fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_state(directory: str, pos: Position, *, durable: bool) -> None:
    """Replace the state file atomically: write temp, fsync, rename, fsync the directory.

    With ``durable=False`` the fsyncs are skipped (the rename is still atomic against a
    process crash; after a power loss the OS may have kept the old file or none).
    """
    body = json.dumps(
        {"format": STATE_FORMAT, "seq": pos.seq, "segment": pos.segment, "offset": pos.offset}
    ).encode()
    final = os.path.join(directory, STATE_NAME)
    tmp = final + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, body)
        if durable:
            os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, final)
    if durable:
        fsync_dir(directory)


def read_state(directory: str) -> Position | str | None:
    """The stored position; None if there is no state file; a reason string if it is unusable."""
    try:
        with open(os.path.join(directory, STATE_NAME), "rb") as f:
            raw = f.read(4096)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"cannot read: {exc.strerror}"
    try:
        doc = json.loads(raw)
        if doc.get("format") != STATE_FORMAT:
            return f"unknown format {doc.get('format')!r}"
        values = [doc["seq"], doc["segment"], doc["offset"]]
    except (ValueError, KeyError, AttributeError, TypeError):
        return "not a valid state document"
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in values):
        return "position values are not non-negative integers"
    return Position(seq=values[0], segment=values[1], offset=values[2])
