"""loads_pruned: what prune_document makes of json.loads, and json's errors, with less memory."""

from __future__ import annotations

import json
import tracemalloc
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clusterwatch.core.json_prune import loads_pruned, prune_document

SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=12,
)
DOCS = st.dictionaries(st.sampled_from(["slaves", "frameworks", "x", "é"]), VALUES, max_size=4)


def keep_hostname(item: Any) -> Any:
    """The shape of the collectors' prune: a dict cut to a key, anything else dropped."""
    if not isinstance(item, dict):
        return None
    return {k: v for k, v in item.items() if k in ("hostname", "")}


PRUNE = {"slaves": keep_hostname}


def reference(body: bytes) -> Any:
    return prune_document(json.loads(body), PRUNE)


def outcome(decode: Any, body: bytes) -> Any:
    """The value, or the error's type, message and position."""
    try:
        return ("value", decode(body))
    except json.JSONDecodeError as exc:
        return ("error", exc.msg, exc.pos)
    except (ValueError, RecursionError) as exc:
        return ("error", type(exc).__name__, str(exc))


@settings(max_examples=300)
@given(DOCS, st.sampled_from([None, 1, 0]), st.booleans())
def test_the_result_is_the_pruned_json_loads(
    doc: dict[str, Any], indent: int | None, ascii_only: bool
) -> None:
    body = json.dumps(doc, indent=indent, ensure_ascii=ascii_only).encode()
    assert loads_pruned(body, PRUNE) == reference(body)


@settings(max_examples=200)
@given(DOCS, st.data())
def test_a_body_cut_or_spoiled_anywhere_fails_as_json_loads_fails(
    doc: dict[str, Any], data: st.DataObject
) -> None:
    body = json.dumps(doc).encode()
    at = data.draw(st.integers(0, len(body)))
    spoiled = data.draw(st.sampled_from([body[:at], body[:at] + b"}" + body[at:],
                                         body[:at] + b"," + body[at:], body + b" x"]))  # fmt: skip
    assert outcome(lambda b: loads_pruned(b, PRUNE), spoiled) == outcome(reference, spoiled)


@pytest.mark.parametrize("body", [
    b'  {"slaves" : [ {"hostname": "a", "big": [1, 2]} , 3, {"id": 1} ] ,"n": 1}\n',
    b'{"slaves": []}', b"{}", b" [1, 2]", b'"text"', b"\xef\xbb\xbf{\"slaves\": [{}]}",
    '{"slaves": [{"hostname": "\u00e9"}]}'.encode("utf-16"), b'{"slaves": null}',
    b'{"slaves": [{"hostname": 1}], "slaves": [{"hostname": 2}]}', b'{"a": NaN, "slaves": [1e999]}',
])  # fmt: skip
def test_shapes_the_walk_leaves_to_json_come_out_the_same(body: bytes) -> None:
    assert outcome(lambda b: loads_pruned(b, PRUNE), body) == outcome(reference, body)


def test_the_pruned_arrays_are_never_held_whole() -> None:
    """A master's agent list: json.loads holds every agent whole; loads_pruned one at a time."""
    agent = {
        "hostname": "agent",
        "attributes": {f"attr{i}": "value" * 4 for i in range(40)},
        "offered_resources": {"cpus": 1.5, "mem": 1024.0, "ports": "[31000-32000]"},
    }
    body = json.dumps({"hostname": "master", "slaves": [agent] * 2000}).encode()

    def peak(decode: Any) -> int:
        tracemalloc.start()
        try:
            decode()
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    whole = peak(lambda: reference(body))
    pruned = peak(lambda: loads_pruned(body, PRUNE))
    assert loads_pruned(body, PRUNE)["slaves"] == [{"hostname": "agent"}] * 2000
    # the body's text (the walk needs it as str) and what is kept, against every agent whole
    assert pruned < 1.5 * len(body) < whole / 2, (pruned, len(body), whole)
