from __future__ import annotations

import io
import json
import logging

from clusterwatch.core import log
from clusterwatch.core.secrets import Secret


def capture(fmt: log.Format) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    log.configure("debug", fmt, stream)
    return logging.getLogger("clusterwatch.test"), stream


def test_key_value_lines_quote_values_with_spaces() -> None:
    logger, stream = capture("kv")
    logger.info("spool full", extra=log.fields(sink="influx main", dropped=3))
    line = stream.getvalue().strip()
    assert ' level=info logger=clusterwatch.test msg="spool full"' in line
    assert line.endswith('sink="influx main" dropped=3')


def test_json_lines_carry_fields_and_errors() -> None:
    logger, stream = capture("json")
    try:
        raise ValueError("boom")
    except ValueError:
        logger.exception("source down", extra=log.fields(source="mesos_master"))
    record = json.loads(stream.getvalue())
    assert record["msg"] == "source down"
    assert record["source"] == "mesos_master"
    assert record["error"] == "ValueError: boom"


def test_secrets_are_redacted_everywhere() -> None:
    secret = Secret("Tr0ub4dor&3")
    for fmt in ("kv", "json"):
        logger, stream = capture(fmt)  # type: ignore[arg-type]
        logger.warning("auth failed with %s", secret.reveal(), extra=log.fields(pw=secret.reveal()))
        assert "Tr0ub4dor&3" not in stream.getvalue()
        assert "***" in stream.getvalue()
