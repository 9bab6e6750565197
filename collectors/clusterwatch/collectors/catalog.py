"""The schema catalog: every measurement, its tags and fields with their kinds, as data.

Derived from the collectors' own tables (each source module's ``SCHEMAS``, found through
``core.registry``), plus the ``clusterwatch`` self-metrics written by the daemon, so the catalog
cannot drift from what the mappers emit. ``docs/schema.md`` is generated from it
(``python -m clusterwatch.collectors.catalog > docs/schema.md``) and a test keeps it current.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Iterable

from clusterwatch.collectors.common import Schema
from clusterwatch.core import registry
from clusterwatch.core.metric_table import COUNTER, GAUGE, PYTHON_TYPES, Kind
from clusterwatch.core.point import Point

SELF_METRICS = Schema(
    "clusterwatch",
    ("cluster", "source", "sink"),
    "The appliance itself, written by the daemon: per source run (tag `source`) and per sink "
    "(tag `sink`). Counts per run are floats, like every gauge.",
    extra={
        "duration_seconds": GAUGE,
        "points": GAUGE,
        "errors": GAUGE,
        "targets_up": GAUGE,
        "targets_total": GAUGE,
        "spool_bytes": GAUGE,
        "spool_records": GAUGE,
        "written_points_total": COUNTER,
        "quarantined_points_total": COUNTER,
        "dropped_points_total": COUNTER,
        "send_failures_total": COUNTER,
    },
)

KIND_TEXT = {
    Kind.GAUGE: "float",
    Kind.COUNTER: "integer, only grows",
    Kind.CUMULATIVE: "float, only grows",
    Kind.FLAG: "boolean",
    Kind.TEXT: "string",
}


def source_schemas() -> dict[str, tuple[Schema, ...]]:
    """Registered source name -> the schemas its module declares."""
    out: dict[str, tuple[Schema, ...]] = {}
    for name in registry.names("source"):
        module = importlib.import_module(registry.import_string("source", name))
        out[name] = tuple(module.SCHEMAS)
    return out


def catalog() -> dict[str, Schema]:
    """Measurement -> schema, over every source and the self-metrics."""
    out: dict[str, Schema] = {}
    for schemas in source_schemas().values():
        for schema in schemas:
            if schema.measurement in out:
                raise ValueError(f"measurement {schema.measurement} declared twice")
            out[schema.measurement] = schema
    out[SELF_METRICS.measurement] = SELF_METRICS
    return out


def problems(points: Iterable[Point], extra_tags: Iterable[str] = ()) -> list[str]:
    """Everything in ``points`` the catalog does not allow: unknown measurements, fields or
    tags, and values whose type is not their kind's (an int gauge, a float counter...)."""
    known = catalog()
    allowed_extra = set(extra_tags)
    found: list[str] = []
    for point in points:
        schema = known.get(point.measurement)
        if schema is None:
            found.append(f"unknown measurement {point.measurement}")
            continue
        for tag in point.tags:
            if tag not in schema.tags and tag not in allowed_extra:
                found.append(f"{point.measurement}: tag {tag} is not in the catalog")
        fields = schema.fields()
        for name, value in point.fields.items():
            kind = fields.get(name, schema.dynamic)
            if kind is None:
                found.append(f"{point.measurement}: field {name} is not in the catalog")
            elif type(value) is not PYTHON_TYPES[kind]:
                found.append(
                    f"{point.measurement}.{name}: {type(value).__name__} {value!r}, "
                    f"catalog says {kind.value}"
                )
    return found


def _unit(name: str) -> str:
    for suffix, unit in (("_bytes", "bytes"), ("_seconds", "seconds"), ("_ratio", "0..1"),
                         ("_cores", "CPU cores")):
        if name.removesuffix("_total").endswith(suffix):
            return unit
    return ""


def markdown() -> str:
    """The schema document (docs/schema.md)."""
    lines = [
        "# clusterwatch schema",
        "",
        "Generated from the collectors' mapping tables by "
        "`python -m clusterwatch.collectors.catalog`; do not edit by hand "
        "(tests/unit/test_collector_catalog.py checks it is current).",
        "",
        "Conventions: units are in field names (`_bytes`, `_seconds`, `_ratio` for 0..1); "
        "`_total` marks values that only grow (counters are integers, `cumulative` totals "
        "such as CPU seconds are floats); a field's type never changes. Every point carries "
        "the `cluster` tag and the source's configured tags. Tags are bounded sets "
        "(hosts, apps, services...); task, executor and container ids are fields.",
        "",
        "Kinds: " + "; ".join(f"`{k.value}` = {text}" for k, text in KIND_TEXT.items()) + ".",
        "",
    ]
    by_source = {s.measurement: name for name, schemas in source_schemas().items()
                 for s in schemas}
    for measurement, schema in catalog().items():
        source = by_source.get(measurement, "daemon")
        lines += [
            f"## `{measurement}`",
            "",
            f"Source: `{source}`. {schema.doc}",
            "",
            "Tags: " + ", ".join(f"`{t}`" for t in schema.tags) + ".",
            "",
        ]
        if schema.dynamic is not None:
            lines += [f"Fields: one per sample name, kind `{schema.dynamic.value}`.", ""]
            continue
        lines += ["| field | kind | unit | from |", "|---|---|---|---|"]
        origins = schema.sources()
        for name, kind in schema.fields().items():
            origin = origins.get(name, "computed")
            lines.append(f"| `{name}` | {kind.value} | {_unit(name)} | `{origin}` |"
                         if origin != "computed" else
                         f"| `{name}` | {kind.value} | {_unit(name)} | computed |")
        lines.append("")
    lines += ["# Sources", ""]
    for name in registry.names("source"):
        module = importlib.import_module(registry.import_string("source", name))
        lines += [f"## Source `{name}`", "", inspect.cleandoc(module.__doc__ or ""), ""]
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    sys.stdout.write(markdown())
