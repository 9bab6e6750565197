"""Our schemas in tests/data/schemas describe the real systems: every captured reference
response in ../shared/reference validates against the matching schema.

References from older versions that legitimately lack something the 1.x schemas require
are listed with the reason and the keys they lack; their test asserts that those keys are
the only difference (and that there is one: if such a capture starts to validate, the
schema got looser than intended). The references are read at run
time only (their licences differ from ours); without the directory the tests skip.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.reference import REFERENCE
from tests.shapes import assert_shape, schema_names, shape_errors


def _same(body: Any) -> Any:
    return body


def _version_info(body: Any) -> Any:
    return body["get_version"]["version_info"]


def _metrics_as_snapshot(body: Any) -> Any:
    """The operator API's GET_METRICS name/value list as the flat /metrics/snapshot object."""
    return {m["name"]: m["value"] for m in body["get_metrics"]["metrics"]}


def _slaves(state: Any) -> Any:
    return {"slaves": state["slaves"]}


def _frameworks(state: Any) -> Any:
    keys = ("frameworks", "completed_frameworks", "unregistered_frameworks")
    return {k: state.get(k, []) for k in keys}


def _apps(body: Any) -> Any:
    return body["apps"]


@dataclass(frozen=True)
class Ref:
    path: str  # under ../shared/reference
    schema: str  # <system>/<endpoint>[#pointer]
    pick: Callable[[Any], Any] = _same
    each: bool = False  # validate every element of the picked list
    differs: str = ""  # why an older or trimmed capture legitimately fails the schema...
    missing: tuple[str, ...] = ()  # ...and the only required keys it lacks


def _ref_id(ref: Ref) -> str:
    return f"{ref.schema}<-{ref.path}"


PRE_1X_AGENTS = "pre-1.0 master: agents have no used_resources/version"
PRE_1X_MISSING = ("used_resources", "version")
PRE_15_TASKS = "Marathon ~1.1 (pre-1.5): embedded tasks carry no state"

REFS = [
    # -- Mesos master
    Ref(
        "mesos-master/docs_operator_v1_GET_METRICS_1.x.json",
        "mesos-master/metrics_snapshot",
        _metrics_as_snapshot,
    ),
    Ref("mesos-master/dd-agent_metrics_snapshot_0.22.json", "mesos-master/metrics_snapshot"),
    Ref(
        "mesos-master/mesos_state_master_state_1.0.0_dcos-vagrant_compact.json",
        "mesos-master/master_state",
    ),
    Ref(
        "mesos-master/dd-agent_state.json_0.22.0.json",
        "mesos-master/master_state",
        differs=PRE_1X_AGENTS,
        missing=PRE_1X_MISSING,
    ),
    Ref(
        "mesos-master/mesos-dns_state.json_0.19.1.json",
        "mesos-master/master_state",
        differs=PRE_1X_AGENTS + "; 0.19 agents not even active",
        missing=(*PRE_1X_MISSING, "active"),
    ),
    Ref(
        "mesos-master/mesos_state_master_state_1.0.0_dcos-vagrant_compact.json",
        "mesos-master/master_slaves",
        _slaves,
    ),
    Ref(
        "mesos-master/mesos_state_master_state_1.0.0_dcos-vagrant_compact.json",
        "mesos-master/master_frameworks",
        _frameworks,
    ),
    Ref("mesos-master/datadog_state-summary_1.7.1.json", "mesos-master/master_state_summary"),
    Ref(
        "mesos-master/dcos-ui_operator_v1_GET_VERSION_1.5.0.json",
        "mesos-master/version",
        _version_info,
    ),
    # -- Mesos agent
    Ref("mesos-agent/dd-agent_metrics_snapshot_0.22.json", "mesos-agent/metrics_snapshot"),
    Ref("mesos-agent/mesos_state_slave_state_1.4.0_ucr.json", "mesos-agent/state"),
    Ref("mesos-agent/dd-agent_slave_state.json_0.22.0.json", "mesos-agent/state"),
    Ref("mesos-agent/diamond_slave_state.json_0.23.0.json", "mesos-agent/state"),
    Ref("mesos-agent/diamond_monitor_statistics_0.21.json", "mesos-agent/monitor_statistics"),
    Ref(
        "mesos-agent/diamond_monitor_statistics_0.21_next_sample.json",
        "mesos-agent/monitor_statistics",
    ),
    Ref(
        "mesos-agent/docs_monitor_statistics_net_port_mapping_0.23.json",
        "mesos-agent/monitor_statistics",
    ),
    Ref("mesos-agent/dcos-metrics_containers_1.x_trimmed.json", "mesos-agent/containers"),
    Ref("mesos-agent/dcos-metrics_containers_1.x_blkio_handedited.json", "mesos-agent/containers"),
    # -- Marathon
    Ref("marathon/dd-agent_v2_apps.json", "marathon/v2_apps"),
    Ref("marathon/docs_example_v2_app_list.json", "marathon/v2_apps"),
    Ref(
        "marathon/go-marathon_v2_apps.json",
        "marathon/v2_apps",
        differs="go-marathon mock: apps without health counts",
        missing=("tasksHealthy", "tasksUnhealthy"),
    ),
    Ref("marathon/marathon-lb_v2_apps_marathon1.5.json", "marathon/v2_apps"),
    Ref("marathon/marathon-lb_v2_apps_blue_marathon1.5.json", "marathon/v2_apps"),
    Ref(
        "marathon/marathon-lb_v2_apps_blue_pre1.5.json",
        "marathon/v2_apps",
        differs=PRE_15_TASKS,
        missing=("state",),
    ),
    Ref(
        "marathon/marathon-lb_v2_apps_zdd_pre1.5.json",
        "marathon/v2_apps",
        differs=PRE_15_TASKS,
        missing=("state",),
    ),
    Ref(
        "marathon/marathon_benchmark_real_v2_apps_155_100.json",
        "marathon/v2_apps",
        differs="benchmark dump of app definitions: no version or task counts",
        missing=(
            "version",
            "tasksStaged",
            "tasksRunning",
            "tasksHealthy",
            "tasksUnhealthy",
            "deployments",
        ),
    ),
    Ref(
        "marathon/marathon_benchmark_real_v2_apps_155_100.json",
        "marathon/v2_apps#/$defs/appDefinition",
        _apps,
        each=True,
    ),
    Ref("marathon/docs_example_v2_app.json", "marathon/v2_apps#/$defs/appDefinition"),
    Ref("marathon/docs_example_v2_tasks.json", "marathon/v2_tasks"),
    Ref("marathon/docs_example_v2_app_tasks.json", "marathon/v2_tasks"),
    Ref(
        "marathon/go-marathon_v2_tasks.json",
        "marathon/v2_tasks",
        differs="go-marathon mock (0.7-era): tasks without state/slaveId",
        missing=("state", "slaveId"),
    ),
    Ref("marathon/docs_example_v2_deployments.json", "marathon/v2_deployments"),
    Ref("marathon/dd-agent_v2_deployments.json", "marathon/v2_deployments"),
    Ref("marathon/go-marathon_v2_deployments_1.1.1.json", "marathon/v2_deployments"),
    Ref("marathon/docs_example_v2_queue.json", "marathon/v2_queue"),
    Ref("marathon/go-marathon_v2_queue.json", "marathon/v2_queue"),
    Ref("marathon/docs_example_v2_info.json", "marathon/v2_info"),
    Ref(
        "marathon/go-marathon_v2_info.json",
        "marathon/v2_info",
        differs="0.7-era /v2/info: no 'elected'",
        missing=("elected",),
    ),
    Ref("marathon/go-marathon_v2_leader.json", "marathon/v2_leader"),
    # -- cAdvisor
    Ref("cadvisor/dd-agent_api_v1.3_subcontainers_k8s1.2.json", "cadvisor/v1.3_subcontainers"),
    Ref("cadvisor/dd-agent_api_v1.3_machine_k8s1.2.json", "cadvisor/v1.3_machine"),
    # -- Consul (docs samples; the Enterprise Namespace fields are simply extra)
    Ref("consul/docs_v1_status_leader.json", "consul/status_leader"),
    Ref("consul/docs_v1_status_peers.json", "consul/status_peers"),
    Ref("consul/docs_v1_operator_raft_configuration.json", "consul/operator_raft_configuration"),
    Ref("consul/docs_v1_health_service_redis.json", "consul/health_service"),
    Ref("consul/docs_v1_health_state_passing.json", "consul/health_state"),
    # -- Chronos (one docs job object; /scheduler/jobs is a list of them)
    Ref("chronos/docs_sample_job.json", "chronos/scheduler_jobs#/$defs/job"),
]

# Schemas with no captured reference: checked against the simulator's builders only.
NO_REFERENCE = {
    "cadvisor/v1.3_docker",
    "cadvisor/v2.0_stats",
    "consul/catalog_service",
    "consul/catalog_services",
    "marathon/v2_app",
}


def _load(path: str) -> Any:
    file = REFERENCE / path
    if not file.exists():
        pytest.skip(f"reference {file} not available")
    return json.loads(file.read_text())


LEGACY = [r for r in REFS if r.differs]


@pytest.mark.parametrize("ref", [r for r in REFS if not r.differs], ids=_ref_id)
def test_reference_matches_schema(ref: Ref) -> None:
    body = ref.pick(_load(ref.path))
    for item in body if ref.each else [body]:
        assert_shape(item, ref.schema)


@pytest.mark.parametrize("ref", LEGACY, ids=_ref_id)
def test_older_reference_differs_only_by_the_documented_missing_keys(ref: Ref) -> None:
    errors = shape_errors(ref.pick(_load(ref.path)), ref.schema, limit=10_000)
    assert errors, f"{ref.path} now matches {ref.schema}: drop it from the legacy list"
    expected = tuple(f"'{key}' is a required property" for key in ref.missing)
    unexpected = [e for e in errors if not e.endswith(expected)]
    assert not unexpected, f"{ref.path} ({ref.differs}) differs unexpectedly: {unexpected}"


def test_every_schema_is_checked_against_a_reference_or_listed_without_one() -> None:
    covered = {r.schema.partition("#")[0] for r in REFS if not r.differs}
    assert set(schema_names()) == covered | NO_REFERENCE
    assert not covered & NO_REFERENCE


def test_a_standby_master_snapshot_does_not_pass_as_the_leaders() -> None:
    snapshot = _metrics_as_snapshot(_load("mesos-master/docs_operator_v1_GET_METRICS_1.x.json"))
    errors = shape_errors({**snapshot, "master/elected": 0.0}, "mesos-master/metrics_snapshot")
    assert errors == ["$['master/elected']: 1 was expected"]


def test_shape_errors_name_the_json_path_of_every_violation() -> None:
    body = {"apps": [{"id": "/a", "instances": 1, "cpus": 0.1, "mem": "lots"}]}
    errors = shape_errors(body, "marathon/v2_apps")
    assert "$.apps[0].mem: 'lots' is not of type 'number'" in errors
    assert "$.apps[0]: 'tasksRunning' is a required property" in errors
    with pytest.raises(AssertionError, match=r"marathon/v2_apps:\n  \$\.apps\[0\]"):
        assert_shape(body, "marathon/v2_apps")
