"""Every collector through ``run_cycle`` against the simulator: the values, not just points.

The simulated clock is frozen (``clock_speed=0``) so that what the collectors read and what
the model says can be compared exactly; expected values come from the model (``cluster.sim``)
or, for Marathon and Chronos, from the JSON the collector itself reads. Every emitted point
is checked against the schema catalog.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
import requests

from clusterwatch.collectors import catalog
from clusterwatch.core.config_schema import ClusterConfig, Config, HttpConfig, SourceConfig
from clusterwatch.core.http import Http
from clusterwatch.core.point import Point
from clusterwatch.scheduler.cycle import CycleReport, run_cycle
from clusterwatch.sim import Cluster
from clusterwatch.sim.model import AgentState, TaskState

pytestmark = pytest.mark.integration

MakeCluster = Callable[..., Cluster]
FAST = HttpConfig(connect_timeout_seconds=2, read_timeout_seconds=5, retries=0)


def sim_config(cluster: Cluster, **sources: SourceConfig) -> Config:
    """A config whose [cluster] points at the simulator; cAdvisor at the sim's port."""
    assert cluster.ports is not None
    chosen = dict(sources)
    if "cadvisor" in chosen and not chosen["cadvisor"].targets:
        chosen["cadvisor"] = SourceConfig(targets=(f"http://{{ip}}:{cluster.ports.cadvisor}",))
    return Config(
        cluster=ClusterConfig(
            name="sim",
            mesos_masters=tuple(cluster.master_urls),
            marathon=tuple(cluster.marathon_urls),
            consul=cluster.consul_url,
            chronos=cluster.chronos_url or "",
        ),
        http=FAST,
        sources=chosen,
    )


def collect(cluster: Cluster, name: str, **kw: Any) -> CycleReport:
    config = sim_config(cluster, **{name: SourceConfig()})
    with Http(config.http) as http:
        report = run_cycle(name, config, http, **kw)
    assert catalog.problems(report.result.points) == []
    return report


def of(points: Sequence[Point], measurement: str) -> list[Point]:
    return [p for p in points if p.measurement == measurement]


@pytest.fixture(scope="module")
def frozen() -> Iterator[Cluster]:
    """A cluster whose clock stands still: every read sees the same moment."""
    with Cluster(agents=12, apps=6, seed=7, clock_speed=0) as cluster:
        yield cluster


def running_tasks(cluster: Cluster) -> list[Any]:
    assert cluster.sim is not None
    return [t for t in cluster.sim.tasks.values() if t.state is TaskState.RUNNING]


# -- Mesos masters ---------------------------------------------------------------------------


def test_mesos_cluster_totals_are_the_sums_over_the_agents(frozen: Cluster) -> None:
    report = collect(frozen, "mesos_master")
    assert report.result.errors == [] and report.result.targets_total == 3
    sim = frozen.sim
    assert sim is not None
    active = [a for a in sim.agents if a.state is AgentState.ACTIVE]
    [cluster] = of(report.result.points, "mesos_cluster")
    fields = cluster.fields
    assert fields["cpus_total"] == sum(a.resources.cpus for a in active)
    assert fields["cpus_used"] == pytest.approx(sum(a.used_cpus for a in active))
    assert fields["mem_total_bytes"] == sum(a.resources.mem for a in active) * 1024 * 1024
    assert fields["gpus_total"] == sum(a.resources.gpus for a in active)
    assert fields["agents_active"] == len(active) == 12
    assert fields["tasks_running"] == len(running_tasks(frozen))
    ratio = float(fields["cpus_used"]) / float(fields["cpus_total"])
    assert fields["cpus_used_ratio"] == pytest.approx(ratio)
    assert cluster.tags == {"cluster": "sim"}
    masters = of(report.result.points, "mesos_master")
    assert sorted(p.tags["host"] for p in masters) == sorted(m.ip for m in sim.masters)
    leader = sim.leader()
    assert leader is not None
    assert {p.tags["host"]: p.fields["leader"] for p in masters} == {
        m.ip: m is leader for m in sim.masters
    }
    assert {p.tags["host"]: p.fields["elected"] for p in masters} == {
        m.ip: m is leader for m in sim.masters
    }
    frameworks = {p.tags["framework"]: p for p in of(report.result.points, "mesos_framework")}
    assert set(frameworks) == {"marathon", "chronos"}
    marathon_tasks = [t for t in sim.tasks.values() if t.framework_id == sim.marathon_framework.id]
    assert frameworks["marathon"].fields["tasks"] == len(marathon_tasks)
    assert frameworks["marathon"].fields["cpus_used"] == pytest.approx(
        sum(sim.apps[t.app_id].cpus for t in marathon_tasks)
    )
    self_point = report.self_metrics("sim")
    assert self_point.fields["targets_up"] == self_point.fields["targets_total"] == 3.0


# -- Mesos agents ----------------------------------------------------------------------------


def test_every_agent_and_executor_with_its_app_and_host(frozen: Cluster) -> None:
    report = collect(frozen, "mesos_agent")
    assert report.result.errors == []
    sim = frozen.sim
    assert sim is not None
    agents = {p.tags["host"]: p for p in of(report.result.points, "mesos_agent")}
    assert set(agents) == {a.hostname for a in sim.agents}
    assert report.result.targets_total == len(sim.agents)
    for agent in sim.agents:
        fields = agents[agent.hostname].fields
        assert fields["agent_id"] == agent.id
        assert fields["active"] is True and fields["registered"] is True
        assert fields["cpus_total"] == agent.resources.cpus
        assert fields["cpus_used"] == pytest.approx(agent.used_cpus)
        running = [t for t in agent.tasks.values() if t.state is TaskState.RUNNING]
        assert fields["tasks_running"] == len(running)
    executors = of(report.result.points, "mesos_executor")
    assert len(executors) == len(sim.tasks)
    for point in executors:
        task = sim.tasks[str(point.fields["task_id"])]
        assert point.tags["app"] == task.app_id  # the Marathon app of its task
        assert point.tags["host"] == task.host
        assert point.tags["framework"] == "marathon"
        assert point.fields["cpus_limit"] == pytest.approx(sim.apps[task.app_id].cpus + 0.1)
        cpu = float(point.fields["cpu_user_seconds_total"]) + float(
            point.fields["cpu_system_seconds_total"]
        )
        assert cpu == pytest.approx(sim.task_usage(task, sim.now())[1], abs=0.02)


def test_agents_another_daemon_owns_are_skipped(frozen: Cluster) -> None:
    sim = frozen.sim
    assert sim is not None
    mine = {a.id for a in sim.agents[::3]}
    report = collect(frozen, "mesos_agent", owns_agent=mine.__contains__)
    hosts = {p.tags["host"] for p in report.result.points}
    assert hosts == {a.hostname for a in sim.agents if a.id in mine}
    assert report.result.targets_total == len(mine)
    cadvisor = collect(frozen, "cadvisor", owns_agent=mine.__contains__)
    assert {p.tags["host"] for p in cadvisor.result.points} == hosts
    assert cadvisor.result.targets_total == len(mine)


# -- cAdvisor --------------------------------------------------------------------------------


def test_cadvisor_containers_joined_to_their_app_and_agent(frozen: Cluster) -> None:
    report = collect(frozen, "cadvisor")
    assert report.result.errors == []
    sim = frozen.sim
    assert sim is not None
    assert report.result.targets_total == len(sim.agents)
    points = of(report.result.points, "cadvisor_container")
    by_task = {str(p.fields["task_id"]): p for p in points}
    started = [t for t in sim.tasks.values() if t.started_at is not None]
    assert set(by_task) == {t.id for t in started} and len(points) == len(started)
    now = sim.now()
    for task in started:
        point = by_task[task.id]
        app = sim.apps[task.app_id]
        assert point.tags == {"cluster": "sim", "host": task.host, "app": task.app_id}
        assert point.fields["mesos_container_id"] == task.container_id
        assert point.fields["container_id"] == task.docker_id
        assert point.fields["image"] == app.image
        assert point.fields["cpu_shares"] == int(app.cpus * 1024)
        cores, cpu_seconds, _ = sim.task_usage(task, now)
        # the rate from the newest two samples is the load model's current usage
        assert point.fields["cpu_usage_cores"] == pytest.approx(cores, abs=1e-6)
        assert 0 < float(point.fields["cpu_usage_cores"]) <= app.cpus * 1.15 + 1e-9
        assert point.fields["cpu_usage_seconds_total"] == pytest.approx(cpu_seconds, abs=1e-6)


def test_cpu_usage_cores_follows_a_constant_load(make_sim_cluster: MakeCluster) -> None:
    """A constant demand spread over the instances: each container's rate is its share."""
    cluster = make_sim_cluster(agents=6, apps=3, seed=4, clock_speed=0,
                               app_loads={"/web/frontend": "constant:0.3"})  # fmt: skip
    sim = cluster.sim
    assert sim is not None
    app = sim.apps["/web/frontend"]
    report = collect(cluster, "cadvisor")
    mine = [p for p in report.result.points if p.tags.get("app") == app.id]
    assert len(mine) == app.running > 0
    share = min(app.cpus, 0.3 / app.running)
    for point in mine:
        jitter = sim.tasks[str(point.fields["task_id"])].jitter
        assert point.fields["cpu_usage_cores"] == pytest.approx(share * jitter, abs=1e-6)
    total = math.fsum(float(p.fields["cpu_usage_cores"]) for p in mine)
    assert total == pytest.approx(min(0.3, app.cpus * app.running), rel=0.16)


# -- Marathon --------------------------------------------------------------------------------


def test_marathon_apps_match_v2_apps(frozen: Cluster) -> None:
    report = collect(frozen, "marathon")
    assert report.result.errors == []
    leader = frozen.marathon_leader_url
    assert leader is not None
    apps = requests.get(leader + "/v2/apps?embed=apps.counts", timeout=10).json()["apps"]
    points = {p.tags["app"]: p for p in of(report.result.points, "marathon_app")}
    assert set(points) == {a["id"] for a in apps}
    sim = frozen.sim
    assert sim is not None
    for app in apps:
        fields = points[app["id"]].fields
        assert fields["instances"] == app["instances"] == sim.apps[app["id"]].instances
        assert fields["tasks_running"] == app["tasksRunning"] == sim.apps[app["id"]].running
        assert fields["tasks_staged"] == app["tasksStaged"]
        assert fields["cpus_per_instance"] == app["cpus"]
        assert fields["mem_per_instance_bytes"] == app["mem"] * 1024 * 1024
        assert fields["instances_waiting"] == sim.queued(sim.apps[app["id"]])
    instances = {p.tags["host"]: p for p in of(report.result.points, "marathon")}
    assert set(instances) == {m.ip for m in sim.marathons}
    marathon_leader = sim.marathon_leader()
    assert marathon_leader is not None
    assert [h for h, p in instances.items() if p.fields["leader"]] == [marathon_leader.ip]
    assert instances[marathon_leader.ip].fields["apps"] == len(apps)
    assert report.result.targets_total == 3


def test_marathon_follows_a_leader_change(make_sim_cluster: MakeCluster) -> None:
    cluster = make_sim_cluster(agents=4, apps=2, clock_speed=0)
    new = cluster.change_marathon_leader()
    report = collect(cluster, "marathon")
    leaders = [p.tags["host"] for p in of(report.result.points, "marathon") if p.fields["leader"]]
    assert leaders == [new.split("://", 1)[1].split(":")[0]]
    assert len(of(report.result.points, "marathon_app")) == 2


# -- Consul and Chronos ----------------------------------------------------------------------


def test_consul_leader_present_and_gone(make_sim_cluster: MakeCluster) -> None:
    cluster = make_sim_cluster(agents=4, apps=3, clock_speed=0)
    [point] = of(collect(cluster, "consul").result.points, "consul")
    assert point.fields["leader_present"] is True and point.fields["leader"]
    assert point.fields["raft_peers"] == 3.0
    services = of(collect(cluster, "consul").result.points, "consul_service")
    assert services and all(p.fields["checks_critical"] == 0.0 for p in services)
    cluster.set_consul_leader(False)
    report = collect(cluster, "consul")
    [point] = of(report.result.points, "consul")
    assert point.fields["leader_present"] is False and "leader" not in point.fields
    assert report.result.errors == []


def test_chronos_job_counts_match_the_job_list(frozen: Cluster) -> None:
    report = collect(frozen, "chronos")
    assert report.result.errors == []
    assert frozen.chronos_url is not None
    jobs = requests.get(frozen.chronos_url + "/v1/scheduler/jobs", timeout=10).json()
    points = {p.tags["job"]: p for p in of(report.result.points, "chronos_job")}
    assert set(points) == {j["name"] for j in jobs} and len(points) == 4
    for job in jobs:
        fields = points[job["name"]].fields
        assert fields["successes_total"] == job["successCount"] > 0
        assert fields["errors_total"] == job["errorCount"]
        assert fields["last_status"] == "success"
        # ages count to when the list was read, never negative
        assert float(fields["last_success_age_seconds"]) >= 0.0
        assert fields["last_run_age_seconds"] == fields["last_success_age_seconds"]


# -- everything at once ----------------------------------------------------------------------


def test_every_source_in_one_go_is_clean(sim_cluster: Cluster) -> None:
    names = ["mesos_master", "mesos_agent", "cadvisor", "marathon", "consul", "chronos"]
    config = sim_config(sim_cluster, **{n: SourceConfig() for n in names})
    points: list[Point] = []
    with Http(config.http) as http:
        for name in names:
            report = run_cycle(name, config, http)
            assert report.result.errors == [], name
            points += [*report.result.points, report.self_metrics("sim")]
    assert catalog.problems(points) == []
    counts = Counter(p.measurement for p in points)
    assert counts["clusterwatch"] == len(names)
    assert counts["mesos_agent"] == 10 and counts["mesos_cluster"] == 1
    assert all(p.tags["cluster"] == "sim" for p in points)
