"""Prometheus text exposition (format 0.0.4) helpers shared by the simulated endpoints."""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def format_value(v: float) -> str:
    """Integral values without a fraction, others as Python's shortest repr."""
    if v == int(v) and abs(v) < 1e15:
        return str(int(v))
    return repr(float(v))


def _escape(v: str) -> str:
    return v.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def format_labels(labels: Mapping[str, str]) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{k}="{_escape(labels[k])}"' for k in sorted(labels))
    return "{" + inner + "}"


def family(name: str, kind: str, help_text: str, lines: Iterable[str]) -> list[str]:
    """HELP and TYPE lines followed by the samples (exposition format 0.0.4)."""
    return [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}", *lines]
