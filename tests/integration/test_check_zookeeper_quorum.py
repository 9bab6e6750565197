"""check_zookeeper_quorum against a real 3-node ZooKeeper ensemble (Debian zookeeper)."""

from __future__ import annotations

import time

import pytest

from clusterwatch.checks import zookeeper_quorum

pytestmark = pytest.mark.integration

SETTLE = 60.0
"""Longest wait for the ensemble to reach a state (elections take a few ticks)."""


def check(hosts: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = zookeeper_quorum.main(["-H", ",".join(hosts), "-t", "5"])
    return code, capsys.readouterr().out.splitlines()[0]


def settle(
    hosts: list[str], expected: int, capsys: pytest.CaptureFixture[str], needle: str = ""
) -> str:
    """Run the check until it exits ``expected`` with ``needle`` in its line (elections and
    quorum loss take a few ticks to show); the last line."""
    deadline = time.monotonic() + SETTLE
    while True:
        code, line = check(hosts, capsys)
        if (code == expected and needle in line) or time.monotonic() > deadline:
            assert code == expected, line
            assert needle in line
            return line
        time.sleep(0.5)


def test_quorum_follows_members_stopping_and_starting(
    zookeeper_ensemble: object, capsys: pytest.CaptureFixture[str]
) -> None:
    ensemble = zookeeper_ensemble
    hosts: list[str] = ensemble.hosts  # type: ignore[attr-defined]

    line = settle(hosts, 0, capsys)
    assert line.startswith("ZOOKEEPER_QUORUM OK - 3/3 members serving, leader 127.0.0.1:")
    assert "2/2 followers synced" in line
    assert "members_up=3;3:;2:;0;3" in line

    ensemble.stop_member(0)  # type: ignore[attr-defined]
    line = settle(hosts, 1, capsys)
    assert line.startswith("ZOOKEEPER_QUORUM WARNING - 2/3 members serving")
    assert f"{hosts[0]}: down (connection refused)" in line
    assert "members_up=2;3:;2:;0;3" in line

    ensemble.stop_member(1)  # type: ignore[attr-defined]
    # CRITICAL at once (1/3: the last member may still think it leads for a few ticks) ...
    _, line = check(hosts, capsys)
    assert line.startswith("ZOOKEEPER_QUORUM CRITICAL - no quorum: ")
    # ... and then that member runs without serving: it counts as down too
    line = settle(hosts, 2, capsys, "0/3 members serving")
    assert line.startswith("ZOOKEEPER_QUORUM CRITICAL - no quorum: 0/3 members serving")
    assert f"{hosts[2]}: down (not serving requests" in line

    ensemble.start_member(0, wait=False)  # type: ignore[attr-defined]
    ensemble.start_member(1)  # type: ignore[attr-defined]
    line = settle(hosts, 0, capsys)
    assert line.startswith("ZOOKEEPER_QUORUM OK - 3/3 members serving")


def test_verbose_output_lists_real_members(
    zookeeper_ensemble: object, capsys: pytest.CaptureFixture[str]
) -> None:
    hosts: list[str] = zookeeper_ensemble.hosts  # type: ignore[attr-defined]
    settle(hosts, 0, capsys)
    assert zookeeper_quorum.main(["-H", ",".join(hosts), "-v"]) == 0
    lines = capsys.readouterr().out.splitlines()
    roles = sorted(line.split(": ", 1)[1].split(",")[0] for line in lines[1:4])
    assert roles == ["follower", "follower", "leader"]
    assert all("via mntr" in line and "version 3." in line for line in lines[1:4])
