"""The plugins' command line (checks.options): the plain path gives exactly what argparse gives.

Every plugin's parser is fed the same words twice, through :class:`options.ArgumentParser` (which
parses plain command lines itself) and through the argparse parser built from the same record;
the namespaces, or the errors, must be the same. Hand-picked command lines first, then
hypothesis-made ones from each parser's option names and a pool of values.
"""

from __future__ import annotations

import importlib
import io
from contextlib import redirect_stdout
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clusterwatch.checks import options

PLUGINS = [
    "zookeeper_quorum", "haproxy_backends", "keepalived", "mesos_quorum", "consul_quorum",
    "marathon_leader", "mesos_agents", "mesos_resources", "marathon_apps", "chronos_jobs",
    "freshness",
]  # fmt: skip
PLAIN = {
    "zookeeper_quorum": ["-H", "127.0.0.1:2181,127.0.0.1:2182", "-H", "zk3:2181", "-w", "5:"],
    "haproxy_backends": ["-U", "http://lb:8080/stats", "-w", "2", "-c", "50%", "-b", "^app"],
    "keepalived": ["-f", "/tmp/k.data", "-e", "VI_1=MASTER", "-e", "VI_2=backup"],
    "mesos_quorum": ["-H", "http://m1:5050,http://m2:5050", "--quorum", "2", "-t", "5"],
    "consul_quorum": ["--hosts=http://c1:8500", "--expected-peers", "3"],
    "marathon_leader": ["-H", "m1:8080", "-H", "m2:8080", "-H", "m1:8080"],
    "mesos_agents": ["-H", "http://m1:5050", "--expected", "10", "-w", "90%", "-c", "5"],
    "mesos_resources": ["-H", "m1:5050", "-w", "80", "--cpus", "70,95", "--gpus", ",@0:5"],
    "marathon_apps": ["-H", "m1:8080", "--app", "^/web", "--deployment-max-age", "600"],
    "chronos_jobs": ["-H", "chronos:4400", "--job", "etl", "--grace", "60"],
    "freshness": ["--influxdb", "http://i:8086", "--database", "cw", "-w", "~:300", "-v"],
}
VALUES = [
    "http://m1:5050", "m1:5050,m2:5050", "127.0.0.1:2181", "5", "0", "10:", "~:10", "@10:20",
    "80%", "x", "", "-5", "--", "-", "VI_1=MASTER", "1.5", "/tmp/x", "70,95", "^a", "(", "@",
    "-vv", "-H=m1:1", "--hosts=m1:1", "--bogus", "-h", "--version", "stray",
]  # fmt: skip
GOOD = [v for v in VALUES if not v.startswith("-")]
"""Values an option can take in the next word (whether its type= takes them or not)."""


def parser_of(name: str) -> options.ArgumentParser:
    parser: options.ArgumentParser = importlib.import_module(f"clusterwatch.checks.{name}").parser()
    return parser


def comparable(value: Any) -> Any:
    """Values that compare by content (a Minimum or a compiled pattern has no useful ==)."""
    if isinstance(value, list | tuple):
        return (type(value).__name__, [comparable(v) for v in value])
    if hasattr(value, "pattern"):
        return ("pattern", value.pattern, value.flags)
    if hasattr(value, "__dict__") and not isinstance(value, type):
        return (type(value).__name__, comparable(sorted(vars(value).items())))
    return value


def outcome(parse: Any, words: list[str]) -> tuple[str, Any]:
    try:
        with redirect_stdout(io.StringIO()):  # --help and --version print
            namespace = parse(words)
    except options.UsageError as exc:
        return "usage error", str(exc)
    except options.ParserExit as exc:
        return "exit", exc.status
    return "namespace", comparable(sorted(vars(namespace).items()))


def assert_as_argparse(parser: options.ArgumentParser, words: list[str]) -> None:
    full = parser.full()
    expected = outcome(lambda w: full.parse_args(w, options.Namespace()), words)
    assert outcome(parser.parse_args, words) == expected, words


@pytest.mark.parametrize("name", PLUGINS)
def test_a_plain_command_line_skips_argparse_and_gets_its_namespace(name: str) -> None:
    parser = parser_of(name)
    assert parser.plain
    assert parser._parse_plain(PLAIN[name]) is not None  # the fast path is taken
    assert parser._argparse is None  # and argparse was never built
    assert_as_argparse(parser, PLAIN[name])


EXTRA = [
    [], ["-v"], ["-vvv"], ["-v", "-v"], ["-t", "2.5"], ["-t=2"], ["--timeout=2"], ["--timeout="],
    ["-t", "0"], ["-t", "-1"], ["-t"], ["--bogus"], ["--bogus=1"], ["stray"], ["--"], ["-h"],
    ["--help"], ["-V"], ["--verbose=2"], ["-w", "-5"], ["-w", "5:1"], ["-w", "@"], ["-c", "~:"],
    ["--time", "1"],
]  # fmt: skip


@pytest.mark.parametrize("name", PLUGINS)
@pytest.mark.parametrize("extra", EXTRA, ids=str)
def test_every_outcome_is_argparse_s(name: str, extra: list[str]) -> None:
    parser = parser_of(name)
    assert_as_argparse(parser, PLAIN[name] + extra)
    assert_as_argparse(parser_of(name), extra + PLAIN[name])


@pytest.mark.parametrize("name", PLUGINS)
def test_a_missing_required_option_or_a_conflict_is_argparse_s(name: str) -> None:
    assert_as_argparse(parser_of(name), [])
    assert_as_argparse(parser_of(name), ["-t", "1"])


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("mesos_quorum", ["-H", "m1:5050", "--zookeeper", "zk:2181"]),
        ("mesos_quorum", ["--zookeeper", "zk:2181", "--znode", "/mesos2"]),
        ("haproxy_backends", ["-S", "/run/haproxy.sock", "-U", "http://lb/stats"]),
        ("haproxy_backends", ["-S", "lb:9999", "--password-env", "PW"]),
        ("freshness", ["--elasticsearch", "http://e:9200", "--index", "logs-*"]),
        ("freshness", ["--influxdb", "i:8086", "--database", "d", "--password", "x"]),
        ("mesos_resources", ["-H", "m1:5050", "--mem", "80,x"]),
        ("keepalived", ["-e", "VI_1"]),
        ("keepalived", ["--max-age", "0"]),
        ("chronos_jobs", ["-H", "c:4400", "--max-errors-since-success", "0"]),
        ("chronos_jobs", ["-H", "c:4400", "--job", "("]),
    ],
)
def test_groups_and_bad_values_are_argparse_s(name: str, words: list[str]) -> None:
    assert_as_argparse(parser_of(name), words)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_any_command_line_is_argparse_s(data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(PLUGINS))
    parser = parser_of(name)
    names = sorted(parser.options)
    word = st.one_of(st.sampled_from(names), st.sampled_from(VALUES),
                     st.sampled_from(PLAIN[name]))  # fmt: skip
    words = data.draw(st.lists(word, max_size=8))
    assert_as_argparse(parser, words)


def takes(option: str, parser: options.ArgumentParser) -> list[str]:
    """The values of GOOD the option's type= takes (all of them when it has none)."""
    convert = parser.options[option].type
    good = []
    for value in GOOD:
        try:
            convert(value) if convert else value
        except Exception:
            continue
        good.append(value)
    return good or GOOD


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_any_plain_looking_command_line_is_argparse_s(data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(PLUGINS))
    parser = parser_of(name)
    words = list(PLAIN[name])
    plain = sorted(n for n, o in parser.options.items() if o.action != "version")
    for _ in range(data.draw(st.integers(0, 4))):
        option = data.draw(st.sampled_from(plain))
        value = data.draw(st.sampled_from(takes(option, parser)))
        if parser.options[option].action == "count":
            words.append(option)
        elif option.startswith("--") and data.draw(st.booleans()):
            words.append(f"{option}={value}")
        else:
            words += [option, value]
    assert_as_argparse(parser, words)


def test_a_bad_value_gets_the_type_function_s_message() -> None:
    parser = parser_of("mesos_agents")
    with pytest.raises(options.UsageError, match=r"argument -w/--warning: invalid minimum 'x'"):
        parser.parse_args(["-H", "m1:5050", "-w", "x"])
    with pytest.raises(options.UsageError, match=r"argument --expected: invalid count '0'"):
        parser.parse_args(["-H", "m1:5050", "--expected", "0"])


def test_an_unknown_keyword_sends_every_command_line_to_argparse() -> None:
    parser = options.ArgumentParser("check_x", "X.")
    parser.add_argument("--mode", choices=["a", "b"], default="a")
    assert not parser.plain
    assert parser.parse_args(["--mode", "b"]).mode == "b"
    with pytest.raises(options.UsageError, match="invalid choice"):
        parser.parse_args(["--mode", "c"])


def test_argparse_s_corners_the_plugins_do_not_use_yet() -> None:
    parser = options.ArgumentParser("check_x", "X.")
    parser.add_argument("--size", type=int, default="5")  # a string default goes through type=
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--a", type=int, default=0)  # a value that *is* the default is not given
    group.add_argument("--b")
    parser.add_argument("--tags", action="append", default=["base"])
    for words in (
        ["--b", "x"], ["--a", "0"], ["--a", "1"], ["--a", "0", "--b", "x"],
        ["--a", "1", "--b", "x"], ["--b", "x", "--tags", "t", "--tags", "u"],
    ):  # fmt: skip
        assert_as_argparse(parser, words)
    assert parser.parse_args(["--b", "x"]).size == 5
    assert parser.parse_args(["--b", "x", "--tags", "t"]).tags == ["base", "t"]
