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


# Kind codes of the compiled fast path (small ints compare faster than enum members).
_FLOAT, _INT, _FLAG, _TEXT = 0, 1, 2, 3
_CODES = {GAUGE: _FLOAT, CUMULATIVE: _FLOAT, COUNTER: _INT, FLAG: _FLAG, TEXT: _TEXT}

# One compiled entry: plain key (or "" for a path), path (or None), field name, kind code, scale
# (None when 1.0), and the Field, for anything off the fast path.
_Entry = tuple[str, tuple[str, ...] | None, str, int, float | None, Field]


class MetricTable:
    """Source key -> (field name, kind[, scale]) for one measurement.

    ``fields`` is the table as declared; ``field_values`` runs a copy compiled at
    construction (keys split into plain keys and paths, kinds as small codes, scale 1.0
    dropped) whose common cases (exact ``int``/``float``/``bool``/``str`` values) are
    inlined; any other type goes through ``convert``, so the result is ``convert``'s.
    """

    def __init__(
        self, measurement: str, entries: Mapping[Key, tuple[str, Kind] | tuple[str, Kind, float]]
    ) -> None:
        self.measurement = measurement
        self.fields: dict[Key, Field] = {key: Field(*entry) for key, entry in entries.items()}
        self._compiled: tuple[_Entry, ...] = tuple(
            (
                key if isinstance(key, str) else "",
                None if isinstance(key, str) else tuple(key),
                spec.name,
                _CODES[spec.kind],
                None if spec.scale == 1.0 else spec.scale,
                spec,
            )
            for key, spec in self.fields.items()
        )

    def field_values(self, doc: Mapping[str, Any]) -> dict[str, FieldValue]:
        out: dict[str, FieldValue] = {}
        try:
            get = doc.get
        except AttributeError:  # not a mapping: only paths can be looked up (to None)
            return self._generic_field_values(doc)
        for key, path, name, code, scale, spec in self._compiled:
            if path is None:
                raw = get(key)
            else:  # a path: through mappings only, as ``lookup`` walks it
                raw = doc
                for part in path:
                    if type(raw) is dict or isinstance(raw, Mapping):
                        raw = raw.get(part)
                    else:
                        raw = None
                        break
            if raw is None:
                continue
            kind = type(raw)
            if code <= _INT and (kind is int or kind is float):  # a number, as JSON has them
                value = raw * scale if scale is not None else raw
                if type(value) is float:
                    if value - value != 0.0:  # inf or nan
                        continue
                    out[name] = value if code == _FLOAT else int(value)
                else:
                    out[name] = float(value) if code == _FLOAT else value
            elif code == _FLAG and (kind is bool or kind is int or kind is float):
                out[name] = bool(raw)
            elif code == _TEXT and kind is str:
                out[name] = raw
            else:
                converted = convert(raw, spec)
                if converted is not None:
                    out[name] = converted
        return out

    def _generic_field_values(self, doc: Mapping[str, Any]) -> dict[str, FieldValue]:
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
