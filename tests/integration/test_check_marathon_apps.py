"""check_marathon_apps against the simulated Marathon: unhealthy apps, stuck deployments, queue.

The cluster's clock starts two hours back, so what it starts now has been running for two
hours by this host's clock (the check's), without sleeping.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from clusterwatch.checks import marathon_apps
from clusterwatch.sim import Cluster

pytestmark = pytest.mark.integration
TWO_HOURS = 7200.0


def check(cluster: Cluster, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = marathon_apps.main(["-H", cluster.marathon_urls[1], *argv])
    return code, capsys.readouterr().out


def test_problems_are_named(
    make_sim_cluster: Callable[..., Cluster], capsys: pytest.CaptureFixture[str]
) -> None:
    cluster = make_sim_cluster(agents=4, apps=5, start_time=time.time() - TWO_HOURS)
    code, out = check(cluster, capsys)
    assert (code, out.split(" |")[0]) == (0, "MARATHON_APPS OK - 5 apps at capacity")

    cluster.set_unhealthy("/api/users")
    code, out = check(cluster, capsys)
    assert code == 2, out
    assert out.startswith("MARATHON_APPS CRITICAL - /api/users 0/4 healthy |")

    code, out = check(cluster, capsys, "--app", "^/web/")
    assert code == 0, out

    cluster.stick_deployments("/web/frontend")
    cluster.scale("/web/frontend", 7)
    code, out = check(cluster, capsys, "--app", "^/web/", "-v")
    assert code == 1, out
    first = out.splitlines()[0]
    assert first.startswith("MARATHON_APPS WARNING - /web/frontend 5/7 healthy; "
                            "deployment of /web/frontend running for 2h00m")  # fmt: skip
    assert "deployments_overdue=1;0;;0" in first
    assert "app /web/frontend: 5/7 healthy (deploying)" in out.splitlines()
    code, out = check(cluster, capsys, "--app", "^/web/", "--deployment-max-age", "86400")
    assert code == 0, out  # a young deployment: the app is being scaled, not judged


def test_instances_stuck_in_the_queue(
    make_sim_cluster: Callable[..., Cluster], capsys: pytest.CaptureFixture[str]
) -> None:
    cluster = make_sim_cluster(agents=2, apps=2, start_time=time.time() - TWO_HOURS)
    app = sorted(cluster.sim.apps)[0] if cluster.sim else ""
    cluster.scale(app, 300)  # far beyond capacity: instances wait for offers
    code, out = check(cluster, capsys, "--deployment-max-age", "86400")
    assert code == 1, out
    assert f"{app} " in out and "instances queued for 2h00m" in out
    assert "queued_instances=" in out
    code, out = check(cluster, capsys, "--deployment-max-age", "86400",
                      "--queue-max-age", "86400")  # fmt: skip
    assert code == 0, out
