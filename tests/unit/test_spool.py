"""Behaviour of the on-disk spool: order, batching, acks across restarts, size cap, damage."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from clusterwatch.core.spool import Batch, Spool, SpoolError, SpoolLockedError
from clusterwatch.core.spool_format import FRAME_SIZE, HEADER_SIZE, STATE_NAME

PAYLOAD = 92  # frame = 100 bytes, so offsets are easy to compute
FRAME = FRAME_SIZE + PAYLOAD
SEGMENT = HEADER_SIZE + 10 * FRAME  # exactly ten records per segment


def rec(i: int) -> bytes:
    return f"{i:08d}".encode().ljust(PAYLOAD, b".")


def recs(a: int, b: int) -> list[bytes]:
    return [rec(i) for i in range(a, b)]


def num(r: bytes) -> int:
    return int(r[:8])


def segments(path: Path) -> list[Path]:
    return sorted(path.glob("*.seg"))


def drain(spool: Spool, ack: bool = True) -> list[bytes]:
    out: list[bytes] = []
    while (batch := spool.read_batch(7, 1 << 20)) is not None:
        out += batch.records
        if ack:
            spool.ack(batch)
    return out


@pytest.fixture
def spool_dir(tmp_path: Path) -> Path:
    return tmp_path / "influx"


def open_spool(path: Path, **kw: object) -> Spool:
    kw.setdefault("max_bytes", 1 << 20)
    kw.setdefault("segment_bytes", SEGMENT)
    return Spool(path, **kw)  # type: ignore[arg-type]


@pytest.fixture
def spool(spool_dir: Path) -> Iterator[Spool]:
    with open_spool(spool_dir) as s:
        yield s


# -- order and batching ----------------------------------------------------------------


def test_records_come_back_in_append_order_across_segments(spool: Spool) -> None:
    assert spool.append(recs(0, 35)) == 35
    assert spool.append(recs(35, 36)) == 1
    assert drain(spool) == recs(0, 36)
    assert spool.read_batch(10, 1000) is None


def test_read_batch_stops_at_max_records_and_max_bytes(spool: Spool) -> None:
    spool.append(recs(0, 30))
    first = spool.read_batch(4, 1 << 20)
    assert first is not None and first.records == tuple(recs(0, 4))
    by_bytes = spool.read_batch(100, 3 * PAYLOAD + 5)
    assert by_bytes is not None and by_bytes.records == tuple(recs(4, 7))
    assert by_bytes.nbytes <= 3 * PAYLOAD + 5


def test_a_record_larger_than_max_bytes_comes_alone(spool: Spool) -> None:
    spool.append([b"x" * 500, b"small"])
    batch = spool.read_batch(10, 100)
    assert batch is not None and batch.records == (b"x" * 500,)
    rest = spool.read_batch(10, 100)
    assert rest is not None and rest.records == (b"small",)


def test_batches_can_be_read_ahead_and_rewind_reads_again_from_the_ack(spool: Spool) -> None:
    spool.append(recs(0, 10))
    one = spool.read_batch(3, 1 << 20)
    two = spool.read_batch(3, 1 << 20)
    assert one is not None and two is not None
    assert [num(r) for r in two.records] == [3, 4, 5]
    spool.ack(one)
    spool.rewind()
    again = spool.read_batch(3, 1 << 20)
    assert again is not None and again.records == two.records


def test_empty_records_and_binary_payloads_survive(spool: Spool) -> None:
    payloads = [b"", b"\x00" * 9, bytes(range(256)), b"\n"]
    spool.append(payloads)
    assert drain(spool) == payloads


# -- acks and restarts -----------------------------------------------------------------


def test_acked_records_are_not_read_again_after_reopen(spool_dir: Path) -> None:
    with open_spool(spool_dir) as s:
        s.append(recs(0, 25))
        batch = s.read_batch(12, 1 << 20)
        assert batch is not None
        s.ack(batch)
    with open_spool(spool_dir) as s:
        assert s.depth_records == 13
        assert drain(s) == recs(12, 25)


def test_a_batch_read_but_not_acked_is_read_again_after_reopen(spool_dir: Path) -> None:
    with open_spool(spool_dir) as s:
        s.append(recs(0, 20))
        acked = s.read_batch(5, 1 << 20)
        assert acked is not None
        s.ack(acked)
        unacked = s.read_batch(5, 1 << 20)
        assert unacked is not None
    with open_spool(spool_dir) as s:
        again = s.read_batch(5, 1 << 20)
        assert again is not None and again.records == unacked.records


def test_appends_after_reopen_continue_after_the_old_records(spool_dir: Path) -> None:
    with open_spool(spool_dir) as s:
        s.append(recs(0, 15))
    with open_spool(spool_dir) as s:
        s.append(recs(15, 30))
        assert drain(s) == recs(0, 30)


def test_ack_is_cumulative_and_idempotent(spool: Spool) -> None:
    spool.append(recs(0, 10))
    one = spool.read_batch(3, 1 << 20)
    two = spool.read_batch(3, 1 << 20)
    assert one is not None and two is not None
    spool.ack(two)
    spool.ack(one)
    spool.ack(two)
    assert spool.depth_records == 4
    assert spool.stats.acked == 3


def test_ack_of_a_batch_from_elsewhere_is_refused(spool: Spool, tmp_path: Path) -> None:
    with open_spool(tmp_path / "other") as other:
        other.append(recs(0, 50))
        foreign = other.read_batch(50, 1 << 20)
    spool.append(recs(0, 2))
    assert foreign is not None
    with pytest.raises(ValueError, match="does not belong"):
        spool.ack(foreign)


def test_state_file_is_the_only_resume_point_and_is_replaced_atomically(spool_dir: Path) -> None:
    with open_spool(spool_dir) as s:
        s.append(recs(0, 5))
        batch = s.read_batch(2, 1 << 20)
        assert batch is not None
        s.ack(batch)
    assert sorted(p.name for p in spool_dir.iterdir() if "state" in p.name) == [STATE_NAME]


@pytest.mark.parametrize("fsync", ["always", "batch", "never"])
def test_every_fsync_policy_round_trips(spool_dir: Path, fsync: str) -> None:
    with open_spool(spool_dir, fsync=fsync, fsync_interval_ms=0) as s:
        s.append(recs(0, 25))
        s.flush()
        half = s.read_batch(12, 1 << 20)
        assert half is not None
        s.ack(half)
    with open_spool(spool_dir, fsync=fsync) as s:
        assert drain(s) == recs(12, 25)


@pytest.mark.parametrize(
    ("fsync", "after_appends", "after_ack"),
    [("always", 3, 3), ("batch", 0, 1), ("never", 0, 0)],
)
def test_fsync_policy_decides_when_data_reaches_the_disk(
    spool_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    fsync: str,
    after_appends: int,
    after_ack: int,
) -> None:
    syncs: list[int] = []
    with open_spool(spool_dir, fsync=fsync, fsync_interval_ms=60_000) as s:
        monkeypatch.setattr(os, "fdatasync", syncs.append)
        for i in range(3):
            s.append(recs(i, i + 1))
        assert len(syncs) == after_appends
        s.ack(s.read_batch(1, 1 << 20))  # type: ignore[arg-type]
        assert len(syncs) == after_ack  # batch: synced before the ack is persisted


def test_producers_and_a_sender_on_other_threads_see_one_order(spool: Spool) -> None:
    def produce(start: int) -> None:
        for i in range(start, start + 200, 4):
            spool.append(recs(i, i + 4))

    got: list[bytes] = []
    producer = threading.Thread(target=produce, args=(0,))
    producer.start()
    while producer.is_alive() or spool.depth_records:
        batch = spool.read_batch(9, 1 << 20)
        if batch is not None:
            got += batch.records
            spool.ack(batch)
    producer.join()
    assert got == recs(0, 200)


# -- segments --------------------------------------------------------------------------


def test_segments_roll_at_their_size_and_are_deleted_once_acked(spool: Spool) -> None:
    path = Path(spool.path)
    spool.append(recs(0, 35))
    files = segments(path)
    assert len(files) == 4
    assert all(f.stat().st_size <= SEGMENT for f in files)
    batch = spool.read_batch(25, 1 << 20)
    assert batch is not None
    spool.ack(batch)
    assert len(segments(path)) == 2  # records 20.. live in the third and fourth
    spool.ack(spool.read_batch(100, 1 << 20))  # type: ignore[arg-type]
    assert len(segments(path)) == 1
    assert spool.depth_records == 0 and spool.depth_bytes == 0


def test_depth_counts_unacked_records_and_their_bytes(spool: Spool) -> None:
    spool.append(recs(0, 15))
    assert (spool.depth_records, spool.depth_bytes) == (15, 15 * FRAME)
    batch = spool.read_batch(4, 1 << 20)
    assert batch is not None
    assert spool.depth_records == 15  # read is not acknowledged
    spool.ack(batch)
    assert (spool.depth_records, spool.depth_bytes) == (11, 11 * FRAME)


def test_a_segment_left_behind_by_an_interrupted_delete_is_removed_on_open(
    spool_dir: Path,
) -> None:
    with open_spool(spool_dir) as s:
        s.append(recs(0, 25))
        first = segments(spool_dir)[0]
        saved = first.read_bytes()
        s.ack(s.read_batch(15, 1 << 20))  # type: ignore[arg-type]
    first.write_bytes(saved)  # as if the process died between state write and unlink
    with open_spool(spool_dir) as s:
        assert first not in segments(spool_dir)
        assert drain(s) == recs(15, 25)


# -- size cap --------------------------------------------------------------------------


def test_drop_oldest_keeps_the_cap_and_the_newest_records(
    spool_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cap = 4 * SEGMENT
    with caplog.at_level(logging.WARNING), open_spool(spool_dir, max_bytes=cap) as s:
        for i in range(0, 100, 5):
            s.append(recs(i, i + 5))
            assert sum(f.stat().st_size for f in segments(spool_dir)) <= cap
        got = [num(r) for r in drain(s)]
        stats = s.stats
    assert got == list(range(got[0], 100))
    assert stats.dropped_full == got[0] > 0
    assert stats.appended == 100
    messages = [r.getMessage() for r in caplog.records if "spool_full" in r.getMessage()]
    assert messages and all("action=drop_oldest" in m and "records=10" in m for m in messages)


def test_drop_oldest_moves_an_outstanding_batch_out_of_the_way(spool_dir: Path) -> None:
    with open_spool(spool_dir, max_bytes=4 * SEGMENT) as s:
        s.append(recs(0, 30))
        stale = s.read_batch(5, 1 << 20)
        assert stale is not None
        s.append(recs(30, 60))  # six segments' worth: the two holding 0..19 go
        s.ack(stale)  # acks nothing that still exists
        assert s.stats.dropped_full == 20
        assert [num(r) for r in drain(s)] == list(range(20, 60))


def test_reject_new_refuses_what_does_not_fit_and_keeps_old_records(
    spool_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cap = 4 * SEGMENT
    with (
        caplog.at_level(logging.WARNING),
        open_spool(spool_dir, max_bytes=cap, when_full="reject_new") as s,
    ):
        accepted = s.append(recs(0, 50))
        assert accepted == 40  # four full segments
        assert s.append(recs(40, 41)) == 0
        assert s.stats.dropped_full == 11
        assert sum(f.stat().st_size for f in segments(spool_dir)) <= cap
        assert drain(s) == recs(0, 40)
        assert s.append(recs(40, 45)) == 5  # room again once acknowledged
    assert any("action=reject_new records=10" in r.getMessage() for r in caplog.records)


def test_a_record_too_large_for_a_segment_is_refused_alone(
    spool: Spool, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        assert spool.append([rec(0), b"x" * SEGMENT, rec(1)]) == 2
    assert spool.stats.rejected_oversize == 1
    assert drain(spool) == [rec(0), rec(1)]
    assert any("spool_record_too_large" in r.getMessage() for r in caplog.records)


def test_segment_size_is_lowered_to_a_quarter_of_the_cap(tmp_path: Path) -> None:
    with Spool(tmp_path / "s", max_bytes=8192) as s:
        assert s.segment_bytes == 2048


def test_bad_arguments_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="fsync"):
        Spool(tmp_path / "a", max_bytes=1 << 20, fsync="sometimes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="when_full"):
        Spool(tmp_path / "b", max_bytes=1 << 20, when_full="block")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_bytes"):
        Spool(tmp_path / "c", max_bytes=10)


# -- damage ----------------------------------------------------------------------------

TAILS = {
    "half a record": rec(10)[:40],
    "half a frame header": b"\x5c\x00\x00",
    "garbage": b"\xde\xad\xbe\xef" * 7,
    "zeros": b"\x00" * 64,
}


@pytest.mark.parametrize("tail", TAILS.values(), ids=TAILS.keys())
def test_a_torn_tail_is_cut_off_on_open_and_counted(spool_dir: Path, tail: bytes) -> None:
    with open_spool(spool_dir) as s:
        s.append(recs(0, 7))
    last = segments(spool_dir)[-1]
    with last.open("ab") as f:
        f.write(tail)
    with open_spool(spool_dir) as s:
        assert s.stats.torn_tail_truncated == 1
        assert last.stat().st_size == HEADER_SIZE + 7 * FRAME
        s.append(recs(7, 9))
        assert drain(s) == recs(0, 9)
    with open_spool(spool_dir) as s:
        assert s.stats.torn_tail_truncated == 0


def test_a_segment_with_a_torn_header_is_started_again(spool_dir: Path) -> None:
    with open_spool(spool_dir) as s:
        s.append(recs(0, 10))
    (spool_dir / "00000000000000000010.seg").write_bytes(b"CWSP")  # died while rolling
    with open_spool(spool_dir) as s:
        assert s.stats.torn_tail_truncated == 1
        s.append(recs(10, 12))
        assert drain(s) == recs(0, 12)


def flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("where", ["payload", "length"])
def test_damage_in_a_sealed_segment_skips_its_rest_without_an_error(
    spool_dir: Path, where: str, caplog: pytest.LogCaptureFixture
) -> None:
    with open_spool(spool_dir) as s:
        s.append(recs(0, 25))
    third = HEADER_SIZE + 3 * FRAME
    flip(segments(spool_dir)[0], third + (20 if where == "payload" else 1))
    with caplog.at_level(logging.ERROR), open_spool(spool_dir) as s:
        got = drain(s)
        assert got == recs(0, 3) + recs(10, 25)
        assert s.stats.corrupted_skipped == 7
        assert s.depth_records == 0
    assert any("spool_corrupt" in r.getMessage() for r in caplog.records)


def test_a_sealed_segment_with_a_bad_header_is_skipped(spool_dir: Path) -> None:
    with open_spool(spool_dir) as s:
        s.append(recs(0, 25))
    flip(segments(spool_dir)[1], 2)
    with open_spool(spool_dir) as s:
        assert drain(s) == recs(0, 10) + recs(20, 25)
        assert s.stats.corrupted_skipped == 10


def test_damage_under_the_writer_is_skipped_and_appending_goes_on(spool: Spool) -> None:
    spool.append(recs(0, 5))
    active = segments(Path(spool.path))[-1]
    with active.open("r+b") as f:  # someone else's write, after our open
        f.seek(HEADER_SIZE + 2 * FRAME + 30)
        f.write(b"!")
    assert drain(spool) == recs(0, 2)
    assert spool.stats.corrupted_skipped == 3
    spool.append(recs(5, 8))
    assert drain(spool) == recs(5, 8)


def test_an_unusable_state_file_replays_from_the_oldest_record(
    spool_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with open_spool(spool_dir) as s:
        s.append(recs(0, 5))
        s.ack(s.read_batch(2, 1 << 20))  # type: ignore[arg-type]
    (spool_dir / STATE_NAME).write_text("{not json")
    with caplog.at_level(logging.ERROR), open_spool(spool_dir) as s:
        assert drain(s) == recs(0, 5)
    assert any("spool_state_unusable" in r.getMessage() for r in caplog.records)


def test_a_state_pointing_past_the_data_resumes_at_the_end(spool_dir: Path) -> None:
    # What fsync="never" can leave after a power loss: the ack survived, the data did not.
    with open_spool(spool_dir, fsync="never") as s:
        s.append(recs(0, 6))
        s.ack(s.read_batch(6, 1 << 20))  # type: ignore[arg-type]
    last = segments(spool_dir)[-1]
    os.truncate(last, HEADER_SIZE + 4 * FRAME)
    with open_spool(spool_dir) as s:
        assert s.depth_records == 0
        s.append(recs(6, 9))
        assert drain(s) == recs(6, 9)


def test_a_state_pointing_inside_a_record_replays_that_record(spool_dir: Path) -> None:
    with open_spool(spool_dir) as s:
        s.append(recs(0, 6))
    state = f'{{"format": 1, "seq": 3, "segment": 0, "offset": {HEADER_SIZE + 3 * FRAME - 5}}}'
    (spool_dir / STATE_NAME).write_text(state)
    with open_spool(spool_dir) as s:
        assert drain(s) == recs(2, 6)


# -- ownership -------------------------------------------------------------------------


def test_a_second_owner_gets_a_clear_error_naming_the_holder(spool: Spool) -> None:
    with pytest.raises(SpoolLockedError, match=rf"in use by another process \(pid {os.getpid()}\)"):
        open_spool(Path(spool.path))


def test_the_lock_is_released_on_close(spool_dir: Path) -> None:
    open_spool(spool_dir).close()
    with open_spool(spool_dir) as s:
        s.append([b"ok"])


def test_a_closed_spool_refuses_work_and_closes_twice(spool: Spool) -> None:
    spool.close()
    spool.close()
    with pytest.raises(SpoolError, match="closed"):
        spool.append([b"late"])


def test_an_unusable_directory_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(SpoolError, match="spool directory"):
        Spool(blocker / "spool", max_bytes=1 << 20)


# -- model-based -----------------------------------------------------------------------


class SpoolModel(RuleBasedStateMachine):
    """Any mix of appends, reads, acks, rewinds and reopens behaves like a simple list."""

    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="spool-model-"))
        self.spool = Spool(self.dir, max_bytes=1 << 20, segment_bytes=300, fsync="never")
        self.items: list[bytes] = []
        self.acked = 0
        self.read = 0
        self.batches: list[tuple[int, Batch]] = []  # (index after the batch, batch)

    @rule(sizes=st.lists(st.integers(0, 120), max_size=8))
    def append(self, sizes: list[int]) -> None:
        new = [f"{len(self.items) + i}:".encode() + b"r" * n for i, n in enumerate(sizes)]
        assert self.spool.append(new) == len(new)
        self.items += new

    @rule(max_records=st.integers(1, 6), max_bytes=st.integers(1, 400))
    def read_batch(self, max_records: int, max_bytes: int) -> None:
        batch = self.spool.read_batch(max_records, max_bytes)
        if self.read == len(self.items):
            assert batch is None
            return
        assert batch is not None
        n = len(batch.records)
        assert batch.records == tuple(self.items[self.read : self.read + n])
        assert n <= max_records and (n == 1 or batch.nbytes <= max_bytes)
        self.read += n
        self.batches.append((self.read, batch))

    @precondition(lambda self: self.batches)
    @rule(which=st.integers(0, 5))
    def ack(self, which: int) -> None:
        upto, batch = self.batches[min(which, len(self.batches) - 1)]
        self.spool.ack(batch)
        self.acked = max(self.acked, upto)
        self.read = max(self.read, self.acked)

    @rule()
    def rewind(self) -> None:
        self.spool.rewind()
        self.read = self.acked
        self.batches.clear()

    @rule()
    def reopen(self) -> None:
        self.spool.close()
        self.spool = Spool(self.dir, max_bytes=1 << 20, segment_bytes=300, fsync="never")
        self.read = self.acked
        self.batches.clear()

    @invariant()
    def depth_matches(self) -> None:
        assert self.spool.depth_records == len(self.items) - self.acked

    def teardown(self) -> None:
        self.spool.close()
        shutil.rmtree(self.dir, ignore_errors=True)


TestSpoolModel = SpoolModel.TestCase
TestSpoolModel.settings = settings(
    max_examples=60,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
