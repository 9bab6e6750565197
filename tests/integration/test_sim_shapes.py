"""The simulator's bodies against the project's schemas and the reference captures' keys."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from clusterwatch.sim import Cluster
from tests.reference import REFERENCE
from tests.shapes import assert_shape

pytestmark = pytest.mark.integration


# (base: "master" | "standby" | "agent" | "marathon" | "consul" | "chronos" | "cadvisor",
#  path, schema)
ENDPOINTS = [
    ("master", "/metrics/snapshot", "mesos-master/metrics_snapshot"),
    ("master", "/master/state", "mesos-master/master_state"),
    ("master", "/master/state-summary", "mesos-master/master_state_summary"),
    ("master", "/master/slaves", "mesos-master/master_slaves"),
    ("master", "/master/frameworks", "mesos-master/master_frameworks"),
    ("master", "/version", "mesos-master/version"),
    ("agent", "/metrics/snapshot", "mesos-agent/metrics_snapshot"),
    ("agent", "/slave(1)/state", "mesos-agent/state"),
    ("agent", "/monitor/statistics", "mesos-agent/monitor_statistics"),
    ("agent", "/containers", "mesos-agent/containers"),
    ("marathon", "/v2/apps?embed=apps.tasks&embed=apps.counts&embed=apps.deployments"
                 "&embed=apps.lastTaskFailure&embed=apps.taskStats", "marathon/v2_apps"),
    ("marathon", "/v2/apps/web/frontend", "marathon/v2_app"),
    ("marathon", "/v2/tasks", "marathon/v2_tasks"),
    ("marathon", "/v2/deployments", "marathon/v2_deployments"),
    ("marathon", "/v2/queue", "marathon/v2_queue"),
    ("marathon", "/v2/info", "marathon/v2_info"),
    ("marathon", "/v2/leader", "marathon/v2_leader"),
    ("consul", "/v1/status/leader", "consul/status_leader"),
    ("consul", "/v1/status/peers", "consul/status_peers"),
    ("consul", "/v1/catalog/services", "consul/catalog_services"),
    ("consul", "/v1/catalog/service/web-frontend", "consul/catalog_service"),
    ("consul", "/v1/health/service/web-frontend", "consul/health_service"),
    ("consul", "/v1/health/state/any", "consul/health_state"),
    ("consul", "/v1/operator/raft/configuration", "consul/operator_raft_configuration"),
    ("chronos", "/scheduler/jobs", "chronos/scheduler_jobs"),
    ("cadvisor", "/api/v1.3/machine", "cadvisor/v1.3_machine"),
    ("cadvisor", "/api/v1.3/subcontainers", "cadvisor/v1.3_subcontainers"),
    ("cadvisor", "/api/v1.3/docker", "cadvisor/v1.3_docker"),
    ("cadvisor", "/api/v2.0/stats?type=docker&recursive=true&count=3", "cadvisor/v2.0_stats"),
]  # fmt: skip


@pytest.fixture(scope="module")
def shaped_cluster() -> Any:
    with Cluster(agents=4, apps=5, seed=3, clock_speed=0.0) as cluster:
        cluster.scale("/web/frontend", 400)  # a deployment and a queue entry
        cluster.flap("/api/orders", 10.0)  # a lastTaskFailure
        cluster.advance(15)
        yield cluster


def _base(c: Cluster, which: str) -> str:
    busy = next(a for a in c.agents if c.sim and c.sim.agents_by_id[a.id].tasks)
    return {
        "master": c.master_urls[0],
        "standby": c.master_urls[1],
        "agent": busy.mesos,
        "cadvisor": busy.cadvisor,
        "marathon": c.marathon_urls[0],
        "consul": c.consul_url,
        "chronos": c.chronos_url or "",
    }[which]


@pytest.mark.parametrize(("which", "path", "schema"), ENDPOINTS)
def test_body_matches_schema(shaped_cluster: Cluster, which: str, path: str, schema: str) -> None:
    r = requests.get(_base(shaped_cluster, which) + path, timeout=10)
    assert r.status_code == 200
    assert_shape(r.json(), schema)


def _ref(name: str) -> Any:
    path = REFERENCE / name
    if not path.exists():
        pytest.skip(f"reference {name} not here")
    return json.loads(path.read_text())


def _get(c: Cluster, which: str, path: str) -> Any:
    return requests.get(_base(c, which) + path, timeout=10).json()


def _missing(reference: dict[str, Any], ours: dict[str, Any]) -> set[str]:
    return set(reference) - set(ours)


def test_master_state_has_the_1_0_keys(shaped_cluster: Cluster) -> None:
    ref = _ref("mesos-master/mesos_state_master_state_1.0.0_dcos-vagrant_compact.json")
    ours = _get(shaped_cluster, "master", "/master/state")
    assert not _missing(ref, ours)
    assert not _missing(ref["slaves"][0], ours["slaves"][0])
    ref_fw = next(f for f in ref["frameworks"] if f["name"] == "marathon")
    our_fw = next(f for f in ours["frameworks"] if f["name"] == "marathon")
    assert not _missing(ref_fw, our_fw)
    ref_task = next(t for t in ref_fw["tasks"] if "labels" in t)
    assert not _missing(ref_task, our_fw["tasks"][0])


def test_agent_state_has_the_1_4_keys(shaped_cluster: Cluster) -> None:
    ref = _ref("mesos-agent/mesos_state_slave_state_1.4.0_ucr.json")
    ours = _get(shaped_cluster, "agent", "/slave(1)/state")
    assert not _missing(ref, ours) - {"external_log_file"}
    ref_ex, our_ex = ref["frameworks"][0]["executors"][0], ours["frameworks"][0]["executors"][0]
    assert not _missing(ref_ex, our_ex)
    assert not _missing(ref_ex["tasks"][0], our_ex["tasks"][0])


def test_statistics_have_the_reference_keys_and_types(shaped_cluster: Cluster) -> None:
    ref = _ref("mesos-agent/dcos-metrics_containers_1.x_trimmed.json")[0]
    ours = _get(shaped_cluster, "agent", "/containers")[0]
    assert not _missing(ref, ours)
    for key, value in ref["statistics"].items():
        assert isinstance(ours["statistics"][key], type(value) if type(value) is not int
                          else (int, float)), key  # fmt: skip


def test_marathon_app_has_the_1_5_keys(shaped_cluster: Cluster) -> None:
    ref = _ref("marathon/marathon-lb_v2_apps_blue_marathon1.5.json")["apps"][0]
    ours = _get(shaped_cluster, "marathon", "/v2/apps?embed=apps.tasks")["apps"][0]
    assert not _missing(ref, ours)
    assert not _missing(ref["tasks"][0], ours["tasks"][0])


def test_masterinfo_matches_the_znode_reference(shaped_cluster: Cluster) -> None:
    from clusterwatch.sim.mesos_master import master_info

    ref = _ref("zookeeper/mesos_masterinfo_json.info_0000000017_1.4.0.json")
    assert shaped_cluster.sim is not None
    ours = master_info(shaped_cluster.sim, shaped_cluster.sim.masters[0])
    assert set(ref) == set(ours) and set(ref["address"]) == set(ours["address"])
    assert ours["ip"] == 16777343 + 256 * 256 * 1  # 127.0.1.1 in network order, read LE
