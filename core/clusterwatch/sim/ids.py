"""Deterministic identifiers and time formats shaped like the real systems' ones."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime

# UUID v1 counts 100 ns intervals since 1582-10-15.
_UUID_EPOCH_OFFSET = 0x01B21DD213814000


class IdFactory:
    """All random-looking ids come from one seeded generator, so a seed fixes them all."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self._node = rng.getrandbits(48) | 0x010000000000  # multicast bit: a random node id
        self._clock_seq = rng.getrandbits(14)
        self._last_ticks = 0

    def uuid4(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def uuid1(self, epoch_seconds: float) -> str:
        """A time-based UUID as Marathon puts in task ids; unique even for equal times."""
        ticks = max(int(epoch_seconds * 1e7) + _UUID_EPOCH_OFFSET, self._last_ticks + 1)
        self._last_ticks = ticks
        low = ticks & 0xFFFFFFFF
        mid = (ticks >> 32) & 0xFFFF
        high = (ticks >> 48) & 0x0FFF
        return str(
            uuid.UUID(
                fields=(
                    low,
                    mid,
                    high | 0x1000,
                    0x80 | (self._clock_seq >> 8),
                    self._clock_seq & 0xFF,
                    self._node,
                )
            )
        )

    def mesos_cluster_id(self) -> str:
        return self.uuid4()

    def hex_sha(self) -> str:
        return f"{self.rng.getrandbits(160):040x}"


def iso_millis(epoch_seconds: float) -> str:
    """Marathon's timestamp format: ``2017-07-14T15:13:34.402Z``."""
    moment = datetime.fromtimestamp(epoch_seconds, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def marathon_task_prefix(app_id: str) -> str:
    """``/tools/docker/registry`` becomes ``tools_docker_registry`` as in Marathon task ids."""
    return app_id.strip("/").replace("/", "_")
