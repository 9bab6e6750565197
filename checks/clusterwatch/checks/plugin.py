"""The Monitoring Plugins guideline layer every clusterwatch check runs in.

A check keeps nagiosplugin's split - Resources measure, Contexts judge, a Summary speaks - and
hands its ``build(args, progress) -> nagiosplugin.Check`` to :func:`run`. This module closes what
nagiosplugin leaves open against the Monitoring Plugins development guidelines:

- usage errors exit 3 (argparse exits 2) with ``NAME UNKNOWN - message`` on stdout; ``--help`` and
  ``--version`` print to stdout and exit 0; ``unrecognized arguments`` never echoes values (the
  command line is argparse's, without its start-up cost on plain runs: see :mod:`options`);
- ``-t/--timeout`` bounds the *whole* run - DNS, connect, read, parsing - because the check runs in
  a worker thread the main thread stops waiting for (``signal.alarm`` cannot interrupt
  ``getaddrinfo``); the line says what was being done: ``UNKNOWN - timeout after 10s (reading
  mntr from zk1:2181)``;
- ranges: the full syntax (``10``, ``10:``, ``~:10``, ``@10:20``) is validated at parse time, and an
  absent threshold never alerts (nagiosplugin turns "no range" into ``0:``, so negative values
  went CRITICAL);
- exactly one first line ``NAME STATE - summary | perfdata`` whatever the verbosity (nagiosplugin
  moves perfdata to a trailing line with ``-v``); ``-v``/``-vv``/``-vvv`` add long output;
- perfdata labels are quoted when needed and ``'`` doubled (nagiosplugin raises), ``=`` replaced,
  UOMs validated, numbers never in exponent form, ``warn;crit;min;max`` filled where known;
- any exception becomes ``UNKNOWN - reason`` (a traceback only with ``-vvv``, as long output);
- states are ranked OK < WARNING < UNKNOWN < CRITICAL (nagiosplugin lets UNKNOWN hide CRITICAL).
"""

from __future__ import annotations

import logging
import math
import sys
import threading
import time

import nagiosplugin

# the command line, re-exported ("as"): the plugins use plugin.ArgumentParser, plugin.BadValue...
from clusterwatch.checks.options import ArgumentParser as ArgumentParser
from clusterwatch.checks.options import BadValue as BadValue
from clusterwatch.checks.options import Namespace as Namespace
from clusterwatch.checks.options import ParserExit
from clusterwatch.checks.options import UsageError as UsageError
from clusterwatch.core.errors import ClusterwatchError
from clusterwatch.core.version import __version__

TYPE_CHECKING = False  # typing and dataclasses cost start-up time: annotations only
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence
    from typing import Any, TextIO

OK, WARNING, CRITICAL, UNKNOWN = 0, 1, 2, 3
STATE_NAMES = {OK: "OK", WARNING: "WARNING", CRITICAL: "CRITICAL", UNKNOWN: "UNKNOWN"}
SEVERITY = {OK: 0, WARNING: 1, UNKNOWN: 2, CRITICAL: 3}
"""How bad a state is when several meet: CRITICAL beats UNKNOWN (the exit codes do not say so)."""
VALID_UOMS = frozenset({"", "s", "ms", "us", "%", "B", "KB", "MB", "GB", "TB", "c"})
DEFAULT_TIMEOUT = 10.0

_PLAIN_LABEL_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-/"

RANGES_HELP = """\
Thresholds use the Monitoring Plugins range syntax; the state is raised when the value is
OUTSIDE the range (INSIDE with a leading @):
  10      alert if < 0 or > 10        10:     alert if < 10
  ~:10    alert if > 10               10:20   alert if < 10 or > 20
  @10:20  alert if >= 10 and <= 20
Exit codes: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (also usage errors and -t timeouts)."""


# --------------------------------------------------------------------------- command line


def is_number(text: str) -> bool:
    r"""Whether ``text`` is ``[-+]?(\d+(\.\d*)?|\.\d+)``, ``\d`` any Unicode decimal digit as in a
    regular expression (``str.isdecimal``): checked by hand, as compiling one costs start-up."""
    digits = text[1:] if text[:1] in ("+", "-") else text
    return digits.replace(".", "", 1).isdecimal()


def is_range(text: str) -> bool:
    """Whether ``text`` is the range syntax ``@?((~|NUM):)?NUM?`` (NUM: :func:`is_number`)."""
    start, colon, end = text.removeprefix("@").partition(":")
    if not colon:
        return start == "" or is_number(start)
    return (start == "~" or is_number(start)) and (end == "" or is_number(end))


def parse_range(spec: str) -> nagiosplugin.Range:
    """A Monitoring Plugins range; ``ValueError`` for anything else (the empty string too)."""
    text = spec.strip()
    if not text or text == "@" or not is_range(text):
        raise ValueError(f"invalid range {spec!r}")
    try:
        return nagiosplugin.Range(text)
    except ValueError:
        raise ValueError(f"invalid range {spec!r} (start is greater than end)") from None


def range_arg(spec: str) -> nagiosplugin.Range:
    """``type=`` for ``-w``/``-c``."""
    try:
        return parse_range(spec)
    except ValueError as exc:
        raise BadValue(str(exc)) from None


def timeout_arg(spec: str) -> float:
    """``type=`` for ``-t``: seconds, more than 0."""
    try:
        value = float(spec)
    except ValueError:
        raise BadValue(f"invalid timeout {spec!r} (seconds)") from None
    if not 0 < value < 86400 or math.isnan(value):
        raise BadValue(f"invalid timeout {spec!r} (must be > 0)")
    return value


def make_parser(prog: str, description: str, epilog: str = "") -> ArgumentParser:
    """A parser with the standard options: -h, -V, -v (repeatable), -t."""
    parser = ArgumentParser(prog, description, "\n\n".join(p for p in (epilog, RANGES_HELP) if p))
    parser.add_argument(
        "-V", "--version", action="version", version=f"{prog} (clusterwatch) {__version__}"
    )
    parser.add_argument(
        "-v", "--verbose", action="count", default=0,
        help="more output: -v lists every item, -vv adds progress, -vvv debugging",
    )
    parser.add_argument(
        "-t", "--timeout", type=timeout_arg, default=DEFAULT_TIMEOUT, metavar="SECONDS",
        help=f"stop and report UNKNOWN after this long, all included (default {DEFAULT_TIMEOUT:g})",
    )
    return parser


# --------------------------------------------------------------------------- perfdata


def format_value(value: float | int | bool | None) -> str:
    """A perfdata number: ``[-0-9.]`` only (no exponent), ``U`` when unknown."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "U"
    if isinstance(value, bool | int):
        return str(int(value))
    text = repr(float(value))
    if "e" in text or "E" in text:
        text = f"{value:.15f}".rstrip("0").rstrip(".")
    return text[:-2] if text.endswith(".0") else text


def format_range(value: nagiosplugin.Range | None) -> str:
    if value is None:
        return ""
    parts = []
    if value.invert:
        parts.append("@")
    if value.start == -math.inf:
        parts.append("~:")
    elif value.start != 0:
        parts.append(f"{format_value(value.start)}:")
    if value.end != math.inf:
        parts.append(format_value(value.end))
    return "".join(parts) or "0:"


def quote_label(label: str) -> str:
    """Quote a perfdata label when it needs it; ``'`` doubled, ``=`` (never allowed) -> ``_``."""
    clean = label.replace("=", "_").replace("\n", " ").replace("|", "_")
    if clean and not clean.strip(_PLAIN_LABEL_CHARS):  # all of them plain
        return clean
    return "'" + clean.replace("'", "''") + "'"


class PerfData:
    """One perfdata item, printed as ``'label'=value[UOM];[warn];[crit];[min];[max]``."""

    __slots__ = ("crit", "label", "max", "min", "uom", "value", "warn")

    def __init__(
        self,
        label: str,
        value: float | int | bool | None,
        uom: str = "",
        warn: nagiosplugin.Range | None = None,
        crit: nagiosplugin.Range | None = None,
        min: float | int | None = None,
        max: float | int | None = None,
    ) -> None:
        if uom not in VALID_UOMS:
            raise ValueError(f"invalid perfdata UOM {uom!r} for {label!r}")
        self.label, self.value, self.uom = label, value, uom
        self.warn, self.crit, self.min, self.max = warn, crit, min, max

    def __repr__(self) -> str:
        return f"PerfData({self})"

    def __str__(self) -> str:
        fields = [
            f"{quote_label(self.label)}={format_value(self.value)}{self.uom}",
            format_range(self.warn),
            format_range(self.crit),
            "" if self.min is None else format_value(self.min),
            "" if self.max is None else format_value(self.max),
        ]
        while fields and fields[-1] == "":
            fields.pop()
        return ";".join(fields)


# --------------------------------------------------------------------------- judging


def _violation(value: nagiosplugin.Range) -> str:
    spec = format_range(value)
    return f"inside {spec[1:]}" if value.invert else f"outside {spec}"


class RangeContext(nagiosplugin.Context):  # type: ignore[misc]
    """ScalarContext without the empty-range pitfall: ``None`` means "never alert on this"."""

    def __init__(
        self,
        name: str,
        warning: nagiosplugin.Range | None = None,
        critical: nagiosplugin.Range | None = None,
        fmt_metric: str | Callable[..., str] = "{name} is {valueunit}",
    ) -> None:
        super().__init__(name, fmt_metric)
        self.warning = warning
        self.critical = critical

    def evaluate(self, metric: nagiosplugin.Metric, resource: Any) -> nagiosplugin.Result:
        if metric.value is None:
            return nagiosplugin.Result(nagiosplugin.Unknown, "no value", metric)
        if self.critical is not None and not self.critical.match(metric.value):
            return nagiosplugin.Result(nagiosplugin.Critical, _violation(self.critical), metric)
        if self.warning is not None and not self.warning.match(metric.value):
            return nagiosplugin.Result(nagiosplugin.Warn, _violation(self.warning), metric)
        return nagiosplugin.Result(nagiosplugin.Ok, None, metric)

    def performance(self, metric: nagiosplugin.Metric, resource: Any) -> PerfData:
        return PerfData(
            metric.name, metric.value, metric.uom or "", self.warning, self.critical,
            metric.min, metric.max,
        )


def severity(state: Any) -> int:
    return SEVERITY[int(state)]


def worst_state(results: Iterable[nagiosplugin.Result]) -> int:
    """The most severe exit code among results (CRITICAL > UNKNOWN > WARNING > OK)."""
    codes = [int(r.state) for r in results]
    return max(codes, key=SEVERITY.__getitem__) if codes else UNKNOWN


class Summary(nagiosplugin.Summary):  # type: ignore[misc]
    """Problems first (worst first, all of them), and every non-OK result in long output."""

    def problem(self, results: nagiosplugin.Results) -> str:
        bad = sorted(
            (r for r in results if int(r.state) != OK), key=lambda r: -severity(r.state)
        )
        return "; ".join(str(r) for r in bad if str(r))

    def verbose(self, results: nagiosplugin.Results) -> list[str]:
        return [
            f"{STATE_NAMES[int(r.state)]}: {r}" for r in results if int(r.state) != OK
        ]


# --------------------------------------------------------------------------- running


class Progress:
    """Shared between the check and the runner: what is being done, and the time left."""

    def __init__(self, deadline: float, doing: str = "starting") -> None:
        self.deadline = deadline
        self.doing = doing
        self.lock = threading.Lock()

    def step(self, what: str) -> None:
        with self.lock:
            self.doing = what
        logging.getLogger("clusterwatch.checks").info("%s", what)

    def now_doing(self) -> str:
        with self.lock:
            return self.doing

    def remaining(self) -> float:
        """Seconds left before the run's deadline (never 0, so it can be a socket timeout)."""
        return max(0.001, self.deadline - time.monotonic())


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(f"{record.levelname.lower()}: {record.getMessage()}")
        except Exception:  # a bad log call must not break the check
            self.lines.append(f"{record.levelname.lower()}: {record.msg!r}")


def one_line(text: str) -> str:
    """Text fit for the status line: no newlines, no ``|`` (it starts perfdata)."""
    return " ".join(text.replace("|", "/").split())


def describe_error(exc: BaseException) -> str:
    """A one-line reason for an exception, never a traceback."""
    if isinstance(exc, ClusterwatchError):
        return one_line(str(exc))
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        return one_line(f"{where}{exc.strerror or exc}")
    text = one_line(str(exc))
    return f"internal error: {type(exc).__name__}" + (f": {text}" if text else "")


def run(
    name: str,
    parser: ArgumentParser,
    build: Callable[[Namespace, Progress], nagiosplugin.Check],
    argv: Sequence[str] | None = None,
    stdout: TextIO | None = None,
) -> int:
    """Parse ``argv``, run the check built by ``build`` within ``-t``, print, return the code."""
    out = stdout if stdout is not None else sys.stdout
    label = name.upper()
    try:
        args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    except ParserExit as exc:  # --help and --version have printed to stdout already
        if exc.status == 0:
            return OK
        _emit(out, [f"{label} UNKNOWN - {one_line(exc.message or 'bad command line')}"])
        return UNKNOWN
    except UsageError as exc:
        _emit(out, [f"{label} UNKNOWN - {one_line(str(exc))}", one_line(parser.format_usage())])
        return UNKNOWN

    verbose = min(int(getattr(args, "verbose", 0) or 0), 3)
    timeout = float(getattr(args, "timeout", DEFAULT_TIMEOUT))
    progress = Progress(deadline=time.monotonic() + timeout)
    capture = _Capture()
    capture.setLevel({0: logging.WARNING, 1: logging.WARNING, 2: logging.INFO}.get(verbose, 10))
    loggers = [logging.getLogger("nagiosplugin"), logging.getLogger("clusterwatch")]
    saved = [(logger.level, logger.propagate) for logger in loggers]
    for logger in loggers:
        logger.addHandler(capture)
        logger.setLevel(logging.DEBUG)
        logger.propagate = False
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            check = build(args, progress)
            progress.step("evaluating")
            check()
            box["check"] = check
        except BaseException as exc:  # everything becomes UNKNOWN with the reason
            box["error"] = exc

    worker = threading.Thread(target=work, name=f"{name}-check", daemon=True)
    try:
        worker.start()
        worker.join(timeout)
        if worker.is_alive():
            lines = [f"{label} UNKNOWN - timeout after {timeout:g}s ({progress.now_doing()})"]
            code = UNKNOWN
        elif "error" in box:
            lines = [f"{label} UNKNOWN - {describe_error(box['error'])}"]
            if verbose >= 3:
                lines += _traceback_lines(box["error"])
            code = UNKNOWN
        else:
            lines, code = render(label, box["check"], verbose)
        if verbose >= 1:
            lines += capture.lines
    finally:
        for logger, (level, propagate) in zip(loggers, saved, strict=True):
            logger.removeHandler(capture)
            logger.setLevel(level)
            logger.propagate = propagate
    _emit(out, lines)
    return code


def _traceback_lines(exc: BaseException) -> list[str]:
    import traceback

    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return [line.replace("|", "/") for line in text.splitlines()]


def render(label: str, check: nagiosplugin.Check, verbose: int = 0) -> tuple[list[str], int]:
    """The output lines and exit code for an evaluated check."""
    results = list(check.results.results)  # insertion order (iterating sorts by state)
    code = worst_state(results)
    if not results:
        summary = check.summary.empty() or "no check results"
    elif code == OK:
        summary = check.summary.ok(check.results) or ""
    else:
        summary = check.summary.problem(check.results) or ""
    perfdata = []
    for result in results:
        if result.metric is not None and result.metric.contextobj is not None:
            perf = result.metric.performance()
            if perf:
                perfdata.append(str(perf))
    first = f"{label} {STATE_NAMES[code]}"
    if one_line(summary):
        first += f" - {one_line(summary)}"
    if perfdata:
        first += " | " + " ".join(perfdata)
    lines = [first]
    if verbose >= 1:
        extra = check.summary.verbose(check.results) or []
        lines += [line.replace("|", "/") for line in _as_lines(extra)]
    return lines, code


def _as_lines(text: str | Iterable[str]) -> list[str]:
    if isinstance(text, str):
        return text.splitlines()
    return [line for item in text for line in str(item).splitlines()]


def _emit(out: TextIO, lines: list[str]) -> None:
    out.write("\n".join(lines) + "\n")
    out.flush()
