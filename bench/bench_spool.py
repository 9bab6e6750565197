"""Spool throughput: append, then read + ack, 200-byte records, for each fsync policy.

Producers append in calls of 100 records (a scrape's worth of points); the sender reads
batches of up to 1000 records / 1 MiB and acks each, as a sink does. Baselines in the same
run, on the same directory and the same bytes:

- plain file: buffered ``write`` of newline-terminated records, then ``readline`` back
  (no framing, no checksums, no acks: the floor for "bytes through a file");
- sqlite3 queue: ``INSERT`` 100 rows per transaction, then ``SELECT ... LIMIT 1000`` and
  ``DELETE`` of what was read per transaction (WAL, synchronous=NORMAL: its batch-like mode).

Run: ``.venv/bin/python bench/bench_spool.py [--records N] [--dir PATH]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Callable

from clusterwatch.core.spool import FsyncPolicy, Spool

RECORD_BYTES = 200
APPEND_CALL = 100
READ_RECORDS = 1000
READ_BYTES = 1 << 20


def make_records(count: int) -> list[bytes]:
    # Line-protocol-like text of a fixed size, distinct per record.
    return [
        f"cadvisor,agent=a{i % 977} v={i}i ".encode().ljust(RECORD_BYTES, b"x")
        for i in range(count)
    ]


def chunks(records: list[bytes]) -> list[list[bytes]]:
    return [records[i : i + APPEND_CALL] for i in range(0, len(records), APPEND_CALL)]


def run_spool(path: str, records: list[bytes], fsync: FsyncPolicy) -> tuple[float, float]:
    with Spool(path, max_bytes=1 << 30, fsync=fsync) as spool:
        t0 = time.perf_counter()
        for chunk in chunks(records):
            spool.append(chunk)
        t1 = time.perf_counter()
        got = 0
        while (batch := spool.read_batch(READ_RECORDS, READ_BYTES)) is not None:
            got += len(batch)
            spool.ack(batch)
        t2 = time.perf_counter()
    assert got == len(records), (got, len(records))
    return t1 - t0, t2 - t1


def spool_case(fsync: FsyncPolicy) -> Callable[[str, list[bytes]], tuple[float, float]]:
    return lambda path, records: run_spool(path, records, fsync)


def run_plain_file(path: str, records: list[bytes]) -> tuple[float, float]:
    name = os.path.join(path, "plain.log")
    t0 = time.perf_counter()
    with open(name, "ab") as f:
        for chunk in chunks(records):
            f.write(b"".join(r + b"\n" for r in chunk))
    t1 = time.perf_counter()
    with open(name, "rb") as f:
        got = sum(1 for _ in f)
    t2 = time.perf_counter()
    assert got == len(records)
    return t1 - t0, t2 - t1


def run_sqlite(path: str, records: list[bytes]) -> tuple[float, float]:
    db = sqlite3.connect(os.path.join(path, "queue.db"), isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE q (id INTEGER PRIMARY KEY, data BLOB NOT NULL)")
    t0 = time.perf_counter()
    for chunk in chunks(records):
        with db:
            db.executemany("INSERT INTO q (data) VALUES (?)", ((r,) for r in chunk))
    t1 = time.perf_counter()
    got = 0
    while rows := db.execute(
        "SELECT id, data FROM q ORDER BY id LIMIT ?", (READ_RECORDS,)
    ).fetchall():
        got += len(rows)
        with db:
            db.execute("DELETE FROM q WHERE id <= ?", (rows[-1][0],))
    t2 = time.perf_counter()
    db.close()
    assert got == len(records)
    return t1 - t0, t2 - t1


def report(name: str, count: int, times: tuple[float, float]) -> None:
    append, drain = times
    total = append + drain
    mb = count * RECORD_BYTES / 1e6
    print(f"{name}_append: {count / append:.0f} records/s")
    print(f"{name}_drain: {count / drain:.0f} records/s")  # read + ack (baselines: read, delete)
    print(f"{name}_total: {count / total:.0f} records/s")
    print(f"{name}_total_payload: {mb / total:.1f} MB/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--dir", default=None, help="where to write (default: a temp dir)")
    args = parser.parse_args()
    records = make_records(args.records)
    cases: list[tuple[str, Callable[[str, list[bytes]], tuple[float, float]]]] = [
        ("baseline_plain_file", run_plain_file),
        ("baseline_sqlite_wal", run_sqlite),
    ]
    policies: tuple[FsyncPolicy, ...] = ("never", "batch", "always")
    cases += [(f"spool_fsync_{policy}", spool_case(policy)) for policy in policies]
    print(f"# {args.records} records of {RECORD_BYTES} bytes, appends of {APPEND_CALL}")
    for name, run in cases:
        work = tempfile.mkdtemp(prefix="bench-spool-", dir=args.dir)
        try:
            report(name, args.records, run(work, records))
        finally:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
