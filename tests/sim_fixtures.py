"""Session fixtures for the cluster simulator.

``sim_cluster``: one small cluster for the whole session (3 masters, 10 agents, 5 apps,
seed 1, ephemeral ports). Tests that change it (faults, scaling, failover) must use
``make_sim_cluster`` instead, which builds their own and stops it afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from clusterwatch.sim import Cluster


@pytest.fixture(scope="session")
def sim_cluster() -> Iterator[Cluster]:
    with Cluster(agents=10, apps=5, seed=1) as cluster:
        yield cluster


@pytest.fixture
def make_sim_cluster() -> Iterator[Callable[..., Cluster]]:
    started: list[Cluster] = []

    def make(**kw: Any) -> Cluster:
        kw.setdefault("agents", 10)
        kw.setdefault("apps", 5)
        kw.setdefault("seed", 1)
        cluster = Cluster(**kw).start()
        started.append(cluster)
        return cluster

    yield make
    for cluster in started:
        cluster.stop()
