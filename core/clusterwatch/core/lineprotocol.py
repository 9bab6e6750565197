"""InfluxDB line protocol for :class:`Point`, byte-identical to influxdb-client's encoder.

The output matches ``influxdb_client.Point.to_line_protocol()`` (v1.50) byte for byte: same
escaping, tags and fields sorted by key, floats as ``repr`` without a trailing ``.0``, ints as
``123i``, None values and empty tags left out, NaN and ±inf dropped. It departs only where the
client writes a line InfluxDB would reject or ignore; those points and fields are dropped:

- a measurement that is empty or starts with ``#`` (a comment line to InfluxDB): point dropped;
- an int outside int64 (InfluxDB refuses it): field dropped;
- a field whose key is empty, or whose value is not an int, float, bool or str: field dropped.

Every drop is counted in :class:`EncoderStats`, which the self-metrics read.
"""

from __future__ import annotations

import operator
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Literal, TypeVar

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

_K = TypeVar("_K")
_V = TypeVar("_V")
# (key, escaped prefix) pairs in output order, and how many keys escape to nothing
_KeyOrder = tuple[tuple[tuple[str, str], ...], int]


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


class _Dropped(Exception):
    def __init__(self, counter: str) -> None:
        self.counter = counter


class LineEncoder:
    """Encodes points to line protocol; caches escaped names and counts what it drops.

    ``cache_size`` bounds each cache (escaped measurements, tag values, key sets); a full
    cache is emptied, so more distinct values than that make encoding slower, never wrong.
    Safe to share between threads.
    """

    def __init__(self, cache_size: int = 65_536) -> None:
        self.stats = EncoderStats()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self._measurements: dict[object, str] = {}
        self._tag_values: dict[object, str] = {}
        self._tag_orders: dict[tuple[str, ...], _KeyOrder] = {}
        self._field_orders: dict[tuple[str, ...], _KeyOrder] = {}

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
        tag_values = self._tag_values
        tag_orders = self._tag_orders
        field_orders = self._field_orders
        lines: list[str] = []
        add_line = lines.append
        nonfinite = out_of_range = invalid_fields = empty = invalid_points = 0
        unusual: Counter[str] = Counter()

        for measurement, tags, fields, time_ns in points:
            name = measurements.get(measurement)
            if name is None:
                name = self._measurement(measurement)
            if not name:
                invalid_points += 1
                continue

            tag_order = tag_orders.get(tag_keys := tuple(tags))
            if tag_order is None:
                tag_order = self._key_order(tag_keys, tag_orders, ",")
            line = [name]
            add_tag = line.append
            for key, prefix in tag_order[0]:
                tag = tags[key]
                try:
                    escaped = tag_values.get(tag)
                except TypeError:  # unhashable
                    escaped = None
                if escaped is None:
                    escaped = self._tag_value(tag)
                if escaped:
                    add_tag(prefix + escaped)

            field_order = field_orders.get(field_keys := tuple(fields))
            if field_order is None:
                field_order = self._key_order(field_keys, field_orders, "")
            field_pairs, empty_keys = field_order
            invalid_fields += empty_keys

            parts: list[str] = []
            add = parts.append
            for key, prefix in field_pairs:
                value = fields[key]
                kind = type(value)
                if kind is float:
                    text = repr(value)
                    if text[-1] in "nf":  # nan, inf, -inf
                        nonfinite += 1
                    elif text.endswith(".0"):
                        add(prefix + text[:-2])
                    else:
                        add(prefix + text)
                elif kind is int:
                    if _INT64_MIN <= value <= _INT64_MAX:  # type: ignore[operator]
                        add(f"{prefix}{value}i")
                    else:
                        out_of_range += 1
                elif kind is str:
                    if '"' in value or "\\" in value:  # type: ignore[operator]
                        value = value.translate(_ESCAPE_STRING)  # type: ignore[union-attr]
                    add(f'{prefix}"{value}"')
                elif kind is bool:
                    add(prefix + ("true" if value else "false"))
                elif value is not None:
                    try:
                        add(prefix + _unusual_value(value))
                    except _Dropped as drop:
                        unusual[drop.counter] += 1

            if not parts:
                empty += 1
                continue
            add_tag(" ")
            add_tag(",".join(parts))
            if time_ns is None:
                add_line("".join(line))
                continue
            if type(time_ns) is not int:
                try:
                    time_ns = operator.index(time_ns)
                except TypeError:
                    invalid_points += 1
                    continue
            add_tag(f" {time_ns // divisor}")
            add_line("".join(line))

        with self._lock:
            stats = self.stats
            stats.nonfinite_fields += nonfinite + unusual["nonfinite_fields"]
            stats.out_of_range_fields += out_of_range + unusual["out_of_range_fields"]
            stats.invalid_fields += invalid_fields + unusual["invalid_fields"]
            stats.empty_points += empty
            stats.invalid_points += invalid_points
        return lines

    def _measurement(self, measurement: object) -> str:
        text = str(measurement).translate(_ESCAPE_MEASUREMENT)
        if text.startswith("#"):
            text = ""
        if type(measurement) is str:
            _remember(self._measurements, measurement, text, self._cache_size)
        return text

    def _tag_value(self, value: object) -> str:
        if value is None:
            return ""
        text = str(value).translate(_ESCAPE_KEY)
        if text.endswith("\\"):
            text += " "
        # Only str values are cached: 1 == True == 1.0 would share an entry otherwise.
        if type(value) is str:
            _remember(self._tag_values, value, value if text == value else text, self._cache_size)
        return text

    def _key_order(
        self, keys: tuple[str, ...], cache: dict[tuple[str, ...], _KeyOrder], lead: str
    ) -> _KeyOrder:
        """Keys sorted as influxdb-client sorts them, each with its escaped ``key=`` prefix."""
        pairs = []
        empty_keys = 0
        for key in sorted(keys):
            escaped = str(key).translate(_ESCAPE_KEY)
            if escaped:
                pairs.append((key, f"{lead}{escaped}="))
            else:
                empty_keys += 1
        order = (tuple(pairs), empty_keys)
        if all(type(key) is str for key in keys):
            _remember(cache, keys, order, self._cache_size)
        return order


def _remember(cache: dict[_K, _V], key: _K, value: _V, size: int) -> None:
    if len(cache) >= size:
        cache.clear()
    cache[key] = value


def _unusual_value(value: object) -> str:
    """Field text for a value whose type is not exactly int, float, bool or str."""
    if isinstance(value, int):  # a subclass such as IntEnum; its __str__ may not be digits
        number = operator.index(value)
        if not _INT64_MIN <= number <= _INT64_MAX:
            raise _Dropped("out_of_range_fields")
        return f"{number}i"
    if isinstance(value, float):
        text = float.__repr__(value)
        if text[-1] in "nf":
            raise _Dropped("nonfinite_fields")
        return text[:-2] if text.endswith(".0") else text
    if isinstance(value, str):
        return '"' + str.__str__(value).translate(_ESCAPE_STRING) + '"'
    raise _Dropped("invalid_fields")


DEFAULT_ENCODER = LineEncoder()
"""The encoder the sinks share; its ``stats`` feed the self-metrics."""

encode = DEFAULT_ENCODER.encode
encode_line = DEFAULT_ENCODER.encode_line
encode_lines = DEFAULT_ENCODER.encode_lines
stats = DEFAULT_ENCODER.stats
