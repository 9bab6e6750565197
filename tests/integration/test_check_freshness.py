"""check_freshness against a real InfluxDB 1.x and a real Elasticsearch."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from clusterwatch.checks import freshness

pytestmark = pytest.mark.integration
NS = 1_000_000_000


def check(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = freshness.main([*argv, "-t", "20"])
    return code, capsys.readouterr().out.splitlines()[0]


def test_influxdb_newest_point_by_measurement_and_cluster(
    influxdb1: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    db = f"fresh_{uuid.uuid4().hex[:8]}"
    influxdb1.create_database(db)
    now = time.time()
    influxdb1.write(
        f"mesos_master,cluster=t1 cpus=1 {int((now - 30) * NS)}\n"
        f"mesos_master,cluster=t2 cpus=1 {int((now - 2000) * NS)}\n"
        f"cadvisor,cluster=t2 mem=1 {int((now - 700) * NS)}\n", db,
    )  # fmt: skip
    base = ["--influxdb", influxdb1.url, "--database", db]
    code, line = check(capsys, *base)
    assert code == 0, line
    assert line.startswith("FRESHNESS OK - influxdb newest ") and "influxdb_age=" in line
    code, line = check(capsys, *base, "--cluster", "t2")
    assert code == 1, line  # cadvisor, ~700 s: over -w 300, under -c 900
    assert "influxdb newest 11m" in line and "outside 300" in line
    code, line = check(capsys, *base, "--cluster", "t2", "--measurement", "mesos_master")
    assert code == 2, line
    code, line = check(capsys, *base, "--measurement", "nothing_here")
    assert code == 2, line
    assert "no data in the last 1d00h" in line
    code, line = check(capsys, "--influxdb", influxdb1.url, "--database", "no_such_db")
    assert code == 3, line
    assert "database not found" in line


def test_elasticsearch_newest_document(
    elasticsearch: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    es = elasticsearch.client()
    index = f"fresh-{uuid.uuid4().hex[:8]}"
    stamp = int((time.time() - 45) * 1000)
    es.indices.create(index=index, mappings={"properties": {"@timestamp": {"type": "date"},
                                                            "seen": {"type": "date"}}})  # fmt: skip
    es.index(index=index, id="1", document={"@timestamp": stamp, "seen": stamp - 3_600_000},
             refresh=True)  # fmt: skip
    base = ["--elasticsearch", elasticsearch.url]
    code, line = check(capsys, *base, "--index", f"{index[:8]}*")
    assert code == 0, line
    assert line.startswith("FRESHNESS OK - elasticsearch newest ")
    code, line = check(capsys, *base, "--index", index, "--field", "seen")
    assert code == 2, line
    code, line = check(capsys, *base, "--index", "no-such-index-*")
    assert code == 2, line
    assert "elasticsearch no-such-index-*: no data" in line
    code, line = check(capsys, *base, "--index", index, "--field", "no_field")
    assert code == 3, line
    assert "No mapping found for [no_field]" in line
