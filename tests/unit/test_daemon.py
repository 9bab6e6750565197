"""The daemon and one-shot cycles, with a fake source and the line-protocol file sink."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from clusterwatch.core import registry
from clusterwatch.core.config import load_config
from clusterwatch.core.config_schema import Config
from clusterwatch.core.http import Http
from clusterwatch.scheduler.cycle import aligned_time_ns, run_cycle
from clusterwatch.scheduler.daemon import Daemon
from tests import fake_source
from tests.daemon_process import run_daemon_until

REAL_SOURCES = dict(registry.REGISTRY["source"])


@pytest.fixture(autouse=True)
def fake_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(
        registry.REGISTRY,
        "source",
        {"fake": "tests.fake_source", "broken": "tests.unit.test_daemon:Broken"},
    )
    fake_source.CALLS.clear()


class Broken:
    @staticmethod
    def collect(ctx: object) -> object:
        raise KeyError("slaves")


def make_config(tmp_path: Path, interval: float = 0.2, extra: str = "") -> Path:
    path = tmp_path / "cw.toml"
    path.write_text(
        f'[cluster]\nname = "t1"\n[daemon]\nstate_dir = "{tmp_path / "state"}"\n'
        f'[sources.fake]\ninterval_seconds = {interval}\ntargets = ["a", "down"]\n'
        f'[sinks.out]\ntype = "file"\npath = "{tmp_path / "out.lp"}"\nprecision = "ns"\n' + extra
    )
    return path


def test_aligned_time_is_the_start_of_the_interval() -> None:
    assert aligned_time_ns(1_700_000_017.9, 15) == 1_700_000_010 * 10**9
    assert aligned_time_ns(1_700_000_010.0, 15) == 1_700_000_010 * 10**9


def test_failing_target_is_recorded_and_the_rest_collected(tmp_path: Path) -> None:
    config = load_config(make_config(tmp_path))
    with Http() as http:
        report = run_cycle("fake", config, http, now=1_700_000_000.05)
    assert [p.tags["host"] for p in report.result.points] == ["a"]
    assert report.result.points[0].tags["cluster"] == "t1"
    assert [(e.target, e.reason) for e in report.result.errors] == [("down", "connection refused")]
    metrics = report.self_metrics("t1")
    assert metrics.fields["targets_total"] == 2
    assert metrics.fields["targets_up"] == 1
    assert metrics.time_ns == 1_700_000_000 * 10**9


def test_a_collector_bug_becomes_an_error_not_a_crash(tmp_path: Path) -> None:
    config = load_config(make_config(tmp_path))
    from clusterwatch.core.config_schema import SourceConfig

    config = Config(
        cluster=config.cluster, daemon=config.daemon, sources={"broken": SourceConfig()}
    )
    with Http() as http:
        report = run_cycle("broken", config, http)
    assert report.result.errors[0].reason == "KeyError: 'slaves'"


def test_daemon_collects_on_interval_and_flushes_on_stop(tmp_path: Path) -> None:
    path = make_config(tmp_path)
    daemon = Daemon(load_config(path), path)
    run_daemon_until(daemon, lambda: len(fake_source.CALLS) >= 3)
    lines = (tmp_path / "out.lp").read_text().splitlines()
    fake_lines = [line for line in lines if line.startswith("fake,")]
    self_lines = [line for line in lines if line.startswith("clusterwatch,cluster=t1,source=")]
    assert len(fake_lines) == len(fake_source.CALLS) >= 3
    assert all("cluster=t1,host=a" in line for line in fake_lines)
    assert len(self_lines) == len(fake_lines)
    assert "targets_total=2,targets_up=1 " in self_lines[0]
    # timestamps are aligned to the 0.2 s interval
    stamps = [int(line.rsplit(" ", 1)[1]) for line in fake_lines]
    assert all(stamp % 200_000_000 == 0 for stamp in stamps)


def test_reload_applies_a_valid_config_and_keeps_the_old_on_error(tmp_path: Path) -> None:
    path = make_config(tmp_path)
    daemon = Daemon(load_config(path), path)
    thread = threading.Thread(target=daemon.run)
    thread.start()
    try:
        path.write_text(path.read_text() + "[cluster.bogus]\n")
        daemon._reload.set()
        time.sleep(0.5)
        assert daemon.config.cluster.name == "t1"  # invalid: old config kept
        path.write_text(path.read_text().replace("[cluster.bogus]\n", "").replace('"t1"', '"t2"'))
        daemon._reload.set()
        deadline = time.monotonic() + 10
        while daemon.config.cluster.name != "t2" and time.monotonic() < deadline:
            time.sleep(0.05)
        calls_before = len(fake_source.CALLS)
        while len(fake_source.CALLS) < calls_before + 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        daemon.request_stop()
        thread.join(20)
    assert "cluster=t2,host=a" in (tmp_path / "out.lp").read_text()


def test_self_metrics_follow_the_catalog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from clusterwatch.collectors.catalog import problems
    from clusterwatch.scheduler.daemon import open_publisher

    config = load_config(make_config(tmp_path))
    with Http() as http:
        report = run_cycle("fake", config, http, now=1_700_000_000.0)
    monkeypatch.setitem(registry.REGISTRY, "source", REAL_SOURCES)
    publisher = open_publisher(config)
    try:
        sink_points = publisher.self_metrics("t1", 1_700_000_000 * 10**9)
    finally:
        publisher.close()
    assert [p.tags["sink"] for p in sink_points] == ["out"]
    assert problems([report.self_metrics("t1"), *sink_points]) == []



def test_runs_fall_on_the_interval_boundaries_whenever_the_last_one_ran() -> None:
    from datetime import UTC, datetime

    from clusterwatch.scheduler.aligned_trigger import AlignedIntervalTrigger

    trigger = AlignedIntervalTrigger(seconds=15)

    def after(previous: float | None, now: float) -> float:
        at = datetime.fromtimestamp(previous, UTC) if previous is not None else None
        fire = trigger.get_next_fire_time(at, datetime.fromtimestamp(now, UTC))
        assert fire is not None
        return fire.timestamp()

    assert after(None, 1_700_000_017.9) == 1_700_000_025.0  # the daemon started mid-interval
    assert after(1_700_000_017.9, 1_700_000_018.0) == 1_700_000_025.0  # after its first run
    assert after(1_700_000_025.0, 1_700_000_025.3) == 1_700_000_040.0  # on time
    assert after(1_700_000_039.99, 1_700_000_040.0) == 1_700_000_040.0  # a late run's next


def test_a_second_run_in_the_same_interval_is_skipped(tmp_path: Path) -> None:
    path = make_config(tmp_path, interval=3600)
    daemon = Daemon(load_config(path), path)
    try:
        daemon.collect("fake")
        daemon.collect("fake")  # late, then on time: one interval, one cycle
    finally:
        daemon.publisher.close()
    assert len(fake_source.CALLS) == 1 and daemon.cycles == 1


class Slow:
    """A source whose cycle lasts until the test lets it end."""

    started = threading.Event()
    release = threading.Event()

    @staticmethod
    def collect(ctx: object) -> object:
        from clusterwatch.core.collect import CollectResult

        Slow.started.set()
        assert Slow.release.wait(10)
        return CollectResult()


def test_a_run_that_finds_the_last_still_running_is_skipped_and_said(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(registry.REGISTRY["source"], "slow", "tests.unit.test_daemon:Slow")
    path = make_config(tmp_path, interval=0.1)
    path.write_text(path.read_text().replace("[sources.fake]", "[sources.slow]"))
    daemon = Daemon(load_config(path), path)
    daemon._at_start = {"slow"}  # as schedule() leaves it
    caplog.set_level("INFO", logger="clusterwatch.scheduler.daemon")

    def overlapped() -> list[tuple[str, str]]:
        Slow.started.clear()
        Slow.release.clear()
        thread = threading.Thread(target=daemon.collect, args=("slow",))
        thread.start()
        assert Slow.started.wait(10)
        caplog.clear()
        daemon.collect("slow")  # the scheduler's next run, while that one runs
        Slow.release.set()
        thread.join(10)
        time.sleep(0.15)  # into the next interval
        return [(r.levelname, r.getMessage()) for r in caplog.records]

    try:
        # the run at start overlaps the first boundary: expected, said quietly
        assert overlapped() == [("INFO", "cycle skipped: the one at (re)start overlaps it")]
        # later, a cycle longer than the interval: worth a warning
        assert overlapped() == [
            ("WARNING", "cycle skipped: the last one still runs (longer than the interval)")]
    finally:
        daemon.publisher.close()
    assert daemon.cycles == 2
