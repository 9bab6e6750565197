"""The data model every collector produces and every sink consumes: one measurement sample."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

FieldValue = int | float | bool | str
Tags = Mapping[str, str]
Fields = Mapping[str, FieldValue]


class Point(NamedTuple):
    """One InfluxDB-style point; ``time_ns`` is nanoseconds since the epoch, None = server time.

    A NamedTuple rather than a frozen dataclass: collectors build about a million per cycle and
    a NamedTuple is about twice as fast to create. Treat ``tags`` and ``fields`` as read-only.
    Tags with a None or empty value are left out when encoded, as influxdb-client does.
    """

    measurement: str
    tags: Tags
    fields: Fields
    time_ns: int | None = None
