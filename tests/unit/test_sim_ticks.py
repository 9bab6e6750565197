"""Readers advance the model at most once per simulated tick; answers are cached per tick."""

from __future__ import annotations

import itertools
import json

from clusterwatch.sim.engine import SimConfig, Simulation
from clusterwatch.sim.mesos_agent import AgentHost
from clusterwatch.sim.mesos_master import MasterHost
from clusterwatch.sim.model import TaskState
from clusterwatch.sim.wire import Request

SNAPSHOT = Request("GET", "/metrics/snapshot", "/metrics/snapshot", {}, {}, b"", "", 5051)


def frozen(**kw: object) -> Simulation:
    """A simulation whose clock moves only when the test moves it."""
    config = SimConfig(agents=4, apps=3, seed=2, clock_speed=0.0, **kw)  # type: ignore[arg-type]
    return Simulation(config)


def snapshot(host: AgentHost | MasterHost) -> dict[str, float]:
    response = host.handle(SNAPSHOT)
    assert response.status == 200
    result: dict[str, float] = json.loads(response.body)
    return result


def test_time_driven_changes_show_at_the_next_tick_at_their_own_time() -> None:
    sim = frozen(staging_seconds=0.3)
    app = next(iter(sim.apps.values()))
    sim.scale(app.id, app.instances + 1)
    task = sim.tasks[app.task_ids[-1]]
    sim.sync()
    sim.clock.advance(0.5)  # due at 0.3, still inside tick 0
    sim.sync()
    assert task.state is TaskState.STAGING
    sim.clock.advance(0.6)  # tick 1
    sim.sync()
    assert sim.tasks[task.id].state is TaskState.RUNNING
    assert task.started_at == sim.start + 0.3


def test_advance_applies_everything_due_at_once() -> None:
    sim = frozen(staging_seconds=0.3)
    app = next(iter(sim.apps.values()))
    sim.scale(app.id, app.instances + 1)
    sim.advance(0.5)
    assert sim.tasks[app.task_ids[-1]].state is TaskState.RUNNING


def test_snapshot_body_is_reused_within_a_tick_and_rebuilt_after() -> None:
    sim = frozen()
    host = AgentHost(sim, sim.agents[0])
    first = host.handle(SNAPSHOT).body
    sim.clock.advance(0.4)
    assert host.handle(SNAPSHOT).body is first
    sim.advance(1.0)
    assert host.handle(SNAPSHOT).body != first


def test_a_change_inside_the_tick_shows_at_once() -> None:
    sim = frozen()
    agent = sim.agents[0]
    host = AgentHost(sim, agent)
    before = snapshot(host)
    app = sim.apps[next(iter(agent.tasks.values())).app_id]
    sim.scale(app.id, app.instances + len(sim.agents))  # at least one lands here
    after = snapshot(host)
    assert after["slave/tasks_staging"] > before["slave/tasks_staging"]
    assert after["slave/tasks_staging"] == sum(
        1 for t in agent.tasks.values() if t.state is TaskState.STAGING)


def test_counters_never_go_back_across_ticks_and_changes() -> None:
    sim = frozen()
    agent_host, master_host = AgentHost(sim, sim.agents[1]), MasterHost(sim, sim.masters[0])
    counters = ("slave/uptime_secs", "slave/tasks_killed", "slave/executors_terminated",
                "containerizer/fetcher/task_fetches_succeeded")  # fmt: skip
    master_counters = ("master/uptime_secs", "master/tasks_killed", "master/tasks_lost")
    app = next(iter(sim.apps.values()))
    seen = [(snapshot(agent_host), snapshot(master_host))]
    for step in range(6):
        sim.clock.advance(0.35)
        sim.scale(app.id, (app.instances + 1) if step % 2 else max(0, app.instances - 1),
                  force=True)
        seen.append((snapshot(agent_host), snapshot(master_host)))
    for (a0, m0), (a1, m1) in itertools.pairwise(seen):
        assert all(a1[k] >= a0[k] for k in counters)
        assert all(m1[k] >= m0[k] for k in master_counters)
    assert seen[-1][1]["master/tasks_killed"] > seen[0][1]["master/tasks_killed"]
