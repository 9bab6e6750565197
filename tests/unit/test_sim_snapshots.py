"""Snapshot builders: leader vs standby, key set, floats, counters."""

from __future__ import annotations

import csv

import pytest

from clusterwatch.sim.engine import SimConfig, Simulation
from clusterwatch.sim.mesos_metrics import agent_snapshot, master_snapshot
from clusterwatch.sim.ratelimit import RateLimiter
from tests.reference import REFERENCE


def make() -> Simulation:
    return Simulation(SimConfig(start_time=1_700_000_000.0, clock_speed=0.0))


def test_leader_and_standby_snapshots_differ_as_real_masters_do() -> None:
    sim = make()
    now = sim.now()
    leader = master_snapshot(sim, sim.masters[0], now)
    standby = master_snapshot(sim, sim.masters[1], now)
    assert leader["master/elected"] == 1.0 and standby["master/elected"] == 0.0
    assert leader["master/cpus_total"] > 0 and standby["master/cpus_total"] == 0.0
    assert leader["master/tasks_running"] == len(sim.tasks)
    assert not any(k.startswith(("allocator/", "master/frameworks/")) for k in standby)
    assert 0.0 <= leader["master/cpus_percent"] <= 1.0


def test_snapshot_values_are_all_floats() -> None:
    sim = make()
    for body in (master_snapshot(sim, sim.masters[0], sim.now()),
                 agent_snapshot(sim, sim.agents[0], sim.now())):  # fmt: skip
        assert all(type(v) is float for v in body.values())


@pytest.mark.skipif(not REFERENCE.exists(), reason="no reference captures here")
def test_snapshots_carry_every_documented_plain_key() -> None:
    sim = make()
    keys = {"master": set(master_snapshot(sim, sim.masters[0], sim.now())),
            "agent": set(agent_snapshot(sim, sim.agents[0], sim.now()))}  # fmt: skip
    with open(REFERENCE / "mesos_metrics_1.x.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            if "&lt;" in row["metric"] or "<" in row["metric"]:
                continue  # placeholder keys are expanded per framework/role
            assert row["metric"] in keys[row["role"]], row["metric"]


def test_master_counters_restart_with_a_new_leader() -> None:
    sim = make()
    sim.set_flapping("/web/frontend", 10.0)
    sim.advance(60)
    before = master_snapshot(sim, sim.masters[0], sim.now())["master/tasks_failed"]
    assert before > 0
    new = sim.fail_over_master()
    after = master_snapshot(sim, new, sim.now())["master/tasks_failed"]
    assert after == 0.0


def test_agent_counters_never_go_down() -> None:
    sim = make()
    sim.set_flapping("/web/frontend", 20.0)
    agent = sim.agents_by_id[sim.tasks[sim.apps["/web/frontend"].task_ids[0]].agent_id]
    last = agent_snapshot(sim, agent, sim.now())
    for _ in range(6):
        sim.advance(15)
        body = agent_snapshot(sim, agent, sim.now())
        for key in ("slave/tasks_failed", "slave/executors_terminated",
                    "slave/valid_status_updates", "slave/uptime_secs"):  # fmt: skip
            assert body[key] >= last[key], key
        last = body


def test_rate_limiter_allows_the_rate_and_refuses_beyond() -> None:
    moments = iter([0.0, 0.0, 0.0, 0.0, 1.0])
    limiter = RateLimiter(2.0, clock=lambda: next(moments))
    assert [limiter.allow() for _ in range(3)] == [True, True, False]
    assert limiter.allow()
