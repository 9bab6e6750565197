"""A line-protocol file: for the demo and for debugging (``tail -f`` it)."""

from __future__ import annotations

import os
from pathlib import Path

from clusterwatch.core.config_schema import HttpConfig, SinkConfig
from clusterwatch.sinks.base import SinkUnavailable


class LineFileWriter:
    def __init__(self, name: str, config: SinkConfig, http_config: HttpConfig) -> None:
        self.name = name
        self.path = Path(config.path)

    def write(self, payload: bytes) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
            try:
                os.write(fd, payload)
            finally:
                os.close(fd)
        except OSError as exc:
            raise SinkUnavailable(
                self.name, f"cannot append to {self.path}: {exc.strerror}"
            ) from None

    def close(self) -> None:
        pass
