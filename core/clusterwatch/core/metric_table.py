"""Mapping tables from a source's metric names to our schema, as data.

A collector states once which source key becomes which field and of what kind; the table
turns a source document into a Point. Kinds fix the InfluxDB field type for good (a field
that is once an int and once a float is a type conflict the server rejects), so counters are
always written as integers and gauges always as floats, whatever the source's JSON said.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from clusterwatch.core.point import Point

Key = str | tuple[str, ...]  # a plain key, or a path into nested objects


class Kind(Enum):
    GAUGE = "gauge"  # float
    COUNTER = "counter"  # int, only grows (rates are computed at query time)
    CUMULATIVE = "cumulative"  # float, only grows: running totals of a continuous amount (CPU s)
    FLAG = "flag"  # bool (from 0/1, true/false)
    TEXT = "text"  # str, for bounded states like "leader"


GAUGE = Kind.GAUGE
COUNTER = Kind.COUNTER
CUMULATIVE = Kind.CUMULATIVE
FLAG = Kind.FLAG
TEXT = Kind.TEXT


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    kind: Kind
    scale: float = 1.0  # e.g. 1e-3 to turn milliseconds into seconds


FieldValue = int | float | bool | str


def lookup(doc: Mapping[str, Any], key: Key) -> Any:
    if isinstance(key, str):
        return doc.get(key)
    value: Any = doc
    for part in key:
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def convert(raw: Any, spec: Field) -> FieldValue | None:
    """The field value of ``raw``, or None when it is missing or of no usable type."""
    if raw is None:
        return None
    if spec.kind is TEXT:
        return str(raw)
    if spec.kind is FLAG:
        if isinstance(raw, bool):
            return raw
        return bool(raw) if isinstance(raw, int | float) else None
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        if not isinstance(raw, str):
            return None
        try:
            raw = float(raw)
        except ValueError:
            return None
    value = raw * spec.scale if spec.scale != 1.0 else raw
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return int(value) if spec.kind is COUNTER else float(value)


class MetricTable:
    """Source key -> (field name, kind[, scale]) for one measurement."""

    def __init__(
        self, measurement: str, entries: Mapping[Key, tuple[str, Kind] | tuple[str, Kind, float]]
    ) -> None:
        self.measurement = measurement
        self.fields: dict[Key, Field] = {key: Field(*entry) for key, entry in entries.items()}

    def field_values(self, doc: Mapping[str, Any]) -> dict[str, FieldValue]:
        out: dict[str, FieldValue] = {}
        for key, spec in self.fields.items():
            value = convert(lookup(doc, key), spec)
            if value is not None:
                out[spec.name] = value
        return out

    def point(
        self,
        doc: Mapping[str, Any],
        tags: Mapping[str, str],
        time_ns: int,
        extra_fields: Mapping[str, FieldValue] | None = None,
    ) -> Point | None:
        """One point from ``doc``; None when the document has none of the table's keys."""
        values = self.field_values(doc)
        if extra_fields:
            values.update(extra_fields)
        if not values:
            return None
        return Point(self.measurement, dict(tags), values, time_ns)

    def field_names(self) -> list[str]:
        """Every field this table can emit (for the schema catalog)."""
        return [spec.name for spec in self.fields.values()]

    def field_kinds(self) -> dict[str, Kind]:
        """Field name -> kind, for every field this table can emit (for the schema catalog)."""
        return {spec.name: spec.kind for spec in self.fields.values()}


PYTHON_TYPES: dict[Kind, type] = {
    GAUGE: float,
    COUNTER: int,
    CUMULATIVE: float,
    FLAG: bool,
    TEXT: str,
}
"""The Python type a field of each kind always has (bool is checked exactly, not as an int)."""
