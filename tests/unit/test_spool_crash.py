"""Kill a real producer+sender process with SIGKILL again and again; nothing acked is lost.

Between some kills the test also leaves half a frame at the tail, as a write cut short
would. The child (spool_crash_child.py) logs what it appended, delivered (fdatasync'ed before the
ack) and acknowledged. After many seeded random kills and a final clean drain, the log must
show every number from 0 up exactly once, in order, except that after a kill the sender may
deliver again what it had delivered but not acknowledged (the last batch before the kill).
"""

from __future__ import annotations

import json
import random
import select
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from clusterwatch.core.spool_format import encode_frame

CHILD = Path(__file__).with_name("spool_crash_child.py")
KILLS = 50
SEED = 20240611


@dataclass
class Verdict:
    delivered: int = 0  # highest number delivered
    replayed: int = 0  # numbers delivered a second time after a kill
    restarts: int = 0
    torn_tails: int = 0  # torn tails the spool cut off when a child opened it


def verify(lines: list[str]) -> Verdict:
    """Check the child's log; raise AssertionError naming the first broken line."""
    verdict = Verdict(delivered=-1)
    acked = -1  # highest number whose ack returned (so was persisted) before a kill
    produced = -1
    next_in_run: int | None = None  # where the next batch must start within one run
    resume_points = {0}  # where the first batch after a (re)start may start
    for i, line in enumerate(lines):
        kind, _, rest = line.partition(" ")
        where = f"log line {i + 1}: {line[:80]}"
        if kind == "R":
            verdict.restarts += 1
            next_in_run = None
        elif kind == "X":
            raise AssertionError(f"child reported a problem at {where}")
        elif kind == "T":
            verdict.torn_tails += int(rest)
        elif kind == "P":
            produced = max(produced, int(rest))
        elif kind == "A":
            acked = int(rest)
            assert next_in_run == acked + 1, f"ack of a batch not just delivered, {where}"
            resume_points = {acked + 1}
        elif kind == "B":
            nums = [int(n) for n in rest.split()]
            assert nums == list(range(nums[0], nums[0] + len(nums))), f"gap in batch, {where}"
            allowed = resume_points if next_in_run is None else {next_in_run}
            assert nums[0] in allowed, f"expected a batch starting at {sorted(allowed)}, {where}"
            assert nums[0] > acked, f"acknowledged record delivered again, {where}"
            verdict.replayed += max(0, min(nums[-1], verdict.delivered) - nums[0] + 1)
            verdict.delivered = max(verdict.delivered, nums[-1])
            next_in_run = nums[-1] + 1
            # Killed now, the spool resumes at this batch (its ack not yet persisted) or
            # after it (persisted, but the child died before logging the ack).
            resume_points = {nums[0], nums[-1] + 1}
        else:
            raise AssertionError(f"unknown line, {where}")
    assert produced <= verdict.delivered, f"appended up to {produced}, delivered only to " + str(
        verdict.delivered
    )
    return verdict


def wait_ready(proc: subprocess.Popen[str]) -> None:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], 30)
    assert ready, "child did not start"
    assert proc.stdout.readline().strip() == "ready"


@pytest.mark.slow
def test_sigkill_at_random_moments_loses_nothing_acknowledged(tmp_path: Path) -> None:
    spool_dir, log = tmp_path / "spool", tmp_path / "delivered.log"
    rng = random.Random(SEED)

    def start(*extra: str) -> subprocess.Popen[str]:
        args = [sys.executable, str(CHILD), str(spool_dir), str(log), str(rng.randrange(1 << 30))]
        return subprocess.Popen([*args, *extra], stdout=subprocess.PIPE, text=True)

    def tear_tail() -> None:
        """What a kill in the middle of a write leaves: the start of a frame, no more."""
        last = max(spool_dir.glob("*.seg"), default=None)
        if last is not None:
            with last.open("ab") as f:
                f.write(encode_frame(b"torn" * 50)[: rng.randint(1, 207)])

    waited = torn = 0
    for _ in range(KILLS):
        proc = start()
        if rng.random() < 0.8:  # mostly mid-work, sometimes during start-up and recovery
            wait_ready(proc)
            waited += 1
        select.select([], [], [], rng.uniform(0.0, 0.25))  # a random moment
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL, "child exited on its own"
        if rng.random() < 0.2:
            tear_tail()
            torn += 1

    tear_tail()
    final = start("--drain")
    out, _ = final.communicate(timeout=60)
    assert final.returncode == 0
    stats = json.loads(out.splitlines()[-1])
    assert stats["dropped_full"] == 0 and stats["corrupted_skipped"] == 0
    assert stats["torn_tail_truncated"] == 1

    lines = log.read_text().splitlines()
    verdict = verify(lines)
    assert verdict.restarts >= waited + 1  # the others may have died before writing "R"
    assert verdict.delivered > 0
    print(f"\n{verdict} tails_torn_by_test={torn + 1} final_stats={stats}")


def test_the_verifier_accepts_a_replay_of_the_unacked_batch_only() -> None:
    good = ["R", "P 5", "B 0 1 2", "A 2", "B 3 4", "R", "B 3 4 5", "A 5"]
    assert verify(good).replayed == 2
    ack_unlogged = ["R", "B 0 1 2", "R", "B 3 4", "R", "B 3", "A 3", "B 4 5", "A 5"]
    assert verify(ack_unlogged).replayed == 2
    acked_twice = ["R", "P 5", "B 0 1 2", "A 2", "R", "B 1 2 3"]
    with pytest.raises(AssertionError, match="starting at"):
        verify(acked_twice)
    lost = ["R", "P 5", "B 0 1 2", "A 2", "R", "B 4 5"]
    with pytest.raises(AssertionError, match="starting at"):
        verify(lost)
    undelivered = ["R", "P 9", "B 0 1 2", "A 2"]
    with pytest.raises(AssertionError, match="delivered only"):
        verify(undelivered)
