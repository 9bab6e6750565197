"""``clusterwatch run``: APScheduler runs every configured job on its interval.

Each enabled source is one job, run at start and then on its interval's boundaries (never
two runs of it at once, nor two in one interval; a late run is coalesced, not queued); one
more job drains the sinks' spools every second. SIGTERM/SIGINT stop it
gracefully (running cycles finish, spools are flushed to the sinks as far as they accept);
SIGHUP reloads the config, keeping the old one if the new one is invalid.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

from clusterwatch.core.config import load_config
from clusterwatch.core.config_schema import Config
from clusterwatch.core.errors import ConfigError
from clusterwatch.core.http import Http
from clusterwatch.core.lineprotocol import Precision
from clusterwatch.core.log import fields
from clusterwatch.core.malloc import limit_arenas
from clusterwatch.core.partition import AgentPartition, Everything
from clusterwatch.core.point import Point
from clusterwatch.scheduler.cycle import aligned_time_ns, run_cycle
from clusterwatch.scheduler.publish import Publisher
from clusterwatch.sinks.factory import open_sinks
from clusterwatch.sinks.spooled import SpooledSink

log = logging.getLogger(__name__)


def open_publisher(config: Config) -> Publisher:
    sinks: list[tuple[SpooledSink, Precision]] = [
        (sink, config.sinks[sink.name].precision) for sink in open_sinks(config)
    ]
    return Publisher(sinks)


DRAIN_INTERVAL_SECONDS = 1.0
SELF_METRICS_INTERVAL_SECONDS = 15.0


class Daemon:
    def __init__(self, config: Config, config_path: Path | None = None) -> None:
        from apscheduler.schedulers.background import BackgroundScheduler

        limit_arenas()  # before the scheduler's threads exist: see core.malloc
        self.config = config
        self.config_path = config_path
        self.http = Http(config.http)
        self.publisher = open_publisher(config)
        self.scheduler = BackgroundScheduler(job_defaults={"coalesce": True, "max_instances": 1})
        self.partition = _partition(config)
        self._stop = threading.Event()
        self._reload = threading.Event()
        self._last_slot: dict[str, int] = {}  # source -> the interval its last cycle ran for
        self._running: dict[str, threading.Lock] = {}  # source -> held while a cycle runs
        self._at_start: set[str] = set()  # sources whose run at (re)start has not ended
        self.cycles = 0

    # -- jobs --------------------------------------------------------------------------

    def collect(self, source: str) -> None:
        """One cycle of ``source``, unless its last one still runs (then none: the scheduler
        lets a second run start, to be turned away here and said at the right level)."""
        running = self._running.setdefault(source, threading.Lock())
        if not running.acquire(blocking=False):
            if source in self._at_start:
                # a run at (re)start, begun mid-interval, overlaps one on a boundary: expected
                log.info("cycle skipped: the one at (re)start overlaps it",
                         extra=fields(source=source))  # fmt: skip
            else:
                log.warning("cycle skipped: the last one still runs (longer than the interval)",
                            extra=fields(source=source))  # fmt: skip
            return
        try:
            self._collect(source)
        finally:
            self._at_start.discard(source)
            running.release()

    def _collect(self, source: str) -> None:
        now = time.time()
        slot = aligned_time_ns(now, self.config.sources[source].interval_seconds)
        if self._last_slot.get(source) == slot:
            # A run the scheduler started late, after which the next one came on time: both
            # fall in one interval, whose cycle (and timestamp) must be written once.
            log.info("cycle already ran in this interval: skipped", extra=fields(source=source))
            return
        self._last_slot[source] = slot
        # Per-agent points go to the spool as they are mapped (publish is thread-safe through
        # it), so a cycle of 10,000 agents is never held in memory at once; worker processes
        # send them encoded for the sinks' precisions.
        report = run_cycle(
            source,
            self.config,
            self.http,
            now=now,
            owns_agent=self.partition.owns,
            emit=self._publish,
            emit_lines=self._publish_lines,
            precisions=self.publisher.precisions,
        )
        points = [*report.result.points, report.self_metrics(self.config.cluster.name)]
        self.publisher.publish(points)
        self.cycles += 1

    def _publish(self, points: Sequence[Point]) -> None:
        self.publisher.publish(points)  # the current publisher: a reload may replace it

    def _publish_lines(self, by_precision: Mapping[Precision, Sequence[bytes]]) -> None:
        self.publisher.publish_lines(by_precision)

    def drain(self) -> None:
        self.publisher.drain()

    def report_sinks(self) -> None:
        now_ns = aligned_time_ns(time.time(), SELF_METRICS_INTERVAL_SECONDS)
        self.publisher.publish(self.publisher.self_metrics(self.config.cluster.name, now_ns))

    def schedule(self) -> None:
        from apscheduler.triggers.interval import IntervalTrigger

        from clusterwatch.scheduler.aligned_trigger import AlignedIntervalTrigger

        for job in self.scheduler.get_jobs():
            job.remove()
        self._at_start = {name for name, source in self.config.sources.items() if source.enabled}
        for name, source in self.config.sources.items():
            if not source.enabled:
                continue
            self.scheduler.add_job(  # now, then on the boundaries of the interval
                self.collect,
                AlignedIntervalTrigger(seconds=source.interval_seconds),
                args=(name,),
                id=f"collect:{name}",
                name=f"collect {name}",
                next_run_time=_now(),
                max_instances=2,  # the second is turned away by collect(), which says why
                misfire_grace_time=max(1, int(source.interval_seconds)),
            )
        self.scheduler.add_job(
            self.drain,
            IntervalTrigger(seconds=DRAIN_INTERVAL_SECONDS),
            id="drain",
            name="drain sinks",
        )
        self.scheduler.add_job(
            self.report_sinks,
            IntervalTrigger(seconds=SELF_METRICS_INTERVAL_SECONDS),
            id="self-metrics",
            name="sink self-metrics",
        )

    # -- life cycle --------------------------------------------------------------------

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self._on_stop)
        signal.signal(signal.SIGINT, self._on_stop)
        signal.signal(signal.SIGHUP, self._on_hup)

    def _on_stop(self, signum: int, frame: FrameType | None) -> None:
        self._stop.set()

    def _on_hup(self, signum: int, frame: FrameType | None) -> None:
        self._reload.set()

    def request_stop(self) -> None:
        self._stop.set()

    def run(self) -> int:
        self.schedule()
        self.scheduler.start()
        log.info(
            "daemon started",
            extra=fields(
                sources=",".join(self.config.sources) or "none",
                sinks=",".join(s.name for s, _ in self.publisher.sinks) or "none",
            ),
        )
        while not self._stop.wait(0.2):
            if self._reload.is_set():
                self._reload.clear()
                self.reload()
        self.shutdown()
        return 0

    def reload(self) -> None:
        if self.config_path is None:
            return
        try:
            new = load_config(self.config_path)
        except ConfigError as exc:
            log.error(
                "reload refused, keeping the running config",
                extra=fields(problems=" | ".join(exc.problems)),
            )
            return
        self.scheduler.pause()
        try:
            if new.sinks != self.config.sinks or new.daemon != self.config.daemon:
                self.publisher.drain(force=True)
                self.publisher.close()
                self.publisher = open_publisher(new)
            if (new.cluster.zookeeper, new.cluster.name) != (
                self.config.cluster.zookeeper,
                self.config.cluster.name,
            ):
                self.partition.close()
                self.partition = _partition(new)
            self.config = new
            self.http.close()
            self.http = Http(new.http)
            self.schedule()
        finally:
            self.scheduler.resume()
        log.info("config reloaded", extra=fields(sources=",".join(new.sources) or "none"))

    def shutdown(self) -> None:
        log.info("stopping: waiting for running cycles")
        self.scheduler.shutdown(wait=True)
        # one last attempt: what a sink does not take now stays in its spool for next start
        pending = {name: r.pending for name, r in self.publisher.drain(force=True).items()}
        self.publisher.close()
        self.http.close()
        self.partition.close()
        log.info("stopped", extra=fields(pending=pending))


def _partition(config: Config) -> AgentPartition | Everything:
    """Join the other daemons of this cluster when there is a ZooKeeper to meet in."""
    if not config.cluster.zookeeper:
        return Everything()
    return AgentPartition(config.cluster.zookeeper, config.cluster.name)


def _now() -> datetime:
    return datetime.now(UTC)
