"""check_mesos_resources against the simulated leader's snapshot."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from clusterwatch.checks import mesos_resources
from clusterwatch.sim import Cluster

pytestmark = pytest.mark.integration


def test_usage_rises_with_scaling_and_each_kind_has_its_thresholds(
    make_sim_cluster: Callable[..., Cluster], capsys: pytest.CaptureFixture[str]
) -> None:
    cluster = make_sim_cluster(agents=4, apps=3)
    argv = ["-H", ",".join(cluster.master_urls), "--cpus", "60,90", "-w", "95"]
    assert mesos_resources.main(argv) == 0
    before = capsys.readouterr().out
    assert before.startswith("MESOS_RESOURCES OK - cpus ")
    assert "cpus=" in before and ";60;90;0;100" in before and "mem=" in before
    app = cluster.sim.apps[next(iter(cluster.sim.apps))] if cluster.sim else None
    assert app is not None
    cluster.scale(app.id, 400)  # beyond capacity: every agent filled up
    code = mesos_resources.main(argv)
    line = capsys.readouterr().out.splitlines()[0]
    assert code in (1, 2), line
    assert line.startswith("MESOS_RESOURCES ") and "cpus " in line and "outside" in line


def test_role_share(sim_cluster: Cluster, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["-H", sim_cluster.master_urls[1], "--role", "*"]
    assert mesos_resources.main(argv) == 0
    assert capsys.readouterr().out.startswith("MESOS_RESOURCES OK - * cpus ")
    assert mesos_resources.main([*argv[:2], "--role", "analytics"]) == 3
    assert "no role 'analytics'" in capsys.readouterr().out
