"""InfluxDB line protocol for :class:`Point`, byte-identical to influxdb-client's encoder.

The output matches ``influxdb_client.Point.to_line_protocol()`` (v1.50) byte for byte: same
escaping, tags and fields sorted by key, floats as ``repr`` without a trailing ``.0``, ints as
``123i``, None values and empty tags left out, NaN and ±inf dropped. It departs only where the
client writes a line InfluxDB would reject or ignore; those points and fields are dropped:

- a measurement that is empty or starts with ``#`` (a comment line to InfluxDB): point dropped;
- an int outside int64 (InfluxDB refuses it): field dropped;
- a field whose key is empty, or whose value is not an int, float, bool or str: field dropped;
- a timestamp that is not an integer: point dropped.

Every drop is counted in :class:`EncoderStats`, which the self-metrics read.
"""

from __future__ import annotations

import math
import operator
import struct
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal, NamedTuple, TypeVar

from clusterwatch.core.point import Point

Precision = Literal["ns", "us", "ms", "s"]

_DIVISORS: dict[str, int] = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 1_000_000_000}
_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1

# The tables of influxdb_client/client/write/point.py.
_ESCAPE_MEASUREMENT = str.maketrans({",": r"\,", " ": r"\ ", "\n": r"\n", "\t": r"\t", "\r": r"\r"})
_ESCAPE_KEY = str.maketrans(
    {",": r"\,", "=": r"\=", " ": r"\ ", "\n": r"\n", "\t": r"\t", "\r": r"\r"}
)
_ESCAPE_STRING = str.maketrans({'"': r"\"", "\\": r"\\"})

_MAX_TYPE_SHAPES = 64
_K = TypeVar("_K")
_V = TypeVar("_V")
_Getter = Callable[[Mapping[Any, Any]], tuple[Any, ...]]


@dataclass(slots=True)
class EncoderStats:
    """What an encoder dropped since it was made; only ever grows."""

    nonfinite_fields: int = 0
    out_of_range_fields: int = 0
    invalid_fields: int = 0
    empty_points: int = 0
    invalid_points: int = 0

    def snapshot(self) -> dict[str, int]:
        """The counters by name, ready to be the fields of a self-metric point."""
        return asdict(self)


class _TagPlan(NamedTuple):
    """How to write the tags of every point with one set of tag keys."""

    values: _Getter  # the values in output (sorted key) order
    prefixes: tuple[str, ...]  # ",key=" per value
    template: str  # "".join(prefixes) with "%s" after each


class _NumericPlan(NamedTuple):
    """A ``%`` template for one shape of all-int/float fields: ``a=%di,b=%r``."""

    template: str
    pack: Callable[..., bytes]  # a struct of "q" and "d", to check the ints fit int64
    floats: bool


_NOT_NUMERIC = _NumericPlan("", struct.Struct("").pack, False)


class _FieldPlan(NamedTuple):
    """How to write the fields of every point with one set of field keys."""

    values: _Getter  # values of the kept keys, in output order
    prefixes: tuple[str, ...]  # "key=" per kept key
    empty_keys: int  # keys dropped because they escape to ""
    numeric: dict[tuple[type, ...], _NumericPlan]  # by the types of the values


class LineEncoder:
    """Encodes points to line protocol; caches what it learns about names and counts drops.

    Points are written through plans cached per set of tag keys and per set of field keys,
    plus a cache of escaped tag values. ``cache_size`` bounds each cache; a full cache is
    emptied, so more distinct values than that make encoding slower, never wrong.
    Safe to share between threads.
    """

    def __init__(self, cache_size: int = 65_536) -> None:
        self.stats = EncoderStats()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self._measurements: dict[object, str] = {}
        self._tag_values: dict[object, str] = {}
        self._tag_plans: dict[tuple[str, ...], _TagPlan] = {}
        self._field_plans: dict[tuple[str, ...], _FieldPlan] = {}

    def encode_lines(self, points: Iterable[Point], precision: Precision = "ns") -> bytes:
        """One UTF-8 line per point, each ending in a newline; ``b""`` when no line is left."""
        lines = self.encode(points, precision)
        if not lines:
            return b""
        lines.append("")
        # Lone surrogates (json.loads lets "\ud800" through) become "?" instead of failing
        # the whole batch.
        return "\n".join(lines).encode("utf-8", "replace")

    def encode_line(self, point: Point, precision: Precision = "ns") -> str:
        """The line for one point, without newline; ``""`` when it is dropped."""
        lines = self.encode((point,), precision)
        return lines[0] if lines else ""

    def encode(self, points: Iterable[Point], precision: Precision = "ns") -> list[str]:
        """The lines for the points that survive, without newlines, in input order."""
        try:
            divisor = _DIVISORS[precision]
        except KeyError:
            raise ValueError(
                f"precision must be one of {', '.join(_DIVISORS)}, not {precision!r}"
            ) from None
        measurements = self._measurements
        cached_tag_value = self._tag_values.get
        tag_plans = self._tag_plans
        field_plans = self._field_plans
        isfinite = math.isfinite
        not_numeric = _NOT_NUMERIC
        lines: list[str] = []
        add_line = lines.append
        drops: Counter[str] = Counter()

        for measurement, tags, fields, time_ns in points:
            name = measurements.get(measurement)
            if name is None:
                name = self._measurement(measurement)
            if not name:
                drops["invalid_points"] += 1
                continue

            tag_plan = tag_plans.get(tag_keys := tuple(tags))
            if tag_plan is None:
                tag_plan = self._tag_plan(tag_keys)
            tag_values_of, tag_prefixes, tag_template = tag_plan
            raw_tags = tag_values_of(tags)
            try:
                escaped = tuple(map(cached_tag_value, raw_tags))
            except TypeError:  # an unhashable value
                escaped = (None,)
            if all(escaped):
                head = name + tag_template % escaped
            else:  # a value not cached yet, or one that leaves its tag out
                head = name + self._tags(tag_prefixes, raw_tags)

            field_plan = field_plans.get(field_keys := tuple(fields))
            if field_plan is None:
                field_plan = self._field_plan(field_keys)
            field_values_of, field_prefixes, empty_keys, numeric_plans = field_plan
            if empty_keys:
                drops["invalid_fields"] += empty_keys
            values = field_values_of(fields)
            numeric = numeric_plans.get(types := tuple(map(type, values)))
            if numeric is None:
                numeric = self._numeric_plan(field_plan, types)
            text = None
            if numeric is not not_numeric:
                template, pack, has_floats = numeric
                try:
                    pack(*values)  # refuses an int outside int64
                    # not finite if a float is not; if the sum overflows, the slow path decides
                    usable = not has_floats or isfinite(sum(values))
                except (struct.error, OverflowError):
                    usable = False
                if usable:
                    text = template % values
                    if has_floats:
                        # Only a whole float writes ".0" before a "," or at the end: keys
                        # escape their commas and ints end in "i".
                        if ".0," in text:
                            text = text.replace(".0,", ",")
                        if text.endswith(".0"):
                            text = text[:-2]
            if text is None:
                text = _fields(field_prefixes, values, drops)
            if not text:
                drops["empty_points"] += 1
                continue

            if time_ns is None:
                add_line(f"{head} {text}")
                continue
            if type(time_ns) is not int:
                try:
                    time_ns = operator.index(time_ns)
                except TypeError:
                    drops["invalid_points"] += 1
                    continue
            add_line(f"{head} {text} {time_ns // divisor}")

        if drops:
            with self._lock:
                for counter, count in drops.items():
                    setattr(self.stats, counter, getattr(self.stats, counter) + count)
        return lines

    def _measurement(self, measurement: object) -> str:
        text = str(measurement).translate(_ESCAPE_MEASUREMENT)
        if text.startswith("#"):
            text = ""
        if type(measurement) is str:
            _remember(self._measurements, measurement, text, self._cache_size)
        return text

    def _tags(self, prefixes: Sequence[str], raw: Sequence[object]) -> str:
        parts = []
        for prefix, value in zip(prefixes, raw, strict=False):
            try:
                escaped = self._tag_values.get(value)
            except TypeError:
                escaped = None
            if escaped is None:
                escaped = self._tag_value(value)
            if escaped:
                parts.append(prefix + escaped)
        return "".join(parts)

    def _tag_value(self, value: object) -> str:
        if value is None:
            return ""
        text = str(value).translate(_ESCAPE_KEY)
        if text.endswith("\\"):
            text += " "
        # Only non-empty str values are cached: 1 == True == 1.0 would share an entry, and
        # the fast path takes any empty string for a cache miss.
        if text and type(value) is str:
            _remember(self._tag_values, value, value if text == value else text, self._cache_size)
        return text

    def _tag_plan(self, keys: tuple[str, ...]) -> _TagPlan:
        kept, prefixes = _escaped_keys(keys, ",")
        template = "".join(prefix.replace("%", "%%") + "%s" for prefix in prefixes)
        plan = _TagPlan(_getter(kept), prefixes, template)
        if all(type(key) is str for key in keys):
            _remember(self._tag_plans, keys, plan, self._cache_size)
        return plan

    def _field_plan(self, keys: tuple[str, ...]) -> _FieldPlan:
        kept, prefixes = _escaped_keys(keys, "")
        plan = _FieldPlan(_getter(kept), prefixes, len(keys) - len(kept), {})
        if all(type(key) is str for key in keys):
            _remember(self._field_plans, keys, plan, self._cache_size)
        return plan

    def _numeric_plan(self, plan: _FieldPlan, types: tuple[type, ...]) -> _NumericPlan:
        numeric = _NOT_NUMERIC
        if all(kind is int or kind is float for kind in types):
            template = ",".join(
                prefix.replace("%", "%%") + ("%r" if kind is float else "%di")
                for prefix, kind in zip(plan.prefixes, types, strict=True)
            )
            layout = "=" + "".join("d" if kind is float else "q" for kind in types)
            numeric = _NumericPlan(template, struct.Struct(layout).pack, float in types)
        if len(plan.numeric) < _MAX_TYPE_SHAPES:
            plan.numeric[types] = numeric
        return numeric


def _escaped_keys(keys: Iterable[str], lead: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Keys in influxdb-client's order, those escaping to "" left out, and their prefixes."""
    kept = []
    prefixes = []
    for key in sorted(keys):
        escaped = str(key).translate(_ESCAPE_KEY)
        if escaped:
            kept.append(key)
            prefixes.append(f"{lead}{escaped}=")
    return tuple(kept), tuple(prefixes)


def _getter(keys: Sequence[Any]) -> _Getter:
    """Like itemgetter(*keys), but always returning a tuple."""
    if len(keys) > 1:
        return operator.itemgetter(*keys)
    if keys:
        only = keys[0]
        return lambda mapping: (mapping[only],)
    return lambda mapping: ()


def _remember(cache: dict[_K, _V], key: _K, value: _V, size: int) -> None:
    if len(cache) >= size:
        cache.clear()
    cache[key] = value


def _fields(prefixes: Sequence[str], values: Sequence[object], drops: Counter[str]) -> str:
    """The field set, value by value; counts what it drops."""
    parts = []
    for prefix, value in zip(prefixes, values, strict=True):
        kind = type(value)
        if value is None:
            continue
        if kind is bool:
            parts.append(prefix + ("true" if value else "false"))
        elif isinstance(value, int):
            number = operator.index(value)  # an int subclass's __str__ may not be digits
            if _INT64_MIN <= number <= _INT64_MAX:
                parts.append(f"{prefix}{number}i")
            else:
                drops["out_of_range_fields"] += 1
        elif isinstance(value, float):
            text = float.__repr__(value)
            if text[-1] in "nf":  # nan, inf, -inf
                drops["nonfinite_fields"] += 1
            else:
                parts.append(prefix + (text[:-2] if text.endswith(".0") else text))
        elif isinstance(value, str):
            parts.append(f'{prefix}"{str.__str__(value).translate(_ESCAPE_STRING)}"')
        else:
            drops["invalid_fields"] += 1
    return ",".join(parts)


DEFAULT_ENCODER = LineEncoder()
"""The encoder the sinks share; its ``stats`` feed the self-metrics."""

encode = DEFAULT_ENCODER.encode
encode_line = DEFAULT_ENCODER.encode_line
encode_lines = DEFAULT_ENCODER.encode_lines
stats = DEFAULT_ENCODER.stats
