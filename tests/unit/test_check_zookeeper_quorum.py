"""check_zookeeper_quorum's decisions, against canned 4lw servers on loopback."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from clusterwatch.checks import zookeeper_quorum
from tests.unit.check_fakes import FakeServer, closed_port, four_letter, hang, reply

NOT_SERVING = "This ZooKeeper instance is not currently serving requests\n"


def mntr(state: str, avg: float = 0.5, max_latency: int = 10, outstanding: int = 0,
         synced: int | None = None, followers: int | None = None) -> str:
    lines = {
        "zk_version": "3.8.0-test, built on 2023-01-10 09:12 UTC",
        "zk_server_state": state,
        "zk_avg_latency": str(avg),
        "zk_max_latency": str(max_latency),
        "zk_min_latency": "0",
        "zk_outstanding_requests": str(outstanding),
        "zk_znode_count": "42",
    }
    if followers is not None:
        lines["zk_followers"] = str(followers)
    if synced is not None:
        lines["zk_synced_followers"] = str(synced)
    return "".join(f"{k}\t{v}\n" for k, v in lines.items())


def leader(synced: int = 2, **kw: float) -> str:
    return mntr("leader", synced=synced, followers=2, **kw)  # type: ignore[arg-type]


@contextlib.contextmanager
def ensemble(*replies: str | None) -> Iterator[list[str]]:
    """One 4lw server per reply (``None``: a refused port); yields the host list."""
    servers: list[FakeServer] = []
    hosts = []
    try:
        for text in replies:
            if text is None:
                hosts.append(f"127.0.0.1:{closed_port()}")
                continue
            server = FakeServer(four_letter({"mntr": text}))
            servers.append(server)
            hosts.append(server.address)
        yield hosts
    finally:
        for server in servers:
            server.close()


def check(hosts: list[str], *extra: str) -> int:
    return zookeeper_quorum.main(["-H", ",".join(hosts), *extra])


def first_line(capsys: pytest.CaptureFixture[str]) -> str:
    out = capsys.readouterr().out
    return out.splitlines()[0]


def test_healthy_ensemble_is_ok_with_perfdata(capsys: pytest.CaptureFixture[str]) -> None:
    with ensemble(leader(avg=0.25), mntr("follower", avg=1.5), mntr("follower")) as hosts:
        assert check(hosts) == 0
    line = first_line(capsys)
    assert line.startswith(
        f"ZOOKEEPER_QUORUM OK - 3/3 members serving, leader {hosts[0]}, 2/2 followers synced"
    )
    perf = line.split(" | ", 1)[1].split()
    assert perf == [
        "members_up=3;3:;2:;0;3",
        "leaders=1;;1:1;0;3",
        "synced_followers=2;2:;;0;2",
        "avg_latency=1.5ms;;;0",
        "max_latency=10ms;;;0",
        "outstanding_requests=0;;;0",
    ]


def test_one_member_refusing_is_a_warning(capsys: pytest.CaptureFixture[str]) -> None:
    with ensemble(leader(synced=1), mntr("follower"), None) as hosts:
        assert check(hosts) == 1
    line = first_line(capsys)
    assert line.startswith("ZOOKEEPER_QUORUM WARNING - 2/3 members serving")
    assert f"{hosts[2]}: down (connection refused)" in line


def test_a_member_that_runs_without_quorum_counts_as_down(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with ensemble(leader(synced=1), mntr("follower"), NOT_SERVING) as hosts:
        assert check(hosts) == 1
    assert "not serving requests" in first_line(capsys)


def test_two_of_three_down_is_critical(capsys: pytest.CaptureFixture[str]) -> None:
    with ensemble(NOT_SERVING, None, None) as hosts:
        assert check(hosts) == 2
    line = first_line(capsys)
    assert line.startswith("ZOOKEEPER_QUORUM CRITICAL - no quorum: 0/3 members serving")
    assert "no leader" in line


def test_two_leaders_are_critical(capsys: pytest.CaptureFixture[str]) -> None:
    with ensemble(leader(), leader(), mntr("follower")) as hosts:
        assert check(hosts) == 2
    assert f"2 leaders ({hosts[0]}, {hosts[1]})" in first_line(capsys)


def test_no_leader_is_critical(capsys: pytest.CaptureFixture[str]) -> None:
    with ensemble(mntr("follower"), mntr("follower"), mntr("follower")) as hosts:
        assert check(hosts) == 2
    assert "CRITICAL - no leader" in first_line(capsys)


def test_unsynced_follower_is_a_warning(capsys: pytest.CaptureFixture[str]) -> None:
    with ensemble(leader(synced=1), mntr("follower"), mntr("follower")) as hosts:
        assert check(hosts) == 1
    assert "WARNING - 1/2 followers synced" in first_line(capsys)


def test_a_garbage_reply_is_unknown_with_the_reason(capsys: pytest.CaptureFixture[str]) -> None:
    garbage = FakeServer(reply("<html><body>502 Bad Gateway</body></html>"))
    try:
        with ensemble(leader(synced=1), mntr("follower")) as hosts:
            assert check([*hosts, garbage.address]) == 3
    finally:
        garbage.close()
    line = first_line(capsys)
    assert line.startswith("ZOOKEEPER_QUORUM UNKNOWN - ")
    assert f"{garbage.address}: not an mntr reply" in line


def test_lost_quorum_outranks_an_unreadable_member(capsys: pytest.CaptureFixture[str]) -> None:
    garbage = FakeServer(reply("garbage"))
    try:
        with ensemble(None, None) as hosts:
            assert check([*hosts, garbage.address]) == 2
    finally:
        garbage.close()
    assert first_line(capsys).startswith("ZOOKEEPER_QUORUM CRITICAL - no quorum")


def test_a_hung_member_counts_as_down_within_the_timeout(
    capsys: pytest.CaptureFixture[str],
) -> None:
    stuck = FakeServer(hang())
    try:
        with ensemble(leader(synced=1), mntr("follower")) as hosts:
            assert check([*hosts, stuck.address], "-t", "1") == 1
    finally:
        stuck.close()
    line = first_line(capsys)
    assert line.startswith("ZOOKEEPER_QUORUM WARNING - 2/3 members serving")
    assert any(f"{stuck.address}: down ({why}" in line for why in ("timed out", "no answer"))


def test_srvr_is_used_when_mntr_is_not_whitelisted(capsys: pytest.CaptureFixture[str]) -> None:
    refused = "mntr is not executed because it is not in the whitelist.\n"
    srvr = "Zookeeper version: 3.8.0\nLatency min/avg/max: 0/3/9\nMode: standalone\n"
    with contextlib.closing(FakeServer(four_letter({"mntr": refused, "srvr": srvr}))) as server:
        assert check([server.address], "-v") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("ZOOKEEPER_QUORUM OK - 1/1 members serving, leader 127.0.0.1:")
    assert "via srvr" in lines[1]


def test_latency_thresholds(capsys: pytest.CaptureFixture[str]) -> None:
    with ensemble(leader(avg=12), mntr("follower"), mntr("follower")) as hosts:
        assert check(hosts, "-w", "10", "-c", "20") == 1
    line = first_line(capsys)
    assert "avg latency 12ms (outside 10)" in line
    assert "avg_latency=12ms;10;20;0" in line


def test_outstanding_thresholds(capsys: pytest.CaptureFixture[str]) -> None:
    with ensemble(leader(outstanding=50), mntr("follower"), mntr("follower")) as hosts:
        assert check(hosts, "--outstanding-critical", "10") == 2
    assert "50 outstanding requests (outside 10)" in first_line(capsys)


def test_verbose_lists_every_member(capsys: pytest.CaptureFixture[str]) -> None:
    with ensemble(leader(synced=1), mntr("follower"), None) as hosts:
        check(hosts, "-v")
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].startswith(f"{hosts[0]}: leader, latency avg 0.5 ms")
    assert lines[3] == f"{hosts[2]}: down (connection refused)"


@pytest.mark.parametrize("hosts", ["", ",", "zk1:x", "zk1:99999"])
def test_bad_host_lists_are_usage_errors(hosts: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert zookeeper_quorum.main(["-H", hosts]) == 3
    assert first_line(capsys).startswith("ZOOKEEPER_QUORUM UNKNOWN - argument -H/--hosts")
