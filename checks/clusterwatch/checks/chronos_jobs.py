"""check_chronos_jobs - Chronos jobs succeeding and running on schedule?

    check_chronos_jobs -H http://chronos:4400 [--job REGEX] [--max-errors-since-success N]
                       [--grace SECONDS] [-t 10] [-v]

Reads ``/scheduler/jobs`` (``/v1/scheduler/jobs`` where the first answers 404). Disabled jobs
are left out; ``--job`` is a regular expression searched in job names.

- CRITICAL: a failing job - its last error is newer than its last success (or it never
  succeeded) and ``errorsSinceLastSuccess`` is more than ``--max-errors-since-success``
  (default 0);
- WARNING: an overdue scheduled job - of the runs its ``schedule`` (``R[n]/<start>/<period>``)
  called for, the latest whose start window (``epsilon`` + ``--grace``) is over has not
  happened: the job has not run (succeeded or failed) since. Dependent jobs (``parents``) are judged
  on failures only.

Ages are measured with this host's clock. Long output (``-v``) names every job and its state.
Perfdata: jobs, jobs_failing, jobs_overdue.
"""

from __future__ import annotations

import re
import time

from clusterwatch.checks import findings, plugin, targets
from clusterwatch.checks.findings import CRITICAL, OK, WARNING, Finding
from clusterwatch.checks.times import age_text, epoch, seconds_arg
from clusterwatch.core import quickhttp
from clusterwatch.core.errors import ClusterwatchError, FetchError

TYPE_CHECKING = False  # typing costs start-up time: annotations only
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any


NAME = "chronos_jobs"
_DURATION = re.compile(
    r"P(?:(?P<Y>\d+(?:\.\d+)?)Y)?(?:(?P<M>\d+(?:\.\d+)?)M)?(?:(?P<W>\d+(?:\.\d+)?)W)?"
    r"(?:(?P<D>\d+(?:\.\d+)?)D)?(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?"
    r"(?:(?P<s>\d+(?:\.\d+)?)S)?)?"
)
_UNITS = {"Y": 365 * 86400, "M": 30 * 86400, "W": 7 * 86400, "D": 86400, "h": 3600, "m": 60,
          "s": 1}  # fmt: skip


def duration(text: str) -> float:
    """ISO 8601 duration (``PT60S``, ``PT2H``, ``P1D``, ``P1DT12H``) -> seconds; a month is
    30 days, a year 365. ValueError for anything else."""
    match = _DURATION.fullmatch(text.strip())
    if not match or text.strip() in ("P", "PT") or text.strip().endswith("T"):
        raise ValueError(f"invalid ISO 8601 duration {text!r}")
    return sum(float(v) * _UNITS[k] for k, v in match.groupdict().items() if v)


def latest_due(schedule: str, now: float) -> float | None:
    """The latest run ``R[n]/<start>/<period>`` calls for at or before ``now`` (None: none
    yet, or the repeats are used up); ValueError for a schedule we cannot read."""
    parts = schedule.split("/")
    if len(parts) != 3 or not parts[0].startswith("R"):
        raise ValueError(f"invalid schedule {schedule!r}")
    start = epoch(parts[1])
    if start is None:
        raise ValueError(f"invalid schedule start in {schedule!r}")
    period = duration(parts[2])
    if start > now:
        return None
    if period <= 0:
        return start
    runs = int((now - start) // period)
    repeats = parts[0][1:]
    if repeats.isdigit() and runs >= int(repeats) + 1:
        return None
    return start + runs * period


class JobView:
    __slots__ = ("errors", "failing", "name", "overdue_by", "problem", "scheduled")

    def __init__(self, name: str) -> None:
        self.name = name
        self.failing = False
        self.errors = 0
        self.overdue_by: float | None = None
        self.scheduled = False
        self.problem: str | None = None
        """A job we cannot judge (an unreadable schedule): its reason."""

    def describe(self) -> str:
        words = ["failing" if self.failing else "ok"]
        if self.errors:
            words.append(f"{self.errors} errors since last success")
        if self.overdue_by is not None:
            words.append(f"overdue by {age_text(self.overdue_by)}")
        if self.problem:
            words.append(self.problem)
        kind = "scheduled" if self.scheduled else "dependent"
        return f"{self.name} ({kind}): " + ", ".join(words)


def assess(job: dict[str, Any], now: float, max_errors: int, grace: float) -> JobView:
    """One job (an element of ``/scheduler/jobs``) judged at ``now``."""
    view = JobView(str(job.get("name", "?")))
    success, error = epoch(job.get("lastSuccess")), epoch(job.get("lastError"))
    view.errors = int(job.get("errorsSinceLastSuccess") or 0)
    newer_error = error is not None and (success is None or error > success)
    view.failing = newer_error and view.errors > max_errors
    schedule = job.get("schedule")
    if isinstance(schedule, str) and schedule:
        view.scheduled = True
        try:
            epsilon = duration(str(job.get("epsilon") or "PT60S"))
            due = latest_due(schedule, now - epsilon - grace)  # its start window has passed
        except ValueError as exc:
            view.problem = str(exc)
            return view
        last_run = max((t for t in (success, error) if t is not None), default=None)
        if due is not None and (last_run is None or last_run < due):
            view.overdue_by = now - due
    return view


def judge(jobs: Sequence[JobView]) -> list[Finding]:
    out: list[Finding] = []
    for job in jobs:
        if job.failing:
            out.append(Finding(CRITICAL, f"{job.name} failing ({job.errors} error"
                                         f"{'s' if job.errors != 1 else ''} since last "
                                         "success)"))  # fmt: skip
        if job.overdue_by is not None:
            out.append(Finding(WARNING, f"{job.name} overdue by {age_text(job.overdue_by)}"))
        if job.problem:
            out.append(Finding(WARNING, f"{job.name}: {job.problem}"))
    if not out:
        out.append(Finding(OK, f"{len(jobs)} job{'s' if len(jobs) != 1 else ''} on schedule"))
    return out


class Measure(findings.Measure):
    def jobs(self) -> list[Any]:
        base = self.args.host
        for path in ("/scheduler/jobs", "/v1/scheduler/jobs"):
            url = quickhttp.join(base, path)
            self.progress.step(f"reading {url}")
            try:
                body = quickhttp.get_json(url, self.progress.remaining())
            except FetchError as exc:
                if exc.status == 404 and path == "/scheduler/jobs":
                    continue
                raise
            if not isinstance(body, list):
                raise ClusterwatchError(f"{url}: not a job list")
            return body
        raise ClusterwatchError(f"{base}: no /scheduler/jobs")  # pragma: no cover

    def __call__(self) -> findings.Outcome:
        args = self.args
        now = time.time()
        pattern: re.Pattern[str] | None = args.job
        views = [
            assess(job, now, args.max_errors_since_success, args.grace)
            for job in self.jobs()
            if isinstance(job, dict) and not job.get("disabled")
            and (pattern is None or pattern.search(str(job.get("name", ""))))
        ]
        if not views:
            what = f" matching {pattern.pattern!r}" if pattern is not None else ""
            raise ClusterwatchError(f"no enabled job{what} on {args.host}")
        metrics = [
            findings.perf("jobs", len(views), min=0),
            findings.perf("jobs_failing", sum(v.failing for v in views), min=0),
            findings.perf("jobs_overdue", sum(v.overdue_by is not None for v in views), min=0),
        ]
        ranges: dict[str, tuple[str | None, str | None]] = {
            "jobs_failing": (None, "0"), "jobs_overdue": ("0", None),
        }
        details = [v.describe() for v in views]
        return findings.Outcome(judge(views), metrics, details, ranges)


def count_arg(text: str) -> int:
    if not text.strip().isdigit():
        raise plugin.BadValue(f"invalid count {text!r} (a whole number >= 0)")
    return int(text)


def parser() -> plugin.ArgumentParser:
    p = plugin.make_parser(
        "check_chronos_jobs", "Check that Chronos jobs succeed and run on schedule."
    )
    p.add_argument("-H", "--host", type=targets.url_arg, required=True, metavar="URL",
                   help="Chronos, e.g. http://chronos:4400")
    p.add_argument("--job", type=targets.regex_arg, metavar="REGEX",
                   help="only jobs whose name matches (re.search)")
    p.add_argument("--max-errors-since-success", type=count_arg, default=0, metavar="N",
                   help="a job is failing above this many errors since its last success "
                        "(default 0)")
    p.add_argument("--grace", type=seconds_arg, default=0.0, metavar="SECONDS",
                   help="extra time beyond a job's epsilon before it is overdue (default 0)")
    return p


def main(argv: list[str] | None = None) -> int:
    return findings.run(NAME, parser(), Measure, argv)


if __name__ == "__main__":
    raise SystemExit(main())

