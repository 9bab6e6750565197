"""The InfluxDB sinks against real servers: written points read back, outages survived."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from clusterwatch.core.config_schema import HttpConfig, SinkConfig
from clusterwatch.core.lineprotocol import encode
from clusterwatch.core.point import Point
from clusterwatch.core.spool import Spool
from clusterwatch.sinks.influxdb1 import InfluxDB1Writer
from clusterwatch.sinks.influxdb2 import InfluxDB2Writer
from clusterwatch.sinks.spooled import SpooledSink
from tests.tcpproxy import proxy_to

pytestmark = pytest.mark.integration

FAST = HttpConfig(connect_timeout_seconds=1, read_timeout_seconds=5, retries=0)
BASE_S = 1_700_000_000


def points(n: int, measurement: str = "mesos_agent") -> list[Point]:
    return [
        Point(
            measurement,
            {"cluster": "t1", "host": f"agent-{i % 5}"},
            {"cpus_used": i / 4, "tasks_running": i, "active": i % 2 == 0, "state": "up"},
            (BASE_S + i) * 10**9,
        )
        for i in range(n)
    ]


def records(pts: list[Point], precision: Any = "s") -> list[bytes]:
    return [(line + "\n").encode() for line in encode(pts, precision)]


def spooled(writer: Any, tmp_path: Path) -> SpooledSink:
    spool = Spool(tmp_path / "spool", max_bytes=64 << 20, fsync="batch")
    return SpooledSink(writer, spool, quarantine_path=tmp_path / "q.txt", batch_records=100)


def test_influxdb1_points_read_back_with_types(influxdb1: Any, tmp_path: Path) -> None:
    db = f"cw_{uuid.uuid4().hex[:8]}"  # missing: the writer creates it
    config = SinkConfig(type="influxdb1", url=influxdb1.url, database=db, precision="s")
    sink = spooled(InfluxDB1Writer("influx", config, FAST), tmp_path)
    sink.submit(records(points(250)))
    result = sink.drain()
    assert (result.sent, result.pending) == (250, 0)
    rows = influxdb1.series_values(
        "SELECT cpus_used, tasks_running, active, state, host FROM mesos_agent "
        "WHERE time >= 0 ORDER BY time",
        db,
    )
    assert len(rows) == 250
    assert rows[9]["cpus_used"] == 2.25
    assert rows[9]["tasks_running"] == 9
    assert rows[9]["active"] is False
    assert rows[9]["host"] == "agent-4"
    assert rows[0]["time"] == BASE_S * 10**9
    sink.close()


def test_influxdb1_outage_loses_nothing_and_keeps_order(influxdb1: Any, tmp_path: Path) -> None:
    db = f"cw_{uuid.uuid4().hex[:8]}"
    influxdb1.create_database(db)
    with proxy_to(influxdb1.url) as proxy:
        config = SinkConfig(type="influxdb1", url=proxy.url, database=db, precision="s")
        sink = spooled(InfluxDB1Writer("influx", config, FAST), tmp_path)
        all_points = points(300)
        sink.submit(records(all_points[:100]))
        assert sink.drain().sent == 100
        proxy.down()
        for chunk in (all_points[100:200], all_points[200:]):  # several cycles while down
            sink.submit(records(chunk))
            result = sink.drain(force=True)
            assert not result.available
        assert sink.spool.depth_records == 200
        proxy.up()
        result = sink.drain(force=True)
        assert (result.sent, result.pending) == (200, 0)
        sink.close()
    rows = influxdb1.series_values("SELECT tasks_running FROM mesos_agent ORDER BY time", db)
    assert [r["tasks_running"] for r in rows] == list(range(300))
    assert sink.stats.send_failures == 2


def test_influxdb1_type_conflict_goes_to_quarantine(influxdb1: Any, tmp_path: Path) -> None:
    db = f"cw_{uuid.uuid4().hex[:8]}"
    influxdb1.create_database(db)
    config = SinkConfig(type="influxdb1", url=influxdb1.url, database=db, precision="s")
    sink = spooled(InfluxDB1Writer("influx", config, FAST), tmp_path)
    sink.submit([b"m,host=a v=1i 1700000000\n"])
    assert sink.drain().sent == 1
    sink.submit([b'm,host=a v="text" 1700000001\n'])
    result = sink.drain()
    assert (result.sent, result.quarantined, result.pending) == (0, 1, 0)
    assert "field type conflict" in sink.quarantine_path.read_text()
    sink.close()


def test_influxdb2_api_through_influxdb_client_reads_back(victoria: Any, tmp_path: Path) -> None:
    from clusterwatch.core.secrets import Secret

    config = SinkConfig(
        type="influxdb2",
        url=victoria.url,
        org="site",
        bucket="cw",
        token=Secret("vm-token"),
        precision="ms",
    )
    sink = spooled(InfluxDB2Writer("vm", config, FAST), tmp_path)
    measurement = f"m{uuid.uuid4().hex[:8]}"
    sink.submit(records(points(40, measurement), "ms"))
    assert sink.drain().sent == 40
    series = victoria.export(f'{{__name__="{measurement}_tasks_running"}}')
    by_host = {s["metric"]["host"]: s for s in series}
    assert sorted(by_host) == [f"agent-{i}" for i in range(5)]
    agent3 = by_host["agent-3"]
    assert agent3["values"] == [3, 8, 13, 18, 23, 28, 33, 38]
    assert agent3["timestamps"][0] == (BASE_S + 3) * 1000
    sink.close()


def test_influxdb2_outage_waits_then_drains(victoria: Any, tmp_path: Path) -> None:
    from clusterwatch.core.secrets import Secret

    measurement = f"m{uuid.uuid4().hex[:8]}"
    with proxy_to(victoria.url) as proxy:
        config = SinkConfig(
            type="influxdb2",
            url=proxy.url,
            org="o",
            bucket="b",
            token=Secret("vm-token"),
            precision="s",
        )
        sink = spooled(InfluxDB2Writer("vm", config, FAST), tmp_path)
        proxy.down()
        sink.submit(records(points(20, measurement)))
        assert not sink.drain(force=True).available
        assert sink.spool.depth_records == 20
        proxy.up()
        assert sink.drain(force=True).sent == 20
        sink.close()
    series = victoria.export(f'{{__name__="{measurement}_tasks_running"}}')
    assert sum(len(s["values"]) for s in series) == 20
