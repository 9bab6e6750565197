"""Where the captured responses of the real systems are: ``../shared/reference/`` beside the
checkout, or the workplace's copy when the checkout is a clone elsewhere (CI runs one). Tests
that read them skip where neither is present."""

from __future__ import annotations

from pathlib import Path

_CANDIDATES = (
    Path(__file__).resolve().parents[2] / "shared" / "reference",
    Path("/work/shared/reference"),
)

REFERENCE = next((path for path in _CANDIDATES if path.is_dir()), _CANDIDATES[0])
