"""The simulation engine: placement, queue, scaling, load, counters, leaders."""

from __future__ import annotations

import pytest

from clusterwatch.sim import load
from clusterwatch.sim.engine import DeploymentConflict, SimConfig, Simulation
from clusterwatch.sim.model import AgentState, TaskState

START = 1_700_000_000.0


def make(**kw: object) -> Simulation:
    config = SimConfig(start_time=START, clock_speed=0.0, **kw)  # type: ignore[arg-type]
    return Simulation(config)


def test_same_seed_builds_the_same_cluster() -> None:
    a, b = make(seed=7), make(seed=7)
    assert list(a.tasks) == list(b.tasks)
    assert [x.id for x in a.agents] == [x.id for x in b.agents]
    assert list(make(seed=8).tasks) != list(a.tasks)


def test_ids_look_like_mesos_and_marathon_ids() -> None:
    sim = make()
    assert sim.agents[3].id == f"{sim.cluster_id}-S3"
    app = next(iter(sim.apps.values()))
    task = sim.tasks[app.task_ids[0]]
    assert app.id.startswith("/")
    assert task.id.startswith(app.id.strip("/").replace("/", "_") + ".")
    assert len(task.container_id) == 36 and len(task.docker_id) == 64


def test_placement_never_exceeds_an_agents_capacity() -> None:
    sim = make(agents=3, apps=8)
    sim.scale("/web/frontend", 500)
    for agent in sim.agents:
        assert agent.used_cpus <= agent.resources.cpus + 1e-9
        assert agent.used_mem <= agent.resources.mem + 1e-9
        assert len(agent.used_ports) == len(set(agent.used_ports))


def test_instances_that_do_not_fit_wait_in_the_queue() -> None:
    sim = make(agents=2, apps=1)
    app = next(iter(sim.apps.values()))
    capacity_cpus = sum(a.resources.cpus for a in sim.agents)
    wanted = int(capacity_cpus / app.cpus) + 10
    sim.scale(app.id, wanted)
    assert sim.queued(app) >= 10
    assert app.queued_since is not None


def test_queue_drains_when_capacity_comes_back() -> None:
    sim = make(agents=2, apps=1)
    app = next(iter(sim.apps.values()))
    sim.lose_agent(sim.agents[1].id)
    sim.scale(app.id, int(sim.agents[0].resources.cpus / app.cpus) + 3, force=True)
    assert sim.queued(app) > 0
    sim.restore_agent(sim.agents[1].id)
    assert sim.queued(app) == 0


def test_scaling_out_lowers_the_load_per_instance() -> None:
    sim = make(agents=10, apps=1, app_loads={"/web/frontend": "constant:0.05"})
    app = sim.apps["/web/frontend"]
    sim.scale(app.id, 1, force=True)
    sim.advance(10)
    before = app.per_instance_usage(sim.elapsed(sim.now()))
    sim.scale(app.id, 5, force=True)
    sim.advance(10)
    after = app.per_instance_usage(sim.elapsed(sim.now()))
    assert app.running == 5
    assert after == pytest.approx(before / 5)


def test_per_instance_load_is_capped_at_the_cpu_limit() -> None:
    sim = make(agents=4, apps=1, app_loads={"/web/frontend": "constant:100"})
    app = sim.apps["/web/frontend"]
    sim.advance(60)
    task = sim.tasks[app.task_ids[0]]
    cores, _, throttled = sim.task_usage(task, sim.now())
    assert cores <= app.cpus * task.jitter + 1e-9
    assert throttled > 0


def test_cpu_time_only_grows() -> None:
    sim = make(apps=3)
    tasks = list(sim.tasks.values())
    seen = [sim.task_usage(t, sim.now())[1] for t in tasks]
    for step in range(5):
        sim.advance(30)
        if step == 2:
            sim.scale("/web/frontend", 1, force=True)
        now_values = [sim.task_usage(t, sim.now())[1] for t in tasks]
        assert all(b >= a for a, b in zip(seen, now_values, strict=True))
        seen = now_values


def test_staged_tasks_run_after_the_staging_time() -> None:
    sim = make(staging_seconds=5.0)
    sim.scale("/web/frontend", sim.apps["/web/frontend"].instances + 1)
    staged = [t for t in sim.tasks.values() if t.state is TaskState.STAGING]
    assert len(staged) == 1
    sim.advance(4)
    assert staged[0].state is TaskState.STAGING
    sim.advance(2)
    assert staged[0].state is TaskState.RUNNING


def test_a_second_scale_during_a_deployment_conflicts_unless_forced() -> None:
    sim = make()
    first = sim.scale("/web/frontend", 8)
    with pytest.raises(DeploymentConflict) as caught:
        sim.scale("/web/frontend", 2)
    assert caught.value.deployment_ids == [first.id]
    assert sim.scale("/web/frontend", 2, force=True).id != first.id


def test_deployment_finishes_once_tasks_run_and_stuck_ones_never_do() -> None:
    sim = make()
    sim.scale("/web/frontend", 7)
    sim.advance(10)
    assert sim.apps["/web/frontend"].deployment_id is None
    sim.set_stuck("/api/orders")
    sim.scale("/api/orders", 1)
    sim.advance(3600)
    assert sim.apps["/api/orders"].deployment_id is not None


def test_every_scale_moves_last_scaling_at() -> None:
    sim = make()
    app = sim.apps["/web/frontend"]
    stamps = []
    for n in (3, 4, 5):
        sim.advance(1)
        sim.scale(app.id, n, force=True)
        stamps.append(app.last_scaling_at)
    assert stamps == sorted(set(stamps))


def test_lost_agent_tasks_are_replaced_elsewhere() -> None:
    sim = make(agents=5, apps=3)
    victim = next(a for a in sim.agents if a.tasks)
    lost = len(victim.tasks)
    sim.lose_agent(victim.id)
    assert victim.state is AgentState.LOST and not victim.tasks
    assert sim.events["tasks_lost"] == lost
    assert all(sim.queued(app) == 0 for app in sim.apps.values())


def test_flapping_app_fails_tasks_on_schedule() -> None:
    sim = make()
    sim.set_flapping("/web/frontend", 30.0)
    sim.advance(95)
    assert sim.events["tasks_failed"] == 3
    assert sim.apps["/web/frontend"].last_failure is not None


def test_failover_elects_another_master_and_restarts_the_old_one() -> None:
    sim = make()
    old = sim.leader()
    assert old is not None
    old_id = old.id
    new = sim.fail_over_master()
    assert new is not old and sim.leader() is new
    assert old.elected_time is None and old.id != old_id


@pytest.mark.parametrize(
    ("spec", "at", "expected"),
    [
        ("constant:2", 100, 2.0),
        ("step:1,4,600", 599, 1.0),
        ("step:1,4,600", 600, 4.0),
        ("spike:0.5,4,900,60", 30, 4.0),
        ("spike:0.5,4,900,60", 400, 0.5),
        ("sine:2,1,3600", 900, 3.0),
    ],
)
def test_load_models(spec: str, at: float, expected: float) -> None:
    assert load.parse_load(spec).demand(at) == pytest.approx(expected)


def test_trace_load_interpolates_a_csv(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "trace.csv"
    path.write_text("seconds,cores\n0,1\n100,3\n200,1\n")
    model = load.parse_load(f"trace:{path}")
    assert model.demand(50) == pytest.approx(2.0)
    assert model.demand(250) == pytest.approx(2.0)  # repeats


def test_unknown_load_model_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown load model"):
        load.parse_load("zigzag:1")
