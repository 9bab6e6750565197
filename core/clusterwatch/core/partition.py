"""Split the agents between several daemons through ZooKeeper (kazoo's SetPartitioner).

Agents come and go, but SetPartitioner partitions a fixed set, so the set is a fixed number
of buckets and an agent belongs to bucket ``crc32(agent id) % BUCKETS``. Daemons that share
``[cluster] zookeeper`` and cluster name join one party; each owns the agents of its
buckets. When a daemon leaves (or its ZooKeeper session expires), the others re-partition.
While a re-partition is under way a daemon owns nothing, so no agent is collected twice.
"""

from __future__ import annotations

import logging
import socket
import threading
import zlib
from typing import Any

from clusterwatch.core.log import fields

log = logging.getLogger(__name__)

BUCKETS = 256


def bucket_of(agent_id: str) -> int:
    return zlib.crc32(agent_id.encode()) % BUCKETS


class Everything:
    """The partition of a daemon that works alone."""

    def owns(self, agent_id: str) -> bool:
        return True

    def close(self) -> None:
        pass


class AgentPartition:
    """This daemon's share of the agents, kept current by a background thread."""

    def __init__(
        self,
        hosts: str,
        cluster: str,
        *,
        identifier: str | None = None,
        time_boundary: float = 5.0,
        client: Any = None,
    ) -> None:
        from kazoo.client import KazooClient

        self.identifier = identifier or f"{socket.gethostname()}-{threading.get_native_id()}"
        self.path = f"/clusterwatch/{cluster}/partition"
        self._own_client = client is None
        self._client = client or KazooClient(hosts=hosts, timeout=10.0)
        if self._own_client:
            self._client.start(timeout=15)
        self._time_boundary = time_boundary
        self._buckets: frozenset[int] = frozenset()
        self._lock = threading.Lock()
        self._changed = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="partition", daemon=True)
        self._thread.start()

    def owns(self, agent_id: str) -> bool:
        with self._lock:
            return bucket_of(agent_id) in self._buckets

    @property
    def buckets(self) -> frozenset[int]:
        with self._lock:
            return self._buckets

    def wait_acquired(self, timeout: float) -> bool:
        """Block until this member holds a share (for tests and start-up)."""
        deadline = threading.Event()
        waited = 0.0
        while waited < timeout:
            if self.buckets:
                return True
            deadline.wait(0.1)
            waited += 0.1
        return bool(self.buckets)

    def _set(self, buckets: frozenset[int]) -> None:
        with self._lock:
            changed = buckets != self._buckets
            self._buckets = buckets
        if changed:
            log.info(
                "agent partition changed",
                extra=fields(member=self.identifier, buckets=len(buckets), of=BUCKETS),
            )

    def _run(self) -> None:
        from kazoo.recipe.partitioner import SetPartitioner

        while not self._stop.is_set():
            partitioner = SetPartitioner(
                self._client,
                self.path,
                set=range(BUCKETS),
                identifier=self.identifier,
                time_boundary=self._time_boundary,
                state_change_event=self._changed,
            )
            try:
                self._follow(partitioner)
            except Exception as exc:  # a ZooKeeper error: own nothing, start over
                self._set(frozenset())
                log.warning("agent partition lost", extra=fields(error=str(exc)))
                self._stop.wait(1.0)
            finally:
                try:
                    partitioner.finish()
                except Exception as exc:  # the session may already be gone
                    log.debug("partition finish failed", extra=fields(error=str(exc)))

    def _follow(self, partitioner: Any) -> None:
        while not self._stop.is_set():
            if partitioner.failed:
                self._set(frozenset())
                return
            if partitioner.release:
                self._set(frozenset())
                partitioner.release_set()
            elif partitioner.allocating:
                self._set(frozenset())
                partitioner.wait_for_acquire(timeout=1.0)
            elif partitioner.acquired:
                self._set(frozenset(partitioner))
                self._changed.wait(0.5)
                self._changed.clear()

    def close(self) -> None:
        self._stop.set()
        self._changed.set()
        self._thread.join(timeout=15)
        self._set(frozenset())
        if self._own_client:
            self._client.stop()
            self._client.close()
