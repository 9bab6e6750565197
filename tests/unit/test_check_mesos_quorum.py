"""check_mesos_quorum's rules over parsed snapshots, flags and znodes (no server)."""

from __future__ import annotations

import pytest

from clusterwatch.checks import mesos_quorum
from clusterwatch.checks.findings import CRITICAL, OK, WARNING, Finding, worst
from clusterwatch.checks.mesos_quorum import MasterView, from_snapshot, judge
from clusterwatch.core import mesos_leader

FLAGS = {"flags": {"quorum": "2", "cluster": "t1"}}


def leader(url: str = "m1", recovered: float = 1.0) -> MasterView:
    return from_snapshot(url, {"master/elected": 1.0, "registrar/log/recovered": recovered}, FLAGS)


def standby(url: str) -> MasterView:
    return from_snapshot(url, {"master/elected": 0.0, "registrar/log/recovered": 1.0}, FLAGS)


def down(url: str) -> MasterView:
    return MasterView(url, error="connection refused")


def test_one_leader_all_up_is_ok() -> None:
    found = judge([leader(), standby("m2"), standby("m3")], quorum=2, expected=3)
    assert found == [Finding(OK, "leader m1"), Finding(OK, "3/3 masters up, quorum 2")]


def test_a_master_down_with_quorum_kept_warns() -> None:
    found = judge([leader(), standby("m2"), down("m3")], quorum=2, expected=3)
    assert worst(found) == WARNING
    assert Finding(WARNING, "2/3 masters up, quorum 2 (m3: connection refused)") in found


def test_masters_below_quorum_is_critical() -> None:
    found = judge([leader(), down("m2"), down("m3")], quorum=2, expected=3)
    assert worst(found) == CRITICAL
    assert found[-1].text.startswith("no quorum: 1/3 masters up, quorum 2 (m2: connection")


@pytest.mark.parametrize("masters", [
    [standby("m1"), standby("m2"), standby("m3")],
    [down("m1"), standby("m2"), standby("m3")],
])  # fmt: skip
def test_no_leader_is_critical(masters: list[MasterView]) -> None:
    found = judge(masters, quorum=2, expected=3)
    assert Finding(CRITICAL, "no elected master") in found


def test_two_leaders_is_critical() -> None:
    found = judge([leader("m1"), leader("m2"), standby("m3")], quorum=2, expected=3)
    assert Finding(CRITICAL, "2 masters claim to lead (m1, m2)") in found


def test_leader_with_registrar_not_recovered_is_critical() -> None:
    found = judge([leader(recovered=0.0), standby("m2"), standby("m3")], 2, 3)
    assert Finding(CRITICAL, "leader m1: registrar log not recovered") in found


def test_answer_that_is_not_a_snapshot_is_a_down_master() -> None:
    master = from_snapshot("m1", {"slave/uptime_secs": 3.0})
    assert not master.up
    assert "not a Mesos master snapshot" in (master.error or "")


def test_quorum_comes_from_option_then_flags_then_majority() -> None:
    masters = [leader(), standby("m2"), down("m3")]
    assert mesos_quorum.quorum_of(masters, 3, 5) == 3
    assert mesos_quorum.quorum_of(masters, None, 5) == 2
    assert mesos_quorum.quorum_of([down("m1")], None, 5) == 3


def test_znodes_below_quorum_and_leader_mismatch_are_critical() -> None:
    masters = [leader("http://m1:5050"), standby("http://m2:5050")]
    found = judge(masters, quorum=2, expected=3, znodes=["http://m2:5050"])
    assert Finding(CRITICAL, "1 masters registered in ZooKeeper, quorum 2") in found
    assert Finding(
        CRITICAL, "ZooKeeper names http://m2:5050 as leader, but http://m1:5050 is elected"
    ) in found


def test_znodes_in_sequence_order_and_unusable_ones_skipped() -> None:
    info = b'{"address":{"hostname":"10.0.0.%d","ip":"10.0.0.%d","port":5050},"port":5050}'
    entries = {
        "json.info_0000000012": info % (2, 2),
        "json.info_0000000007": info % (1, 1),
        "json.info_0000000013": b"not json",
        "log_replicas": b"",
    }
    assert [(m.sequence, m.url) for m in mesos_leader.masters_from_znodes(entries)] == [
        (7, "http://10.0.0.1:5050"), (12, "http://10.0.0.2:5050"),
    ]  # fmt: skip


def test_redirect_votes_outvote_a_standby_claiming_to_lead() -> None:
    named = ["http://m1:5050", "http://m2:5050", "http://m1:5050"]
    assert mesos_leader.elect(named) == "http://m1:5050"
    assert mesos_leader.elect(named[:2]) is None
    assert mesos_leader.redirect_target("//10.0.0.1:5050") == "http://10.0.0.1:5050"
