"""Three ``clusterwatch run`` daemons split one simulated cluster's agents through the real
3-node ZooKeeper ensemble (kazoo's SetPartitioner, see core/partition.py).

Each daemon writes to its own file sink; the ``host`` tags of its ``mesos_agent`` and
``cadvisor_container`` lines per cycle timestamp say which agents it collected. No agent is
ever collected by two daemons in the same cycle; once the split settles every agent is
collected by exactly one; after one daemon is SIGKILLed its agents move to the others within a
bounded time (its ZooKeeper session expiring, then the partitioner's 5 s time boundary).
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from clusterwatch.sim import Cluster
from tests.daemon_process import DaemonProcess, daemon_config, wait_until
from tests.integration.test_daemon_influx import LINE, start_daemon

pytestmark = pytest.mark.integration

DAEMONS = 3
AGENTS = 30

# timestamp (s) -> host -> the daemons that collected it
Seen = dict[int, dict[str, set[int]]]


def collected(files: list[Path], measurement: str = "mesos_agent") -> Seen:
    seen: Seen = defaultdict(lambda: defaultdict(set))
    for index, path in enumerate(files):
        if not path.exists():
            continue
        for line in path.read_text().splitlines():
            match = LINE.match(line)
            if match is None or match["m"] != measurement:
                continue
            host = match["tags"].split(",host=", 1)[1].split(",", 1)[0]
            seen[int(match["ts"])][host].add(index)
    return seen


def twice(seen: Seen) -> list[tuple[int, str, set[int]]]:
    return [(ts, h, d) for ts, hosts in seen.items() for h, d in hosts.items() if len(d) > 1]


def complete_cycles(seen: Seen, hosts: set[str], by: set[int]) -> list[int]:
    """Timestamps at which every agent was collected once, all of it by daemons in ``by``."""
    return sorted(
        ts for ts, found in seen.items()
        if set(found) == hosts and all(len(d) == 1 and d <= by for d in found.values())
    )  # fmt: skip


def test_daemons_split_the_agents_and_take_over_a_killed_ones_share(
    make_sim_cluster: Any, zk_chroot: str, tmp_path: Path, daemons: list[DaemonProcess]
) -> None:
    cluster: Cluster = make_sim_cluster(agents=AGENTS, apps=6, clock_speed=0,
                                        zookeeper=zk_chroot)  # fmt: skip
    hosts = {a.mesos.split("://", 1)[1].rsplit(":", 1)[0] for a in cluster.agents}
    name = f"scale-{uuid.uuid4().hex[:6]}"
    files = [tmp_path / f"d{i}.lp" for i in range(DAEMONS)]
    for i in range(DAEMONS):
        text = daemon_config(
            cluster, tmp_path / f"state{i}",
            {"file": {"type": "file", "path": str(files[i]), "precision": "s"}},
            sources=("mesos_agent", "cadvisor"), name=name, zookeeper=zk_chroot,
        )  # fmt: skip
        start_daemon(tmp_path, daemons, text, f"d{i}")
    everyone = set(range(DAEMONS))

    def settled() -> list[int]:
        seen = collected(files)
        return [ts for ts in complete_cycles(seen, hosts, everyone)
                if {i for d in seen[ts].values() for i in d} == everyone]  # fmt: skip

    first = wait_until("a cycle in which the three daemons share every agent", settled, 120)
    seen = collected(files)
    shares = [{h for h, d in seen[first[0]].items() if i in d} for i in range(DAEMONS)]
    assert all(shares) and set().union(*shares) == hosts
    assert sum(map(len, shares)) == AGENTS
    cadvisor = collected(files, "cadvisor_container")
    assert twice(cadvisor) == []

    victim = daemons[0]
    victim.kill()
    killed_at = time.time()
    survivors = everyone - {0}

    def taken_over() -> list[int]:
        return [ts for ts in complete_cycles(collected(files), hosts, survivors)
                if ts > killed_at]  # fmt: skip

    after = wait_until("the survivors to collect every agent", taken_over, 120)
    seen = collected(files)
    assert shares[0] <= set(seen[after[0]])  # the killed daemon's agents are collected again
    assert all(i in survivors for d in seen[after[0]].values() for i in d)
    assert {i for d in seen[after[0]].values() for i in d} == survivors
    # never, before, during or after the change, an agent collected twice in one cycle
    assert twice(seen) == []
    assert twice(collected(files, "cadvisor_container")) == []
    for daemon in daemons[1:]:
        assert daemon.stop() == 0, daemon.log()
