"""Pure builders for Chronos ``/scheduler/jobs`` and ``/scheduler/graph/csv``.

Job objects follow the sample in Chronos' ``docs/docs/api.md`` (see
``reference/chronos/docs_sample_job.json``): scheduled jobs carry an ISO 8601 repeating
``schedule`` (``R[n]/<start>/<period>``), dependent jobs carry ``parents`` instead.
Times are ``YYYY-MM-DDTHH:MM:SS.mmmZ``; a job that never succeeded or failed has ``""``.

The graph CSV has one ``node,<job>,<lastStatus>,<state>`` line per job (``lastStatus``:
``fresh`` never ran, ``success`` or ``failure`` whichever happened last; ``state``:
``idle``, ``queued`` or ``running``) and one ``link,<parent>,<child>`` line per
dependency, the format Yelp's paasta parses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

JSON = dict[str, Any]
JOB_STATES = ("idle", "queued", "running")


def iso_ms(t: datetime | None) -> str:
    """Chronos' timestamp format; ``""`` for None."""
    if t is None:
        return ""
    t = t.astimezone(UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def schedule(start: datetime, period: str, repeats: int | None = None) -> str:
    """An ISO 8601 repeating interval, e.g. ``R/2024-01-01T00:00:00.000Z/PT1H``."""
    count = "" if repeats is None else str(repeats)
    return f"R{count}/{iso_ms(start)}/{period}"


@dataclass(frozen=True)
class ChronosJob:
    """One Chronos job; give ``schedule`` for a scheduled job or ``parents`` for a
    dependent one."""

    name: str
    command: str
    schedule: str = ""
    parents: tuple[str, ...] = ()
    owner: str = ""
    epsilon: str = "PT60S"
    success_count: int = 0
    error_count: int = 0
    last_success: datetime | None = None
    last_error: datetime | None = None
    errors_since_last_success: int = 0
    disabled: bool = False
    state: str = "idle"
    cpus: float = 0.1
    mem: int = 128
    disk: int = 256
    retries: int = 2

    def __post_init__(self) -> None:
        if bool(self.schedule) == bool(self.parents):
            raise ValueError(f"job {self.name!r} needs exactly one of schedule or parents")
        if self.state not in JOB_STATES:
            raise ValueError(f"job state must be one of {JOB_STATES}, not {self.state!r}")

    @property
    def last_status(self) -> str:
        if self.last_success is None and self.last_error is None:
            return "fresh"
        if self.last_error is None:
            return "success"
        if self.last_success is None:
            return "failure"
        return "success" if self.last_success >= self.last_error else "failure"


def job(j: ChronosJob) -> JSON:
    """One element of ``GET /scheduler/jobs``."""
    body: JSON = {
        "name": j.name,
        "command": j.command,
        "shell": True,
        "epsilon": j.epsilon,
        "executor": "",
        "executorFlags": "",
        "retries": j.retries,
        "owner": j.owner,
        "async": False,
        "successCount": j.success_count,
        "errorCount": j.error_count,
        "lastSuccess": iso_ms(j.last_success),
        "lastError": iso_ms(j.last_error),
        "errorsSinceLastSuccess": j.errors_since_last_success,
        "cpus": j.cpus,
        "disk": j.disk,
        "mem": j.mem,
        "disabled": j.disabled,
        "softError": False,
        "highPriority": False,
        "fetch": [],
        "environmentVariables": [],
        "arguments": [],
        "constraints": [],
    }
    if j.parents:
        body["parents"] = list(j.parents)
    else:
        body["schedule"] = j.schedule
        body["scheduleTimeZone"] = ""
    return body


def jobs(all_jobs: Sequence[ChronosJob]) -> list[JSON]:
    """``GET /scheduler/jobs``."""
    return [job(j) for j in all_jobs]


def graph_csv(all_jobs: Sequence[ChronosJob]) -> str:
    """``GET /scheduler/graph/csv``: node lines, then link lines."""
    lines = [f"node,{j.name},{j.last_status},{j.state}" for j in all_jobs]
    lines += [f"link,{parent},{j.name}" for j in all_jobs for parent in j.parents]
    return "".join(line + "\n" for line in lines)
