"""The RPM users install: built with scripts/build-rpm.sh and the real ``rpmbuild``, inspected
with ``rpm -qp``, then its payload extracted and run (see packaging/rpm/README.md)."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import tarfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
SCRIPTS = sorted(PYPROJECT["project"]["scripts"])
VERSION_PY = ROOT / "core" / "clusterwatch" / "core" / "version.py"
VERSION_MATCH = re.search(r'__version__ = "([^"]+)"', VERSION_PY.read_text(encoding="utf-8"))
assert VERSION_MATCH is not None
VERSION = VERSION_MATCH.group(1)
CONFIG = "/etc/clusterwatch/clusterwatch.toml"
SYSCONFIG = "/etc/sysconfig/clusterwatch"
UNIT = "/usr/lib/systemd/system/clusterwatch.service"
LIBDIR = "/opt/clusterwatch/lib"

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@dataclass(frozen=True)
class FileEntry:
    mode: int
    user: str
    group: str
    flags: str  # rpm's fflags: c config, n noreplace, d doc, ...


@dataclass(frozen=True)
class BuiltRpm:
    path: Path
    files: dict[str, FileEntry]
    payload: Path  # the extracted payload: payload / "usr/bin/clusterwatch", ...


def rpm_query(rpm: Path, *args: str) -> str:
    return subprocess.run(
        ["rpm", "-qp", *args, str(rpm)], capture_output=True, text=True, check=True, timeout=60,
    ).stdout


@pytest.fixture(scope="module")
def built(rpmbuild: str, tmp_path_factory: pytest.TempPathFactory) -> BuiltRpm:
    topdir = tmp_path_factory.mktemp("rpm-topdir")
    env = {**os.environ, "RPMBUILD": rpmbuild, "CW_RPM_TOPDIR": str(topdir)}
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "build-rpm.sh")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=240, check=False,
    )
    assert result.returncode == 0, f"build-rpm.sh failed:\n{result.stdout}\n{result.stderr}"
    [rpm] = (topdir / "RPMS" / "noarch").glob("clusterwatch-*.noarch.rpm")
    query = "[%{FILENAMES}\t%{FILEMODES}\t%{FILEUSERNAME}\t%{FILEGROUPNAME}\t%{FILEFLAGS:fflags}\n]"
    files = {}
    for line in rpm_query(rpm, "--qf", query).splitlines():
        name, mode, user, group, flags = line.split("\t")
        files[name] = FileEntry(int(mode) & 0xFFFF, user, group, flags)
    payload = tmp_path_factory.mktemp("rpm-payload")
    archive = payload.parent / "payload.tar"
    with rpm.open("rb") as source, archive.open("wb") as out:
        subprocess.run(["rpm2archive", "-n", "-"], stdin=source, stdout=out, check=True, timeout=60)
    with tarfile.open(archive) as tar:
        tar.extractall(payload, filter="tar")
    return BuiltRpm(rpm, files, payload)


def run_extracted(built: BuiltRpm, *argv: str, env: dict[str, str] | None = None,
                  ) -> subprocess.CompletedProcess[str]:
    """Runs an extracted /usr/bin wrapper through its own shebang (/usr/bin/python3.11 -sP),
    with no PYTHONPATH: everything it imports must come from the extracted prefix."""
    program = built.payload / argv[0].lstrip("/")
    interpreter = program.read_text(encoding="utf-8").splitlines()[0][2:].split()[0]
    if not Path(interpreter).exists():
        pytest.skip(f"{interpreter} (the wrappers' interpreter) is not installed here")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    return subprocess.run(
        [str(program), *argv[1:]], env={**clean, **(env or {})}, cwd=built.payload,
        capture_output=True, text=True, timeout=60, check=False,
    )


def test_package_is_noarch_with_the_project_version(built: BuiltRpm) -> None:
    info = rpm_query(built.path, "-i")
    assert re.search(r"^Name\s*: clusterwatch$", info, re.M)
    assert re.search(rf"^Version\s*: {re.escape(VERSION)}$", info, re.M)
    assert re.search(r"^Architecture: noarch$", info, re.M)


def test_every_console_script_is_in_usr_bin(built: BuiltRpm) -> None:
    listed = rpm_query(built.path, "-l").split()
    assert "clusterwatch" in SCRIPTS
    missing = [s for s in SCRIPTS if f"/usr/bin/{s}" not in listed]
    assert missing == []
    for script in SCRIPTS:
        assert built.files[f"/usr/bin/{script}"].mode == stat.S_IFREG | 0o755
    extra = {n for n in listed if n.startswith("/usr/bin/")} - {f"/usr/bin/{s}" for s in SCRIPTS}
    assert extra == set()


def test_config_is_noreplace_and_readable_by_the_daemon_group_only(built: BuiltRpm) -> None:
    entry = built.files[CONFIG]
    assert "c" in entry.flags and "n" in entry.flags
    assert (stat.S_IMODE(entry.mode), entry.user, entry.group) == (0o640, "root", "clusterwatch")
    assert (built.payload / CONFIG.lstrip("/")).read_bytes() == (
        ROOT / "packaging" / "clusterwatch.toml"
    ).read_bytes()
    conf_d = built.files["/etc/clusterwatch/conf.d"]
    assert stat.S_ISDIR(conf_d.mode) and stat.S_IMODE(conf_d.mode) & 0o007 == 0


def test_secret_environment_file_is_0600_root_and_noreplace(built: BuiltRpm) -> None:
    entry = built.files[SYSCONFIG]
    assert "c" in entry.flags and "n" in entry.flags
    assert (stat.S_IMODE(entry.mode), entry.user, entry.group) == (0o600, "root", "root")


def test_sysconfig_names_every_environment_secret_of_the_sample_config(built: BuiltRpm) -> None:
    sample = (ROOT / "packaging" / "clusterwatch.toml").read_text(encoding="utf-8")
    wanted = set(re.findall(r'"env:([A-Z0-9_]+)"', sample))
    text = (built.payload / SYSCONFIG.lstrip("/")).read_text(encoding="utf-8")
    assert wanted and wanted <= set(re.findall(r"^#?([A-Z0-9_]+)=", text, re.M))


def test_state_directory_belongs_to_the_daemon_user(built: BuiltRpm) -> None:
    entry = built.files["/var/lib/clusterwatch"]
    assert stat.S_ISDIR(entry.mode)
    assert (stat.S_IMODE(entry.mode), entry.user, entry.group) == (
        0o750, "clusterwatch", "clusterwatch",
    )


def test_no_file_is_world_writable_and_only_wrappers_are_executable(built: BuiltRpm) -> None:
    writable = [n for n, e in built.files.items() if not stat.S_ISLNK(e.mode) and e.mode & 0o002]
    assert writable == []
    executables = [
        n for n, e in built.files.items() if stat.S_ISREG(e.mode) and e.mode & 0o111
    ]
    assert sorted(executables) == [f"/usr/bin/{s}" for s in SCRIPTS]


def test_systemd_unit_runs_the_daemon_hardened_as_its_user(built: BuiltRpm) -> None:
    assert UNIT in built.files
    text = (built.payload / UNIT.lstrip("/")).read_text(encoding="utf-8")
    settings = dict(
        line.split("=", 1) for line in text.splitlines() if "=" in line and line[0] != "#"
    )
    assert settings["ExecStart"] == "/usr/bin/clusterwatch run"
    assert settings["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert settings["User"] == "clusterwatch"
    assert settings["EnvironmentFile"] == f"-{SYSCONFIG}"
    assert settings["LimitNOFILE"] == "65536"
    assert settings["ProtectSystem"] == "strict"
    assert settings["ReadWritePaths"] == "/var/lib/clusterwatch"
    assert settings["NoNewPrivileges"] == "yes"
    assert settings["Restart"] == "on-failure"
    assert int(settings["TimeoutStopSec"].removesuffix("s")) >= 60


def test_scriptlets_create_the_user_and_handle_the_service(built: BuiltRpm) -> None:
    parts = re.split(r"^(\w+) scriptlet \(using [^)]*\):$", rpm_query(built.path, "--scripts"),
                     flags=re.M)
    scripts = dict(zip(parts[1::2], parts[2::2], strict=True))
    assert "useradd -r" in scripts["preinstall"]
    assert "getent passwd clusterwatch" in scripts["preinstall"]
    for name in ("postinstall", "preuninstall", "postuninstall"):
        assert "clusterwatch.service" in scripts[name]


def test_requires_the_target_python_and_nothing_bundled(built: BuiltRpm) -> None:
    requires = rpm_query(built.path, "--requires").split("\n")
    assert "python3.11" in requires
    assert not [r for r in requires if "python3dist(" in r or "python(abi)" in r]
    provides = rpm_query(built.path, "--provides")
    for dependency in PYPROJECT["project"]["dependencies"]:
        name = re.sub(r"[-_.]+", "-", re.split(r"[<>=!~;\[ ]", dependency)[0]).lower()
        assert f"bundled(python3dist({name}))" in provides


def test_extracted_clusterwatch_reports_its_version(built: BuiltRpm) -> None:
    result = run_extracted(built, "/usr/bin/clusterwatch", "--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"clusterwatch {VERSION}"


def test_extracted_check_plugin_runs_from_the_bundled_library(built: BuiltRpm) -> None:
    result = run_extracted(built, "/usr/bin/check_mesos_quorum", "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: check_mesos_quorum")
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import clusterwatch.checks.mesos_quorum, "
        "requests, kazoo, nagiosplugin; print(clusterwatch.checks.mesos_quorum.__file__); "
        "print(requests.__file__); print(kazoo.__file__); print(nagiosplugin.__file__)"
    )
    interpreter = (built.payload / "usr/bin/clusterwatch").read_text().split()[0][2:]
    lib = built.payload / LIBDIR.lstrip("/")
    out = subprocess.run(
        [interpreter, "-sP", "-c", code, str(lib)], capture_output=True, text=True, check=True,
        timeout=60, env={k: v for k, v in os.environ.items() if not k.startswith("PYTHON")},
    ).stdout.split()
    assert len(out) == 4 and all(Path(p).is_relative_to(lib) for p in out), out


def test_extracted_sample_config_passes_config_check(built: BuiltRpm, tmp_path: Path) -> None:
    token = tmp_path / "bearer_token"
    token.write_text("t0ken\n", encoding="utf-8")
    token.chmod(0o600)
    conf_d = built.payload / "etc/clusterwatch/conf.d"
    (conf_d / "zz-test.toml").write_text(f'[http]\nbearer_token = "file:{token}"\n')
    sample = (built.payload / CONFIG.lstrip("/")).read_text(encoding="utf-8")
    secrets = {name: "s3cret" for name in re.findall(r'"env:([A-Z0-9_]+)"', sample)}
    try:
        result = run_extracted(
            built, "/usr/bin/clusterwatch", "config", "check",
            "--config", str(built.payload / CONFIG.lstrip("/")), env=secrets,
        )
    finally:
        (conf_d / "zz-test.toml").unlink()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "s3cret" not in result.stdout + result.stderr
