from __future__ import annotations

from pathlib import Path

from clusterwatch.collectors import catalog
from clusterwatch.core import registry
from clusterwatch.core.metric_table import COUNTER, Kind
from clusterwatch.core.point import Point

SCHEMA_DOC = Path(__file__).parents[2] / "docs" / "schema.md"
UNBOUNDED = {"task_id", "executor_id", "container_id", "task", "container", "executor"}


def test_every_registered_source_has_collect_and_schemas() -> None:
    for name in registry.names("source"):
        module = registry.load("source", name)
        assert callable(module.collect), name
        assert module.SCHEMAS, name


def test_schema_document_is_generated_from_the_catalog() -> None:
    assert SCHEMA_DOC.read_text() == catalog.markdown(), (
        "docs/schema.md is stale: python -m clusterwatch.collectors.catalog > docs/schema.md"
    )


def test_no_measurement_uses_an_id_as_a_tag() -> None:
    for schema in catalog.catalog().values():
        assert not UNBOUNDED & set(schema.tags), schema.measurement
        assert "cluster" in schema.tags


def test_counter_fields_are_named_total_and_units_are_in_names() -> None:
    for schema in catalog.catalog().values():
        for name, kind in schema.fields().items():
            if kind in (COUNTER, Kind.CUMULATIVE):
                assert name.endswith("_total"), f"{schema.measurement}.{name}"
            assert not name.endswith(("_ms", "_mb", "_secs", "_percent")), name


def test_problems_finds_wrong_types_unknown_fields_and_tags() -> None:
    good = Point("mesos_cluster", {"cluster": "c"}, {"cpus_total": 1.0, "tasks_failed_total": 2})
    assert catalog.problems([good]) == []
    bad = Point("mesos_cluster", {"cluster": "c", "task_id": "x"},
                {"cpus_total": 1, "tasks_failed_total": 2.0, "nope": 1.0})
    found = catalog.problems([bad, Point("nothing", {}, {"a": 1.0})])
    assert len(found) == 5
    assert any("tag task_id" in p for p in found)
    assert any("cpus_total: int 1, catalog says gauge" in p for p in found)
