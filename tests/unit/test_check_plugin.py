"""The guideline layer: exit codes, ranges, perfdata, timeouts, one line, no tracebacks."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from typing import Any

import nagiosplugin
import pytest
from hypothesis import given
from hypothesis import strategies as st

from clusterwatch.checks import minimum, plugin
from clusterwatch.core.errors import FetchError

Probe = Callable[[plugin.Progress], Iterator[nagiosplugin.Metric]]
release = threading.Event()


class Dummy(nagiosplugin.Resource):  # type: ignore[misc]
    def __init__(self, probe: Probe, progress: plugin.Progress) -> None:
        self._probe = probe
        self.progress = progress

    def probe(self) -> Iterator[nagiosplugin.Metric]:
        return self._probe(self.progress)


def run_dummy(probe: Probe, argv: list[str]) -> int:
    parser = plugin.make_parser("check_dummy", "A dummy check.")
    parser.add_argument("-w", "--warning", type=plugin.range_arg)
    parser.add_argument("-c", "--critical", type=plugin.range_arg)

    def build(args: plugin.Namespace, progress: plugin.Progress) -> nagiosplugin.Check:
        return nagiosplugin.Check(
            Dummy(probe, progress),
            plugin.RangeContext("value", args.warning, args.critical),
            plugin.Summary(),
        )

    return plugin.run("dummy", parser, build, argv)


def value(x: float, name: str = "value", uom: str = "") -> Probe:
    def probe(progress: plugin.Progress) -> Iterator[nagiosplugin.Metric]:
        yield nagiosplugin.Metric(name, x, uom, min=0, context="value")

    return probe


def output(capsys: pytest.CaptureFixture[str]) -> tuple[list[str], str]:
    captured = capsys.readouterr()
    return captured.out.splitlines(), captured.err


# ---------------------------------------------------------------- command line


@pytest.mark.parametrize(
    "argv",
    [["-w", "abc"], ["-c", "10:5"], ["--nope"], ["-t", "0"], ["-t", "soon"], ["extra"]],
)
def test_usage_errors_exit_3_with_one_line_on_stdout(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_dummy(value(1), argv) == 3
    lines, err = output(capsys)
    assert lines[0].startswith("DUMMY UNKNOWN - ")
    assert len(lines) == 2 and lines[1].startswith("usage: check_dummy")
    assert err == ""


def test_unrecognized_arguments_never_echo_values(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_dummy(value(1), ["--password", "s3cret", "--token=abc"]) == 3
    lines, _ = output(capsys)
    assert lines[0] == "DUMMY UNKNOWN - unrecognized arguments: --password --token"
    assert "s3cret" not in lines[0] and "abc" not in lines[0]


def test_abbreviated_options_are_not_guessed(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_dummy(value(1), ["--warn", "5"]) == 3


def test_help_exits_0_on_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_dummy(value(1), ["--help"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("usage: check_dummy")
    assert "@10:20" in captured.out and "-t SECONDS" in captured.out
    assert captured.err == ""


def test_version_exits_0_on_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_dummy(value(1), ["-V"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("check_dummy (clusterwatch) ")
    assert captured.err == ""


# ---------------------------------------------------------------- ranges


@pytest.mark.parametrize(
    ("spec", "inside", "outside"),
    [
        ("10", [0, 5, 10], [-1, 11]),
        ("10:", [10, 1e9], [9.9, -1]),
        ("~:10", [-1e9, 10], [10.1]),
        ("10:20", [10, 15, 20], [9, 21]),
        ("@10:20", [9, 21], [10, 15, 20]),
        ("-5:-1", [-3], [0, -6]),
        ("0.5:1.5", [1], [0.4, 1.6]),
        ("~:", [-1e9, 1e9], []),
    ],
)
def test_range_syntax(spec: str, inside: list[float], outside: list[float]) -> None:
    parsed = plugin.parse_range(spec)
    assert all(parsed.match(v) for v in inside)
    assert not any(parsed.match(v) for v in outside)


@pytest.mark.parametrize("spec", ["", " ", "@", "abc", "10:5", ":10", "1:2:3", "1e3", "10%"])
def test_invalid_ranges_are_refused(spec: str) -> None:
    with pytest.raises(ValueError, match="invalid range"):
        plugin.parse_range(spec)


NUM = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)"
RANGE = re.compile(rf"@?(?:(?:~|{NUM}):)?(?:{NUM})?")
"""The range syntax as a regular expression: plugin.is_range checks it by hand (no compiling)."""
RANGE_TEXT = st.text(st.sampled_from("0123456789.+-~:@ e%\u0663\uff15x"), max_size=9)


@given(RANGE_TEXT)
def test_range_syntax_by_hand_is_the_regular_expression(text: str) -> None:
    assert plugin.is_range(text) == bool(RANGE.fullmatch(text))
    assert plugin.is_number(text) == bool(re.fullmatch(NUM, text))


def test_a_digit_is_what_a_regular_expression_calls_one() -> None:
    digit = re.compile(r"\d")
    assert all(c.isdecimal() == bool(digit.fullmatch(c)) for c in map(chr, range(0x110000)))


@given(RANGE_TEXT)
def test_a_bare_minimum_is_at_least_that(text: str) -> None:
    def by_regex(spec: str) -> str:  # what minimum_arg did with a regular expression
        body = spec.strip().removesuffix("%")
        return body + ":" if re.fullmatch(r"\d+(\.\d+)?", body) else body

    try:
        got = str(minimum.minimum_arg(text).range)
    except plugin.BadValue:
        got = "invalid"
    try:
        expected = str(plugin.parse_range(by_regex(text)))
    except ValueError:
        expected = "invalid"
    assert got == expected


@given(st.text(max_size=12))
def test_labels_are_quoted_as_a_regular_expression_would_say(label: str) -> None:
    clean = label.replace("=", "_").replace("\n", " ").replace("|", "_")
    plain = re.fullmatch(r"[A-Za-z0-9_.\-/]+", clean)
    assert plugin.quote_label(label) == (clean if plain else "'" + clean.replace("'", "''") + "'")


@pytest.mark.parametrize("spec", ["10", "10:", "~:10", "@10:20", "-5:-1", "0.5:1.5"])
def test_ranges_print_back_as_written(spec: str) -> None:
    assert plugin.format_range(plugin.parse_range(spec)) == spec


def test_no_threshold_never_alerts_even_for_negative_values(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # nagiosplugin's ScalarContext turns "no range" into 0: and would go CRITICAL here
    assert nagiosplugin.ScalarContext("x").evaluate(
        nagiosplugin.Metric("x", -1), None
    ).state == nagiosplugin.Critical
    assert run_dummy(value(-1), []) == 0
    lines, _ = output(capsys)
    assert lines == ["DUMMY OK - value is -1 | value=-1;;;0"]


@pytest.mark.parametrize(
    ("argv", "code", "state"),
    [
        (["-w", "10", "-c", "20"], 0, "OK"),
        (["-w", "5", "-c", "20"], 1, "WARNING"),
        (["-w", "5", "-c", "6"], 2, "CRITICAL"),
        (["-c", "@0:7"], 2, "CRITICAL"),
        (["-w", "~:5"], 1, "WARNING"),
    ],
)
def test_thresholds_decide_the_state(
    argv: list[str], code: int, state: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_dummy(value(7), argv) == code
    lines, _ = output(capsys)
    assert lines[0].startswith(f"DUMMY {state} - value is 7")


# ---------------------------------------------------------------- perfdata


@pytest.mark.parametrize(
    ("perf", "text"),
    [
        (plugin.PerfData("load", 1.5), "load=1.5"),
        (plugin.PerfData("load", 2.0), "load=2"),
        (plugin.PerfData("tiny", 1e-05, "s"), "tiny=0.00001s"),
        (plugin.PerfData("big", 1.5e20), "big=150000000000000000000"),
        (plugin.PerfData("none", None), "none=U"),
        (plugin.PerfData("flag", True), "flag=1"),
        (plugin.PerfData("web backend", 3, min=0, max=5), "'web backend'=3;;;0;5"),
        (plugin.PerfData("it's", 1), "'it''s'=1"),
        (plugin.PerfData("a=b", 1), "a_b=1"),
        (plugin.PerfData("zk1:2181", 1), "'zk1:2181'=1"),
        (plugin.PerfData("app-1.x/y", 1), "app-1.x/y=1"),
        (
            plugin.PerfData(
                "up", 2, "", plugin.parse_range("3:"), plugin.parse_range("@0:1"), 0, 3
            ),
            "up=2;3:;@1;0;3",
        ),
        (plugin.PerfData("lat", 4, "ms", crit=plugin.parse_range("~:10")), "lat=4ms;;~:10"),
        (plugin.PerfData("pct", 50, "%", max=100), "pct=50%;;;;100"),
    ],
)
def test_perfdata_format(perf: plugin.PerfData, text: str) -> None:
    assert str(perf) == text


@pytest.mark.parametrize("uom", ["sec", "kB", "bytes", "%%"])
def test_invalid_uom_is_refused(uom: str) -> None:
    with pytest.raises(ValueError, match="UOM"):
        plugin.PerfData("x", 1, uom)


def test_perfdata_carries_thresholds_min_and_max(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_dummy(value(3, "resp time", "s"), ["-w", "~:5", "-c", "10"]) == 0
    lines, _ = output(capsys)
    assert lines == ["DUMMY OK - resp time is 3s | 'resp time'=3s;~:5;10;0"]


# ---------------------------------------------------------------- output shape


def test_exactly_one_line_without_verbose(capsys: pytest.CaptureFixture[str]) -> None:
    def probe(progress: plugin.Progress) -> Iterator[nagiosplugin.Metric]:
        for i in range(3):
            yield nagiosplugin.Metric(f"v{i}", i, context="value")

    assert run_dummy(probe, ["-c", "1"]) == 2
    lines, err = output(capsys)
    assert len(lines) == 1
    assert lines[0] == "DUMMY CRITICAL - v2 is 2 (outside 1) | v0=0;;1 v1=1;;1 v2=2;;1"
    assert err == ""


def test_verbose_keeps_perfdata_on_the_first_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_dummy(value(7), ["-w", "5", "-v"]) == 1
    lines, _ = output(capsys)
    assert lines[0] == "DUMMY WARNING - value is 7 (outside 5) | value=7;5;;0"
    assert lines[1] == "WARNING: value is 7 (outside 5)"


def test_pipe_in_the_summary_cannot_start_perfdata(capsys: pytest.CaptureFixture[str]) -> None:
    def probe(progress: plugin.Progress) -> Iterator[nagiosplugin.Metric]:
        raise FetchError("a|b", "bad\nthing")
        yield  # pragma: no cover

    assert run_dummy(probe, []) == 3
    lines, _ = output(capsys)
    assert lines == ["DUMMY UNKNOWN - a/b: bad thing"]


def test_critical_outranks_unknown(capsys: pytest.CaptureFixture[str]) -> None:
    def probe(progress: plugin.Progress) -> Iterator[nagiosplugin.Metric]:
        yield nagiosplugin.Metric("value", None, context="value")
        yield nagiosplugin.Metric("value", 9, context="value")

    assert run_dummy(probe, ["-c", "5"]) == 2
    lines, _ = output(capsys)
    assert lines[0].startswith("DUMMY CRITICAL - value is 9 (outside 5); value is None (no value)")


def test_worst_state_order() -> None:
    def result(state: Any) -> nagiosplugin.Result:
        return nagiosplugin.Result(state)

    ok, warn, crit, unk = (
        nagiosplugin.Ok, nagiosplugin.Warn, nagiosplugin.Critical, nagiosplugin.Unknown
    )
    assert plugin.worst_state([result(ok), result(warn)]) == 1
    assert plugin.worst_state([result(unk), result(warn)]) == 3
    assert plugin.worst_state([result(unk), result(crit)]) == 2
    assert plugin.worst_state([]) == 3


# ---------------------------------------------------------------- failures


def test_timeout_is_unknown_and_says_what_was_being_done(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def probe(progress: plugin.Progress) -> Iterator[nagiosplugin.Metric]:
        progress.step("waiting for the slow thing")
        release.wait(20)
        yield nagiosplugin.Metric("value", 1, context="value")

    try:
        assert run_dummy(probe, ["-t", "0.3"]) == 3
    finally:
        release.set()
    lines, err = output(capsys)
    assert lines == ["DUMMY UNKNOWN - timeout after 0.3s (waiting for the slow thing)"]
    assert err == ""


@pytest.mark.parametrize(
    ("error", "text"),
    [
        (FetchError("zk1:2181", "connection refused"), "zk1:2181: connection refused"),
        (KeyError("zk_server_state"), "internal error: KeyError: 'zk_server_state'"),
        (ValueError("Expecting value: line 1 column 5"), "internal error: ValueError: Exp"),
        (FileNotFoundError(2, "No such file or directory", "/x"), "/x: No such file"),
        (nagiosplugin.CheckError("no data"), "no data"),
    ],
)
def test_exceptions_become_unknown_without_traceback(
    error: Exception, text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    def probe(progress: plugin.Progress) -> Iterator[nagiosplugin.Metric]:
        raise error
        yield  # pragma: no cover

    assert run_dummy(probe, ["-v"]) == 3
    lines, err = output(capsys)
    assert lines[0].startswith("DUMMY UNKNOWN - " + text)
    assert "Traceback" not in "\n".join(lines) + err


def test_traceback_only_with_vvv(capsys: pytest.CaptureFixture[str]) -> None:
    def probe(progress: plugin.Progress) -> Iterator[nagiosplugin.Metric]:
        raise RuntimeError("boom")
        yield  # pragma: no cover

    assert run_dummy(probe, ["-vvv"]) == 3
    lines, _ = output(capsys)
    assert lines[0] == "DUMMY UNKNOWN - internal error: RuntimeError: boom"
    assert any(line.startswith("Traceback") for line in lines[1:])


def test_progress_is_logged_with_vv(capsys: pytest.CaptureFixture[str]) -> None:
    def probe(progress: plugin.Progress) -> Iterator[nagiosplugin.Metric]:
        progress.step("asking the oracle")
        yield nagiosplugin.Metric("value", 1, context="value")

    assert run_dummy(probe, ["-vv"]) == 0
    lines, _ = output(capsys)
    assert "info: asking the oracle" in lines
    assert run_dummy(probe, []) == 0
    assert output(capsys)[0] == ["DUMMY OK - value is 1 | value=1"]
