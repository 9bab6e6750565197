"""A real HAProxy in front of the simulated apps: marathon-lb's config, real task listeners.

The simulator generates haproxy.cfg from its apps and tasks and serves each task on its
agent's loopback address and host port; HAProxy (Debian 2.6) balances, checks and logs.
"""

from __future__ import annotations

import random
import re
import socket
import time
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

import pytest
import requests

from clusterwatch.sim import Cluster
from clusterwatch.sim.haproxy_config import backend_name, server_name
from tests.services.fixtures import HAProxyFactory
from tests.services.servers import HAProxyServer, wait_for

pytestmark = pytest.mark.integration

MakeCluster = Callable[..., Cluster]
APPS = 4  # web/frontend (2 ports), api/orders, api/users (checked), batch/indexer (no check)
# rsyslog line: ... haproxy[pid]: client:port [accept date] frontend backend/server timers
# status bytes ... "GET /uri HTTP/1.1"
LOG_LINE = re.compile(
    r"\] (?P<frontend>\S+) (?P<backend>\S+)/(?P<server>\S+) [-\d]+/[-\d]+/[-\d]+/[-\d]+/\+?\d+ "
    r"(?P<status>\d{3}) .*\"(?P<method>[A-Z]+) (?P<uri>\S+) HTTP/1\.[01]\""
)
PATHS = ("/", "/api/items", "/api/fail", "/no/such/page")


def free_service_ports(count: int) -> int:
    """A base port with ``count`` consecutive ports free on 127.0.0.1 (checked by binding)."""
    rng = random.Random()
    for _ in range(200):
        base = rng.randrange(20000, 30000, 2)
        with ExitStack() as stack:
            try:
                for port in range(base, base + count):
                    sock = stack.enter_context(socket.socket())
                    sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        return base
    raise RuntimeError("no block of free ports on 127.0.0.1")


def rows(haproxy: HAProxyServer) -> dict[tuple[str, str], dict[str, str]]:
    return {(r["pxname"], r["svname"]): r for r in haproxy.show_stat()}


def servers(haproxy: HAProxyServer) -> dict[tuple[str, str], dict[str, str]]:
    return {k: r for k, r in rows(haproxy).items() if k[1] not in ("FRONTEND", "BACKEND")}


def checked(row: dict[str, str]) -> bool:
    return row["status"] != "no check"


def wait_all_up(haproxy: HAProxyServer) -> dict[tuple[str, str], dict[str, str]]:
    def all_up() -> bool:
        current = servers(haproxy)
        return bool(current) and all(
            r["status"] == "UP" and r["check_status"] == "L7OK"
            for r in current.values() if checked(r)
        )  # fmt: skip

    wait_for(all_up, 30, "every checked server UP (L7OK)")
    return servers(haproxy)


def tasks_by_server(cluster: Cluster) -> dict[str, dict[str, Any]]:
    """marathon-lb server name → task, from Marathon's /v2/tasks."""
    leader = cluster.marathon_leader_url
    assert leader is not None
    tasks = requests.get(leader + "/v2/tasks", timeout=10).json()["tasks"]
    return {server_name(t["host"], port): t for t in tasks for port in t["ports"]}


def frontends(cluster: Cluster) -> dict[str, int]:
    assert cluster.sim is not None
    return {backend_name(app.id, port): port
            for app in cluster.sim.apps.values() for port in app.service_ports}  # fmt: skip


def send(frontend_port: int, path: str) -> requests.Response:
    return requests.get(f"http://127.0.0.1:{frontend_port}{path}", timeout=10)


@pytest.fixture
def lb(
    make_sim_cluster: MakeCluster, haproxy_factory: HAProxyFactory
) -> tuple[Cluster, HAProxyServer]:
    base = free_service_ports(2 * APPS)
    cluster = make_sim_cluster(agents=4, apps=APPS, seed=3, task_listeners=True,
                               service_port_base=base)  # fmt: skip
    haproxy = haproxy_factory(cluster.haproxy_config(inter=1, fall=2))
    return cluster, haproxy


def test_every_backend_server_is_up_and_counts_requests(lb: tuple[Cluster, HAProxyServer]
                                                        ) -> None:  # fmt: skip
    cluster, haproxy = lb
    up = wait_all_up(haproxy)
    names = tasks_by_server(cluster)
    for backend, server in up:
        assert server in names, f"{backend}/{server} is not a task Marathon knows"
        assert backend.startswith(str(names[server]["appId"])[1:].replace("/", "_") + "_")
    assert {b for b, _ in up} == set(frontends(cluster))
    assert any(checked(r) for r in up.values()) and any(not checked(r) for r in up.values())

    def totals() -> dict[str, int]:
        return {b: int(rows(haproxy)[(b, "BACKEND")]["stot"]) for b in frontends(cluster)}

    before = totals()
    for port in frontends(cluster).values():
        for path in PATHS:
            send(port, path)
    after = totals()
    assert all(after[b] >= before[b] + len(PATHS) for b in before), (before, after)


def test_log_lines_name_the_task_that_served_the_request(lb: tuple[Cluster, HAProxyServer]
                                                         ) -> None:  # fmt: skip
    cluster, haproxy = lb
    wait_all_up(haproxy)
    port = frontends(cluster)[backend_name("/web/frontend", cluster.config.service_port_base)]
    served_by: dict[str, str] = {}
    for n in range(12):
        uri = f"/?request={n}"
        body = send(port, uri).text
        served_by[uri] = re.search(r"task (\S+) on", body)[1]  # type: ignore[index]
    statuses = {send(port, path).status_code for path in PATHS}
    assert statuses == {200, 404, 500}

    haproxy.wait_for_log("/?request=11")
    names = tasks_by_server(cluster)
    seen: dict[str, str] = {}
    for line in haproxy.log_path.read_text().splitlines():
        match = LOG_LINE.search(line)
        if match and match["uri"] in served_by:
            assert match["backend"] == backend_name("/web/frontend", port)
            seen[match["uri"]] = str(names[match["server"]]["id"])
    assert seen == served_by  # log line → server → Marathon task == the task that answered
    assert len(set(seen.values())) > 1  # round robin over several tasks


def test_losing_an_agent_takes_its_servers_down(lb: tuple[Cluster, HAProxyServer]) -> None:
    cluster, haproxy = lb
    up = wait_all_up(haproxy)
    names = tasks_by_server(cluster)
    _, server = next(k for k, r in sorted(up.items()) if checked(r))
    victim = names[server]
    cluster.lose_agent(str(victim["slaveId"]))
    assert (str(victim["host"]), int(victim["ports"][0])) not in cluster.task_endpoints()
    gone = [k for k, r in up.items() if checked(r) and names[k[1]]["host"] == victim["host"]]

    def down() -> bool:
        now = servers(haproxy)
        return all(now[k]["status"] == "DOWN" for k in gone)

    wait_for(down, 30, "the lost agent's servers DOWN")
    others = servers(haproxy)
    assert all(others[k]["status"] == "UP" for k in up if checked(up[k]) and k not in gone)


def test_regenerated_config_after_scaling_shows_the_new_servers(
    lb: tuple[Cluster, HAProxyServer],
) -> None:
    cluster, haproxy = lb
    before = wait_all_up(haproxy)
    app = cluster.sim.apps["/api/orders"] if cluster.sim else None
    assert app is not None
    backend = backend_name(app.id, app.service_ports[0])
    old = {s for b, s in before if b == backend}
    cluster.scale(app.id, app.instances + 2)
    cluster.advance(cluster.config.staging_seconds + 1)  # the new tasks start running
    haproxy.reload(cluster.haproxy_config(inter=1, fall=2))
    after = wait_all_up(haproxy)
    new = {s for b, s in after if b == backend}
    assert old < new and len(new) == len(old) + 2
    names = tasks_by_server(cluster)
    assert all(names[s]["appId"] == app.id for s in new)
    port = app.service_ports[0]
    deadline = time.monotonic() + 30
    while not all(int(after[(backend, s)]["stot"]) > 0 for s in new - old):
        assert time.monotonic() < deadline, "round robin never reached the new servers"
        send(port, "/")
        after = servers(haproxy)
