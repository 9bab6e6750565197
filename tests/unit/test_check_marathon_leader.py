"""check_marathon_leader's rules over parsed /v2/leader answers (no server)."""

from __future__ import annotations

from clusterwatch.checks.findings import CRITICAL, OK, WARNING, Finding, worst
from clusterwatch.checks.marathon_leader import InstanceView, from_reply, judge


def says(url: str, leader: str = "mt1:8080") -> InstanceView:
    return from_reply(url, 200, {"leader": leader})


def test_all_naming_one_leader_is_ok() -> None:
    assert judge([says("a"), says("b"), says("c")]) == [
        Finding(OK, "leader mt1:8080"), Finding(OK, "3/3 instances agree"),
    ]  # fmt: skip


def test_disagreement_is_critical() -> None:
    found = judge([says("a"), says("b", "mt2:8080"), says("c")])
    assert worst(found) == CRITICAL
    assert "disagree" in found[0].text


def test_404_and_503_mean_no_leader() -> None:
    for status in (404, 503):
        found = judge([says("a"), from_reply("b", status, None, "There is no leader")])
        assert found[0] == Finding(CRITICAL, f"no leader (b: HTTP {status}: There is no leader)")


def test_an_instance_down_warns_and_all_down_is_critical() -> None:
    gone = InstanceView("c", error="timed out after 8s")
    assert worst(judge([says("a"), says("b"), gone])) == WARNING
    assert worst(judge([gone])) == CRITICAL


def test_answer_without_leader_field_is_a_down_instance() -> None:
    assert not from_reply("a", 200, {"message": "hi"}).up
