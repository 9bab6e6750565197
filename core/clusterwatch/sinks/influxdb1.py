"""InfluxDB 1.x: POST line protocol to ``/write`` with database, retention policy, precision."""

from __future__ import annotations

import json

from clusterwatch.core.config_schema import HttpConfig, SinkConfig
from clusterwatch.core.errors import FetchError
from clusterwatch.core.http import Http
from clusterwatch.sinks.base import SinkUnavailable, classify_status


def server_message(reason: str) -> str:
    """InfluxDB answers errors as ``{"error": "..."}``; show just the message."""
    try:
        return str(json.loads(reason)["error"])
    except (ValueError, KeyError, TypeError):
        return reason


class InfluxDB1Writer:
    def __init__(self, name: str, config: SinkConfig, http_config: HttpConfig) -> None:
        self.name = name
        base = http_config
        # Writes are retried by the spool, not by urllib3; auth goes in a header, not the URL.
        self._http = Http(
            HttpConfig(
                connect_timeout_seconds=base.connect_timeout_seconds,
                read_timeout_seconds=base.read_timeout_seconds,
                retries=0,
                verify_tls=base.verify_tls,
                ca_bundle=base.ca_bundle,
                username=config.username,
                password=config.password,
            )
        )
        self._base = config.url.rstrip("/")
        self._url = self._base + "/write"
        self._tried_create = False
        self._params = {"db": config.database, "precision": config.precision}
        if config.retention_policy:
            self._params["rp"] = config.retention_policy

    def write(self, payload: bytes) -> None:
        try:
            self._post(payload)
        except SinkUnavailable as exc:
            # Like Telegraf: create a missing database once, then try again.
            if exc.status != 404 or "database not found" not in exc.reason or self._tried_create:
                raise
            self._tried_create = True
            self._create_database()
            self._post(payload)

    def _create_database(self) -> None:
        query = f'CREATE DATABASE "{self._params["db"]}"'
        try:
            self._http.request("POST", self._base + "/query", params={"q": query})
        except FetchError as exc:
            raise SinkUnavailable(
                self.name, f"database missing, {exc.reason}", exc.status
            ) from None

    def _post(self, payload: bytes) -> None:
        try:
            self._http.request(
                "POST",
                self._url,
                params=self._params,
                data=payload,
                headers={"Content-Type": "text/plain; charset=utf-8"},
            )
        except FetchError as exc:
            if exc.status is None:
                raise SinkUnavailable(self.name, exc.reason) from None
            raise classify_status(self.name, exc.status, server_message(exc.reason)) from None

    def close(self) -> None:
        self._http.close()
