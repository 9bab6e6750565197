"""Each real test server takes real data and gives it back (tests/services)."""

from __future__ import annotations

import subprocess
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from influxdb_client.client.influxdb_client import InfluxDBClient
from influxdb_client.client.write_api import SYNCHRONOUS
from kazoo.client import KazooClient

from tests.services.fixtures import HAProxyFactory, NagiosFactory
from tests.services.servers import (
    ElasticsearchServer,
    InfluxDB1Server,
    ManagedProcess,
    VictoriaMetricsServer,
    ZooKeeperEnsemble,
    free_port,
    non_loopback_listeners,
    parse_mntr,
    wait_for,
    zk_four_letter,
)

pytestmark = pytest.mark.integration

T0_NS = 1_700_000_000_000_000_000  # fixed timestamps: written and read back exactly


def assert_loopback_only(process: ManagedProcess | None) -> None:
    assert process is not None
    assert non_loopback_listeners(process) == []


def test_influxdb1_returns_the_points_written_through_write(influxdb1: InfluxDB1Server) -> None:
    influxdb1.create_database("smoke")
    influxdb1.write(
        "mesos_master,cluster=t1 cpus_total=48,tasks_running=7i "
        f"{T0_NS}\n"
        f"mesos_master,cluster=t1 cpus_total=64,tasks_running=9i {T0_NS + 10**9}\n",
        db="smoke",
    )

    rows = influxdb1.series_values(
        "SELECT cpus_total, tasks_running FROM mesos_master WHERE cluster = 't1'", "smoke"
    )

    assert [(r["time"], r["cpus_total"], r["tasks_running"]) for r in rows] == [
        (T0_NS, 48, 7),
        (T0_NS + 10**9, 64, 9),
    ]
    assert_loopback_only(influxdb1.process)


def test_victoria_keeps_what_influxdb_client_writes_through_the_v2_api(
    victoria: VictoriaMetricsServer,
) -> None:
    with InfluxDBClient(url=victoria.url, token="any", org="any-org") as client:
        client.write_api(write_options=SYNCHRONOUS).write(
            bucket="clusterwatch",
            record=[
                f"haproxy_backend,backend=be_app,host=lb1 sessions_current=3i {T0_NS}",
                f"haproxy_backend,backend=be_app,host=lb1 sessions_current=5i {T0_NS + 10**9}",
            ],
        )

    series = victoria.export('haproxy_backend_sessions_current{backend="be_app"}')

    assert len(series) == 1
    assert series[0]["metric"] == {
        "__name__": "haproxy_backend_sessions_current", "backend": "be_app", "host": "lb1",
    }
    assert series[0]["values"] == [3, 5]
    assert series[0]["timestamps"] == [T0_NS // 10**6, T0_NS // 10**6 + 1000]
    assert_loopback_only(victoria.process)


def test_elasticsearch_finds_the_document_it_indexed(elasticsearch: ElasticsearchServer) -> None:
    client = elasticsearch.client()
    document = {"message": "GET /v2/apps 200", "haproxy": {"backend_name": "be_app"}}

    client.index(index="smoke-logs", id="doc-1", document=document)
    client.indices.refresh(index="smoke-logs")

    assert client.get(index="smoke-logs", id="doc-1")["_source"] == document
    hits = client.search(index="smoke-logs", query={"match": {"message": "apps"}})["hits"]
    assert [hit["_id"] for hit in hits["hits"]] == ["doc-1"]
    assert_loopback_only(elasticsearch.process)


def _leaders(ensemble: ZooKeeperEnsemble) -> list[int]:
    states = []
    for member in ensemble.members:
        stats = parse_mntr(zk_four_letter("127.0.0.1", member.client_port, "mntr"))
        states.append(stats.get("zk_server_state"))
    return [i for i, state in enumerate(states) if state == "leader"]


def test_zookeeper_ensemble_replicates_and_survives_losing_a_member(
    zookeeper_ensemble: ZooKeeperEnsemble,
) -> None:
    first = KazooClient(hosts=zookeeper_ensemble.hosts[0])
    first.start(timeout=15)
    try:
        first.create("/smoke/mesos", b"json.info_0000000001", makepath=True)
    finally:
        first.stop()
    assert len(_leaders(zookeeper_ensemble)) == 1
    for member in zookeeper_ensemble.members:
        assert_loopback_only(member.process)

    second = KazooClient(hosts=zookeeper_ensemble.hosts[1])
    second.start(timeout=15)
    try:
        second.sync("/smoke/mesos")
        assert second.get("/smoke/mesos")[0] == b"json.info_0000000001"
    finally:
        second.stop()

    leader = _leaders(zookeeper_ensemble)[0]
    zookeeper_ensemble.stop_member(leader)
    survivors = [i for i in range(3) if i != leader]
    client = KazooClient(hosts=",".join(zookeeper_ensemble.hosts[i] for i in survivors))
    client.start(timeout=30)
    try:
        client.set("/smoke/mesos", b"after-failover")
        assert client.get("/smoke/mesos")[0] == b"after-failover"
    finally:
        client.stop()

    zookeeper_ensemble.start_member(leader)
    zookeeper_ensemble.wait_serving(range(3))
    assert len(_leaders(zookeeper_ensemble)) == 1


def test_zookeeper_member_without_quorum_stops_serving_until_the_others_return(
    zookeeper_ensemble: ZooKeeperEnsemble,
) -> None:
    zookeeper_ensemble.stop_member(0)
    zookeeper_ensemble.stop_member(1)

    alone = zookeeper_ensemble.members[2]
    wait_for(lambda: alone.mntr() is None, 30, "the last member to stop serving")

    zookeeper_ensemble.start_member(0)
    zookeeper_ensemble.start_member(1)
    zookeeper_ensemble.wait_serving(range(3))
    assert len(_leaders(zookeeper_ensemble)) == 1


class _Backend(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"backend ok\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def http_backend() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Backend)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


def _row(rows: list[dict[str, str]], proxy: str, server: str) -> dict[str, str]:
    return next(r for r in rows if r["pxname"] == proxy and r["svname"] == server)


def test_haproxy_counts_and_logs_a_proxied_request(
    haproxy_factory: HAProxyFactory, http_backend: int
) -> None:
    port = free_port()
    haproxy = haproxy_factory(f"""\
frontend fe_smoke
    bind 127.0.0.1:{port}
    default_backend be_smoke

backend be_smoke
    server app1 127.0.0.1:{http_backend}
""")

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/apps?smoke=1", timeout=10) as r:
        assert r.read() == b"backend ok\n"

    assert _row(haproxy.show_stat(), "be_smoke", "app1")["stot"] == "1"
    assert _row(haproxy.stats_csv(), "fe_smoke", "FRONTEND")["stot"] == "1"
    line = haproxy.wait_for_log("/v2/apps?smoke=1")
    assert " haproxy[" in line
    assert 'fe_smoke be_smoke/app1 ' in line
    assert ' 200 ' in line
    assert haproxy.socket_path.is_socket()
    assert_loopback_only(haproxy.process)
    haproxy.stop()


def test_nagios_raises_a_service_alert_for_a_critical_check(
    nagios_factory: NagiosFactory,
) -> None:
    nagios = nagios_factory("""\
define host {
    use        cw-host
    host_name  mesos-master-1
    address    127.0.0.1
}

define service {
    use                  cw-service
    host_name            mesos-master-1
    service_description  dummy_critical
    check_command        check_dummy!2!boom
}
""")

    status = nagios.wait_for_service_state("mesos-master-1", "dummy_critical", "CRITICAL", 60)

    assert status["plugin_output"] == "CRITICAL: boom"
    assert nagios.status().hosts["mesos-master-1"]["current_state"] == "0"
    alerts = [a for a in nagios.alerts() if a.service == "dummy_critical"]
    assert alerts
    assert (alerts[0].host, alerts[0].state, alerts[0].output) == (
        "mesos-master-1", "CRITICAL", "CRITICAL: boom",
    )
    assert_loopback_only(nagios.process)
    nagios.stop()


SPEC = """\
Name:      cw-smoke
Version:   1.0
Release:   1
Summary:   smoke test package
License:   Apache-2.0
BuildArch: noarch

%description
Smoke test.

%install
mkdir -p %{buildroot}/usr/share/cw-smoke
echo hello > %{buildroot}/usr/share/cw-smoke/hello.txt

%files
/usr/share/cw-smoke/hello.txt
"""


def test_rpmbuild_builds_a_noarch_package(rpmbuild: str, tmp_path: Path) -> None:
    spec = tmp_path / "cw-smoke.spec"
    spec.write_text(SPEC)

    result = subprocess.run(
        [rpmbuild, "-bb", "--nodeps", "--define", f"_topdir {tmp_path / 'top'}", str(spec)],
        capture_output=True, text=True, timeout=120, check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "top" / "RPMS" / "noarch" / "cw-smoke-1.0-1.noarch.rpm").is_file()
