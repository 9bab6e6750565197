"""Per-agent collection split over worker processes, one core each.

One Python process maps a 10,000-agent cycle on one core (the GIL): ~17 s of CPU, most of it
JSON, mapping and line protocol, which no I/O trick shortens. Above ``AGENTS_PER_PROCESS``
agents, ``collect_each_async`` hands the agents to worker processes instead, each running
the same per-agent coroutines on its own asyncio thread (``common.collect_each_async`` with
no workers of its own) over its share of the agents.

A worker encodes its points to line protocol itself, once per precision the sinks write
(``ctx.precisions``), and sends the records back in batches as it goes: the daemon's process
only queues bytes in the spools, and no cycle is held in memory at once. At the end it sends
its errors and counts, merged here as if collected here. A worker that dies (killed, out of
memory) costs its share of the agents for this cycle, recorded as one error; the daemon goes
on.

Workers run one per CPU at most across the sources (``_slots``): when the scheduler starts two
per-agent sources together, the second waits for the first one's workers instead of forking
more workers than there are cores, which would hold every share's memory at once for no
gain in speed (the cores are busy either way).

Workers are forked from a fork server that has the collectors imported (``forkserver``: the
daemon itself has threads, which must not be forked). They inherit nothing but what
``_Job`` carries; secrets travel in the job through a pipe, never argv or the environment.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.context import ForkServerContext
from typing import Any, TypeVar

from clusterwatch.core.collect import CollectContext, CollectResult, TargetError
from clusterwatch.core.config_schema import ClusterConfig, HttpConfig, SourceConfig
from clusterwatch.core.http import Http
from clusterwatch.core.http_async import AsyncHttp
from clusterwatch.core.lineprotocol import Precision, encode_records
from clusterwatch.core.log import fields
from clusterwatch.core.point import Point

log = logging.getLogger(__name__)
T = TypeVar("T")
PerItem = Callable[[CollectContext, AsyncHttp, T], Coroutine[Any, Any, CollectResult]]

AGENTS_PER_PROCESS = 2500  # below this, a worker process costs more than it saves
FLUSH_POINTS = 5000  # a worker sends its records every this many points
GC_THRESHOLD = 20_000  # allocations between young collections in a worker (Python: 700)
WAIT_WORTH_SAYING = 1.0  # seconds waited for the cores before the log says so
CPUS = len(os.sched_getaffinity(0))  # the cores this process may run on
PRELOAD = ["clusterwatch.collectors.cadvisor", "clusterwatch.collectors.mesos_agent"]

_context: ForkServerContext | None = None
_context_lock = threading.Lock()


class _Slots:
    """Worker processes running at once, across every source: ``total`` at most."""

    def __init__(self, total: int) -> None:
        self.total = max(1, total)
        self.free = self.total
        self._changed = threading.Condition()

    def take(self, wanted: int) -> int:
        """Wait until ``wanted`` slots are free (``total`` at most), take them, say how many."""
        wanted = max(1, min(wanted, self.total))
        with self._changed:
            self._changed.wait_for(lambda: self.free >= wanted)
            self.free -= wanted
        return wanted

    def give(self, count: int) -> None:
        with self._changed:
            self.free += count
            self._changed.notify_all()


_slots = _Slots(CPUS)


def process_count(ctx: CollectContext, items: int) -> int:
    """How many worker processes ``items`` per-agent targets call for (1: none)."""
    if ctx.emit is None or ctx.emit_lines is None or not ctx.precisions:
        return 1  # nowhere to send encoded lines: map here
    wanted = ctx.config.processes
    if wanted <= 0:
        wanted = min(CPUS, items // AGENTS_PER_PROCESS)
    return max(1, min(wanted, items))


@dataclass(frozen=True, slots=True)
class _Job:
    """What a worker needs: the per-item coroutine function (module level, or a partial of
    one, so it pickles), the context's settings and its share of the items."""

    fn: Any
    source: str
    cluster: ClusterConfig
    config: SourceConfig
    http: HttpConfig
    time_ns: int
    precisions: tuple[Precision, ...]
    items: list[Any]


def collect_in_processes(
    ctx: CollectContext,
    result: CollectResult,
    fn: PerItem[T],
    items: Sequence[T],
    processes: int,
) -> CollectResult:
    """``fn`` over ``items`` in ``processes`` workers (items dealt round-robin), merged into
    ``result``; encoded points go to ``ctx.emit_lines`` as the workers send them."""
    emit_lines = ctx.emit_lines
    assert emit_lines is not None
    mp = _fork_server()
    running: dict[Connection, tuple[multiprocessing.process.BaseProcess, int, int]] = {}
    done: set[int] = set()
    asked = time.monotonic()
    held = _slots.take(processes)  # (waits while another source's workers use the cores)
    if (waited := time.monotonic() - asked) >= WAIT_WORTH_SAYING:
        # the cycle's duration (a self-metric) counts it: say where that time went
        log.info("waited for the cores", extra=fields(
            source=ctx.source, seconds=round(waited, 1),
            why="another source's worker processes were using them"))  # fmt: skip
    try:
        for index in range(processes):
            share = list(items[index::processes])
            job = _Job(fn, ctx.source, ctx.cluster, ctx.config, ctx.http.config, ctx.time_ns,
                       ctx.precisions, share)  # fmt: skip
            receive, send = mp.Pipe(duplex=False)
            name = f"clusterwatch {ctx.source} {index + 1}/{processes}"
            started = mp.Process(target=_work, args=(job, send), daemon=True, name=name)
            started.start()
            send.close()  # the worker holds the only sending end: EOF when it exits
            running[receive] = (started, index, len(share))
        while running:
            for conn in wait(list(running)):
                assert isinstance(conn, Connection)
                worker, index, count = running[conn]
                try:
                    message = conn.recv()
                except EOFError:
                    del running[conn]
                    conn.close()
                    worker.join()
                    if held > len(running):  # a core free for a waiting source
                        _slots.give(1)
                        held -= 1
                    if index not in done:
                        result.targets_total += count
                        result.errors.append(TargetError(
                            f"{ctx.source} worker process {index + 1}/{processes}",
                            f"exited with code {worker.exitcode} before it finished; "
                            f"its {count} targets were not collected this cycle",
                        ))  # fmt: skip
                    continue
                if message[0] == "lines":
                    emit_lines(message[1])
                else:  # "done": the worker's result, short of its points (sent as lines)
                    _, errors, targets_total, points_emitted = message
                    result.errors.extend(errors)
                    result.targets_total += targets_total
                    result.points_emitted += points_emitted
                    done.add(index)
    finally:
        for conn, (worker, _, _) in running.items():  # only when interrupted: stop them
            worker.kill()
            worker.join()
            conn.close()
        _slots.give(held)
    return result


def _fork_server() -> ForkServerContext:
    global _context
    with _context_lock:
        if _context is None:
            context = multiprocessing.get_context("forkserver")
            assert isinstance(context, ForkServerContext)
            context.set_forkserver_preload(PRELOAD)
            _context = context
        return _context


def _work(job: _Job, conn: Connection) -> None:
    """A worker: collect its items, sending records in batches, then the result."""
    from clusterwatch.collectors.common import collect_each_async  # (imports this module)

    # What the fork server loaded never becomes garbage: leave it out of every collection.
    # Mapping allocates in bursts; fewer, larger young collections cost ~10% less CPU, and
    # the worker lives for one cycle only.
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD, 20, 20)

    pending: dict[Precision, list[bytes]] = {precision: [] for precision in job.precisions}
    counted = 0

    def flush() -> None:
        nonlocal counted
        if counted:
            conn.send(("lines", pending))
            for records in pending.values():
                records.clear()
            counted = 0

    def emit(points: Sequence[Point]) -> None:
        nonlocal counted
        for precision, records in pending.items():
            records.extend(encode_records(points, precision))
        counted += len(points)
        if counted >= FLUSH_POINTS:
            flush()

    with Http(job.http) as http:
        ctx = CollectContext(job.source, job.cluster, job.config, http, job.time_ns, emit=emit)
        result = collect_each_async(ctx, CollectResult(), job.fn, job.items)
    flush()
    conn.send(("done", result.errors, result.targets_total, result.points_emitted))
    conn.close()
