"""check_chronos_jobs against the simulated Chronos."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from clusterwatch.checks import chronos_jobs
from clusterwatch.sim import Cluster

pytestmark = pytest.mark.integration


def test_failing_job(
    make_sim_cluster: Callable[..., Cluster], capsys: pytest.CaptureFixture[str]
) -> None:
    cluster = make_sim_cluster(agents=2, apps=1)
    url = cluster.chronos_url or ""
    assert chronos_jobs.main(["-H", url]) == 0
    assert capsys.readouterr().out.startswith("CHRONOS_JOBS OK - 4 jobs on schedule |")
    cluster._chronos.failing.add("rotate-logs")  # the simulator's Chronos fails this job
    assert chronos_jobs.main(["-H", url]) == 2
    assert capsys.readouterr().out.startswith(
        "CHRONOS_JOBS CRITICAL - rotate-logs failing (1 error since last success) |"
    )
    assert chronos_jobs.main(["-H", url, "--max-errors-since-success", "1"]) == 0
    assert chronos_jobs.main(["-H", url, "--job", "^transfer"]) == 0
    assert "1 job on schedule" in capsys.readouterr().out


def test_overdue_job(
    make_sim_cluster: Callable[..., Cluster], capsys: pytest.CaptureFixture[str]
) -> None:
    # the simulated Chronos stopped two hours ago (its clock is two hours behind): the hourly
    # job missed a run, the daily and 6-hourly ones did not
    cluster = make_sim_cluster(agents=2, apps=1, start_time=time.time() - 7200)
    assert chronos_jobs.main(["-H", cluster.chronos_url or "", "-v"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("CHRONOS_JOBS WARNING - backup-catalogue-db overdue by 1h")
    assert "jobs_overdue=1;0;;0" in out[0]
    assert "rotate-logs (scheduled): ok" in out
