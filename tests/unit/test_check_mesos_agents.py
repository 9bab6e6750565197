"""check_mesos_agents' parsing of /master/slaves and its count/percent thresholds."""

from __future__ import annotations

import pytest

from clusterwatch.checks.findings import CRITICAL, OK, WARNING, worst
from clusterwatch.checks.mesos_agents import AgentView, judge, parse_agents
from clusterwatch.checks.minimum import minimum_arg


def agents(active: int, inactive: int = 0) -> list[AgentView]:
    up = [AgentView(f"S{i}", f"a{i}", "active") for i in range(active)]
    return up + [AgentView(f"S{active + i}", f"b{i}", "inactive") for i in range(inactive)]


def test_parse_marks_inactive_recovered_and_unreachable() -> None:
    body = {
        "slaves": [{"id": "S0", "hostname": "a0", "active": True},
                   {"id": "S1", "hostname": "a1", "active": False}],
        "recovered_slaves": [{"id": "S2", "hostname": "a2"}],
        "unreachable_slaves": [{"agent_id": {"value": "S3"}, "hostname": "a3"}],
    }  # fmt: skip
    assert [(a.id, a.state) for a in parse_agents(body)] == [
        ("S0", "active"), ("S1", "inactive"), ("S2", "recovered"), ("S3", "unreachable"),
    ]  # fmt: skip


def test_parse_rejects_other_bodies() -> None:
    with pytest.raises(ValueError, match="no slaves list"):
        parse_agents({"frameworks": []})


@pytest.mark.parametrize(("active", "expected_state"), [(10, OK), (9, WARNING), (8, WARNING),
                                                        (7, CRITICAL)])  # fmt: skip
def test_counts_are_minimums(active: int, expected_state: int) -> None:
    found = judge(agents(active, 10 - active), None, minimum_arg("9"), minimum_arg("8"))
    assert worst(found) == (OK if active >= 9 else expected_state)


def test_percent_of_expected_counts_missing_agents() -> None:
    found = judge(agents(8), 10, minimum_arg("90%"), minimum_arg("70%"))
    assert worst(found) == WARNING
    assert found[0].text == (
        "8/10 agents active, 2 expected agents not registered, warning minimum 90%"
    )


def test_percent_of_registered_without_expected() -> None:
    found = judge(agents(5, 5), None, minimum_arg("100%"), minimum_arg("50%"))
    assert worst(found) == WARNING
    assert worst(judge(agents(4, 6), None, minimum_arg("100%"), minimum_arg("50%"))) == CRITICAL


def test_long_lists_are_shortened_on_the_status_line() -> None:
    text = judge(agents(1, 8), None, None, None)[0].text
    assert text.endswith("b4 inactive and 3 more)")
