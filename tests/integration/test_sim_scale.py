"""10,000 agents with 10 containers each, in one process: what the collector benchmark needs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from clusterwatch.sim import Cluster

pytestmark = [pytest.mark.integration, pytest.mark.slow]

AGENTS = 10_000
PER_AGENT = 10
SAMPLE = (0, 1, 253, 254, 2_539, 5_000, 7_777, 9_998, 9_999)  # across the /24 blocks


@pytest.fixture(scope="module")
def big() -> Iterator[Cluster]:
    with Cluster(agents=AGENTS, apps=200, seed=7, containers_per_agent=PER_AGENT,
                 chronos=False) as cluster:  # fmt: skip
        yield cluster


@pytest.fixture(scope="module")
def session() -> Iterator[requests.Session]:
    with requests.Session() as s:
        yield s


def test_the_leader_lists_every_agent(big: Cluster, session: requests.Session) -> None:
    assert big.leader_url is not None
    slaves = session.get(big.leader_url + "/master/slaves", timeout=60).json()["slaves"]
    assert len(slaves) == AGENTS
    assert len({s["id"] for s in slaves}) == AGENTS
    assert {s["hostname"] for s in slaves} == {a.mesos.split("//")[1].split(":")[0]
                                                for a in big.agents}  # fmt: skip


@pytest.mark.parametrize("index", SAMPLE)
def test_agents_across_the_address_range_answer(
    big: Cluster, session: requests.Session, index: int
) -> None:
    agent = big.agents[index]
    snapshot = session.get(agent.mesos + "/metrics/snapshot", timeout=10).json()
    assert snapshot["slave/tasks_running"] == PER_AGENT
    assert snapshot["slave/executors_running"] == PER_AGENT

    statistics = session.get(agent.mesos + "/monitor/statistics", timeout=10).json()
    assert len(statistics) == PER_AGENT
    assert all(e["statistics"]["cpus_limit"] > 0 for e in statistics)
    tasks = {e["source"] for e in statistics}

    state = session.get(agent.mesos + "/slave(1)/state", timeout=10).json()
    assert state["id"] == agent.id
    executors = state["frameworks"][0]["executors"]
    assert {e["id"] for e in executors} == tasks

    subcontainers = session.get(agent.cadvisor + "/api/v1.3/subcontainers/", timeout=10).json()
    docker = [c for c in subcontainers if c["name"].startswith("/docker/")]
    assert len(docker) == PER_AGENT
    assert {c["spec"]["envs"]["MESOS_TASK_ID"] for c in docker} == tasks
