"""check_marathon_apps' rules over parsed /v2/apps, /v2/deployments and /v2/queue."""

from __future__ import annotations

import pytest

from clusterwatch.checks.findings import CRITICAL, OK, WARNING, Finding, worst
from clusterwatch.checks.marathon_apps import (
    AppView,
    Waiting,
    judge,
    parse_apps,
    parse_deployments,
    parse_queue,
)  # fmt: skip
from clusterwatch.checks.times import epoch

NOW = epoch("2016-02-28T18:41:41.090Z") or 0.0


def test_healthy_means_health_checked_or_running() -> None:
    body = {"apps": [
        {"id": "/a", "instances": 3, "tasksRunning": 3, "tasksHealthy": 1,
         "healthChecks": [{"protocol": "HTTP"}], "deployments": []},
        {"id": "/b", "instances": 2, "tasksRunning": 2, "tasksHealthy": 0,
         "healthChecks": [], "deployments": [{"id": "d1"}]},
    ]}  # fmt: skip
    apps = parse_apps(body)
    assert [(a.id, a.healthy, a.deploying) for a in apps] == [("/a", 1, False), ("/b", 2, True)]


@pytest.mark.parametrize(("healthy", "state"), [(3, OK), (2, WARNING), (1, WARNING),
                                                 (0, CRITICAL)])  # fmt: skip
def test_capacity_boundaries(healthy: int, state: int) -> None:
    assert worst(judge([AppView("/a", 3, healthy, False)], [], [], 900, 300)) == state


def test_suspended_app_is_fine() -> None:
    assert worst(judge([AppView("/a", 0, 0, False)], [], [], 900, 300)) == OK


def test_app_under_a_young_deployment_is_not_judged_but_an_overdue_one_is() -> None:
    app = AppView("/a", 3, 0, True)
    young = Waiting("d1", "/a", 60.0)
    old = Waiting("d1", "/a", 901.0)
    assert worst(judge([app], [young], [], 900, 300)) == OK
    found = judge([app], [old], [], 900, 300)
    assert found == [Finding(CRITICAL, "/a 0/3 healthy"),
                     Finding(WARNING, "deployment of /a running for 15m01s")]  # fmt: skip


def test_queue_boundary() -> None:
    assert worst(judge([], [], [Waiting("/a", "/a", 300.0, 2)], 900, 300)) == OK
    assert judge([], [], [Waiting("/a", "/a", 301.0, 2)], 900, 300) == [
        Finding(WARNING, "/a 2 instances queued for 5m01s")
    ]


def test_queue_and_deployments_parse_with_ages() -> None:
    queue = {"queue": [{
        "app": {"id": "/tools/agent", "instances": 5}, "count": 1, "role": "*",
        "delay": {"timeLeftSeconds": 0, "overdue": True}, "since": "2016-02-28T16:41:41.090Z",
    }]}  # fmt: skip
    assert [(q.id, q.count, round(q.age)) for q in parse_queue(queue, NOW)] == [
        ("/tools/agent", 1, 7200)
    ]
    deployments = [{"id": "97c1", "version": "2016-02-28T18:40:41.090Z",
                    "affectedApps": ["/a", "/b"], "currentStep": 1, "totalSteps": 2}]  # fmt: skip
    assert [(d.what, round(d.age)) for d in parse_deployments(deployments, NOW)] == [
        ("/a, /b", 60)
    ]


def test_other_bodies_are_refused() -> None:
    with pytest.raises(ValueError):
        parse_apps([])
    with pytest.raises(ValueError):
        parse_queue({"apps": []}, NOW)
    with pytest.raises(ValueError):
        parse_deployments({"deployments": []}, NOW)
