from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from clusterwatch.core import cli

HEAVY = ("requests", "urllib3", "influxdb_client", "elasticsearch", "kazoo", "apscheduler")


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "clusterwatch.core.cli", *args], capture_output=True, text=True
    )


def test_help_lists_verbs_and_exit_codes_without_heavy_imports() -> None:
    code = (
        "import sys, contextlib, io\n"
        "from clusterwatch.core import cli\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try: cli.main(['--help'])\n"
        "    except SystemExit: pass\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    assert out.strip() == "[]"
    help_text = run_cli("--help").stdout
    for verb in cli.VERBS:
        assert verb in help_text
    assert "3    the configuration is invalid" in help_text


@pytest.mark.parametrize("verb", sorted(cli.VERBS))
def test_every_verb_has_help(verb: str) -> None:
    result = run_cli(verb, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: clusterwatch {verb}")


def test_version() -> None:
    from clusterwatch.core.version import __version__

    assert run_cli("--version").stdout.strip() == f"clusterwatch {__version__}"


def test_unknown_verb_is_a_usage_error() -> None:
    result = run_cli("frobnicate")
    assert result.returncode == cli.EXIT_USAGE
    assert "invalid choice: 'frobnicate'" in result.stderr


def test_config_check_exit_codes(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text('[cluster]\nname = "t1"\n')
    result = run_cli("config", "check", "--config", str(good))
    assert result.returncode == 0
    assert "config OK" in result.stdout and "'t1'" in result.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text("[cluster]\nname = 1\nx = 2\n")
    result = run_cli("--config", str(bad), "config", "check")
    assert result.returncode == cli.EXIT_CONFIG
    assert f"{bad}: cluster.name: expected a string" in result.stderr
    assert f"{bad}: cluster.x: unknown key" in result.stderr
    assert "Traceback" not in result.stderr


def test_config_show_hides_secrets(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[http]\npassword = "hunter2"\n')
    path.chmod(0o600)
    result = run_cli("config", "show", "--config", str(path))
    assert result.returncode == 0
    assert "hunter2" not in result.stdout
    assert 'password = "<secret from literal>"' in result.stdout


def test_unwritable_state_dir_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    config = tmp_path / "c.toml"
    config.write_text(
        f'[daemon]\nstate_dir = "{blocker}/state"\n[sources.zookeeper]\ntargets = ["127.0.0.1:9"]\n'
        f'[sinks.f]\ntype = "file"\npath = "{tmp_path}/out.lp"\n'
    )
    result = run_cli("run", "--config", str(config))
    assert result.returncode == 1
    assert result.stderr.startswith("clusterwatch: error:")
    assert "Traceback" not in result.stderr
