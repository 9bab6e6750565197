"""Agents split between daemons through the real 3-node ZooKeeper ensemble."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from clusterwatch.core.partition import BUCKETS, AgentPartition, bucket_of

pytestmark = pytest.mark.integration


def wait_for_split(members: list[AgentPartition], timeout: float = 60.0) -> list[frozenset[int]]:
    """Wait until the members' shares are disjoint and together cover every bucket."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        shares = [m.buckets for m in members]
        union = frozenset().union(*shares)
        if all(shares) and len(union) == BUCKETS and sum(map(len, shares)) == BUCKETS:
            return shares
        time.sleep(0.2)
    raise AssertionError(f"no clean split: {[len(m.buckets) for m in members]}")


def test_members_split_every_bucket_once_and_take_over_a_lost_member(
    zookeeper_ensemble: Any,
) -> None:
    cluster = f"t{uuid.uuid4().hex[:6]}"
    members = [
        AgentPartition(
            zookeeper_ensemble.connect_string, cluster, identifier=f"d{i}", time_boundary=1.0
        )
        for i in range(3)
    ]
    try:
        shares = wait_for_split(members)
        assert all(len(s) >= BUCKETS // 3 - 1 for s in shares)
        agents = [f"{uuid.uuid4()}-S{i}" for i in range(500)]
        owners = [[m.owns(a) for m in members].count(True) for a in agents]
        assert owners == [1] * len(agents)
        lost = members.pop(0)
        lost_buckets = shares[0]
        lost.close()
        shares = wait_for_split(members)
        assert lost_buckets <= shares[0] | shares[1]
        moved = [a for a in agents if bucket_of(a) in lost_buckets]
        assert moved and all(any(m.owns(a) for m in members) for a in moved)
    finally:
        for m in members:
            m.close()
