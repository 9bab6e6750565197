"""The spool-backed sink: order, waiting while down, quarantine, halving on 413."""

from __future__ import annotations

from pathlib import Path

import pytest

from clusterwatch.core.spool import Spool
from clusterwatch.sinks.base import SinkRejected, SinkTooLarge, SinkUnavailable
from clusterwatch.sinks.spooled import SpooledSink


class ScriptedWriter:
    """A writer whose next answers the test decides: None = accept, or an exception."""

    name = "scripted"

    def __init__(self) -> None:
        self.received: list[bytes] = []
        self.answers: list[Exception | None] = []
        self.max_records: int | None = None

    def write(self, payload: bytes) -> None:
        if self.max_records is not None and payload.count(b"\n") > self.max_records:
            raise SinkTooLarge(self.name, "Request Entity Too Large", 413)
        answer = self.answers.pop(0) if self.answers else None
        if answer is not None:
            raise answer
        self.received.append(payload)

    def close(self) -> None:
        pass


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def records(start: int, count: int) -> list[bytes]:
    return [f"m,host=a v={i}i {i}\n".encode() for i in range(start, start + count)]


@pytest.fixture
def sink(tmp_path: Path) -> SpooledSink:
    spool = Spool(tmp_path / "spool", max_bytes=1 << 20, fsync="never")
    return SpooledSink(
        ScriptedWriter(),
        spool,
        quarantine_path=tmp_path / "quarantine" / "scripted.txt",
        batch_records=10,
        clock=Clock(),
    )


def writer_of(sink: SpooledSink) -> ScriptedWriter:
    assert isinstance(sink.writer, ScriptedWriter)
    return sink.writer


def clock_of(sink: SpooledSink) -> Clock:
    clock = sink._clock
    assert isinstance(clock, Clock)
    return clock


def test_batches_are_sent_in_order(sink: SpooledSink) -> None:
    sink.submit(records(0, 25))
    result = sink.drain()
    assert (result.sent, result.pending, result.available) == (25, 0, True)
    assert b"".join(writer_of(sink).received) == b"".join(records(0, 25))
    assert [p.count(b"\n") for p in writer_of(sink).received] == [10, 10, 5]


def test_data_waits_while_sink_is_down_then_drains_in_order(sink: SpooledSink) -> None:
    writer = writer_of(sink)
    sink.submit(records(0, 5))
    writer.answers = [SinkUnavailable("scripted", "connection refused")]
    result = sink.drain()
    assert (result.sent, result.pending, result.available) == (0, 5, False)
    sink.submit(records(5, 5))
    # backing off: no attempt before the backoff has passed
    assert sink.drain().sent == 0
    assert writer.received == []
    clock_of(sink).now += 1.5
    result = sink.drain()
    assert (result.sent, result.pending) == (10, 0)
    assert b"".join(writer.received) == b"".join(records(0, 10))
    assert sink.stats.send_failures == 1


def test_backoff_doubles_and_is_capped(sink: SpooledSink) -> None:
    writer = writer_of(sink)
    sink.submit(records(0, 1))
    waits = []
    for _ in range(9):
        writer.answers = [SinkUnavailable("scripted", "HTTP 503", 503)]
        sink.drain(force=True)
        waits.append(sink._next_attempt - clock_of(sink).now)
    assert waits[:4] == [1.0, 2.0, 4.0, 8.0]
    assert max(waits) == 60.0


def test_refused_batch_goes_to_quarantine_with_the_message(sink: SpooledSink) -> None:
    writer = writer_of(sink)
    sink.submit(records(0, 15))
    writer.answers = [SinkRejected("scripted", "partial write: field type conflict", 400)]
    result = sink.drain()
    assert (result.sent, result.quarantined, result.pending) == (5, 10, 0)
    text = sink.quarantine_path.read_text()
    assert "partial write: field type conflict" in text.splitlines()[0]
    assert text.count("\n") == 11
    assert sink.quarantine_path.stat().st_mode & 0o077 == 0
    # it is not retried
    assert sink.drain().sent == 0


def test_too_large_batches_are_split_not_dropped(sink: SpooledSink) -> None:
    writer = writer_of(sink)
    writer.max_records = 3
    sink.submit(records(0, 10))
    result = sink.drain()
    assert (result.sent, result.quarantined) == (10, 0)
    assert all(p.count(b"\n") <= 3 for p in writer.received)
    assert b"".join(writer.received) == b"".join(records(0, 10))


def test_pending_data_survives_a_restart(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s", max_bytes=1 << 20, fsync="always")
    first = SpooledSink(ScriptedWriter(), spool, quarantine_path=tmp_path / "q")
    first.submit(records(0, 7))
    writer_of(first).answers = [SinkUnavailable("scripted", "down")]
    first.drain()
    first.close()
    second = SpooledSink(
        ScriptedWriter(),
        Spool(tmp_path / "s", max_bytes=1 << 20, fsync="always"),
        quarantine_path=tmp_path / "q",
    )
    assert second.drain().sent == 7
    assert b"".join(writer_of(second).received) == b"".join(records(0, 7))
