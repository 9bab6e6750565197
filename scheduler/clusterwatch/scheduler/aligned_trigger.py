"""An APScheduler interval trigger that fires on the interval's boundaries.

A cycle's timestamp is the start of the interval it runs in (``cycle.aligned_time_ns``). With
APScheduler's own interval trigger the runs fall wherever the daemon happened to start, and
a run started late can land in the next run's interval: two cycles with one timestamp (the
second overwrites the first in InfluxDB; a file sink holds both). Fired on the boundaries
instead, a late run stays within its own interval. The first run is the job's
``next_run_time`` (at once when the daemon starts); every next one is the first boundary
after the previous run.
"""

from __future__ import annotations

from datetime import datetime

from apscheduler.triggers.interval import IntervalTrigger

from clusterwatch.scheduler.cycle import aligned_time_ns


class AlignedIntervalTrigger(IntervalTrigger):  # type: ignore[misc]
    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        after = (previous_fire_time or now).timestamp()
        interval_ns = max(1, int(self.interval_length * 1e9))
        boundary_ns = aligned_time_ns(after, self.interval_length) + interval_ns
        return datetime.fromtimestamp(boundary_ns / 1e9, tz=self.timezone)
