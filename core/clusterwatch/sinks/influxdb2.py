"""InfluxDB 2.x / 3.x (and anything speaking ``/api/v2/write``) through influxdb-client."""

from __future__ import annotations

from typing import Any

from clusterwatch.core.config_schema import HttpConfig, SinkConfig
from clusterwatch.sinks.base import SinkUnavailable, classify_status


class InfluxDB2Writer:
    def __init__(self, name: str, config: SinkConfig, http_config: HttpConfig) -> None:
        # heavy imports: only when this sink is used
        from influxdb_client.client.influxdb_client import InfluxDBClient
        from influxdb_client.client.write_api import SYNCHRONOUS
        from influxdb_client.domain.write_precision import WritePrecision

        self.name = name
        self._bucket = config.bucket
        self._org = config.org
        self._precision = getattr(WritePrecision, config.precision.upper())
        token = config.token.reveal() if config.token else ""
        self._client = InfluxDBClient(
            url=config.url,
            token=token,
            org=config.org,
            timeout=int(http_config.read_timeout_seconds * 1000),
        )
        self._api = self._client.write_api(write_options=SYNCHRONOUS)

    def write(self, payload: bytes) -> None:
        from influxdb_client.rest import ApiException

        try:
            self._api.write(
                bucket=self._bucket,
                org=self._org,
                record=payload,
                write_precision=self._precision,
            )
        except ApiException as exc:
            raise classify_status(self.name, int(exc.status or 0), _message(exc)) from None
        except Exception as exc:  # urllib3/socket errors: the server is not there
            raise SinkUnavailable(self.name, f"{type(exc).__name__}: {exc}"[:200]) from None

    def close(self) -> None:
        self._client.close()  # type: ignore[no-untyped-call]


def _message(exc: Any) -> str:
    body = getattr(exc, "body", None) or getattr(exc, "reason", "") or ""
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    return " ".join(str(body).split())[:300]
