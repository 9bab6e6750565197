"""Bodies the collector unit tests map: our own under ``tests/data/collectors/``, and the
captured responses of the real systems in ``../shared/reference/`` (a test that needs one
skips where that folder is not present)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.reference import REFERENCE

DATA = Path(__file__).parent / "data" / "collectors"


def ref_json(rel: str) -> Any:
    """A captured response (``rel`` below the reference folder), parsed; skips without it."""
    path = REFERENCE / rel
    if not path.exists():
        pytest.skip(f"reference {rel} not available")
    return json.loads(path.read_text())


def data(name: str) -> Any:
    """One of our own bodies, parsed."""
    return json.loads((DATA / name).read_text())
