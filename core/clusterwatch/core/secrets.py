"""Secrets in config: literal, ``env:NAME`` or ``file:/path``; never shown in logs or reprs."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from clusterwatch.core.errors import ConfigError

# Every secret value resolved in this process, so log output can redact it (see core.log).
# Values shorter than this are not redacted: replacing every "t" would garble all output,
# and a secret that short protects nothing anyway.
MIN_REDACTED_LENGTH = 4
_KNOWN_VALUES: set[str] = set()


class Secret:
    """A resolved secret. ``str()``/``repr()`` hide it; ``.reveal()`` is the one way to read it."""

    __slots__ = ("_source", "_value")

    def __init__(self, value: str, source: str = "literal") -> None:
        self._value = value
        self._source = source
        if len(value) >= MIN_REDACTED_LENGTH:
            _KNOWN_VALUES.add(value)

    def reveal(self) -> str:
        return self._value

    @property
    def source(self) -> str:
        """Where it came from (``literal``, ``env:NAME``, ``file:/path``), safe to show."""
        return self._source

    def __repr__(self) -> str:
        return f"Secret({self._source}, ***)"

    def __reduce__(self) -> tuple[type[Secret], tuple[str, str]]:
        # Rebuilt through __init__ in a worker process, so its logs redact the value too.
        return (Secret, (self._value, self._source))

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def known_secret_values() -> frozenset[str]:
    return frozenset(_KNOWN_VALUES)


def resolve_secret(spec: str, where: str) -> Secret:
    """Turn a config value into a Secret; ``where`` names file and key for error messages."""
    if spec.startswith("env:"):
        name = spec[4:]
        value = os.environ.get(name)
        if value is None:
            raise ConfigError([f"{where}: environment variable {name} is not set"])
        return Secret(value, f"env:{name}")
    if spec.startswith("file:"):
        path = Path(spec[5:])
        return Secret(read_secret_file(path, where), f"file:{path}")
    return Secret(spec)


def read_secret_file(path: Path, where: str) -> str:
    """Read a secret file, refusing one that other users can read."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise ConfigError([f"{where}: cannot read secret file {path}: {exc.strerror}"]) from None
    if mode & (stat.S_IROTH | stat.S_IWOTH):
        raise ConfigError([f"{where}: secret file {path} is readable by other users; chmod 600 it"])
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError([f"{where}: cannot read secret file {path}: {exc.strerror}"]) from None
