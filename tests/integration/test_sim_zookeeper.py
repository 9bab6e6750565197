"""Masters in ZooKeeper: json.info_ znodes with MasterInfo, the lowest sequence leads."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kazoo.client import KazooClient

from clusterwatch.sim import Cluster

pytestmark = pytest.mark.integration


@pytest.fixture
def zk(zookeeper_ensemble: Any) -> Iterator[KazooClient]:
    client = KazooClient(hosts=zookeeper_ensemble.connect_string)
    client.start(timeout=15)
    yield client
    client.stop()
    client.close()


def znodes(zk: KazooClient, root: str) -> list[tuple[str, dict[str, Any]]]:
    # this client may sit on another member than the masters' sessions: catch up first
    zk.sync(root)
    names = sorted(n for n in zk.get_children(root) if n.startswith("json.info_"))
    return [(n, json.loads(zk.get(f"{root}/{n}")[0])) for n in names]


def test_masters_register_and_failover_moves_the_lowest_znode(
    zookeeper_ensemble: Any, zk: KazooClient, make_sim_cluster: Callable[..., Cluster]
) -> None:
    c = make_sim_cluster(zookeeper=zookeeper_ensemble.connect_string)
    entries = znodes(zk, "/mesos")
    assert len(entries) == 3
    name, leader = entries[0]
    assert name.startswith("json.info_") and len(name) == len("json.info_") + 10
    assert set(leader) == {"address", "hostname", "id", "ip", "pid", "port", "version"}
    assert f"http://{leader['address']['ip']}:{leader['port']}" == c.master_urls[0]

    new = c.fail_over_master()
    entries = znodes(zk, "/mesos")
    assert len(entries) == 3
    assert f"http://{entries[0][1]['address']['ip']}:{entries[0][1]['port']}" == new

    c.expire_zk_session()  # the leader's session ends: leadership moves on again
    entries = znodes(zk, "/mesos")
    assert len(entries) == 3
    assert c.leader_url == f"http://{entries[0][1]['address']['ip']}:{entries[0][1]['port']}"
    assert c.leader_url != new

    c.stop()
    assert znodes(zk, "/mesos") == []
