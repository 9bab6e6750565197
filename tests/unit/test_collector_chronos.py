from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from clusterwatch.collectors import catalog, chronos
from clusterwatch.core.collect import CollectContext
from clusterwatch.core.config_schema import ClusterConfig, HttpConfig, SourceConfig
from clusterwatch.core.http import Http
from clusterwatch.sim import chronos as sim
from tests.httpserver import Reply, serve
from tests.reference import REFERENCE

NOW = 1_715_000_000_000_000_000  # 2024-05-06T12:53:20Z
TAGS = {"cluster": "t1"}
START = datetime(2024, 5, 1, tzinfo=UTC)
JOBS = [
    sim.ChronosJob("etl", "run-etl", schedule=sim.schedule(START, "PT1H"), success_count=120,
                   error_count=4, errors_since_last_success=2,
                   last_success=datetime(2024, 5, 6, 11, 53, 20, tzinfo=UTC),
                   last_error=datetime(2024, 5, 6, 12, 43, 20, tzinfo=UTC), state="queued"),
    sim.ChronosJob("report", "make-report", parents=("etl",), disabled=True),
]


def test_job_counts_and_ages() -> None:
    graph = chronos.parse_graph(sim.graph_csv(JOBS))
    points = chronos.map_jobs(sim.jobs(JOBS), graph, TAGS, NOW)
    assert catalog.problems(points) == []
    etl, report = points
    assert etl.tags == {"cluster": "t1", "job": "etl"}
    assert etl.fields["successes_total"] == 120 and etl.fields["errors_since_last_success"] == 2.0
    assert etl.fields["last_success_age_seconds"] == 3600.0
    assert etl.fields["last_run_age_seconds"] == 600.0
    assert etl.fields["last_status"] == "failure" and etl.fields["state"] == "queued"
    assert report.fields["disabled"] is True and "last_run_age_seconds" not in report.fields


def test_reference_docs_job() -> None:
    path = REFERENCE / "chronos/docs_sample_job.json"
    if not path.exists():
        pytest.skip("reference not available")
    [point] = chronos.map_jobs([json.loads(path.read_text())], {}, TAGS, NOW)
    assert catalog.problems([point]) == []
    assert point.fields["errors_total"] == 3 and point.fields["successes_total"] == 190


def test_collect_falls_back_to_the_chronos_2_paths() -> None:
    routes = {
        "/scheduler/jobs": Reply(body=json.dumps(sim.jobs(JOBS)).encode()),
        "/scheduler/graph/csv": Reply(body=sim.graph_csv(JOBS).encode(),
                                      headers={"Content-Type": "text/plain"}),
    }
    with serve(routes) as server:
        http = Http(HttpConfig(retries=0, connect_timeout_seconds=2, read_timeout_seconds=2))
        ctx = CollectContext("chronos", ClusterConfig(chronos=server.url), SourceConfig(), http,
                             NOW)
        result = chronos.collect(ctx)
    assert result.errors == [] and len(result.points) == 2


def test_collect_truncated_job_list_is_an_error() -> None:
    with serve({"/v1/scheduler/jobs": Reply(body=b'[{"name": "etl", "succ')}) as server:
        http = Http(HttpConfig(retries=0, connect_timeout_seconds=2, read_timeout_seconds=2))
        ctx = CollectContext("chronos", ClusterConfig(chronos=server.url), SourceConfig(), http,
                             NOW)
        result = chronos.collect(ctx)
    assert result.points == [] and "truncated JSON" in result.errors[0].reason
