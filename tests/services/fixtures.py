"""pytest plugin: session fixtures for the real test servers (see servers.py).

Servers start lazily, the first time a test asks for their fixture, and stop at the end of
the session. When one cannot be found or started the test SKIPS with the reason, unless
``REQUIRE_SERVICES=1`` (CI): then it FAILS with the reason and the server's log tail.
A configuration the test itself passed (HAProxy config, Nagios objects) that the server
rejects always fails. Tests that use these fixtures are marked ``integration``
automatically too (mark them explicitly anyway). ``make services`` installs the servers.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import NoReturn, Protocol, TypeVar

import pytest

from tests.services.servers import (
    ElasticsearchServer,
    HAProxyServer,
    InfluxDB1Server,
    NagiosServer,
    ServiceConfigError,
    ServiceError,
    VictoriaMetricsServer,
    ZooKeeperEnsemble,
    find_rpmbuild,
    require_executable,
)

SERVER_FIXTURES = frozenset({
    "influxdb1", "victoria", "elasticsearch", "zookeeper_ensemble",
    "haproxy_factory", "nagios_factory", "rpmbuild",
})

_startup_seconds: dict[str, list[float]] = {}


def services_required() -> bool:
    return os.environ.get("REQUIRE_SERVICES") == "1"


def unavailable(reason: str) -> NoReturn:
    """Skip the test, or fail it when REQUIRE_SERVICES=1."""
    if services_required():
        pytest.fail(f"REQUIRE_SERVICES=1 but {reason}", pytrace=False)
    pytest.skip(reason)


class _Startable(Protocol):
    startup_seconds: float | None

    def start(self) -> None: ...

    def cleanup(self) -> None: ...


S = TypeVar("S", bound=_Startable)


def _record(label: str, server: _Startable) -> None:
    if server.startup_seconds is not None:
        _startup_seconds.setdefault(label, []).append(server.startup_seconds)


def _start(label: str, make: Callable[[], S]) -> S:
    try:
        server = make()
    except ServiceError as exc:
        unavailable(f"{label} is unavailable: {exc}")
    try:
        server.start()
    except ServiceConfigError:
        server.cleanup()
        raise
    except ServiceError as exc:
        server.cleanup()
        unavailable(f"{label} did not start: {exc}")
    _record(label, server)
    return server


@pytest.fixture(scope="session")
def influxdb1() -> Iterator[InfluxDB1Server]:
    """InfluxDB 1.x: ``.url``, ``.query(q, db)``, ``.write(lines, db)``, ``.create_database``."""
    server = _start("influxdb1", InfluxDB1Server)
    yield server
    server.cleanup()


@pytest.fixture(scope="session")
def victoria() -> Iterator[VictoriaMetricsServer]:
    """VictoriaMetrics (v2 write endpoint for influxdb-client): ``.url``, ``.export(match)``."""
    server = _start("victoria", VictoriaMetricsServer)
    yield server
    server.cleanup()


@pytest.fixture(scope="session")
def elasticsearch() -> Iterator[ElasticsearchServer]:
    """Elasticsearch 8.19 single node: ``.url``, ``.client()``."""
    server = _start("elasticsearch", ElasticsearchServer)
    yield server
    server.cleanup()


@pytest.fixture(scope="session")
def zookeeper_ensemble() -> Iterator[ZooKeeperEnsemble]:
    """A 3-member ZooKeeper ensemble: ``.hosts``, ``.connect_string``, ``.members``,
    ``.stop_member(i)``, ``.start_member(i)`` (i from 0). Members a test leaves stopped
    are restarted after that test."""
    ensemble = _start("zookeeper", ZooKeeperEnsemble)
    yield ensemble
    ensemble.cleanup()


@pytest.fixture
def zk_chroot(zookeeper_ensemble: ZooKeeperEnsemble) -> Iterator[str]:
    """A connect string with a chroot of its own (``host:port,.../cw-<random>``), removed after
    the test, so other tests' ``/mesos`` znodes or partition parties cannot interfere."""
    from kazoo.client import KazooClient

    root = f"/cw-{uuid.uuid4().hex[:8]}"
    client = KazooClient(hosts=zookeeper_ensemble.connect_string)
    client.start(timeout=15)
    client.ensure_path(root)
    try:
        yield f"{zookeeper_ensemble.connect_string}{root}"
    finally:
        client.delete(root, recursive=True)
        client.stop()
        client.close()


@pytest.fixture(autouse=True)
def _restore_zookeeper(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "zookeeper_ensemble" in request.fixturenames:
        ensemble: ZooKeeperEnsemble = request.getfixturevalue("zookeeper_ensemble")
        ensemble.restore()


class HAProxyFactory(Protocol):
    def __call__(
        self, config: str, *, base: bool = True, timestamp_format: str = "traditional",
        syslog: str = "unix",
    ) -> HAProxyServer: ...


class NagiosFactory(Protocol):
    def __call__(
        self, objects: str, *, base: bool = True, main_overrides: Mapping[str, str] | None = None,
    ) -> NagiosServer: ...


@pytest.fixture(scope="session")
def haproxy_factory() -> Iterator[HAProxyFactory]:
    """``haproxy_factory(frontends_and_backends) -> HAProxyServer`` (running): see
    HAProxyServer for the global/defaults/stats sections it adds. ``.socket_path``,
    ``.stats_url``, ``.log_path``, ``.show_stat()``, ``.reload()``, ``.stop()``."""
    try:
        require_executable("haproxy", "haproxy")
    except ServiceError as exc:
        unavailable(str(exc))
    started: list[HAProxyServer] = []

    def make(
        config: str, *, base: bool = True, timestamp_format: str = "traditional",
        syslog: str = "unix",
    ) -> HAProxyServer:
        server = _start(
            "haproxy",
            lambda: HAProxyServer(
                config, base=base, timestamp_format=timestamp_format, syslog=syslog,
            ),
        )
        started.append(server)
        return server

    yield make
    for server in started:
        server.cleanup()


@pytest.fixture(scope="session")
def nagios_factory() -> Iterator[NagiosFactory]:
    """``nagios_factory(object_definitions) -> NagiosServer`` (running): ``.status()``,
    ``.wait_for_service_state(host, service, state, timeout)``, ``.alerts()``, ``.stop()``.
    Templates ``cw-host``/``cw-service`` and command ``check_dummy`` come with it."""
    try:
        require_executable("nagios4", "nagios4-core")
    except ServiceError as exc:
        unavailable(str(exc))
    started: list[NagiosServer] = []

    def make(
        objects: str, *, base: bool = True, main_overrides: Mapping[str, str] | None = None,
    ) -> NagiosServer:
        server = _start(
            "nagios", lambda: NagiosServer(objects, base=base, main_overrides=main_overrides),
        )
        started.append(server)
        return server

    yield make
    for server in started:
        server.cleanup()


@pytest.fixture(scope="session")
def rpmbuild() -> str:
    """The path of ``rpmbuild``."""
    try:
        return find_rpmbuild()
    except ServiceError as exc:
        unavailable(str(exc))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fixturenames = getattr(item, "fixturenames", ())
        if SERVER_FIXTURES.intersection(fixturenames) and not item.get_closest_marker(
            "integration"
        ):
            item.add_marker(pytest.mark.integration)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _startup_seconds:
        return
    parts = []
    for label, times in sorted(_startup_seconds.items()):
        if len(times) == 1:
            parts.append(f"{label} {times[0]:.1f} s")
        else:
            parts.append(f"{label} {len(times)}x avg {sum(times) / len(times):.1f} s")
    terminalreporter.write_line("real servers started: " + ", ".join(parts))
