"""Point and the line-protocol encoder: exact bytes for the escaping rules, drops and counters."""

from __future__ import annotations

import enum
import math
import threading
from typing import Any

import pytest

from clusterwatch.core import lineprotocol
from clusterwatch.core.lineprotocol import EncoderStats, LineEncoder
from clusterwatch.core.point import Point


def line(measurement: str, tags: Any, fields: Any, time_ns: Any = None, **kw: Any) -> str:
    return LineEncoder().encode_line(Point(measurement, tags, fields, time_ns), **kw)


def test_point_is_an_immutable_tuple_with_optional_time() -> None:
    point = Point("cpu", {"host": "a"}, {"value": 1})
    with pytest.raises(AttributeError):
        point.measurement = "mem"  # type: ignore[misc]
    assert point.time_ns is None
    assert point == ("cpu", {"host": "a"}, {"value": 1}, None)


def test_a_full_line() -> None:
    assert (
        line("cpu", {"host": "a", "app": "b"}, {"user": 0.5, "n": 3, "ok": True, "s": "x"}, 17)
        == 'cpu,app=b,host=a n=3i,ok=true,s="x",user=0.5 17'
    )


@pytest.mark.parametrize(
    ("measurement", "expected"),
    [
        ("a,b", "a\\,b"),
        ("a b", "a\\ b"),
        ("a=b", "a=b"),  # "=" is only special in keys
        ("a\nb\tc\rd", "a\\nb\\tc\\rd"),
        ('a"b\\c', 'a"b\\c'),
        ("a%sb", "a%sb"),
    ],
)
def test_measurement_escaping(measurement: str, expected: str) -> None:
    assert line(measurement, {}, {"f": 1}) == f"{expected} f=1i"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a,b", "a\\,b"),
        ("a=b", "a\\=b"),
        ("a b", "a\\ b"),
        ("a\nb", "a\\nb"),
        ("a\tb\rc", "a\\tb\\rc"),
        ('a"b', 'a"b'),
        ("a\\b", "a\\b"),
        ("é☃", "é☃"),
    ],
)
def test_tag_and_field_key_escaping(raw: str, expected: str) -> None:
    assert line("m", {raw: "v"}, {raw: 1}) == f"m,{expected}=v {expected}=1i"


def test_tag_value_escaping_and_trailing_backslash() -> None:
    assert line("m", {"t": "a ,=b"}, {"f": 1}) == "m,t=a\\ \\,\\=b f=1i"
    # influxdb-client appends a space so the backslash cannot escape the next separator.
    assert line("m", {"t": "a\\"}, {"f": 1}) == "m,t=a\\  f=1i"


def test_string_field_escaping() -> None:
    assert line("m", {}, {"s": 'say "hi" \\ bye'}) == 'm s="say \\"hi\\" \\\\ bye"'
    assert line("m", {}, {"s": "a,b= c"}) == 'm s="a,b= c"'
    assert line("m", {}, {"s": ""}) == 'm s=""'
    # Newlines in strings go out raw, as influxdb-client writes them.
    assert line("m", {}, {"s": "a\nb"}) == 'm s="a\nb"'


def test_tags_and_fields_sorted_by_key_whatever_the_insertion_order() -> None:
    assert line("m", {"b": "2", "a": "1", "B": "0"}, {"z": 1, "y": 2, "Z": 3}) == (
        "m,B=0,a=1,b=2 Z=3i,y=2i,z=1i"
    )


def test_empty_and_none_tags_are_left_out() -> None:
    tags = {"a": "", "b": None, "": "x", "c": "1"}
    assert line("m", tags, {"f": 1}) == "m,c=1 f=1i"
    assert line("m", {"a": ""}, {"f": 1}) == "m f=1i"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1.0, "1"),
        (-0.0, "-0"),
        (0.1, "0.1"),
        (1e16, "1e+16"),
        (1.5e-7, "1.5e-07"),
        (123456789.125, "123456789.125"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
    ],
)
def test_float_format_is_repr_without_trailing_dot_zero(value: float, expected: str) -> None:
    assert line("m", {}, {"f": value}) == f"m f={expected}"
    assert line("m", {}, {"f": value, "g": value, "i": 2}) == f"m f={expected},g={expected},i=2i"


def test_ints_bools_and_int_subclasses() -> None:
    class Color(enum.IntEnum):
        RED = 7

    class Weird(int):
        def __str__(self) -> str:
            return "not digits"

    assert line("m", {}, {"t": True, "f": False, "i": 0}) == "m f=false,i=0i,t=true"
    assert line("m", {}, {"c": Color.RED}) == "m c=7i"
    assert line("m", {}, {"w": Weird(3)}) == "m w=3i"
    assert line("m", {}, {"max": 2**63 - 1, "min": -(2**63)}) == (
        "m max=9223372036854775807i,min=-9223372036854775808i"
    )


def test_same_keys_with_changing_types() -> None:
    encoder = LineEncoder()
    points = [
        Point("m", {}, {"a": 1, "b": 2.5}),
        Point("m", {}, {"a": 1.0, "b": True}),
        Point("m", {}, {"a": "1", "b": 2}),
        Point("m", {}, {"a": 1, "b": 2.5}),
    ]
    assert encoder.encode(points) == [
        "m a=1i,b=2.5",
        "m a=1,b=true",
        'm a="1",b=2i',
        "m a=1i,b=2.5",
    ]


def test_non_str_tag_values_are_written_with_str_like_influxdb_client() -> None:
    encoder = LineEncoder()
    points = [Point("m", {"t": v}, {"f": 1}) for v in (1, True, 1.0, [1, 2], "1")]  # type: ignore[dict-item]
    assert encoder.encode(points) == [
        "m,t=1 f=1i",
        "m,t=True f=1i",
        "m,t=1.0 f=1i",
        "m,t=[1\\,\\ 2] f=1i",
        "m,t=1 f=1i",
    ]


@pytest.mark.parametrize(
    ("precision", "expected"),
    [
        ("ns", "1700000000123456789"),
        ("us", "1700000000123456"),
        ("ms", "1700000000123"),
        ("s", "1700000000"),
    ],
)
def test_precision(precision: lineprotocol.Precision, expected: str) -> None:
    assert (
        line("m", {}, {"f": 1}, 1_700_000_000_123_456_789, precision=precision)
        == f"m f=1i {expected}"
    )


def test_precision_floors_times_before_the_epoch() -> None:
    assert line("m", {}, {"f": 1}, -1, precision="s") == "m f=1i -1"


def test_unknown_precision_is_an_error() -> None:
    with pytest.raises(ValueError, match="precision"):
        LineEncoder().encode([], precision="h")  # type: ignore[arg-type]


def test_encode_lines_joins_with_a_trailing_newline() -> None:
    points = [
        Point("a", {}, {"f": 1}, 1),
        Point("b", {}, {"f": math.nan}),
        Point("c", {}, {"f": 2}),
    ]
    assert LineEncoder().encode_lines(points) == b"a f=1i 1\nc f=2i\n"
    assert LineEncoder().encode_lines([]) == b""
    assert LineEncoder().encode_lines([Point("a", {}, {})]) == b""


def test_encode_lines_is_utf8_and_survives_lone_surrogates() -> None:
    assert LineEncoder().encode_lines([Point("m", {"t": "é"}, {"s": "☃"})]) == (
        'm,t=é s="☃"\n'.encode()
    )
    assert LineEncoder().encode_lines([Point("m", {}, {"s": "a\ud800b"})]) == b'm s="a?b"\n'


def test_drops_are_counted() -> None:
    encoder = LineEncoder()
    points = [
        Point("m", {}, {"nan": math.nan, "inf": math.inf, "ninf": -math.inf, "ok": 1.5}),
        Point("m", {}, {"big": 2**63, "small": -(2**63) - 1, "ok": 1}),
        Point("m", {}, {"": 1, "list": [1], "ok": 1}),  # type: ignore[dict-item]
        Point("m", {}, {"only": math.nan}),
        Point("m", {}, {}),
        Point("", {}, {"f": 1}),
        Point("#comment", {}, {"f": 1}),
        Point("m", {}, {"f": 1}, "yesterday"),  # type: ignore[arg-type]
    ]
    assert encoder.encode(points) == ["m ok=1.5", "m ok=1i", "m ok=1i"]
    assert encoder.stats == EncoderStats(
        nonfinite_fields=4,
        out_of_range_fields=2,
        invalid_fields=2,
        empty_points=2,
        invalid_points=3,
    )
    assert encoder.stats.snapshot() == {
        "nonfinite_fields": 4,
        "out_of_range_fields": 2,
        "invalid_fields": 2,
        "empty_points": 2,
        "invalid_points": 3,
    }


def test_none_fields_are_skipped_without_counting() -> None:
    encoder = LineEncoder()
    assert encoder.encode([Point("m", {}, {"a": None, "b": 1})]) == ["m b=1i"]  # type: ignore[dict-item]
    assert encoder.stats == EncoderStats()


def test_module_functions_share_the_default_encoder() -> None:
    before = lineprotocol.stats.nonfinite_fields
    assert lineprotocol.encode_lines([Point("m", {}, {"f": math.inf, "g": 1})]) == b"m g=1i\n"
    assert lineprotocol.encode([Point("m", {}, {"g": 1})]) == ["m g=1i"]
    assert lineprotocol.stats is lineprotocol.DEFAULT_ENCODER.stats
    assert lineprotocol.stats.nonfinite_fields == before + 1


def test_a_tiny_cache_changes_nothing_but_speed() -> None:
    points = [
        Point(
            f"m{i % 5}",
            {"host": f"h{i % 7}", f"k{i % 3}": f"v {i}"},
            {f"f{i % 4}": i, "x": i / 3},
            i,
        )
        for i in range(200)
    ]
    assert LineEncoder(cache_size=2).encode(points) == LineEncoder().encode(points)


def test_big_finite_floats_whose_sum_overflows() -> None:
    assert line("m", {}, {"a": 1e308, "b": 1e308}) == "m a=1e+308,b=1e+308"


def test_timestamp_may_be_any_integral() -> None:
    class Stamp(int):
        pass

    assert line("m", {}, {"f": 1}, Stamp(5)) == "m f=1i 5"


def test_shared_between_threads() -> None:
    encoder = LineEncoder()
    points = [Point("m", {"h": str(i % 50)}, {"f": math.nan, "g": i}, i) for i in range(2000)]
    expected = LineEncoder().encode(points)
    results: list[list[str]] = []

    def work() -> None:
        results.append(encoder.encode(points))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [expected] * 4
    assert encoder.stats.nonfinite_fields == 4 * 2000


def test_mixed_type_shapes_keep_strings_intact_and_still_drop_what_they_must() -> None:
    encoder = LineEncoder()
    fields = {"a": 1, "b": True, "c": 'v1.0,x "%s" \\', "d": 2.0, "e": 0.5}
    line = 'm a=1i,b=true,c="v1.0,x \\"%s\\" \\\\",d=2,e=0.5 7'
    # twice: the first builds the shape's writer, the second uses it
    assert encoder.encode([Point("m", {}, fields, 7)] * 2) == [line, line]
    shaky = {"a": 2**64, "b": False, "d": math.nan, "s": "ok"}
    assert encoder.encode([Point("m", {}, shaky, 7)] * 2) == ['m b=false,s="ok" 7'] * 2
    assert (encoder.stats.out_of_range_fields, encoder.stats.nonfinite_fields) == (2, 2)
