"""The simulator over real HTTP: endpoints, leaders, Marathon scaling, faults, control."""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest
import requests

from clusterwatch.sim import Cluster

pytestmark = pytest.mark.integration

MakeCluster = Callable[..., Cluster]


def get(url: str, **kw: object) -> requests.Response:
    return requests.get(url, timeout=10, **kw)  # type: ignore[arg-type]


def test_each_agent_answers_at_its_own_address(sim_cluster: Cluster) -> None:
    with requests.Session() as session:
        for agent in sim_cluster.agents[:5]:
            state = session.get(agent.mesos + "/slave(1)/state", timeout=10).json()
            assert state["id"] == agent.id
            assert agent.mesos.split("//")[1].startswith(state["hostname"])


def test_standby_master_redirects_cluster_endpoints_to_the_leader(sim_cluster: Cluster) -> None:
    standby = sim_cluster.master_urls[1]
    r = get(standby + "/master/state", allow_redirects=False)
    assert r.status_code == 307
    leader = get(standby + "/master/state").json()
    assert leader["leader"] == leader["pid"]
    redirect = get(standby + "/master/redirect", allow_redirects=False)
    assert redirect.headers["Location"] == "//" + sim_cluster.master_urls[0].split("//")[1]


def test_standby_snapshot_says_not_elected(sim_cluster: Cluster) -> None:
    assert get(sim_cluster.master_urls[0] + "/metrics/snapshot").json()["master/elected"] == 1.0
    assert get(sim_cluster.master_urls[2] + "/metrics/snapshot").json()["master/elected"] == 0.0


def test_flags_name_a_valid_quorum(sim_cluster: Cluster) -> None:
    quorum = int(get(sim_cluster.master_urls[0] + "/flags").json()["flags"]["quorum"])
    masters = len(sim_cluster.master_urls)
    assert quorum <= masters < 2 * quorum


def test_marathon_standby_proxies_to_the_leader(sim_cluster: Cluster) -> None:
    r = get(sim_cluster.marathon_urls[1] + "/v2/apps")
    assert r.status_code == 200 and r.json()["apps"]
    assert r.headers["X-Marathon-Leader"] == sim_cluster.marathon_urls[0]
    assert get(sim_cluster.marathon_urls[2] + "/v2/leader").json()["leader"] == (
        sim_cluster.marathon_urls[0].split("//")[1])
    assert get(sim_cluster.marathon_urls[1] + "/ping").text == "pong"


def test_embeds_add_tasks_and_stats(sim_cluster: Cluster) -> None:
    url = sim_cluster.marathon_urls[0] + "/v2/apps?embed=apps.tasks&embed=apps.taskStats"
    app = get(url).json()["apps"][0]
    assert app["tasks"] and app["tasks"][0]["state"] in ("TASK_RUNNING", "TASK_STAGING")
    assert "totalSummary" in app["taskStats"]
    plain = get(sim_cluster.marathon_urls[0] + "/v2/apps").json()["apps"][0]
    assert "tasks" not in plain and "tasksRunning" in plain


def test_unknown_paths_and_apps_get_real_looking_errors(sim_cluster: Cluster) -> None:
    assert get(sim_cluster.master_urls[0] + "/nope").status_code == 404
    missing = get(sim_cluster.marathon_urls[0] + "/v2/apps/no/such/app")
    assert missing.status_code == 404
    assert missing.json()["message"] == "App '/no/such/app' does not exist"


def test_scaling_over_http_conflicts_during_a_deployment(make_sim_cluster: MakeCluster) -> None:
    c = make_sim_cluster(clock_speed=0.0)
    url = c.marathon_urls[0] + "/v2/apps/web/frontend"
    before = get(url).json()["app"]["versionInfo"]["lastScalingAt"]
    c.advance(1)
    first = requests.put(url, json={"instances": 9}, timeout=10)
    assert first.status_code == 200 and first.json()["deploymentId"]
    second = requests.put(url, json={"instances": 2}, timeout=10)
    assert second.status_code == 409
    assert second.json()["deployments"] == [{"id": first.json()["deploymentId"]}]
    deployments = get(c.marathon_urls[0] + "/v2/deployments").json()
    assert [d["id"] for d in deployments] == [first.json()["deploymentId"]]
    c.advance(10)
    assert get(c.marathon_urls[0] + "/v2/deployments").json() == []
    app = get(url).json()["app"]
    assert app["tasksRunning"] == 9
    assert app["versionInfo"]["lastScalingAt"] != before


def test_scaling_beyond_capacity_fills_the_queue(make_sim_cluster: MakeCluster) -> None:
    c = make_sim_cluster(agents=2, apps=1, clock_speed=0.0)
    requests.put(c.marathon_urls[0] + "/v2/apps/web/frontend", json={"instances": 5000},
                 timeout=10)  # fmt: skip
    queue = get(c.marathon_urls[0] + "/v2/queue").json()["queue"]
    assert queue[0]["app"]["id"] == "/web/frontend" and queue[0]["count"] > 0


def test_failover_moves_the_leader(make_sim_cluster: MakeCluster) -> None:
    c = make_sim_cluster()
    new = c.fail_over_master()
    assert new == c.master_urls[1]
    assert get(c.master_urls[0] + "/metrics/snapshot").json()["master/elected"] == 0.0
    assert get(c.master_urls[0] + "/master/state").json()["pid"].endswith(new.split("//")[1])


def test_lost_agent_stops_answering_and_master_marks_it(make_sim_cluster: MakeCluster) -> None:
    c = make_sim_cluster()
    agent = c.agents[0]
    c.lose_agent(agent.id)
    with pytest.raises(requests.ConnectionError):
        get(agent.mesos + "/health")
    slaves = get(c.master_urls[0] + "/master/slaves").json()["slaves"]
    assert next(s for s in slaves if s["id"] == agent.id)["active"] is False
    c.remove_agent(agent.id)
    slaves = get(c.master_urls[0] + "/master/slaves").json()["slaves"]
    assert agent.id not in {s["id"] for s in slaves}


@pytest.mark.parametrize(
    ("kind", "params", "check"),
    [
        ("error", {}, lambda r: r.status_code == 500),
        ("html", {}, lambda r: r.status_code == 502 and r.text.startswith("<html>")),
        ("truncate", {}, lambda r: r.status_code == 200 and not r.text.endswith("}")),
        ("huge", {"bytes": 3_000_000}, lambda r: len(r.content) >= 3_000_000),
    ],
)
def test_response_faults_break_only_their_scope(
    make_sim_cluster: MakeCluster, kind: str, params: dict[str, object],
    check: Callable[[requests.Response], bool],
) -> None:  # fmt: skip
    c = make_sim_cluster()
    target = c.agents[1]
    c.inject(kind, role="agent", host=target.mesos, path="/metrics", **params)
    assert check(get(target.mesos + "/metrics/snapshot"))
    assert get(c.agents[2].mesos + "/metrics/snapshot").json()["slave/registered"] == 1.0
    assert get(target.mesos + "/state").status_code == 200


def test_reset_and_hang_faults(make_sim_cluster: MakeCluster) -> None:
    c = make_sim_cluster()
    c.inject("reset", role="master", count=1)
    with pytest.raises(requests.ConnectionError):
        get(c.master_urls[0] + "/health")
    assert get(c.master_urls[0] + "/health").status_code == 200  # count ran out
    c.inject("hang", role="marathon")
    with pytest.raises(requests.Timeout):
        requests.get(c.marathon_urls[0] + "/v2/info", timeout=0.5)


def test_control_endpoint_drives_faults_and_failover(make_sim_cluster: MakeCluster) -> None:
    c = make_sim_cluster()
    ctl = c.control_url + "/control"
    fault = requests.post(ctl + "/faults", json={"kind": "error", "role": "marathon",
                                                 "params": {"status": 503}}, timeout=10)
    assert fault.status_code == 200
    assert get(c.marathon_urls[0] + "/v2/apps").status_code == 503
    assert requests.delete(ctl + "/faults", timeout=10).status_code == 200
    assert get(c.marathon_urls[0] + "/v2/apps").status_code == 200
    moved = requests.post(ctl + "/marathon/failover", json={}, timeout=10).json()
    assert get(c.marathon_urls[0] + "/v2/leader").json()["leader"] == moved["leader"][7:]
    bad = requests.post(ctl + "/faults", json={"kind": "meteor"}, timeout=10)
    assert bad.status_code == 400 and "unknown fault kind" in bad.json()["message"]


def test_snapshot_rate_limit_answers_429(make_sim_cluster: MakeCluster) -> None:
    c = make_sim_cluster(snapshot_rate_limit=0.001)
    codes = [get(c.master_urls[0] + "/metrics/snapshot").status_code for _ in range(3)]
    assert codes[0] == 200 and 429 in codes


def test_non_loopback_clients_are_refused(sim_cluster: Cluster) -> None:
    addresses = {a[4][0] for a in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)}
    outside = [a for a in addresses if not a.startswith("127.")]
    if not outside:
        pytest.skip("this machine has no non-loopback IPv4 address")
    port = sim_cluster.master_urls[0].rsplit(":", 1)[1]
    with pytest.raises(requests.ConnectionError):
        get(f"http://{outside[0]}:{port}/health")


def test_keep_alive_serves_many_requests_on_one_connection(sim_cluster: Cluster) -> None:
    with requests.Session() as session:
        for _ in range(20):
            assert session.get(sim_cluster.agents[0].mesos + "/health", timeout=10).ok
