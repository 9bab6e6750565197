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
_MIXED_KINDS = (int, float, bool, str)  # exact types; subclasses take the value-by-value path
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


class _NumericPlan(NamedTuple):
    """How to write one shape of field values (the plan's keys with these exact types).

    All int/float: a ``%`` template (``a=%di,b=%r``), a struct to check the ints fit int64,
    and a note that floats need their ``.0`` cut. With bools or strings too: ``writer``, a
    function made for the shape that checks, converts and formats in one call (None: the
    value by value path decides).
    """

    template: str
    pack: Callable[..., bytes]  # a struct of "q" and "d", to check the ints fit int64
    floats: bool
    writer: Callable[[tuple[Any, ...]], str | None] | None = None


_NOT_NUMERIC = _NumericPlan("", struct.Struct("").pack, False)
_WRITER_HELPERS = {
    "isfinite": math.isfinite,
    "BOOL": {True: "true", False: "false"},
    "lo": _INT64_MIN,
    "hi": _INT64_MAX,
}


def _float_text(value: float) -> str:
    text = float.__repr__(value)
    return text[:-2] if text.endswith(".0") else text


def _quoted(value: str) -> str:
    return '"' + value.translate(_ESCAPE_STRING) + '"'


def _mixed_writer(prefixes: Sequence[str], types: tuple[type, ...]) -> Callable[..., str | None]:
    """A function for one shape of int/float/bool/str values: None when an int is out of
    int64 or a float is not finite (the value-by-value path then drops and counts them),
    else the field set. Only indices and helper names go into the generated source; the
    escaped keys travel in the template constant."""
    checks, args, pieces = [], [], []
    for index, (prefix, kind) in enumerate(zip(prefixes, types, strict=True)):
        value = f"v[{index}]"
        if kind is int:
            checks.append(f"lo <= {value} <= hi")
            args.append(value)
            pieces.append(prefix.replace("%", "%%") + "%di")
            continue
        if kind is float:
            checks.append(f"isfinite({value})")
            args.append(f"float_text({value})")
        elif kind is bool:
            args.append(f"BOOL[{value}]")
        else:
            args.append(f"quoted({value})")
        pieces.append(prefix.replace("%", "%%") + "%s")
    condition = " and ".join(checks) or "True"
    source = (
        "def write(v):\n"
        f"    if not ({condition}):\n"
        "        return None\n"
        f"    return TEMPLATE % ({', '.join(args)},)\n"
    )
    namespace: dict[str, Any] = {
        **_WRITER_HELPERS,
        "float_text": _float_text,
        "quoted": _quoted,
        "TEMPLATE": ",".join(pieces),
    }
    exec(source, namespace)  # the namedtuple way: one small function per shape
    writer: Callable[..., str | None] = namespace["write"]
    return writer


class _Plan(NamedTuple):
    """How to write every point with one measurement, one set of tag keys, one of field keys."""

    tag_values: _Getter  # the tag values in output (sorted key) order
    head: str  # "measurement,key1=%s,key2=%s": the escaped names, "%" doubled
    measurement: str  # escaped; "" when the point must be dropped
    tag_prefixes: tuple[str, ...]  # ",key=" per tag value
    field_values: _Getter  # values of the kept field keys, in output order
    field_prefixes: tuple[str, ...]  # "key=" per kept field key
    empty_keys: int  # field keys dropped because they escape to ""
    numeric: dict[tuple[type, ...], _NumericPlan]  # by the types of the field values


class LineEncoder:
    """Encodes points to line protocol; caches what it learns about names and counts drops.

    Points are written through plans cached per (measurement, tag keys, field keys), plus a
    cache of escaped tag values. ``cache_size`` bounds each cache; a full cache is emptied,
    so more distinct values than that make encoding slower, never wrong.
    Safe to share between threads.
    """

    def __init__(self, cache_size: int = 65_536) -> None:
        self.stats = EncoderStats()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self._plans: dict[tuple[object, tuple[str, ...], tuple[str, ...]], _Plan] = {}
        self._tag_values: dict[object, str] = {}

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
        plans = self._plans
        escaped_tag = self._tag_values.__getitem__
        isfinite = math.isfinite
        not_numeric = _NOT_NUMERIC
        lines: list[str] = []
        add_line = lines.append
        drops: Counter[str] = Counter()

        for measurement, tags, fields, time_ns in points:
            try:
                plan = plans.get(key := (measurement, tuple(tags), tuple(fields)))
            except TypeError:  # an unhashable measurement
                plan = None
            if plan is None:
                plan = self._plan(key)
            (
                tag_values_of,
                head,
                name,
                tag_prefixes,
                field_values_of,
                field_prefixes,
                empty_keys,
                numeric_plans,
            ) = plan
            if not name:
                drops["invalid_points"] += 1
                continue

            raw_tags = tag_values_of(tags)
            try:
                head %= tuple(map(escaped_tag, raw_tags))
            except (KeyError, TypeError):  # a value not cached yet, empty, None or unhashable
                head = name + self._tags(tag_prefixes, raw_tags)

            if empty_keys:
                drops["invalid_fields"] += empty_keys
            values = field_values_of(fields)
            numeric = numeric_plans.get(types := tuple(map(type, values)))
            if numeric is None:
                numeric = self._numeric_plan(plan, types)
            text = None
            if numeric.writer is not None:
                text = numeric.writer(values)
            elif numeric is not not_numeric:
                template, pack, has_floats, _ = numeric
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

    def _plan(self, key: tuple[object, tuple[str, ...], tuple[str, ...]]) -> _Plan:
        measurement, tag_keys, field_keys = key
        name = str(measurement).translate(_ESCAPE_MEASUREMENT)
        if name.startswith("#"):
            name = ""
        kept_tags, tag_prefixes = _escaped_keys(tag_keys, ",")
        kept_fields, field_prefixes = _escaped_keys(field_keys, "")
        plan = _Plan(
            _getter(kept_tags),
            "".join(
                [name.replace("%", "%%"), *(p.replace("%", "%%") + "%s" for p in tag_prefixes)]
            ),
            name,
            tag_prefixes,
            _getter(kept_fields),
            field_prefixes,
            len(field_keys) - len(kept_fields),
            {},
        )
        if type(measurement) is str and all(type(k) is str for k in (*tag_keys, *field_keys)):
            _remember(self._plans, key, plan, self._cache_size)
        return plan

    def _numeric_plan(self, plan: _Plan, types: tuple[type, ...]) -> _NumericPlan:
        numeric = _NOT_NUMERIC
        if all(kind in _MIXED_KINDS for kind in types) and not all(
            kind is int or kind is float for kind in types
        ):
            writer = _mixed_writer(plan.field_prefixes, types)
            numeric = _NumericPlan("", _NOT_NUMERIC.pack, False, writer)
        elif all(kind is int or kind is float for kind in types):
            template = ",".join(
                prefix.replace("%", "%%") + ("%r" if kind is float else "%di")
                for prefix, kind in zip(plan.field_prefixes, types, strict=True)
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


def encode_records(points: Iterable[Point], precision: Precision = "ns") -> list[bytes]:
    """One record per surviving point, as spools queue them: its line and a newline, UTF-8
    (a lone surrogate becomes "?", as in ``encode_lines``)."""
    return [(line + "\n").encode("utf-8", "replace") for line in encode(points, precision)]
stats = DEFAULT_ENCODER.stats
