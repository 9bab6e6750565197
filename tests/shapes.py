"""Validate response bodies against the project's JSON Schemas in tests/data/schemas.

``assert_shape(body, "marathon/v2_apps")`` loads ``tests/data/schemas/marathon/v2_apps.json``
(Draft 2020-12) and fails with every violation listed by its JSON path. A fragment picks a
sub-schema: ``assert_shape(app, "marathon/v2_apps#/$defs/appDefinition")``. Schemas refer
to each other by relative ``$ref`` (``"master_state.json#/$defs/agent"``); all of them are
loaded into one registry so those references resolve without network access.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator  # type: ignore[import-untyped, unused-ignore]
from referencing import Registry, Resource

SCHEMAS = Path(__file__).parent / "data" / "schemas"


def schema_names() -> list[str]:
    """Every schema as ``<system>/<endpoint>`` (no ``.json``)."""
    return sorted(str(p.relative_to(SCHEMAS).with_suffix("")) for p in SCHEMAS.rglob("*.json"))


@cache
def _registry() -> tuple[Registry, dict[str, dict[str, Any]]]:
    by_name = {name: json.loads((SCHEMAS / f"{name}.json").read_text()) for name in schema_names()}
    resources = [(s["$id"], Resource.from_contents(s)) for s in by_name.values()]
    return Registry().with_resources(resources), by_name


def validator(schema_name: str) -> Draft202012Validator:
    """A validator for ``<system>/<endpoint>[#<json pointer>]``."""
    name, _, pointer = schema_name.partition("#")
    registry, by_name = _registry()
    if name not in by_name:
        raise KeyError(f"no schema {name!r} in {SCHEMAS} (have: {', '.join(by_name)})")
    schema: dict[str, Any] = by_name[name]
    if pointer:
        schema = {"$ref": f"{schema['$id']}#{pointer}"}
    return Draft202012Validator(schema, registry=registry)


def shape_errors(instance: Any, schema_name: str, limit: int = 20) -> list[str]:
    """Readable violations, ``$.path.to[0].field: message``, at most ``limit``."""
    errors = sorted(validator(schema_name).iter_errors(instance), key=lambda e: list(e.path))
    return [f"{e.json_path}: {_short(e.message)}" for e in errors[:limit]]


def assert_shape(instance: Any, schema_name: str) -> None:
    """Fail with every violation (by JSON path) when ``instance`` does not match."""
    errors = shape_errors(instance, schema_name)
    if errors:
        listing = "\n  ".join(errors)
        raise AssertionError(f"body does not match schema {schema_name}:\n  {listing}")


def _short(message: str, width: int = 200) -> str:
    return message if len(message) <= width else message[: width - 3] + "..."
