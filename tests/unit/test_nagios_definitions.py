"""The shipped Nagios and Icinga 2 definitions cover every plugin, with options it has.

The helpers here (reading the definition files, the plugins' options) are shared with
tests/integration/test_nagios.py, which runs the same files in a real Nagios.
"""

from __future__ import annotations

import contextlib
import grp
import importlib
import io
import os
import pwd
import re
import shlex
import shutil
import subprocess
import tomllib
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NAGIOS_DIR = REPO / "packaging" / "nagios"
NAGIOS_COMMANDS = NAGIOS_DIR / "clusterwatch-commands.cfg"
NAGIOS_SERVICES = NAGIOS_DIR / "clusterwatch-services.cfg"
ICINGA_COMMANDS = REPO / "packaging" / "icinga2" / "clusterwatch-commands.conf"

BIN_MACRO = "$USER10$"
"""The resource macro the Nagios commands use for the directory of the console scripts."""
ICINGA_BIN_CONST = "ClusterwatchBinDir"

_BLOCK = re.compile(r"^define\s+(\w+)\s*\{\s*$(.*?)^\s*\}\s*$", re.M | re.S)
_ICINGA_OBJECT = re.compile(r'^object CheckCommand "([^"]+)" \{$(.*?)^\}$', re.M | re.S)
_ICINGA_ARGUMENT = re.compile(r'^\t\t"(-[^"]+)" = ', re.M)
_ICINGA_KEY = re.compile(r'^\t\t\tkey = "(-[^"]+)"', re.M)
_ICINGA_COMMAND = re.compile(r'command = \[ ' + ICINGA_BIN_CONST + r' \+ "/([\w.-]+)" \]')
_OPTION = re.compile(r"--?[A-Za-z][\w-]*")
_HELP_OPTION = re.compile(r"(?:^|, )(--?[A-Za-z][\w-]*)")


# ------------------------------------------------------------------------ reading files


def plugin_scripts() -> dict[str, str]:
    """``[project.scripts]`` entries whose name starts with ``check_``: name -> entry point."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    scripts: dict[str, str] = project["scripts"]
    return {name: target for name, target in scripts.items() if name.startswith("check_")}


def nagios_objects(text: str) -> list[tuple[str, dict[str, str]]]:
    """``(type, {directive: value})`` for every ``define`` block (comment lines ignored)."""
    kept = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    objects = []
    for kind, body in _BLOCK.findall(kept):
        values: dict[str, str] = {}
        for line in body.splitlines():
            key, _, value = line.strip().partition(" ")
            if key:
                values[key] = value.strip()
        objects.append((kind, values))
    return objects


def nagios_commands(text: str | None = None) -> dict[str, str]:
    """command_name -> command_line of the shipped commands file (or of ``text``)."""
    source = NAGIOS_COMMANDS.read_text() if text is None else text
    return {
        values["command_name"]: values["command_line"]
        for kind, values in nagios_objects(source)
        if kind == "command"
    }


def uncommented_examples(text: str | None = None) -> str:
    """The example objects of the services file, with their leading ``# `` taken off."""
    source = NAGIOS_SERVICES.read_text() if text is None else text
    start = source.index("# BEGIN EXAMPLES")
    end = source.index("# END EXAMPLES")
    lines = source[start:end].splitlines()[1:]
    out = []
    for line in lines:
        if line.startswith("# "):  # "# # text" stays a comment: "# text"
            out.append(line[2:])
        elif line.rstrip() == "#":
            out.append("")
        else:
            raise AssertionError(f"example line not commented out: {line!r}")
    return "\n".join(out) + "\n"


def plugin_invocations(words: list[str], scripts: set[str]) -> Iterator[tuple[str, list[str]]]:
    """``(plugin, its words)`` for each clusterwatch plugin a command line runs, also inside
    a quoted remote command (``check_by_ssh -C '...'``)."""
    for index, word in enumerate(words):
        name = word.rsplit("/", 1)[-1]
        if name in scripts and "/" in word:
            yield name, words[index + 1 :]
        elif " " in word:
            yield from plugin_invocations(shlex.split(word), scripts)


def options_in(words: list[str]) -> set[str]:
    """The option names in ``words`` (``--x=1`` counts as ``--x``; values are skipped)."""
    found = set()
    for word in words:
        head = word.split("=", 1)[0]
        if _OPTION.fullmatch(head) and not re.fullmatch(r"-\d.*", head):
            found.add(head)
    return found


def expand_args(command_line: str, args: list[str]) -> str:
    """A command line with ``$ARGn$`` replaced (the other macros are left as they are)."""
    def arg(match: re.Match[str]) -> str:
        index = int(match[1]) - 1
        return args[index] if index < len(args) else ""

    return re.sub(r"\$ARG(\d+)\$", arg, command_line)


def icinga_commands(text: str | None = None) -> dict[str, tuple[str, set[str]]]:
    """CheckCommand name -> (the plugin it runs, the option keys of its ``arguments``)."""
    source = ICINGA_COMMANDS.read_text() if text is None else text
    common = set(_ICINGA_ARGUMENT.findall(_template_body(source, "cw-plugin-common")))
    found = {}
    for name, body in _ICINGA_OBJECT.findall(source):
        command = _ICINGA_COMMAND.search(body)
        assert command is not None, f"CheckCommand {name} does not run {ICINGA_BIN_CONST}/..."
        options = set(_ICINGA_ARGUMENT.findall(body)) | set(_ICINGA_KEY.findall(body))
        if 'import "cw-plugin-common"' in body:
            options |= common
        found[name] = (command[1], options)
    return found


def _template_body(source: str, name: str) -> str:
    match = re.search(rf'^template CheckCommand "{name}" \{{$(.*?)^\}}$', source, re.M | re.S)
    assert match is not None, f"no template {name}"
    return match[1]


# ------------------------------------------------------------------ the plugins' options


@cache
def plugin_help(script: str) -> str:
    """What ``<script> --help`` prints (its entry point run in-process: same code)."""
    module_name, _, function = plugin_scripts()[script].partition(":")
    main: Callable[[list[str]], int] = getattr(importlib.import_module(module_name), function)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["--help"])
    assert code == 0, f"{script} --help exited {code}: {out.getvalue()}"
    return out.getvalue()


def help_options(help_text: str) -> set[str]:
    """The option strings of argparse ``--help`` output (its option lines only)."""
    options = set()
    for line in help_text.splitlines():
        if re.match(r"^ {2}-", line):
            head = re.split(r"\s{2,}", line.strip(), maxsplit=1)[0]
            options.update(_HELP_OPTION.findall(head))
    return options


# ------------------------------------------------------------------------------- tests


def test_the_plugin_list_is_not_empty() -> None:
    assert {"check_zookeeper_quorum", "check_haproxy_backends", "check_keepalived"} <= set(
        plugin_scripts()
    )


@pytest.mark.parametrize("script", sorted(plugin_scripts()))
def test_every_plugin_has_a_nagios_command_through_the_bin_macro(script: str) -> None:
    runs = [
        name for name, line in nagios_commands().items()
        if f"{BIN_MACRO}/{script} " in line + " " or f"{BIN_MACRO}/{script}'" in line
    ]
    assert runs, f"no command in {NAGIOS_COMMANDS.name} runs {BIN_MACRO}/{script}"


@pytest.mark.parametrize("script", sorted(plugin_scripts()))
def test_every_plugin_has_an_icinga2_check_command(script: str) -> None:
    runs = [name for name, (plugin, _) in icinga_commands().items() if plugin == script]
    assert runs, f"no CheckCommand in {ICINGA_COMMANDS.name} runs {script}"


def test_nagios_commands_use_only_options_the_plugins_have() -> None:
    scripts = set(plugin_scripts())
    checked = 0
    for name, line in nagios_commands().items():
        for plugin, words in plugin_invocations(shlex.split(line), scripts):
            unknown = options_in(words) - help_options(plugin_help(plugin))
            assert not unknown, f"command {name}: {plugin} has no {sorted(unknown)}"
            checked += 1
    assert checked


def test_example_services_use_only_options_the_plugins_have() -> None:
    scripts = set(plugin_scripts())
    commands = nagios_commands()
    used = set()
    for kind, values in nagios_objects(uncommented_examples()):
        if kind != "service":
            continue
        name, *args = values["check_command"].split("!")
        assert name in commands, f"example service uses undefined command {name}"
        used.add(name)
        line = expand_args(commands[name], args)
        for plugin, words in plugin_invocations(shlex.split(line), scripts):
            unknown = options_in(words) - help_options(plugin_help(plugin))
            assert not unknown, f"example {values['service_description']}: {sorted(unknown)}"
    plugin_commands = {
        name for name, line in commands.items()
        if any(True for _ in plugin_invocations(shlex.split(line), scripts))
    }
    local_variants = {"check_cw_keepalived", "check_cw_haproxy_backends_socket"}
    assert plugin_commands - local_variants <= used, "a command without an example service"


def test_icinga2_arguments_are_options_the_plugins_have() -> None:
    for name, (plugin, options) in icinga_commands().items():
        assert plugin in plugin_scripts(), f"CheckCommand {name} runs unknown {plugin}"
        unknown = options - help_options(plugin_help(plugin))
        assert not unknown, f"CheckCommand {name}: {plugin} has no {sorted(unknown)}"


def test_no_secret_is_passed_on_a_command_line() -> None:
    text = NAGIOS_COMMANDS.read_text() + NAGIOS_SERVICES.read_text()
    text += ICINGA_COMMANDS.read_text()
    assert not re.search(r"--password(?!-file|-env)\b", text)
    for kind, values in nagios_objects(uncommented_examples()):
        if kind == "service":
            assert "password-env" not in values["check_command"]


def test_help_options_are_read_from_the_option_lines() -> None:
    text = """\
usage: check_x [-h] [-S PATH|HOST:PORT]

Mentions -z in prose.

options:
  -h, --help            show this help message and exit
  -S PATH|HOST:PORT, --socket PATH|HOST:PORT
                        stats socket: a unix path or host:port, not -q
  --max-age SECONDS     UNKNOWN when older
"""
    assert help_options(text) == {"-h", "--help", "-S", "--socket", "--max-age"}


def test_plugin_invocations_look_inside_a_remote_command() -> None:
    words = shlex.split("$USER1$/check_by_ssh -H h -C '$USER10$/check_keepalived -e VI_1=MASTER'")
    found = list(plugin_invocations(words, {"check_keepalived"}))
    assert found == [("check_keepalived", ["-e", "VI_1=MASTER"])]
    assert options_in(["-w", "-5:", "--x=1", "~:10"]) == {"-w", "--x"}


def test_icinga2_validates_the_check_commands(tmp_path: Path) -> None:
    binary = shutil.which("icinga2") or shutil.which("icinga2", path="/usr/sbin:/sbin")
    if binary is None:
        pytest.skip("icinga2 not installed (Debian package icinga2-bin)")
    cache_dir = tmp_path / "cache"
    cache_dir.mkdir()
    main = tmp_path / "icinga2.conf"
    main.write_text(
        f'include "{ICINGA_COMMANDS}"\n'
        'object CheckCommand "cw-test-host-alive" { command = [ "/bin/true" ] }\n'
        'object Host "lb1" { address = "127.0.0.1"; check_command = "cw-test-host-alive" }\n'
        'object Service "zk" { host_name = "lb1"; check_command = "cw_zookeeper_quorum"\n'
        '  vars.cw_zookeeper_quorum_hosts = [ "zk1:2181", "zk2:2181" ] }\n'
        'object Service "lb" { host_name = "lb1"; check_command = "cw_haproxy_backends"\n'
        '  vars.cw_haproxy_backends_warning = "75%"; vars.cw_verbose = true }\n'
    )
    user = pwd.getpwuid(os.geteuid())
    group = grp.getgrgid(user.pw_gid).gr_name
    result = subprocess.run(
        [binary, "daemon", "-C", "-c", str(main), f"-DRunAsUser={user.pw_name}",
         f"-DRunAsGroup={group}",
         f"-DConfiguration.CacheDir={cache_dir}"],
        capture_output=True, text=True, timeout=120, check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Instantiated 2 Services" in output
