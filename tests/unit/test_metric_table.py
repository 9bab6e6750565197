"""MetricTable: the compiled fast path gives what ``lookup`` + ``convert`` give, value for value."""

from __future__ import annotations

import itertools
import math
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import pytest

from clusterwatch.core.metric_table import (
    COUNTER,
    CUMULATIVE,
    FLAG,
    GAUGE,
    PYTHON_TYPES,
    TEXT,
    Field,
    Kind,
    MetricTable,
)


class Number(float):
    """A float subclass: off the fast path, still a number to ``convert``."""


RAWS: list[Any] = [
    None, 0, 1, -3, 7, 2**53 + 1, 0.0, -0.0, 1.5, -2.75, 1e300, math.inf, -math.inf, math.nan,
    True, False, "12", "1.5", " 3 ", "inf", "nan", "-1e3", "abc", "", "true",
    [1], {"a": 1}, Number(2.5), Number(math.inf),
]  # fmt: skip
KINDS = (GAUGE, COUNTER, CUMULATIVE, FLAG, TEXT)
SCALES = (1.0, 1e-3, 1e-9, 1000.0, 2)


def same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Equal keys, values and exact types (nan is never kept, so == is enough)."""
    return a == b and all(type(a[k]) is type(b[k]) for k in a)


@pytest.mark.parametrize(("kind", "scale"), list(itertools.product(KINDS, SCALES)))
def test_fast_path_matches_convert_for_every_value(kind: Kind, scale: float) -> None:
    table = MetricTable("m", {"plain": ("f", kind, scale), ("a", "b"): ("g", kind, scale)})
    for raw in RAWS:
        doc = {"plain": raw, "a": {"b": raw}}
        got = table.field_values(doc)
        assert same(got, table._generic_field_values(doc)), (kind, scale, raw, got)
        for value in got.values():
            assert type(value) is PYTHON_TYPES[kind]


def test_kinds_fix_the_python_type() -> None:
    table = MetricTable("m", {
        "c": ("c", COUNTER), "g": ("g", GAUGE), "u": ("u", CUMULATIVE), "f": ("f", FLAG),
        "t": ("t", TEXT), "ms": ("seconds", GAUGE, 1e-3), "big": ("big", COUNTER, 1e-9),
    })  # fmt: skip
    values = table.field_values(
        {"c": 5.9, "g": 3, "u": "2", "f": 0.0, "t": 7, "ms": 1500, "big": 3_000_000_000}
    )
    assert values == {"c": 5, "g": 3.0, "u": 2.0, "f": False, "t": "7", "seconds": 1.5, "big": 3}
    assert [type(v) for v in values.values()] == [int, float, float, bool, str, float, int]


def test_missing_non_finite_and_non_numeric_values_are_skipped() -> None:
    table = MetricTable("m", {
        "missing": ("a", GAUGE), "none": ("b", GAUGE), "inf": ("c", COUNTER),
        "nan": ("d", GAUGE), "word": ("e", GAUGE), "bool": ("f", COUNTER),
        "list": ("g", GAUGE), "text_flag": ("h", FLAG), "overflow": ("i", GAUGE, 1e300),
    })  # fmt: skip
    doc = {"none": None, "inf": math.inf, "nan": "nan", "word": "up", "bool": True,
           "list": [1], "text_flag": "true", "overflow": 1e300}  # fmt: skip
    assert table.field_values(doc) == {}
    assert table.point(doc, {"cluster": "c"}, 1) is None


def test_paths_stop_at_anything_that_is_not_a_mapping() -> None:
    table = MetricTable("m", {("a", "b", "c"): ("x", GAUGE), ("a", "list", "c"): ("y", GAUGE)})
    assert table.field_values({"a": {"b": {"c": 2}, "list": [{"c": 1}]}}) == {"x": 2.0}
    assert table.field_values({"a": {"b": 3}}) == {}
    assert table.field_values({"a": "b"}) == {}
    nested: Mapping[str, Any] = OrderedDict(a=OrderedDict(b={"c": "4"}))
    assert table.field_values(nested) == {"x": 4.0}


def test_a_document_that_is_not_a_mapping_has_no_path_values() -> None:
    table = MetricTable("m", {("a", "b"): ("x", GAUGE)})
    assert table.field_values([1, 2]) == {}  # type: ignore[arg-type]


def test_fields_keep_the_declared_table() -> None:
    table = MetricTable("m", {"k": ("n", COUNTER), ("p", "q"): ("r", GAUGE, 1e-3)})
    assert table.fields == {"k": Field("n", COUNTER), ("p", "q"): Field("r", GAUGE, 1e-3)}
    assert table.field_names() == ["n", "r"]
    assert table.field_kinds() == {"n": COUNTER, "r": GAUGE}
