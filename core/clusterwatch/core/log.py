"""Structured logging: ``key=value`` lines or JSON, with every known secret redacted.

Use ``log.info("spool full", extra=fields(dropped=3, sink="influx"))``; the fields become
``dropped=3 sink=influx`` (or JSON keys). Secrets resolved from config are replaced by
``***`` wherever they would appear, including in exception text.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any, Literal, TextIO

from clusterwatch.core.secrets import known_secret_values

FIELDS_ATTR = "cw_fields"
Format = Literal["kv", "json"]
NOISY_LIBRARIES = {
    "apscheduler": logging.WARNING,
    "urllib3": logging.ERROR,
    "kazoo": logging.WARNING,
}


def fields(**values: Any) -> dict[str, Any]:
    """The ``extra=`` argument for a log call carrying structured fields."""
    return {FIELDS_ATTR: values}


def redact(text: str) -> str:
    for secret in known_secret_values():
        if secret in text:
            text = text.replace(secret, "***")
    return text


def _kv_value(value: Any) -> str:
    text = str(value)
    if text == "" or any(c in text for c in ' ="\n\t'):
        return json.dumps(text, ensure_ascii=False)
    return text


def _record_fields(record: logging.LogRecord) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        + f".{int(record.msecs):03d}Z",
        "level": record.levelname.lower(),
        "logger": record.name,
        "msg": record.getMessage(),
    }
    out.update(getattr(record, FIELDS_ATTR, {}))
    if record.exc_info and record.exc_info[1] is not None:
        exc = record.exc_info[1]
        out["error"] = f"{type(exc).__name__}: {exc}"
    return out


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = " ".join(f"{k}={_kv_value(v)}" for k, v in _record_fields(record).items())
        return redact(line)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(json.dumps(_record_fields(record), default=str, ensure_ascii=False))


def configure(level: str = "info", fmt: Format = "kv", stream: TextIO | None = None) -> None:
    """Set up the root logger once for a command; call again to change."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else KeyValueFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # Libraries' chatter (every job run, every urllib3 retry) only when debugging: our own
    # records already say what failed, once, with the reason.
    for name, quiet_level in NOISY_LIBRARIES.items():
        logging.getLogger(name).setLevel(logging.DEBUG if level == "debug" else quiet_level)
