"""check_chronos_jobs' rules: failing jobs, overdue schedules, ISO 8601 durations."""

from __future__ import annotations

from typing import Any

import pytest

from clusterwatch.checks.chronos_jobs import assess, duration, judge, latest_due
from clusterwatch.checks.findings import CRITICAL, OK, WARNING, Finding, worst
from clusterwatch.checks.times import epoch

NOW = epoch("2014-03-08T17:00:00.000Z") or 0.0


def job(**kw: Any) -> dict[str, Any]:
    base = {"name": "camus", "epsilon": "PT30M", "schedule": "R/2014-03-08T12:00:00.000Z/PT2H",
            "lastSuccess": "2014-03-08T16:00:01.000Z", "lastError": "",
            "errorsSinceLastSuccess": 0}  # fmt: skip
    return {**base, **kw}


@pytest.mark.parametrize(("text", "seconds"), [("PT60S", 60), ("PT30M", 1800), ("PT2H", 7200),
                                                ("P1D", 86400), ("P1DT12H", 129600),
                                                ("PT0.5S", 0.5), ("P1W", 604800)])  # fmt: skip
def test_durations(text: str, seconds: float) -> None:
    assert duration(text) == seconds


@pytest.mark.parametrize("text", ["", "P", "PT", "2H", "P1H", "PT1D"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError):
        duration(text)


def test_latest_due_follows_the_period_and_the_repeat_count() -> None:
    assert latest_due("R/2014-03-08T12:00:00.000Z/PT2H", NOW) == epoch("2014-03-08T16:00:00Z")
    assert latest_due("R/2014-03-09T12:00:00.000Z/PT2H", NOW) is None  # not started yet
    assert latest_due("R1/2014-03-08T12:00:00.000Z/PT2H", NOW) is None  # 2 runs, both past
    assert latest_due("R5/2014-03-08T12:00:00.000Z/PT2H", NOW) == epoch("2014-03-08T16:00:00Z")


def test_on_schedule_is_ok() -> None:
    assert judge([assess(job(), NOW, 0, 0)]) == [Finding(OK, "1 job on schedule")]


def test_missed_run_is_overdue_only_after_epsilon() -> None:
    missed = job(lastSuccess="2014-03-08T14:00:05.000Z")
    assert worst(judge([assess(missed, NOW, 0, 0)])) == WARNING  # 16:00 + 30m < 17:00
    assert worst(judge([assess(missed, NOW, 0, 3600)])) == OK  # grace pushes the window past now
    early = epoch("2014-03-08T16:29:00.000Z") or 0.0
    assert worst(judge([assess(missed, early, 0, 0)])) == OK  # still inside 16:00's epsilon


def test_a_failed_run_counts_as_a_run_for_overdue_but_fails() -> None:
    failed = job(lastSuccess="2014-03-08T14:00:05.000Z", lastError="2014-03-08T16:00:09.000Z",
                 errorsSinceLastSuccess=1)  # fmt: skip
    view = assess(failed, NOW, 0, 0)
    assert (view.failing, view.overdue_by) == (True, None)
    assert judge([view]) == [Finding(CRITICAL, "camus failing (1 error since last success)")]


def test_max_errors_since_success_boundary() -> None:
    failed = job(lastError="2014-03-08T16:30:00.000Z", errorsSinceLastSuccess=2)
    assert assess(failed, NOW, 1, 0).failing
    assert not assess(failed, NOW, 2, 0).failing


def test_old_error_before_last_success_is_not_failing() -> None:
    assert not assess(job(lastError="2014-03-01T00:10:15.957Z", errorsSinceLastSuccess=0),
                      NOW, 0, 0).failing  # fmt: skip


def test_dependent_job_is_only_judged_on_failures() -> None:
    dependent = {"name": "verify", "parents": ["camus"], "lastSuccess": "2010-01-01T00:00:00Z"}
    assert worst(judge([assess(dependent, NOW, 0, 0)])) == OK


def test_unreadable_schedule_warns_with_the_reason() -> None:
    found = judge([assess(job(schedule="every day"), NOW, 0, 0)])
    assert found == [Finding(WARNING, "camus: invalid schedule 'every day'")]
