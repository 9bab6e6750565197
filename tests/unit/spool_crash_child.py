"""Child process for test_spool_crash: a producer and a sender sharing one spool, until killed.

Usage: ``python spool_crash_child.py SPOOL_DIR LOG SEED [--drain]``.

Everything the parent checks goes to LOG, one line per event, each written with a single
``write`` (so only the very last line can be torn by a kill; it is cut off at start-up):

``R``            this process started (before it opened the spool)
``T n``          opening the spool cut off ``n`` torn tails
``P n``          ``append`` returned for records up to number ``n``
``B a a+1 ...``  a batch was delivered (written and fdatasync'ed *before* the ack)
``A n``          ``ack`` returned for the batch ending with number ``n``
``X why``        the child saw something impossible (bad record, refused append)

Numbering resumes after the highest number ever delivered: at start-up the sender first
drains the spool, so every record that reached it has been delivered before new ones come.
With ``--drain`` the child only drains, prints its stats as JSON and exits.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import sys
import threading
import time
from typing import NoReturn

from clusterwatch.core.spool import Batch, Spool

LIFETIME = 20.0  # never outlive a parent that forgot us


def record(n: int) -> bytes:
    filler = (str(n) * 60)[: 20 + n % 180]
    return f"{n:010d}|{filler}".encode()


def number(rec: bytes) -> int:
    n = int(rec[:10])
    if rec != record(n):
        raise ValueError(f"record {rec[:40]!r} does not match its number")
    return n


def repair_log(path: str) -> int:
    """Cut a torn last line; return the highest number delivered so far (-1 if none)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return -1
    keep = data.rfind(b"\n") + 1
    if keep != len(data):
        os.truncate(path, keep)
    highest = -1
    for line in data[:keep].splitlines():
        if line.startswith(b"B "):
            highest = max(highest, int(line.rsplit(b" ", 1)[1]))
    return highest


class Child:
    def __init__(self, spool: Spool, log_fd: int, rng: random.Random) -> None:
        self.spool = spool
        self.log_fd = log_fd
        self.rng = rng

    def note(self, line: str, *, sync: bool = False) -> None:
        os.write(self.log_fd, (line + "\n").encode())
        if sync:
            os.fdatasync(self.log_fd)

    def fail(self, why: str) -> NoReturn:
        self.note(f"X {why}", sync=True)
        os._exit(3)

    def deliver(self, batch: Batch) -> int:
        try:
            nums = [number(r) for r in batch.records]
        except ValueError as exc:
            self.fail(str(exc))
        self.note("B " + " ".join(map(str, nums)), sync=True)
        self.spool.ack(batch)
        self.note(f"A {nums[-1]}")
        return nums[-1]

    def send_once(self) -> int | None:
        batch = self.spool.read_batch(self.rng.randint(1, 64), self.rng.choice([600, 8192]))
        return None if batch is None else self.deliver(batch)

    def produce(self, first: int, rng: random.Random) -> None:
        n = first
        while True:
            k = rng.choice([1, 3, 10, 20, 200])
            if self.spool.append([record(i) for i in range(n, n + k)]) != k:
                self.fail(f"append of {n}..{n + k - 1} was refused")
            n += k
            self.note(f"P {n - 1}")
            time.sleep(rng.uniform(0, 0.003))


def main(argv: list[str]) -> int:
    spool_dir, log_path, seed = argv[0], argv[1], int(argv[2])
    highest = repair_log(log_path)
    log_fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.write(log_fd, b"R\n")
    spool = Spool(spool_dir, max_bytes=64 << 20, segment_bytes=64 << 10, fsync_interval_ms=20)
    child = Child(spool, log_fd, random.Random(seed))
    child.note(f"T {spool.stats.torn_tail_truncated}")
    print("ready", flush=True)
    while (last := child.send_once()) is not None:
        highest = max(highest, last)
    if "--drain" in argv:
        print(json.dumps(dataclasses.asdict(spool.stats)), flush=True)
        spool.close()
        return 0
    producer = threading.Thread(
        target=child.produce, args=(highest + 1, random.Random(seed + 1)), daemon=True
    )
    producer.start()
    deadline = time.monotonic() + LIFETIME
    while time.monotonic() < deadline:
        if child.send_once() is None:
            time.sleep(0.001)
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
