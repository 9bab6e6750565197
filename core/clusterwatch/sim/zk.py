"""Masters in ZooKeeper, as Mesos registers them: EPHEMERAL_SEQUENTIAL ``json.info_`` znodes
under ``/mesos`` holding MasterInfo JSON; the lowest sequence number leads.

Each master has its own kazoo session. When the simulation elects another master, every
znode ahead of the new leader is deleted and created again (a restarted master re-joins at
the back of the line), so the lowest sequence always names the leader.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any

from kazoo.client import KazooClient

from clusterwatch.sim.engine import Simulation
from clusterwatch.sim.model import Master

log = logging.getLogger("clusterwatch.sim.zk")

InfoBuilder = Callable[[Master], dict[str, Any]]


class MasterRegistrar:
    def __init__(self, hosts: str, sim: Simulation, info: InfoBuilder, path: str = "/mesos"):
        self.hosts = hosts
        self.sim = sim
        self.info = info
        self.path = path.rstrip("/")
        self.clients: dict[int, KazooClient] = {}
        self.znodes: dict[int, str] = {}
        self._lock = threading.Lock()

    def start(self, timeout: float = 15.0) -> None:
        for master in self.sim.masters:
            client = KazooClient(hosts=self.hosts, timeout=timeout)
            client.start(timeout=timeout)
            self.clients[master.index] = client
        self.clients[0].ensure_path(self.path)
        with self._lock:
            leader = self.sim.leader()
            order = sorted(self.sim.masters, key=lambda m: m is not leader)
            for master in order:
                self._register(master)
        self.sim.leader_listeners.append(self.sync)

    def _register(self, master: Master) -> None:
        data = json.dumps(self.info(master), separators=(",", ":")).encode()
        client = self.clients[master.index]
        self.znodes[master.index] = client.create(
            f"{self.path}/json.info_", data, ephemeral=True, sequence=True
        )

    def _unregister(self, index: int) -> None:
        znode = self.znodes.pop(index, None)
        client = self.clients.get(index)
        if znode is not None and client is not None and client.connected:
            client.delete(znode)

    def sync(self) -> None:
        """Re-order the znodes so that the lowest sequence is the simulation's leader."""
        with self._lock:
            leader = self.sim.leader()
            if leader is None:
                for index in list(self.znodes):
                    self._unregister(index)
                return
            if leader.index not in self.znodes:
                self._register(leader)
            ahead = sorted(
                (znode, index) for index, znode in self.znodes.items()
                if znode < self.znodes[leader.index]
            )  # fmt: skip
            for _, index in ahead:
                self._unregister(index)
                self._register(self.sim.masters[index])
            for master in self.sim.masters:
                if master.index not in self.znodes:
                    self._register(master)

    def expire_session(self, index: int) -> None:
        """Close one master's session (its znode vanishes), then let it join again."""
        with self._lock:
            old = self.clients.get(index)
            self.znodes.pop(index, None)
            if old is not None:
                old.stop()
                old.close()
            client = KazooClient(hosts=self.hosts)
            client.start(timeout=15.0)
            self.clients[index] = client
        leader = self.sim.leader()
        if leader is not None and leader.index == index:
            self.sim.fail_over_master()  # notifies sync(), which re-registers everyone
        else:
            with self._lock:
                self._register(self.sim.masters[index])

    def stop(self) -> None:
        if self.sync in self.sim.leader_listeners:
            self.sim.leader_listeners.remove(self.sync)
        for client in self.clients.values():
            try:
                client.stop()
                client.close()
            except Exception:  # stopping is best effort; the sessions end anyway
                log.debug("closing a ZooKeeper session failed", exc_info=True)
        self.clients.clear()
        self.znodes.clear()
