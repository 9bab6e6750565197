"""Times the plugins read and write: ISO 8601 stamps, ages in words, ``SECONDS`` options."""

from __future__ import annotations

import math

from clusterwatch.checks.options import BadValue

TYPE_CHECKING = False  # typing costs start-up time: annotations only
if TYPE_CHECKING:
    from typing import Any


def epoch(text: Any) -> float | None:
    """An ISO 8601 time (``2015-08-26T22:33:24.225Z``) -> epoch seconds; None if unreadable."""
    if not isinstance(text, str) or not text:
        return None
    from datetime import datetime  # imported here: ~1.5 ms, and not every run reads a time

    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def age_text(seconds: float) -> str:
    """``42`` -> ``42s``; ``95`` -> ``1m35s``; ``7300`` -> ``2h01m``; ``90000`` -> ``1d01h``."""
    s = int(max(0, seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600:02d}h"


def seconds_arg(text: str) -> float:
    """``type=``: seconds, 0 or more."""
    try:
        value = float(text)
    except ValueError:
        raise BadValue(f"invalid seconds {text!r}") from None
    if not value >= 0 or math.isinf(value):
        raise BadValue(f"invalid seconds {text!r} (must be >= 0)")
    return value
