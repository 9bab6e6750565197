"""The simulator's pure builders (cAdvisor, Consul, Chronos, app /metrics): their output
matches the project's schemas and carries exactly what the inputs say."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from clusterwatch.sim import appmetrics, cadvisor, cadvisor_metrics, chronos, consul
from clusterwatch.sim.appmetrics import AppTraffic, ProcessSample, Route
from clusterwatch.sim.cadvisor import (
    ContainerSample,
    DiskIoSample,
    FsSample,
    InterfaceSample,
    MachineSample,
    StatsSample,
)
from clusterwatch.sim.chronos import ChronosJob
from clusterwatch.sim.consul import Check, ConsulNode, ConsulServer, ServiceInstance
from tests.shapes import assert_shape, shape_errors

# -- a small Prometheus text parser (prometheus_client is not a dependency) -------------

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: (-?\d+))?$")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
_SUFFIXES = ("_bucket", "_sum", "_count")

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse_prometheus(text: str) -> Samples:
    """Parse exposition format 0.0.4 strictly enough for tests; fail on anything odd."""
    assert text.endswith("\n")
    types: dict[str, str] = {}
    samples: Samples = {}
    for line in text.splitlines():
        if line.startswith("#"):
            comment = re.match(r"^# (HELP|TYPE) (\S+) (.+)$", line)
            assert comment, f"not a HELP/TYPE line: {line!r}"
            kind, name, rest = comment.groups()
            if kind == "TYPE":
                assert rest in {"counter", "gauge", "histogram", "summary", "untyped"}, line
                types[name] = rest
            continue
        m = _SAMPLE.match(line)
        assert m, f"not a sample line: {line!r}"
        name, raw_labels, value = m.group(1), m.group(2) or "", m.group(3)
        pairs = _LABEL.findall(raw_labels)
        assert ",".join(f'{k}="{v}"' for k, v in pairs) == raw_labels, line
        base = next((name[: -len(s)] for s in _SUFFIXES if name.endswith(s)), name)
        assert name in types or types.get(base) == "histogram", f"no TYPE before {line!r}"
        samples[(name, frozenset(pairs))] = float(value)
    return samples


def pick(samples: Samples, metric: str, /, **labels: str) -> float:
    """The one sample of ``metric`` whose labels include ``labels``."""
    hits = [v for (n, ls), v in samples.items() if n == metric and set(labels.items()) <= ls]
    assert len(hits) == 1, f"{metric}{labels}: {len(hits)} samples"
    return hits[0]


def test_prometheus_texts_also_parse_with_prometheus_client_when_installed() -> None:
    parser = pytest.importorskip("prometheus_client.parser")
    for text in (
        cadvisor_metrics.prometheus_metrics(MACHINE, [WEB]),
        appmetrics.app_metrics(TRAFFIC),
    ):
        assert list(parser.text_string_to_metric_families(text))


# -- cAdvisor ------------------------------------------------------------------------

T0 = 1_718_000_000_000_000_000  # ns
DOCKER_ID = "3f" * 32
MESOS_CID = "8d3b7c5e-1b2a-4c1d-9e8f-0a1b2c3d4e5f"


def sample(t_ns: int, cpu_ns: int, rx: int = 1000) -> StatsSample:
    return StatsSample(
        timestamp_ns=t_ns,
        cpu_total_ns=cpu_ns,
        cpu_user_ns=cpu_ns * 3 // 4,
        cpu_system_ns=cpu_ns // 4,
        per_cpu_ns=(cpu_ns // 2, cpu_ns - cpu_ns // 2),
        memory_usage=300_000_000,
        memory_working_set=250_000_000,
        memory_rss=200_000_000,
        memory_cache=100_000_000,
        interfaces=(
            InterfaceSample(
                "eth0", rx_bytes=rx, rx_packets=10, tx_bytes=2 * rx, tx_packets=20, rx_errors=1
            ),
        ),
        diskio=(
            DiskIoSample(8, 0, "/dev/sda", read_bytes=4096, write_bytes=8192, reads=1, writes=2),
        ),
        filesystems=(FsSample("/dev/sda1", capacity=10_000_000_000, usage=5_000_000),),
    )


WEB = ContainerSample(
    docker_id=DOCKER_ID,
    mesos_container_id=MESOS_CID,
    image="registry.local/web:1.4",
    creation_time_ns=T0 - 3_600_000_000_000,
    cpu_shares=512,
    memory_limit=512 * 2**20,
    stats=(sample(T0, 10_000_000_000), sample(T0 + 1_000_000_000, 10_500_000_000, rx=3000)),
    task_id="web.7f9b3c2a-2b1c-11ef-9d6a-0242ac110002",
    app_id="/shop/web",
    labels={"HAPROXY_GROUP": "external", "team.name": "shop"},
)
DB = ContainerSample(
    docker_id="a1" * 32,
    mesos_container_id="11111111-2222-3333-4444-555555555555",
    image="postgres:15",
    creation_time_ns=T0 - 7_200_000_000_000,
    cpu_shares=1024,
    memory_limit=2**30,
    stats=(sample(T0, 1_000_000_000), sample(T0 + 10**9, 3_000_000_000)),
    task_id="db.1",
    app_id="/shop/db",
)
MACHINE = MachineSample(
    num_cores=2,
    memory_capacity=8 * 2**30,
    machine_id="0" * 32,
    system_uuid="4C4C4544-0000-0000-0000-000000000000",
    boot_id="b" * 32,
    filesystems=(FsSample("/dev/sda1", capacity=10_000_000_000, usage=0, inodes=655360),),
    disks=(DiskIoSample(8, 0, "/dev/sda", 0, 0, 0, 0),),
)


def test_subcontainers_match_the_schema() -> None:
    body = cadvisor.subcontainers(MACHINE, [WEB, DB])
    assert_shape(body, "cadvisor/v1.3_subcontainers")
    assert [c["name"] for c in body] == ["/", "/docker", WEB.name, DB.name]


def test_container_aliases_carry_the_mesos_container_id() -> None:
    info = cadvisor.container_info(WEB)
    assert info["name"] == f"/docker/{DOCKER_ID}"
    assert info["aliases"] == [f"mesos-{MESOS_CID}", DOCKER_ID]
    assert info["namespace"] == "docker"


def test_container_env_maps_back_to_mesos_task_and_marathon_app() -> None:
    spec = cadvisor.container_info(WEB)["spec"]
    assert spec["envs"] == {
        "MESOS_TASK_ID": WEB.task_id,
        "MARATHON_APP_ID": "/shop/web",
        "MESOS_CONTAINER_NAME": f"mesos-{MESOS_CID}",
    }
    assert spec["labels"] == {"HAPROXY_GROUP": "external", "team.name": "shop"}
    assert spec["cpu"]["limit"] == 512 and spec["memory"]["limit"] == 512 * 2**20


def test_stats_counters_come_from_the_inputs() -> None:
    newest = cadvisor.container_info(WEB)["stats"][-1]
    assert newest["cpu"]["usage"] == {
        "total": 10_500_000_000,
        "per_cpu_usage": [5_250_000_000, 5_250_000_000],
        "user": 7_875_000_000,
        "system": 2_625_000_000,
    }
    assert newest["memory"]["working_set"] == 250_000_000
    assert newest["network"]["interfaces"][0]["rx_bytes"] == 3000
    assert newest["network"]["rx_errors"] == 1
    assert newest["diskio"]["io_service_bytes"][0]["stats"]["Write"] == 8192
    assert newest["filesystem"][0]["usage"] == 5_000_000


def test_count_keeps_the_newest_samples() -> None:
    stats = cadvisor.container_info(WEB, count=1)["stats"]
    assert [s["cpu"]["usage"]["total"] for s in stats] == [10_500_000_000]


def test_timestamps_are_rfc3339_with_nanoseconds_and_no_trailing_zeros() -> None:
    assert cadvisor.rfc3339_ns(T0 + 123_456_789) == "2024-06-10T06:13:20.123456789Z"
    assert cadvisor.rfc3339_ns(T0 + 500_000_000) == "2024-06-10T06:13:20.5Z"
    assert cadvisor.rfc3339_ns(T0) == "2024-06-10T06:13:20Z"


def test_root_container_stats_are_the_sum_of_the_containers() -> None:
    root = cadvisor.subcontainers(MACHINE, [WEB, DB])[0]
    assert root["stats"][-1]["cpu"]["usage"]["total"] == 10_500_000_000 + 3_000_000_000
    assert root["stats"][-1]["memory"]["usage"] == 2 * 300_000_000
    assert root["spec"]["memory"]["limit"] == MACHINE.memory_capacity


def test_docker_endpoint_is_keyed_by_container_name() -> None:
    body = cadvisor.docker_containers([WEB, DB])
    assert_shape(body, "cadvisor/v1.3_docker")
    assert list(body) == [WEB.name, DB.name]


def test_machine_info_matches_the_schema_and_reports_the_inputs() -> None:
    body = cadvisor.machine_info(MACHINE)
    assert_shape(body, "cadvisor/v1.3_machine")
    assert body["num_cores"] == 2 and body["memory_capacity"] == 8 * 2**30
    assert len(body["topology"][0]["cores"]) == 2
    assert body["filesystems"] == [
        {"device": "/dev/sda1", "capacity": 10_000_000_000, "type": "vfs", "inodes": 655360}
    ]


def test_v2_stats_cpu_inst_is_the_rate_between_consecutive_samples() -> None:
    body = cadvisor.stats_v2([WEB, DB], count=2)
    assert_shape(body, "cadvisor/v2.0_stats")
    first, second = body[WEB.name]
    assert "cpu_inst" not in first
    # 0.5 s of cpu in 1 s -> 0.5e9 nanocores per second
    assert second["cpu_inst"]["usage"]["total"] == 500_000_000
    assert second["cpu_inst"]["usage"]["per_cpu_usage"] == [250_000_000, 250_000_000]
    assert second["has_cpu"] and second["network"]["interfaces"][0]["tx_bytes"] == 6000


def test_v2_stats_count_limits_the_samples_per_container() -> None:
    body = cadvisor.stats_v2([WEB], count=1)
    assert len(body[WEB.name]) == 1 and "cpu_inst" not in body[WEB.name][0]
    assert len(cadvisor.stats_v2([WEB], count=-1)[WEB.name]) == 2
    assert cadvisor.stats_v2([WEB], count=0) == {WEB.name: []}


def test_cadvisor_prometheus_text_parses_and_labels_identify_the_task() -> None:
    text = cadvisor_metrics.prometheus_metrics(MACHINE, [WEB, DB])
    samples = parse_prometheus(text)
    assert "# TYPE container_cpu_usage_seconds_total counter" in text
    web = {"container_env_mesos_task_id": WEB.task_id, "name": f"mesos-{MESOS_CID}"}
    assert pick(samples, "container_cpu_usage_seconds_total", cpu="total", **web) == 10.5
    assert pick(samples, "container_memory_working_set_bytes", id=WEB.name) == 250_000_000
    assert (
        pick(
            samples,
            "container_network_receive_bytes_total",
            interface="eth0",
            container_env_marathon_app_id="/shop/db",
        )
        == 1000
    )
    assert (
        pick(samples, "container_spec_memory_limit_bytes", container_label_team_name="shop")
        == 512 * 2**20
    )
    assert pick(samples, "machine_cpu_cores") == 2


def test_cadvisor_prometheus_samples_carry_the_sample_time_in_ms() -> None:
    line = next(
        x
        for x in cadvisor_metrics.prometheus_metrics(MACHINE, [WEB]).splitlines()
        if x.startswith("container_memory_rss{")
    )
    assert line.endswith(f" 200000000 {(T0 + 10**9) // 10**6}")


# -- Consul --------------------------------------------------------------------------

SERVERS = [
    ConsulServer("consul-1", "10.1.10.10", "11111111-0000-0000-0000-000000000001"),
    ConsulServer("consul-2", "10.1.10.11", "11111111-0000-0000-0000-000000000002"),
    ConsulServer("consul-3", "10.1.10.12", "11111111-0000-0000-0000-000000000003"),
]
NODE_A = ConsulNode(
    "agent-a", "10.2.0.1", "22222222-0000-0000-0000-00000000000a", meta={"rack": "r1"}
)
NODE_B = ConsulNode(
    "agent-b",
    "10.2.0.2",
    "22222222-0000-0000-0000-00000000000b",
    checks=(consul.serf_health("critical"),),
)
HTTP_OK = Check("service:web-1", "HTTP on /health", "passing", "HTTP GET: 200 OK", type="http")
HTTP_SLOW = Check("service:web-2", "HTTP on /health", "warning", "slow", type="http")
INSTANCES = [
    ServiceInstance(
        NODE_A,
        "web",
        "web-1",
        "10.2.0.1",
        31001,
        ("v2", "public"),
        {"marathon_app": "/shop/web"},
        (HTTP_OK,),
    ),
    ServiceInstance(NODE_A, "web", "web-2", "10.2.0.1", 31002, ("v2",), checks=(HTTP_SLOW,)),
    ServiceInstance(NODE_B, "web", "web-3", "10.2.0.2", 31003, ("v1",)),
    ServiceInstance(NODE_B, "db", "db-1", "10.2.0.2", 5432),
]


def test_status_leader_is_the_raft_address_or_an_empty_string() -> None:
    assert consul.status_leader(SERVERS[2]) == "10.1.10.12:8300"
    assert consul.status_leader(None) == ""
    assert_shape(consul.status_leader(SERVERS[2]), "consul/status_leader")
    assert_shape(consul.status_leader(None), "consul/status_leader")
    assert shape_errors("10.1.10.12", "consul/status_leader")


def test_status_peers_lists_every_server() -> None:
    peers = consul.status_peers(SERVERS)
    assert_shape(peers, "consul/status_peers")
    assert peers == ["10.1.10.10:8300", "10.1.10.11:8300", "10.1.10.12:8300"]


def test_raft_configuration_marks_only_the_leader() -> None:
    body = consul.raft_configuration(SERVERS, SERVERS[1], index=42)
    assert_shape(body, "consul/operator_raft_configuration")
    assert [s["Leader"] for s in body["Servers"]] == [False, True, False]
    assert body["Index"] == 42 and body["Servers"][0]["ProtocolVersion"] == "3"
    leaderless = consul.raft_configuration(SERVERS, None, index=43)
    assert not any(s["Leader"] for s in leaderless["Servers"])


def test_catalog_services_lists_consul_and_the_union_of_tags() -> None:
    body = consul.catalog_services(INSTANCES)
    assert_shape(body, "consul/catalog_services")
    assert body == {"consul": [], "db": [], "web": ["public", "v1", "v2"]}


def test_catalog_service_filters_by_name_and_tag() -> None:
    body = consul.catalog_service(INSTANCES, "web", tag="v2")
    assert_shape(body, "consul/catalog_service")
    assert [e["ServiceID"] for e in body] == ["web-1", "web-2"]
    assert body[0]["ServicePort"] == 31001 and body[0]["NodeMeta"] == {"rack": "r1"}
    assert body[0]["ServiceMeta"] == {"marathon_app": "/shop/web"}
    assert "Namespace" not in body[0]


def test_health_service_passing_keeps_only_instances_whose_checks_all_pass() -> None:
    everything = consul.health_service(INSTANCES, "web")
    assert_shape(everything, "consul/health_service")
    assert [e["Service"]["ID"] for e in everything] == ["web-1", "web-2", "web-3"]
    assert [c["CheckID"] for c in everything[0]["Checks"]] == ["serfHealth", "service:web-1"]
    passing = consul.health_service(INSTANCES, "web", passing=True)
    assert [e["Service"]["ID"] for e in passing] == ["web-1"]


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("passing", [("agent-a", "serfHealth"), ("agent-a", "service:web-1")]),
        ("warning", [("agent-a", "service:web-2")]),
        ("critical", [("agent-b", "serfHealth")]),
        (
            "any",
            [
                ("agent-a", "serfHealth"),
                ("agent-a", "service:web-1"),
                ("agent-a", "service:web-2"),
                ("agent-b", "serfHealth"),
            ],
        ),
    ],
)
def test_health_state_lists_the_checks_in_that_state(
    state: str, expected: list[tuple[str, str]]
) -> None:
    body = consul.health_state(INSTANCES, state)
    assert_shape(body, "consul/health_state")
    assert [(c["Node"], c["CheckID"]) for c in body] == expected
    assert all(state == "any" or c["Status"] == state for c in body)


def test_health_state_rejects_an_unknown_state() -> None:
    with pytest.raises(ValueError, match="state must be one of"):
        consul.health_state(INSTANCES, "unknown")


def test_service_check_carries_its_service() -> None:
    warning = consul.health_state(INSTANCES, "warning")[0]
    assert (warning["ServiceID"], warning["ServiceName"], warning["ServiceTags"]) == (
        "web-2",
        "web",
        ["v2"],
    )


# -- Chronos -------------------------------------------------------------------------

START = datetime(2024, 6, 1, tzinfo=UTC)
ETL = ChronosJob(
    "etl-extract",
    "/opt/etl/extract.sh",
    schedule=chronos.schedule(START, "PT1H"),
    owner="ops@example.org",
    success_count=190,
    error_count=3,
    last_success=datetime(2024, 6, 10, 16, 57, 17, 507000, tzinfo=UTC),
    last_error=datetime(2024, 6, 1, 0, 10, 15, 957000, tzinfo=UTC),
)
LOAD = ChronosJob(
    "etl-load",
    "/opt/etl/load.sh",
    parents=("etl-extract",),
    success_count=3,
    error_count=4,
    last_success=datetime(2024, 6, 9, tzinfo=UTC),
    last_error=datetime(2024, 6, 10, tzinfo=UTC),
    errors_since_last_success=2,
    state="running",
)
REPORT = ChronosJob(
    "report", "make report", parents=("etl-extract", "etl-load"), disabled=True, state="queued"
)


def test_chronos_jobs_match_the_schema() -> None:
    body = chronos.jobs([ETL, LOAD, REPORT])
    assert_shape(body, "chronos/scheduler_jobs")
    etl, load, report = body
    assert etl["schedule"] == "R/2024-06-01T00:00:00.000Z/PT1H" and "parents" not in etl
    assert (etl["successCount"], etl["errorCount"]) == (190, 3)
    assert etl["lastSuccess"] == "2024-06-10T16:57:17.507Z"
    assert load["parents"] == ["etl-extract"] and "schedule" not in load
    assert load["errorsSinceLastSuccess"] == 2
    assert report["lastSuccess"] == "" and report["disabled"] is True


def test_chronos_graph_csv_has_node_and_link_lines() -> None:
    assert chronos.graph_csv([ETL, LOAD, REPORT]) == (
        "node,etl-extract,success,idle\n"
        "node,etl-load,failure,running\n"
        "node,report,fresh,queued\n"
        "link,etl-extract,etl-load\n"
        "link,etl-extract,report\n"
        "link,etl-load,report\n"
    )


def test_chronos_job_needs_exactly_one_of_schedule_or_parents() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        ChronosJob("orphan", "true")
    with pytest.raises(ValueError, match="exactly one"):
        ChronosJob("both", "true", schedule="R/2024-06-01T00:00:00.000Z/PT1H", parents=("x",))


def test_repeat_count_appears_in_the_schedule() -> None:
    assert chronos.schedule(START, "P1D", repeats=5) == "R5/2024-06-01T00:00:00.000Z/P1D"


# -- application /metrics ------------------------------------------------------------

TRAFFIC = AppTraffic(
    uptime_seconds=600,
    routes=(
        Route("/api/orders", rate_per_second=5.0, latency_seconds=0.04),
        Route("/api/orders", rate_per_second=0.5, latency_seconds=0.3, code="500"),
        Route("/api/orders", rate_per_second=1.0, latency_seconds=0.02, method="POST", code="201"),
        Route("/health", rate_per_second=0.2, latency_seconds=0.001),
    ),
    in_flight=7,
    process=ProcessSample(
        cpu_seconds=42.5,
        resident_bytes=64 * 2**20,
        virtual_bytes=512 * 2**20,
        start_time_seconds=1_718_000_000,
        open_fds=23,
    ),
)


def test_app_metrics_text_parses() -> None:
    text = appmetrics.app_metrics(TRAFFIC)
    parse_prometheus(text)
    for name, kind in [
        ("http_requests_total", "counter"),
        ("http_request_duration_seconds", "histogram"),
        ("http_requests_in_flight", "gauge"),
    ]:
        assert f"# TYPE {name} {kind}\n" in text


def test_request_counters_come_from_rate_and_uptime() -> None:
    samples = parse_prometheus(appmetrics.app_metrics(TRAFFIC))
    assert (
        pick(samples, "http_requests_total", code="200", handler="/api/orders", method="GET")
        == 3000
    )
    assert pick(samples, "http_requests_total", code="500", handler="/api/orders") == 300
    assert pick(samples, "http_requests_total", method="POST") == 600
    assert pick(samples, "http_requests_total", handler="/health") == 120
    assert pick(samples, "http_requests_in_flight") == 7


def test_latency_histogram_is_cumulative_and_sums_the_latencies() -> None:
    samples = parse_prometheus(appmetrics.app_metrics(TRAFFIC))
    get = {"handler": "/api/orders", "method": "GET"}
    bucket = "http_request_duration_seconds_bucket"
    assert pick(samples, bucket, le="0.025", **get) == 0
    assert pick(samples, bucket, le="0.05", **get) == 3000
    assert pick(samples, bucket, le="0.25", **get) == 3000
    assert pick(samples, bucket, le="0.5", **get) == 3300
    assert pick(samples, bucket, le="+Inf", **get) == 3300
    assert pick(samples, "http_request_duration_seconds_count", **get) == 3300
    assert pick(samples, "http_request_duration_seconds_sum", **get) == pytest.approx(
        3000 * 0.04 + 300 * 0.3
    )


def test_process_metrics_come_from_the_inputs() -> None:
    samples = parse_prometheus(appmetrics.app_metrics(TRAFFIC))
    assert pick(samples, "process_cpu_seconds_total") == 42.5
    assert pick(samples, "process_resident_memory_bytes") == 64 * 2**20
    assert pick(samples, "process_open_fds") == 23
    no_process = appmetrics.app_metrics(AppTraffic(1, ()))
    assert "process_" not in no_process
