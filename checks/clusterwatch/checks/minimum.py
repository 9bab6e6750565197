"""``-w``/``-c`` as a minimum: a count, or a percentage of a whole (``75%``).

``2`` means at least 2 (the range ``2:``), ``75%`` at least 75 % of the whole; any other range
(``2:4``, ``@0:1``, ``50:90%``) is taken as written. Used where "how many are fine" is judged
against a total that changes (agents registered, servers configured). Same semantics as
``check_haproxy_backends``' ``-w``/``-c``.
"""

from __future__ import annotations

import math

import nagiosplugin

from clusterwatch.checks import plugin

TYPE_CHECKING = False  # typing costs start-up time: annotations only
if TYPE_CHECKING:
    from typing import Any


class Minimum:
    """A range over a count, or over its percentage of a total."""

    def __init__(self, range: nagiosplugin.Range, percent: bool) -> None:
        self.range = range
        self.percent = percent

    def in_units(self, total: int) -> nagiosplugin.Range:
        """The range expressed as a count for a whole of ``total`` (for perfdata)."""
        if not self.percent:
            return self.range
        start, end = self.range.start, self.range.end
        lo = start if math.isinf(start) else math.ceil(start * total / 100 - 1e-9)
        hi = end if math.isinf(end) else math.floor(end * total / 100 + 1e-9)
        prefix = "@" if self.range.invert else ""
        low = "~" if lo == -math.inf else plugin.format_value(lo)
        high = "" if hi == math.inf else plugin.format_value(hi)
        return plugin.parse_range(f"{prefix}{low}:{high}")

    def matches(self, count: int, total: int) -> bool:
        if self.percent:
            return bool(self.range.match(100.0 * count / total if total else 0.0))
        return bool(self.range.match(count))

    def __str__(self) -> str:
        unit = "%" if self.percent else ""
        r = self.range
        if not r.invert and r.end == math.inf and r.start != -math.inf:
            return plugin.format_value(r.start) + unit
        return plugin.format_range(r) + unit


def minimum_arg(spec: str) -> Minimum:
    """``type=``: ``N``, ``N%`` or any range, optionally followed by ``%``."""
    text = spec.strip()
    percent = text.endswith("%")
    if percent:
        text = text[:-1]
    whole, dot, fraction = text.partition(".")
    if whole.isdecimal() and (not dot or fraction.isdecimal()):  # a bare number: at least that
        text += ":"
    try:
        return Minimum(plugin.parse_range(text), percent)
    except ValueError:
        raise plugin.BadValue(f"invalid minimum {spec!r}") from None


class MinimumContext(nagiosplugin.Context):  # type: ignore[misc]
    """A context whose ``-w``/``-c`` are minimums of a metric out of ``metric.max``: its
    perfdata carries them as counts of that whole (``evaluate`` is the plugin's own)."""

    def __init__(
        self, name: str, warning: Minimum | None, critical: Minimum | None, **kwargs: Any
    ) -> None:
        super().__init__(name, **kwargs)
        self.warning = warning
        self.critical = critical

    def performance(self, metric: nagiosplugin.Metric, resource: Any) -> plugin.PerfData:
        total = metric.max
        return plugin.PerfData(
            metric.name, metric.value,
            warn=self.warning.in_units(total) if self.warning else None,
            crit=self.critical.in_units(total) if self.critical else None,
            min=0, max=total,
        )  # fmt: skip
