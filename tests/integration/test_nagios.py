"""A real Nagios 4 runs the clusterwatch plugins through the SHIPPED definitions.

The object files under packaging/nagios/ are read as they are; only the resource macros
change for this machine: ``$USER1$`` is Debian's plugin directory and ``$USER10$`` the
directory of the console scripts. What is asserted is what Nagios itself records: the
states in status.dat and the ``SERVICE ALERT:`` lines of its log.

Nagios runs as an unprivileged user (servers.py), which must be able to execute the
console scripts. When the virtualenv's interpreter is out of that user's reach (a Python
under /root), the scripts are re-created in a directory that user can read, with the
system Python of the same minor version and the virtualenv's site-packages: the same
installed code, a different interpreter path.
"""

from __future__ import annotations

import grp
import os
import pwd
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from clusterwatch.sim import Cluster
from tests.services.fixtures import HAProxyFactory, NagiosFactory, unavailable
from tests.services.servers import (
    NAGIOS_PLUGINS,
    SERVICE_USER,
    HAProxyServer,
    NagiosServer,
    ServiceAlert,
    ZooKeeperEnsemble,
    free_port,
    require_executable,
    wait_for,
)
from tests.unit.check_fakes import FakeServer, reply
from tests.unit.test_nagios_definitions import (
    BIN_MACRO,
    NAGIOS_COMMANDS,
    NAGIOS_SERVICES,
    nagios_commands,
    plugin_scripts,
    uncommented_examples,
)

pytestmark = pytest.mark.integration

WAIT = 60.0
"""Upper bound for Nagios to run a check and record its state (checks run every second)."""

# The stand-ins for what a site's own configuration provides, used to validate the examples.
SITE_OBJECTS = """\
define timeperiod {
    timeperiod_name  24x7
    alias            always
    monday           00:00-24:00
}

define command {
    command_name  notify-none
    command_line  /bin/true
}

define contact {
    contact_name                   nagiosadmin
    host_notifications_enabled     0
    service_notifications_enabled  0
    host_notification_period       24x7
    service_notification_period    24x7
    host_notification_options      n
    service_notification_options   n
    host_notification_commands     notify-none
    service_notification_commands  notify-none
}

define host {
    name                   generic-host
    register               0
    max_check_attempts     3
    check_period           24x7
    notification_period    24x7
    contacts               nagiosadmin
}

define service {
    name                   generic-service
    register               0
    check_period           24x7
    notification_period    24x7
    contacts               nagiosadmin
}
"""


# ------------------------------------------------------------------- plugin directory


def nagios_user() -> str:
    """The user NagiosServer runs Nagios as (see servers.py)."""
    return SERVICE_USER if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name


def run_as(user: str, argv: list[str]) -> subprocess.CompletedProcess[str]:
    kwargs: dict[str, Any] = {}
    if os.geteuid() == 0:
        entry = pwd.getpwnam(user)
        kwargs = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
    return subprocess.run(
        argv, capture_output=True, text=True, timeout=60, check=False, cwd="/", **kwargs,
    )


def _runs_for(user: str, argv: list[str]) -> bool:
    try:
        return run_as(user, argv).returncode == 0
    except OSError:
        return False


def _shim_interpreter(user: str) -> str | None:
    """A Python of our minor version that ``user`` can run (our venv's may not be)."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    for candidate in (f"/usr/bin/python{version}", f"/usr/local/bin/python{version}"):
        probe = "import sys; print('%d.%d' % sys.version_info[:2])"
        if Path(candidate).exists() and _runs_for(user, [candidate, "-c", probe]):
            result = run_as(user, [candidate, "-c", probe])
            if result.stdout.strip() == version:
                return candidate
    return None


def _write_shims(directory: Path, interpreter: str, site_packages: str) -> None:
    for script, target in plugin_scripts().items():
        module, _, function = target.partition(":")
        path = directory / script
        path.write_text(
            f"#!{interpreter} -IS\n"
            "import site\n"
            "import sys\n"
            f"site.addsitedir({site_packages!r})\n"
            f"from {module} import {function}\n"
            f"sys.argv[0] = {script!r}\n"
            f"sys.exit({function}())\n"
        )
        path.chmod(0o755)


@dataclass
class PluginEnv:
    """A directory Nagios' user can read: resource.cfg, and the plugins when shimmed."""

    directory: Path
    bin_dir: Path
    shimmed: bool

    @property
    def resource_file(self) -> Path:
        return self.directory / "resource.cfg"


@pytest.fixture(scope="module")
def plugin_env() -> Iterator[PluginEnv]:
    try:
        require_executable("nagios4", "nagios4-core")
    except Exception as exc:
        unavailable(str(exc))
    user = nagios_user()
    directory = Path(tempfile.mkdtemp(prefix="cw-nagios-plugins-"))
    directory.chmod(0o755)
    venv_bin = Path(sysconfig.get_path("scripts"))
    probe = str(venv_bin / "check_zookeeper_quorum")
    if _runs_for(user, [probe, "--version"]):
        bin_dir, shimmed = venv_bin, False
    else:
        interpreter = _shim_interpreter(user)
        if interpreter is None:
            shutil.rmtree(directory, ignore_errors=True)
            unavailable(
                f"user {user!r} cannot run {probe} (its interpreter is out of reach) and "
                f"there is no system python{sys.version_info.major}.{sys.version_info.minor}"
            )
        bin_dir, shimmed = directory / "bin", True
        bin_dir.mkdir()
        bin_dir.chmod(0o755)
        _write_shims(bin_dir, interpreter, sysconfig.get_path("purelib"))
        assert _runs_for(user, [str(bin_dir / "check_zookeeper_quorum"), "--version"])
    env = PluginEnv(directory, bin_dir, shimmed)
    number = BIN_MACRO.strip("$").removeprefix("USER")
    env.resource_file.write_text(f"$USER1$={NAGIOS_PLUGINS}\n$USER{number}$={bin_dir}\n")
    env.resource_file.chmod(0o644)
    yield env
    shutil.rmtree(directory, ignore_errors=True)


def shipped_objects(test_objects: str) -> str:
    """The shipped commands and service templates, as they are, then the test's objects."""
    return "\n".join([NAGIOS_COMMANDS.read_text(), NAGIOS_SERVICES.read_text(), test_objects])


def start_nagios(factory: NagiosFactory, env: PluginEnv, objects: str) -> NagiosServer:
    """A running Nagios with the shipped files, the test's objects and the test's macros."""
    overrides = {"resource_file": str(env.resource_file)}
    return factory(shipped_objects(objects), main_overrides=overrides)


def host_object(name: str) -> str:
    return f"""\
define host {{
    use        cw-host
    host_name  {name}
    address    127.0.0.1
}}
"""


def service(host_name: str, description: str, check_command: str) -> str:
    """A service on the shipped quorum template, made fast for the test (1 s, HARD at once)."""
    return f"""\
define service {{
    use                  clusterwatch-quorum-service,cw-service
    host_name            {host_name}
    service_description  {description}
    check_command        {check_command}
    check_interval       1
    retry_interval       1
    max_check_attempts   1
}}
"""


def alert_states(alerts: list[ServiceAlert], host: str, description: str) -> list[str]:
    """The states of a service's alerts, consecutive repeats folded."""
    states: list[str] = []
    for alert in alerts:
        if (alert.host, alert.service) == (host, description):
            assert alert.state_type == "HARD", alert
            if not states or states[-1] != alert.state:
                states.append(alert.state)
    return states


def wait_state(
    nagios: NagiosServer, host: str, description: str, state: str, *,
    output: Callable[[str], bool] | None = None,
) -> dict[str, str]:
    """Wait for a HARD ``state`` whose plugin output satisfies ``output``."""
    found: dict[str, str] = {}

    def reached() -> bool:
        entry = nagios.status().services.get((host, description))
        if entry is None or entry.get("has_been_checked") != "1":
            return False
        if entry["current_state"] != str({"OK": 0, "WARNING": 1, "CRITICAL": 2}[state]):
            return False
        if entry.get("state_type") != "1" or (output and not output(entry["plugin_output"])):
            return False
        found.update(entry)
        return True

    wait_for(reached, WAIT, f"{host}/{description} HARD {state}", process=nagios.process)
    return found


# ---------------------------------------------------------------------- validation


def _nagios_verify(objects: str, resource: Path) -> subprocess.CompletedProcess[str]:
    """``nagios4 -v`` on ``objects`` with a minimal main config (nothing is started)."""
    binary = require_executable("nagios4", "nagios4-core")
    user = nagios_user()
    directory = Path(tempfile.mkdtemp(prefix="cw-nagios-verify-"))
    try:
        (directory / "objects.cfg").write_text(objects)
        group = grp.getgrgid(pwd.getpwnam(user).pw_gid).gr_name
        main = directory / "nagios.cfg"
        main.write_text(
            f"cfg_file={directory}/objects.cfg\nresource_file={resource}\n"
            f"nagios_user={user}\nnagios_group={group}\n"
            f"check_result_path={directory}\nlock_file={directory}/nagios.lock\n"
            f"temp_path={directory}\nstatus_file={directory}/status.dat\n"
            f"log_file={directory}/nagios.log\n"
            f"object_cache_file={directory}/objects.cache\n"
            f"precached_object_file={directory}/objects.precache\n"
            "check_external_commands=0\ninterval_length=60\n"
            "illegal_macro_output_chars=`~$&|'\"<>\n"
        )
        if os.geteuid() == 0:
            entry = pwd.getpwnam(user)
            for path in (directory, *directory.iterdir()):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        return run_as(user, [binary, "-v", str(main)])
    finally:
        shutil.rmtree(directory, ignore_errors=True)


TEMPLATE_USERS = """\
define host {
    use        generic-host
    host_name  t1-lb-vip
    address    127.0.0.1
}

define service {
    use                  clusterwatch-quorum-service,generic-service
    host_name            t1-lb-vip
    service_description  VIP tcp/443
    check_command        check_cw_vip_tcp!443
}

define service {
    use                  clusterwatch-service,generic-service
    host_name            t1-lb-vip
    service_description  VIP tcp/80
    check_command        check_cw_vip_tcp!80
}
"""
"""Nagios wants one host and one service at least: these use the two shipped templates."""


def test_nagios_accepts_the_shipped_commands_and_templates(plugin_env: PluginEnv) -> None:
    objects = SITE_OBJECTS + shipped_objects(TEMPLATE_USERS)

    result = _nagios_verify(objects, plugin_env.resource_file)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "Total Errors:   0" in result.stdout
    assert "Total Warnings: 0" in result.stdout
    commands = int(re.search(r"Checked (\d+) commands", result.stdout)[1])  # type: ignore[index]
    assert commands == len(nagios_commands()) + 1  # and the site's notify-none


def test_nagios_accepts_the_example_services_uncommented(plugin_env: PluginEnv) -> None:
    objects = SITE_OBJECTS + shipped_objects(uncommented_examples())

    result = _nagios_verify(objects, plugin_env.resource_file)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "Total Errors:   0" in result.stdout
    assert "Total Warnings: 0" in result.stdout
    services = int(re.search(r"Checked (\d+) services", result.stdout)[1])  # type: ignore[index]
    assert services >= 6


# ------------------------------------------------------------------------- ZooKeeper


def test_nagios_follows_the_zookeeper_quorum_through_member_failures(
    nagios_factory: NagiosFactory, plugin_env: PluginEnv, zookeeper_ensemble: ZooKeeperEnsemble,
) -> None:
    host, description = "zk-ensemble", "ZooKeeper quorum"
    command = f"check_cw_zookeeper_quorum!{','.join(zookeeper_ensemble.hosts)}!-t 5"
    assert "check_cw_zookeeper_quorum" in nagios_commands()
    nagios = start_nagios(
        nagios_factory, plugin_env, host_object(host) + service(host, description, command),
    )

    ok = wait_state(nagios, host, description, "OK")
    assert ok["plugin_output"].startswith("ZOOKEEPER_QUORUM OK - 3/3 members serving")
    assert "members_up=3;3:;2:;0;3" in ok["performance_data"]

    leader = zookeeper_ensemble.leaders()[0]
    followers = [i for i in range(3) if i != leader]
    zookeeper_ensemble.stop_member(followers[0])
    warning = wait_state(nagios, host, description, "WARNING")
    assert "2/3 members serving" in warning["plugin_output"]

    zookeeper_ensemble.stop_member(followers[1])
    critical = wait_state(nagios, host, description, "CRITICAL",
                          output=lambda text: "no quorum" in text)
    assert "2 of 3 voters needed" in critical["plugin_output"]

    zookeeper_ensemble.start_member(followers[0], wait=False)
    zookeeper_ensemble.start_member(followers[1], wait=False)
    zookeeper_ensemble.wait_serving(range(3))
    wait_state(nagios, host, description, "OK",
               output=lambda text: "3/3 members serving" in text)

    # Nagios alerts on state changes (the first OK is not one); both members come back
    # at once, but the check may catch the ensemble with one of them serving already.
    states = alert_states(nagios.alerts(), host, description)
    assert states[:2] == ["WARNING", "CRITICAL"], states
    assert states[-1] == "OK"
    assert set(states[2:-1]) <= {"WARNING"}, states
    nagios.stop()


# --------------------------------------------------------------------------- HAProxy


@pytest.fixture
def balancer(haproxy_factory: HAProxyFactory) -> Iterator[HAProxyServer]:
    """A balancer whose backend ``cwapp`` has four servers, all up (no health checks)."""
    live = FakeServer(reply(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"))
    servers = "\n".join(f"    server s{i} {live.address}" for i in range(1, 5))
    server = haproxy_factory(f"""\
frontend web
    bind 127.0.0.1:{free_port()}
    default_backend cwapp

backend cwapp
{servers}
""")
    yield server
    server.stop()
    live.close()


def test_nagios_sees_haproxy_backend_servers_go_and_come_back(
    nagios_factory: NagiosFactory, plugin_env: PluginEnv, balancer: HAProxyServer,
) -> None:
    host, description = "lb1", "HAProxy backends"
    port_and_path = balancer.stats_url.removeprefix("http://127.0.0.1:")
    command = f"check_cw_haproxy_backends!{port_and_path}!-b ^cwapp -w 100% -c 50% -t 5"
    nagios = start_nagios(
        nagios_factory, plugin_env, host_object(host) + service(host, description, command),
    )

    ok = wait_state(nagios, host, description, "OK")
    assert ok["plugin_output"] == "HAPROXY_BACKENDS OK - 1 backend, 4/4 servers up"
    assert ok["performance_data"] == "cwapp=4;4:;2:;0;4"

    balancer.command("disable server cwapp/s1")
    warning = wait_state(nagios, host, description, "WARNING")
    assert warning["plugin_output"].startswith(
        "HAPROXY_BACKENDS WARNING - cwapp 3/4 up (s1 MAINT), warning minimum 100%"
    )

    balancer.command("disable server cwapp/s2")
    balancer.command("disable server cwapp/s3")
    critical = wait_state(nagios, host, description, "CRITICAL")
    assert "cwapp 1/4 up" in critical["plugin_output"]
    assert "critical minimum 50%" in critical["plugin_output"]

    for name in ("s1", "s2", "s3"):
        balancer.command(f"enable server cwapp/{name}")
    wait_state(nagios, host, description, "OK")

    assert alert_states(nagios.alerts(), host, description) == ["WARNING", "CRITICAL", "OK"]
    log = nagios.nagios_log()
    assert f"SERVICE ALERT: {host};{description};CRITICAL;HARD;1;HAPROXY_BACKENDS" in log
    nagios.stop()


# ----------------------------------------------------------------------------- Mesos


def test_nagios_sees_a_mesos_master_fail_over_and_a_standby_claiming_to_lead(
    nagios_factory: NagiosFactory, plugin_env: PluginEnv, zookeeper_ensemble: ZooKeeperEnsemble,
    make_sim_cluster: Callable[..., Cluster],
) -> None:
    cluster = make_sim_cluster(agents=3, apps=1, zookeeper=zookeeper_ensemble.connect_string)
    by_url, by_zk = "Mesos masters", "Mesos masters in ZooKeeper"
    zk_hosts = ",".join(zookeeper_ensemble.hosts)
    objects = [
        host_object("t1-mesos"),
        service("t1-mesos", by_url, f"check_cw_mesos_quorum!{','.join(cluster.master_urls)}!-t 5"),
        service("t1-mesos", by_zk, f"check_cw_mesos_quorum_zk!{zk_hosts}!--masters 3 -t 5"),
    ]
    nagios = start_nagios(nagios_factory, plugin_env, "\n".join(objects))
    first = cluster.leader_url
    assert first is not None

    for description in (by_url, by_zk):
        ok = wait_state(nagios, "t1-mesos", description, "OK")
        assert f"leader {first}" in ok["plugin_output"], ok["plugin_output"]
        assert "masters_up=3;3:;2:;0;3" in ok["performance_data"]

    second = cluster.fail_over_master()
    assert second != first
    for description in (by_url, by_zk):
        wait_state(nagios, "t1-mesos", description, "OK",
                   output=lambda text: f"leader {second}" in text)
    # The fail-over itself (one leader before, one after) is no problem for Nagios.
    assert alert_states(nagios.alerts(), "t1-mesos", by_url) == []

    standby = next(i for i, url in enumerate(cluster.master_urls) if url != second)
    cluster.set_standby_mode(standby, "claims_leader")
    critical = wait_state(nagios, "t1-mesos", by_url, "CRITICAL")
    assert "2 masters claim to lead" in critical["plugin_output"]
    assert "leaders=2;;1:1;0;3" in critical["performance_data"]

    cluster.set_standby_mode(standby, "redirect")
    wait_state(nagios, "t1-mesos", by_url, "OK", output=lambda text: f"leader {second}" in text)

    assert alert_states(nagios.alerts(), "t1-mesos", by_url) == ["CRITICAL", "OK"]
    log = nagios.nagios_log()
    assert f"SERVICE ALERT: t1-mesos;{by_url};CRITICAL;HARD;1;MESOS_QUORUM CRITICAL" in log
    nagios.stop()


def test_plugins_are_run_from_the_macro_directory(plugin_env: PluginEnv) -> None:
    """The resource file the tests give Nagios maps the shipped macro to real scripts."""
    resource = plugin_env.resource_file.read_text()
    assert f"{BIN_MACRO}={plugin_env.bin_dir}" in resource
    for script in plugin_scripts():
        assert os.access(plugin_env.bin_dir / script, os.X_OK), script
