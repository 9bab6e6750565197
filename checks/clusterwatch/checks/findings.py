"""Rule-based checks on top of :mod:`plugin`: pure judges return findings, the runner says them.

Several plugins decide by fixed rules rather than by one range per metric ("exactly one
leader", "all servers agree"). They keep nagiosplugin's split this way:

- *measure*: the plugin's ``measure(progress) -> Outcome`` fetches and parses;
- *judge*: a pure function over the parsed data returns :class:`Finding` s (state + text),
  which the plugin puts in the Outcome together with its perfdata metrics; metrics with a
  :class:`plugin.RangeContext` (``-w/-c``) are judged by their ranges as usual;
- *say*: :class:`FindingsSummary` prints OK findings on an OK run, the problems otherwise,
  and the Outcome's ``details`` as long output with ``-v``.
"""

from __future__ import annotations

import nagiosplugin

from clusterwatch.checks import plugin

TYPE_CHECKING = False  # typing costs start-up time: annotations only
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping, Sequence
    from typing import Any

OK, WARNING, CRITICAL, UNKNOWN = plugin.OK, plugin.WARNING, plugin.CRITICAL, plugin.UNKNOWN
_STATES = {
    OK: nagiosplugin.Ok,
    WARNING: nagiosplugin.Warn,
    CRITICAL: nagiosplugin.Critical,
    UNKNOWN: nagiosplugin.Unknown,
}


class Measure:
    """What a plugin measures: subclasses keep the parsed arguments and the progress reporter
    and implement ``__call__() -> Outcome``."""

    def __init__(self, args: plugin.Namespace, progress: plugin.Progress) -> None:
        self.args = args
        self.progress = progress

    def __call__(self) -> Outcome:
        raise NotImplementedError


class Finding:
    """One judgement: an exit state and the words for it."""

    __slots__ = ("state", "text")

    def __init__(self, state: int, text: str) -> None:
        self.state = state
        self.text = text

    def __repr__(self) -> str:
        return f"Finding({plugin.STATE_NAMES[self.state]}, {self.text!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Finding) and (self.state, self.text) == (other.state, other.text)

    def __hash__(self) -> int:
        return hash((self.state, self.text))


def worst(findings: Sequence[Finding]) -> int:
    """The most severe state among findings (CRITICAL > UNKNOWN > WARNING > OK); OK if none."""
    return max((f.state for f in findings), key=plugin.SEVERITY.__getitem__, default=OK)


class Outcome:
    """What one run measured: findings, metrics (perfdata, maybe judged by ranges), details."""

    __slots__ = ("details", "findings", "metrics", "ranges")

    def __init__(
        self,
        findings: list[Finding],
        metrics: list[nagiosplugin.Metric],
        details: list[str] | None = None,
        ranges: Mapping[str, tuple[str | None, str | None]] | None = None,
    ) -> None:
        self.findings = findings
        self.metrics = metrics
        self.details = details or []
        self.ranges = dict(ranges or {})
        """Fixed warn/crit ranges (range syntax) shown in perfdata for ``perf`` metrics."""


class Measured(nagiosplugin.Resource):  # type: ignore[misc]
    """The one resource of a rule-based check: runs ``measure`` and yields what it found."""

    def __init__(self, name: str, measure: Callable[[], Outcome]) -> None:
        self._name = name
        self.measure = measure
        self.outcome = Outcome([], [])

    @property
    def name(self) -> str:
        return self._name.upper()

    def probe(self) -> Iterator[nagiosplugin.Metric]:
        self.outcome = self.measure()
        for index, finding in enumerate(self.outcome.findings):
            yield nagiosplugin.Metric(f"finding {index}", finding, context="finding")
        yield from self.outcome.metrics


class FindingContext(nagiosplugin.Context):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__("finding", fmt_metric=None)

    def evaluate(self, metric: nagiosplugin.Metric, resource: Any) -> nagiosplugin.Result:
        finding: Finding = metric.value
        return nagiosplugin.Result(_STATES[finding.state], finding.text, metric)

    def performance(self, metric: nagiosplugin.Metric, resource: Any) -> None:
        return None


class PerfContext(nagiosplugin.Context):  # type: ignore[misc]
    """Perfdata only (never alerts); warn/crit come from the Outcome's fixed ``ranges``."""

    def __init__(self) -> None:
        super().__init__("perf", fmt_metric=None)

    def evaluate(self, metric: nagiosplugin.Metric, resource: Any) -> nagiosplugin.Result:
        return nagiosplugin.Result(nagiosplugin.Ok, None, metric)

    def performance(self, metric: nagiosplugin.Metric, resource: Any) -> plugin.PerfData:
        outcome = getattr(resource, "outcome", None)
        warn, crit = outcome.ranges.get(metric.name, (None, None)) if outcome else (None, None)
        return plugin.PerfData(
            metric.name,
            metric.value,
            metric.uom or "",
            plugin.parse_range(warn) if warn else None,
            plugin.parse_range(crit) if crit else None,
            metric.min,
            metric.max,
        )


def perf(
    name: str,
    value: float | int | None,
    uom: str = "",
    min: float | int | None = None,
    max: float | int | None = None,
) -> nagiosplugin.Metric:
    """A perfdata-only metric."""
    return nagiosplugin.Metric(name, value, uom or None, min, max, context="perf")


class FindingsSummary(plugin.Summary):
    """OK: the OK findings and range results that have words; -v: the Outcome's details."""

    def ok(self, results: nagiosplugin.Results) -> str:
        parts = [str(r) for r in results if r.metric is not None and r.metric.context != "perf"]
        return ", ".join(p for p in parts if p)

    def verbose(self, results: nagiosplugin.Results) -> list[str]:
        resource = results[0].resource if results else None
        outcome = getattr(resource, "outcome", None)
        return list(outcome.details) if outcome is not None else []


def run(
    name: str, parser: plugin.ArgumentParser, measure: type[Measure], argv: list[str] | None
) -> int:
    """The ``main`` of a rule-based plugin: parse, measure, judge, say (see plugin.run)."""
    return plugin.run(
        name, parser, lambda args, progress: check(name, measure(args, progress)), argv
    )


def check(
    name: str, measure: Callable[[], Outcome], *contexts: nagiosplugin.Context
) -> nagiosplugin.Check:
    """A nagiosplugin Check for a rule-based plugin (finding and perf contexts included)."""
    return nagiosplugin.Check(
        Measured(name, measure), FindingContext(), PerfContext(), *contexts, FindingsSummary()
    )
