from __future__ import annotations

import dataclasses
import os
import tomllib
import typing
from pathlib import Path

import pytest

from clusterwatch.core import config_schema
from clusterwatch.core.config import load_config
from clusterwatch.core.errors import ConfigError

SAMPLE = Path(__file__).parents[2] / "packaging" / "clusterwatch.toml"


def write(path: Path, text: str, mode: int = 0o600) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as err:
        load_config(path)
    return err.value.problems


def test_sample_config_loads_and_documents_every_key(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CLUSTERWATCH_HTTP_PASSWORD", "pw")
    monkeypatch.setenv("CLUSTERWATCH_INFLUX_TOKEN", "tok")
    monkeypatch.setenv("CLUSTERWATCH_INFLUX_PASSWORD", "ipw")
    bearer = write(tmp_path / "bearer", "b3arer")
    text = SAMPLE.read_text().replace("/etc/clusterwatch/secrets/bearer_token", str(bearer))
    config = load_config(write(tmp_path / "clusterwatch.toml", text, 0o644))
    assert config.sinks["influxdb"].password is not None
    assert config.sinks["influxdb"].password.reveal() == "ipw"
    assert config.http.bearer_token is not None
    assert config.http.bearer_token.reveal() == "b3arer"
    # every key of every table in the schema appears in the sample
    sample = tomllib.loads(SAMPLE.read_text())
    tables: dict[str, type[typing.Any]] = {
        "cluster": config_schema.ClusterConfig,
        "http": config_schema.HttpConfig,
        "logging": config_schema.LoggingConfig,
        "daemon": config_schema.DaemonConfig,
    }
    for name, cls in tables.items():
        assert {f.name for f in dataclasses.fields(cls)} == set(sample[name]), name
    source = next(iter(sample["sources"].values()))
    assert {f.name for f in dataclasses.fields(config_schema.SourceConfig)} == set(source)
    sink = next(iter(sample["sinks"].values()))
    assert {f.name for f in dataclasses.fields(config_schema.SinkConfig)} == set(sink)


def test_missing_file_uses_defaults_only_when_allowed(tmp_path: Path) -> None:
    assert load_config(tmp_path / "none.toml", require_file=False).cluster.name == "mesos"
    assert "cannot read" in problems_of(tmp_path / "none.toml")[0]


def test_every_problem_is_listed_with_file_key_and_expectation(tmp_path: Path) -> None:
    main = write(
        tmp_path / "cw.toml",
        '[cluster]\nname = 5\ncolour = "red"\n[http]\nretries = 1.5\n'
        '[logging]\nformat = "xml"\n[sinks.a]\nurl = "http://x"\n',
    )
    problems = problems_of(main)
    assert f"{main}: cluster.name: expected a string, got integer 5" in problems
    assert any(
        p.startswith(f"{main}: cluster.colour: unknown key (known keys here:") for p in problems
    )
    assert f"{main}: http.retries: expected an integer, got number 1.5" in problems
    assert f"{main}: logging.format: expected one of 'kv', 'json', got string 'xml'" in problems
    assert f"{main}: sinks.a.type: is required" in problems


def test_confd_files_merge_in_order_and_errors_name_the_right_file(tmp_path: Path) -> None:
    main = write(tmp_path / "cw.toml", '[cluster]\nname = "a"\n[http]\nretries = 1\n')
    write(tmp_path / "conf.d" / "20-late.toml", '[cluster]\nname = "c"\n')
    write(tmp_path / "conf.d" / "10-early.toml", '[cluster]\nname = "b"\n[http]\nretries = 4\n')
    config = load_config(main)
    assert config.cluster.name == "c"
    assert config.http.retries == 4
    bad = write(tmp_path / "conf.d" / "30-bad.toml", "[http]\nverify_tls = 'yes'\n")
    assert problems_of(main) == [
        f"{bad}: http.verify_tls: expected true or false, got string 'yes'"
    ]


def test_toml_syntax_error_names_the_file(tmp_path: Path) -> None:
    main = write(tmp_path / "cw.toml", "[cluster\n")
    [problem] = problems_of(main)
    assert problem.startswith(f"{main}: not valid TOML")


def test_secret_from_env_and_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CW_TEST_TOKEN", "t0k")
    secret_file = write(tmp_path / "pw", "s3cret\n", 0o600)
    main = write(
        tmp_path / "cw.toml",
        f'[http]\nbearer_token = "env:CW_TEST_TOKEN"\npassword = "file:{secret_file}"\n',
        0o644,
    )
    config = load_config(main)
    assert config.http.bearer_token is not None and config.http.bearer_token.reveal() == "t0k"
    assert config.http.password is not None and config.http.password.reveal() == "s3cret"
    assert "s3cret" not in repr(config)
    assert "t0k" not in repr(config)


def test_world_readable_secret_file_is_refused(tmp_path: Path) -> None:
    secret_file = write(tmp_path / "pw", "s3cret", 0o644)
    main = write(tmp_path / "cw.toml", f'[http]\npassword = "file:{secret_file}"\n')
    [problem] = problems_of(main)
    assert "readable by other users" in problem
    assert "s3cret" not in problem


def test_literal_secret_only_in_a_private_file(tmp_path: Path) -> None:
    text = '[sinks.i]\ntype = "influxdb1"\npassword = "hunter2"\n'
    assert load_config(write(tmp_path / "private.toml", text, 0o600)).sinks["i"].password
    [problem] = problems_of(write(tmp_path / "public.toml", text, 0o644))
    assert "sinks.i.password: a literal secret in a file other users can read" in problem
    assert "hunter2" not in problem


def test_missing_env_secret_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CW_NOT_SET", raising=False)
    main = write(tmp_path / "cw.toml", '[http]\npassword = "env:CW_NOT_SET"\n')
    assert problems_of(main) == [
        f"{main}: http.password: environment variable CW_NOT_SET is not set"
    ]


def test_single_string_where_list_expected_is_a_list_of_one(tmp_path: Path) -> None:
    main = write(tmp_path / "cw.toml", '[cluster]\nmarathon = "http://m:8080"\n')
    assert load_config(main).cluster.marathon == ("http://m:8080",)


def test_config_is_frozen(tmp_path: Path) -> None:
    config = load_config(write(tmp_path / "cw.toml", ""))
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.cluster.name = "x"  # type: ignore[misc]
    assert os.fspath(tmp_path)  # tmp_path used


def test_unknown_source_name_lists_the_known_ones(tmp_path: Path) -> None:
    main = write(tmp_path / "cw.toml", "[sources.mesos_masterr]\ninterval_seconds = 5\n")
    [problem] = problems_of(main)
    assert problem.startswith(f"{main}: sources.mesos_masterr: unknown source (known: ")
    assert "mesos_master" in problem
