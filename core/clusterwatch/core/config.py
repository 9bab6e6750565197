"""Load the TOML config (main file + ``conf.d/*.toml``) into frozen dataclasses.

Every problem is collected, not just the first, and each names the file, the key and what
was expected, so ``clusterwatch config check`` can list them all at once.
"""

from __future__ import annotations

import dataclasses
import stat
import tomllib
import types
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

from clusterwatch.core.config_schema import Config
from clusterwatch.core.errors import ConfigError
from clusterwatch.core.secrets import Secret, resolve_secret

DEFAULT_PATH = Path("/etc/clusterwatch/clusterwatch.toml")

T = TypeVar("T")
KeyPath = tuple[str, ...]


def config_files(path: Path) -> list[Path]:
    """The main file, then ``conf.d/*.toml`` beside it in name order (later ones win)."""
    confd = path.parent / "conf.d"
    extra = sorted(confd.glob("*.toml")) if confd.is_dir() else []
    return [path, *extra]


def load_config(path: Path | None = None, *, require_file: bool = True) -> Config:
    """Read and validate; raise ConfigError listing every problem found."""
    path = path or DEFAULT_PATH
    if not path.exists() and not require_file:
        return Config()
    merged: dict[str, Any] = {}
    origins: dict[KeyPath, str] = {}
    problems: list[str] = []
    for file in config_files(path):
        try:
            with file.open("rb") as fh:
                table = tomllib.load(fh)
        except OSError as exc:
            problems.append(f"{file}: cannot read: {exc.strerror}")
            continue
        except tomllib.TOMLDecodeError as exc:
            problems.append(f"{file}: not valid TOML: {exc}")
            continue
        _merge(merged, table, str(file), (), origins)
    if problems:
        raise ConfigError(problems)
    config = from_table(Config, merged, origins)
    _check_source_names(config, origins)
    return config


def _check_source_names(config: Config, origins: Mapping[KeyPath, str]) -> None:
    from clusterwatch.core import registry  # a dict of names: cheap

    known = registry.names("source")
    unknown = [name for name in config.sources if name not in known]
    if unknown:
        raise ConfigError(
            [
                f"{origins.get(('sources', name), '<defaults>')}: sources.{name}: unknown source "
                f"(known: {', '.join(known)})"
                for name in unknown
            ]
        )


def from_table(cls: type[T], table: Mapping[str, Any], origins: Mapping[KeyPath, str]) -> T:
    """Build dataclass ``cls`` from a parsed TOML table, or raise ConfigError."""
    converter = _Converter(origins)
    value = converter.dataclass(cls, table, ())
    if converter.problems:
        raise ConfigError(converter.problems)
    return typing.cast(T, value)


def _merge(
    into: dict[str, Any],
    table: Mapping[str, Any],
    file: str,
    prefix: KeyPath,
    origins: dict[KeyPath, str],
) -> None:
    """Deep-merge ``table`` into ``into``, remembering which file set each key."""
    for key, value in table.items():
        path = (*prefix, key)
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value, file, path, origins)
            continue
        into[key] = value
        origins[path] = file
        if isinstance(value, dict):
            _record_origins(value, file, path, origins)


def _record_origins(
    table: Mapping[str, Any], file: str, prefix: KeyPath, origins: dict[KeyPath, str]
) -> None:
    for key, value in table.items():
        origins[(*prefix, key)] = file
        if isinstance(value, dict):
            _record_origins(value, file, (*prefix, key), origins)


def _describe(value: Any) -> str:
    kinds = {
        bool: "boolean",
        int: "integer",
        float: "number",
        str: "string",
        list: "array",
        dict: "table",
    }
    kind = kinds.get(type(value), type(value).__name__)
    shown = repr(value) if not isinstance(value, dict | list) else kind
    return f"{kind} {shown}" if shown != kind else kind


class _Converter:
    """Walks a table along a dataclass's type hints, collecting problems."""

    def __init__(self, origins: Mapping[KeyPath, str]) -> None:
        self.origins = origins
        self.problems: list[str] = []

    def origin_file(self, path: KeyPath) -> str | None:
        for end in range(len(path), 0, -1):
            file = self.origins.get(path[:end])
            if file is not None:
                return file
        return None

    def where(self, path: KeyPath) -> str:
        return f"{self.origin_file(path) or '<defaults>'}: {'.'.join(path)}"

    def fail(self, path: KeyPath, message: str) -> None:
        self.problems.append(f"{self.where(path)}: {message}")

    def dataclass(self, cls: type[Any], table: Any, path: KeyPath) -> Any:
        if not isinstance(table, Mapping):
            self.fail(path, f"expected a table, got {_describe(table)}")
            return None
        hints = typing.get_type_hints(cls)
        fields = {f.name: f for f in dataclasses.fields(cls)}
        for key in table:
            if key not in fields:
                known = ", ".join(sorted(fields))
                self.fail((*path, key), f"unknown key (known keys here: {known})")
        values: dict[str, Any] = {}
        for name, spec in fields.items():
            if name in table:
                values[name] = self.value(hints[name], table[name], (*path, name))
            elif (
                spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING
            ):
                self.fail((*path, name), "is required")
        if self.problems:
            return None
        return cls(**values)

    def value(self, hint: Any, raw: Any, path: KeyPath) -> Any:
        origin = get_origin(hint)
        if origin in (Union, types.UnionType):
            options = [a for a in get_args(hint) if a is not type(None)]
            return self.value(options[0], raw, path) if len(options) == 1 else raw
        if origin is Literal:
            allowed = get_args(hint)
            if raw not in allowed:
                words = ", ".join(repr(a) for a in allowed)
                self.fail(path, f"expected one of {words}, got {_describe(raw)}")
            return raw
        if origin is tuple:
            return self.sequence(get_args(hint)[0], raw, path)
        if origin is dict:
            return self.mapping(get_args(hint)[1], raw, path)
        if dataclasses.is_dataclass(hint):
            return self.dataclass(typing.cast(type[Any], hint), raw, path)
        return self.scalar(hint, raw, path)

    def sequence(self, item: Any, raw: Any, path: KeyPath) -> tuple[Any, ...]:
        if isinstance(raw, str):
            raw = [raw]  # a single value where a list is expected is a list of one
        if not isinstance(raw, list):
            self.fail(path, f"expected an array, got {_describe(raw)}")
            return ()
        return tuple(self.value(item, v, (*path, str(i))) for i, v in enumerate(raw))

    def mapping(self, item: Any, raw: Any, path: KeyPath) -> dict[str, Any]:
        if not isinstance(raw, Mapping):
            self.fail(path, f"expected a table, got {_describe(raw)}")
            return {}
        return {k: self.value(item, v, (*path, k)) for k, v in raw.items()}

    def scalar(self, hint: Any, raw: Any, path: KeyPath) -> Any:
        checks: dict[Any, tuple[str, Callable[[Any], bool]]] = {
            str: ("a string", lambda v: isinstance(v, str)),
            bool: ("true or false", lambda v: isinstance(v, bool)),
            int: ("an integer", lambda v: isinstance(v, int) and not isinstance(v, bool)),
            float: ("a number", lambda v: isinstance(v, int | float) and not isinstance(v, bool)),
            Secret: ("a string (literal, env:NAME or file:/path)", lambda v: isinstance(v, str)),
        }
        expected, ok = checks[hint]
        if not ok(raw):
            self.fail(path, f"expected {expected}, got {_describe(raw)}")
            return raw
        if hint is float:
            return float(raw)
        if hint is Secret:
            return self.secret(raw, path)
        return raw

    def secret(self, raw: str, path: KeyPath) -> Secret | None:
        is_reference = raw.startswith(("env:", "file:"))
        file = self.origin_file(path)
        if not is_reference and file is not None and _readable_by_others(Path(file)):
            self.fail(
                path,
                "a literal secret in a file other users can read: use env:NAME or "
                "file:/path, or chmod 600 the config file",
            )
            return None
        try:
            return resolve_secret(raw, self.where(path))
        except ConfigError as exc:
            self.problems.extend(exc.problems)
            return None


def _readable_by_others(path: Path) -> bool:
    try:
        return bool(path.stat().st_mode & stat.S_IROTH)
    except OSError:
        return False
