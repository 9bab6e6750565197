"""Per-app load models: how many CPU cores an app's users demand at a simulated moment.

Demand is for the whole app; the model spreads it over the running instances, so scaling out
lowers the load each instance carries. ``parse_load`` reads the short text form used by the
CLI and the control endpoint: ``constant:1.5``, ``step:1,4,600``, ``sine:2,1,3600``,
``spike:0.5,4,900,60`` or ``trace:/path/to.csv`` (CSV rows ``seconds,cores``).
"""

from __future__ import annotations

import csv
import math
from bisect import bisect_right
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


class LoadModel(Protocol):
    def demand(self, elapsed: float) -> float:
        """Cores demanded ``elapsed`` simulated seconds after the simulation started."""
        ...


@dataclass(frozen=True)
class Constant:
    cores: float

    def demand(self, elapsed: float) -> float:
        return self.cores


@dataclass(frozen=True)
class Step:
    before: float
    after: float
    at: float

    def demand(self, elapsed: float) -> float:
        return self.before if elapsed < self.at else self.after


@dataclass(frozen=True)
class Sine:
    mean: float
    amplitude: float
    period: float
    phase: float = 0.0

    def demand(self, elapsed: float) -> float:
        angle = 2 * math.pi * (elapsed / self.period) + self.phase
        return max(0.0, self.mean + self.amplitude * math.sin(angle))


@dataclass(frozen=True)
class Spike:
    base: float
    peak: float
    every: float
    duration: float

    def demand(self, elapsed: float) -> float:
        return self.peak if elapsed % self.every < self.duration else self.base


@dataclass(frozen=True)
class Trace:
    """Linear interpolation between recorded points, repeating after the last one."""

    times: tuple[float, ...]
    values: tuple[float, ...]

    @classmethod
    def from_csv(cls, path: str | Path) -> Trace:
        points: list[tuple[float, float]] = []
        with open(path, newline="", encoding="utf-8") as handle:
            for row in csv.reader(handle):
                if not row or row[0].strip().startswith("#"):
                    continue
                try:
                    points.append((float(row[0]), float(row[1])))
                except (ValueError, IndexError):
                    continue  # a header or a malformed line
        if not points:
            raise ValueError(f"{path}: no 'seconds,cores' rows")
        points.sort()
        return cls(tuple(p[0] for p in points), tuple(max(0.0, p[1]) for p in points))

    def demand(self, elapsed: float) -> float:
        span = self.times[-1]
        moment = elapsed % span if span > 0 else 0.0
        i = bisect_right(self.times, moment)
        if i == 0:
            return self.values[0]
        if i >= len(self.times):
            return self.values[-1]
        t0, t1 = self.times[i - 1], self.times[i]
        v0, v1 = self.values[i - 1], self.values[i]
        return v0 + (v1 - v0) * (moment - t0) / (t1 - t0)


_KINDS: dict[str, tuple[type, int]] = {
    "constant": (Constant, 1),
    "step": (Step, 3),
    "sine": (Sine, 3),
    "spike": (Spike, 4),
}


def parse_load(spec: str) -> LoadModel:
    kind, _, rest = spec.partition(":")
    kind = kind.strip().lower()
    if kind == "trace":
        return Trace.from_csv(rest)
    if kind not in _KINDS:
        known = "constant, step, sine, spike, trace"
        raise ValueError(f"unknown load model {kind!r}; use one of {known}")
    factory, needed = _KINDS[kind]
    try:
        numbers = [float(part) for part in rest.split(",") if part.strip()]
    except ValueError:
        raise ValueError(f"load {spec!r}: parameters must be numbers") from None
    if len(numbers) < needed:
        raise ValueError(f"load {spec!r}: {kind} needs {needed} numbers")
    model: LoadModel = factory(*numbers[: needed + (1 if kind == "sine" else 0)])
    return model


def integrate(model: LoadModel, start: float, end: float, max_step: float = 30.0) -> float:
    """Core-seconds demanded between two moments (trapezoid rule, at most 2,000 steps)."""
    if end <= start:
        return 0.0
    steps = min(2000, max(1, math.ceil((end - start) / max_step)))
    width = (end - start) / steps
    total = 0.0
    left = model.demand(start)
    for i in range(1, steps + 1):
        right = model.demand(start + i * width)
        total += (left + right) * width / 2
        left = right
    return total
