"""Per-target collection on one asyncio thread and in worker processes: the same points,
counted the same, streamed through ``ctx.emit`` or ``ctx.emit_lines``."""

from __future__ import annotations

import asyncio
import os
import pickle
import re
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence

import pytest

from clusterwatch.collectors import processes
from clusterwatch.collectors.common import collect_each_async
from clusterwatch.core.collect import CollectContext, CollectResult, TargetError
from clusterwatch.core.config_schema import ClusterConfig, HttpConfig, SourceConfig
from clusterwatch.core.http import Http
from clusterwatch.core.http_async import AsyncHttp
from clusterwatch.core.lineprotocol import Precision, encode_records
from clusterwatch.core.log import FIELDS_ATTR
from clusterwatch.core.point import Point
from clusterwatch.core.secrets import Secret


async def per_agent(ctx: CollectContext, client: AsyncHttp, agent: str) -> CollectResult:
    """Module level, so worker processes can unpickle it by name."""
    if agent == "down":
        return CollectResult(errors=[TargetError(agent, "connection refused")], targets_total=1)
    if agent == "crash":
        os._exit(7)  # a worker killed mid-cycle (out of memory, say)
    if agent.startswith("slow"):  # when its worker was alive, on the machine's one clock
        started = time.monotonic()
        await asyncio.sleep(0.3)
        fields = {"started": started, "ended": time.monotonic()}
        return CollectResult(points=[Point("t", {"pid": str(os.getpid())}, fields, 1)],
                             targets_total=1)  # fmt: skip
    points = [Point("mesos_agent", {"host": agent, "pid": str(os.getpid())}, {"n": i},
                    ctx.time_ns) for i in range(3)]  # fmt: skip
    return CollectResult(points=points, targets_total=1)


def context(processes: int = 1, emit: object = None, emit_lines: object = None) -> CollectContext:
    return CollectContext(
        source="mesos_agent",
        cluster=ClusterConfig(),
        config=SourceConfig(processes=processes),
        http=Http(HttpConfig(bearer_token=Secret("worker-token-123"))),
        time_ns=1_700_000_000_000_000_000,
        emit=emit,  # type: ignore[arg-type]
        emit_lines=emit_lines,  # type: ignore[arg-type]
        precisions=("ns", "s") if emit_lines else (),
    )


AGENTS = [f"a{i}" for i in range(20)] + ["down"]
PID = re.compile(rb",pid=\d+")


def without_pid(point: Point) -> tuple[str, object]:
    return (point.tags["host"], point.fields["n"])


def test_streamed_and_collected_cycles_carry_the_same_points() -> None:
    collected = collect_each_async(context(), CollectResult(), per_agent, AGENTS)
    seen: list[Point] = []
    streamed = collect_each_async(context(emit=seen.extend), CollectResult(), per_agent, AGENTS)
    assert streamed.points == []
    assert streamed.points_emitted == len(collected.points) == 60
    assert sorted(seen, key=without_pid) == sorted(collected.points, key=without_pid)
    assert [without_pid(p) for p in collected.points][:4] == [
        ("a0", 0), ("a0", 1), ("a0", 2), ("a1", 0)]  # fmt: skip
    assert streamed.points_total == collected.points_total == 60
    assert [e.target for e in streamed.errors] == ["down"]
    assert streamed.targets_total == collected.targets_total == 21


class Lines:
    def __init__(self) -> None:
        self.by_precision: dict[Precision, list[bytes]] = {"ns": [], "s": []}
        self.batches = 0

    def __call__(self, by_precision: Mapping[Precision, Sequence[bytes]]) -> None:
        self.batches += 1
        for precision, records in by_precision.items():
            self.by_precision[precision].extend(records)


def test_worker_processes_send_the_same_lines_for_every_precision() -> None:
    here: list[Point] = []
    in_process = collect_each_async(context(emit=here.extend), CollectResult(), per_agent, AGENTS)
    lines = Lines()
    points: list[Point] = []
    result = collect_each_async(
        context(processes=2, emit=points.extend, emit_lines=lines), CollectResult(), per_agent,
        AGENTS,
    )  # fmt: skip
    assert points == []  # nothing mapped in this process
    pids = {line.split(b",pid=")[1].split(b" ")[0] for line in lines.by_precision["ns"]}
    assert len(pids) == 2 and str(os.getpid()).encode() not in pids
    for precision in ("ns", "s"):
        got = sorted(PID.sub(b"", line) for line in lines.by_precision[precision])
        expected = sorted(PID.sub(b"", line) for line in encode_records(here, precision))
        assert got == expected
    assert lines.by_precision["s"][0].endswith(b" 1700000000\n")
    assert result.points_emitted == in_process.points_emitted == 60
    assert (result.targets_total, [e.target for e in result.errors]) == (21, ["down"])


def test_a_worker_that_dies_costs_its_share_not_the_cycle() -> None:
    lines = Lines()
    agents = ["a0", "crash", "a1", "a2", "a3", "a4"]  # dealt round-robin: crash goes to worker 2
    result = collect_each_async(
        context(processes=2, emit=lambda points: None, emit_lines=lines), CollectResult(),
        per_agent, agents,
    )  # fmt: skip
    hosts = sorted({line.split(b"host=")[1].split(b",")[0] for line in lines.by_precision["ns"]})
    assert hosts == [b"a0", b"a1", b"a3"]  # worker 1's share
    assert result.points_emitted == 9
    assert result.targets_total == 6
    (error,) = result.errors
    assert error.target == "mesos_agent worker process 2/2"
    assert "exited with code 7" in error.reason and "its 3 targets" in error.reason


def test_sources_started_together_never_run_more_workers_than_cores(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Two per-agent sources of two workers each on a two-core budget: the second source's
    workers start once the first's have ended (the log says it waited), and both collect
    everything."""
    monkeypatch.setattr(processes, "_slots", processes._Slots(2))
    monkeypatch.setattr(processes, "WAIT_WORTH_SAYING", 0.2)  # the first worker sleeps 0.3 s
    caplog.set_level("INFO", logger=processes.__name__)
    lines = Lines()
    results: list[CollectResult] = []

    def source() -> None:
        ctx = context(processes=2, emit=lambda points: None, emit_lines=lines)
        results.append(collect_each_async(ctx, CollectResult(), per_agent,
                                          [f"slow{i}" for i in range(6)]))  # fmt: skip

    threads = [threading.Thread(target=source) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert [r.points_emitted for r in results] == [6, 6]
    alive: dict[bytes, tuple[float, float]] = {}
    for line in lines.by_precision["ns"]:
        pid = line.split(b"pid=")[1].split(b" ")[0]
        fields = dict(f.split(b"=") for f in line.split(b" ")[1].split(b","))
        started, ended = alive.get(pid, (float("inf"), 0.0))
        alive[pid] = (min(started, float(fields[b"started"])), max(ended, float(fields[b"ended"])))
    assert len(alive) == 4
    for pid, (started, _) in alive.items():
        at_once = [other for other, (s, e) in alive.items() if s <= started < e]
        assert len(at_once) <= 2, (pid, alive)
    assert processes._slots.free == 2  # every slot given back
    [waited] = [r for r in caplog.records if r.getMessage() == "waited for the cores"]
    assert getattr(waited, FIELDS_ATTR)["seconds"] >= 0.2


@pytest.mark.parametrize(
    ("configured", "items", "has_lines", "expected"),
    [
        (0, 1000, True, 1),  # auto: a worker costs more than it saves
        (0, 100_000, True, min(len(os.sched_getaffinity(0)), 40)),
        (3, 1000, True, 3),
        (3, 2, True, 2),  # never more workers than items
        (1, 100_000, True, 1),
        (4, 100_000, False, 1),  # nowhere to send encoded lines: map here
    ],
)
def test_process_count(configured: int, items: int, has_lines: bool, expected: int) -> None:
    ctx = context(configured, emit=lambda points: None,
                  emit_lines=(lambda lines: None) if has_lines else None)  # fmt: skip
    assert processes.process_count(ctx, items) == expected


def test_secrets_sent_to_a_worker_are_redacted_there_too() -> None:
    blob = pickle.dumps(Secret("sent-to-worker-42", "env:TOKEN"))
    script = (
        "import pickle, sys\n"
        "from clusterwatch.core.log import redact\n"
        "secret = pickle.loads(sys.stdin.buffer.read())\n"
        "print(secret.source, secret.reveal() == 'sent-to-worker-42',"
        " redact('token sent-to-worker-42 in a log line'))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], input=blob, capture_output=True,
                         check=True).stdout.decode()  # fmt: skip
    assert out.split(" ", 2)[:2] == ["env:TOKEN", "True"]
    assert "sent-to-worker-42" not in out
