"""check_mesos_resources: ratios to %, per-kind thresholds, role allocation."""

from __future__ import annotations

import pytest

from clusterwatch.checks import mesos_resources
from clusterwatch.checks.mesos_resources import cluster_usage, role_allocation, role_usage

SNAPSHOT = {
    "master/elected": 1.0,
    "master/cpus_percent": 0.8125, "master/cpus_total": 64.0,
    "master/mem_percent": 0.5, "master/mem_total": 1024.0,
    "master/disk_percent": 0.0, "master/disk_total": 2048.0,
    "master/gpus_percent": 0.0, "master/gpus_total": 0.0,
}  # fmt: skip


def test_ratios_become_percent_and_kinds_without_total_are_left_out() -> None:
    assert cluster_usage(SNAPSHOT) == {
        "cpus": (81.25, 64.0), "mem": (50.0, 1024.0), "disk": (0.0, 2048.0),
    }  # fmt: skip


def test_standby_snapshot_is_refused() -> None:
    with pytest.raises(ValueError, match="not elected"):
        cluster_usage({**SNAPSHOT, "master/elected": 0.0})


def test_role_from_roles_endpoint_or_state_frameworks() -> None:
    roles = {"roles": [{"name": "web", "resources": {"cpus": 16, "mem": 256, "ports": "[1-2]"}}]}
    assert role_allocation("web", roles=roles) == {"cpus": 16.0, "mem": 256.0, "disk": 0.0,
                                                   "gpus": 0.0}  # fmt: skip
    assert role_allocation("db", roles=roles) is None
    state = {"frameworks": [
        {"role": "web", "used_resources": {"cpus": 4, "mem": 64}},
        {"roles": ["web", "x"], "used_resources": {"cpus": 4}},
        {"role": "*", "used_resources": {"cpus": 100}},
    ]}  # fmt: skip
    assert role_allocation("web", state=state)["cpus"] == 8.0
    usage = role_usage({"cpus": 16.0, "mem": 256.0}, cluster_usage(SNAPSHOT))
    assert usage == {"cpus": (25.0, 64.0), "mem": (25.0, 1024.0), "disk": (0.0, 2048.0)}


def ranges(argv: list[str]) -> dict[str, tuple[str | None, str | None]]:
    args = mesos_resources.parser().parse_args(["-H", "m1:5050", *argv])
    return {
        c.name: (str(c.warning) if c.warning else None, str(c.critical) if c.critical else None)
        for c in mesos_resources.contexts(args)
    }


def test_each_kind_can_have_its_own_ranges_and_defaults_apply_to_the_rest() -> None:
    got = ranges(["-w", "80", "-c", "90", "--cpus", "70,95", "--gpus", ",@0:5"])
    assert got == {
        "cpus": ("70", "95"), "mem": ("80", "90"), "disk": ("80", "90"), "gpus": (None, "@5"),
    }  # fmt: skip


def test_bad_pair_is_a_usage_error() -> None:
    with pytest.raises(mesos_resources.plugin.UsageError):
        mesos_resources.parser().parse_args(["-H", "m1:5050", "--mem", "80,x"])
