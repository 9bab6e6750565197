"""The five source roots share one namespace, installed editable or as a wheel."""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
SOURCE_ROOTS = ("core", "collectors", "logship", "checks", "scheduler")
PARTS = ("core", "sinks", "sim", "collectors", "logship", "checks", "scheduler")
IMPORT_ALL = "; ".join(f"import clusterwatch.{part}" for part in PARTS)


def test_no_namespace_init_in_any_source_root() -> None:
    offenders = [r for r in SOURCE_ROOTS if (ROOT / r / "clusterwatch" / "__init__.py").exists()]
    assert offenders == [], "clusterwatch/__init__.py would hide the other roots"
    for root in SOURCE_ROOTS:
        assert (ROOT / root / "clusterwatch").is_dir()


def test_editable_install_imports_every_part_from_its_root(tmp_path: Path) -> None:
    code = IMPORT_ALL + "; import clusterwatch; print('\\n'.join(clusterwatch.__path__))"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    ).stdout
    assert {Path(p) for p in out.split()} == {ROOT / r / "clusterwatch" for r in SOURCE_ROOTS}


@pytest.mark.slow
def test_wheel_holds_every_part_and_imports_outside_the_repo(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist)],
        cwd=ROOT,
        capture_output=True,
        check=True,
    )
    [wheel] = dist.glob("clusterwatch-*.whl")
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [python, "-m", "pip", "install", "-q", "--no-deps", str(wheel)],
        check=True,
        capture_output=True,
    )
    code = IMPORT_ALL + "; import clusterwatch.core.cli as c; print(c.__file__)"
    out = subprocess.run(
        [python, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    ).stdout
    assert "site-packages/clusterwatch/core/cli.py" in out
    assert not (Path(out.strip()).parents[1] / "__init__.py").exists()
