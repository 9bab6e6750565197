"""Marathon 1.5+ JSON: apps (with the ``embed`` parts), tasks, deployments, queue entries.

Shapes follow the Marathon 1.5 captures (marathon-lb fixtures) and the 1.5-1.10 API docs
examples: Docker apps in ``container/bridge`` networking, counts and deployments always
present in app lists, ``tasks``/``lastTaskFailure``/``taskStats``/``readinessCheckResults``
on request.
"""

from __future__ import annotations

import statistics
from typing import Any

from clusterwatch.sim.engine import Simulation
from clusterwatch.sim.ids import iso_millis
from clusterwatch.sim.model import App, Deployment, HealthCheck, Task, TaskState

EMBEDS = frozenset({"apps.tasks", "apps.counts", "apps.deployments", "apps.lastTaskFailure",
                    "apps.failures", "apps.taskStats", "apps.readiness"})  # fmt: skip
SINGLE_APP_EMBEDS = frozenset(e.replace("apps.", "app.") for e in EMBEDS)


def _health_check(hc: HealthCheck) -> dict[str, Any]:
    return {
        "gracePeriodSeconds": hc.grace_period,
        "intervalSeconds": hc.interval,
        "maxConsecutiveFailures": hc.max_failures,
        "path": hc.path,
        "portIndex": hc.port_index,
        "protocol": hc.protocol,
        "timeoutSeconds": hc.timeout,
        "delaySeconds": 15,
        "ipProtocol": "IPv4",
    }


def app_definition(app: App) -> dict[str, Any]:
    return {
        "id": app.id,
        "acceptedResourceRoles": ["*"],
        "backoffFactor": 1.15,
        "backoffSeconds": 1,
        "cmd": None,
        "constraints": [],
        "container": {
            "type": "DOCKER",
            "docker": {
                "forcePullImage": False,
                "image": app.image,
                "parameters": [],
                "privileged": False,
            },
            "volumes": [],
            "portMappings": [
                {"containerPort": 8080 + i, "hostPort": 0, "labels": {}, "name": name,
                 "protocol": "tcp", "servicePort": service}
                for i, (name, service) in enumerate(zip(app.port_names, app.service_ports,
                                                        strict=False))
            ],
        },
        "cpus": app.cpus,
        "dependencies": [],
        "disk": app.disk,
        "env": {},
        "executor": "",
        "fetch": [],
        "gpus": app.gpus,
        "healthChecks": [_health_check(hc) for hc in app.health_checks],
        "instances": app.instances,
        "killSelection": "YOUNGEST_FIRST",
        "labels": dict(app.labels),
        "maxLaunchDelaySeconds": 3600,
        "mem": app.mem,
        "networks": [{"mode": "container/bridge"}],
        "requirePorts": False,
        "secrets": {},
        "unreachableStrategy": {"inactiveAfterSeconds": 300, "expungeAfterSeconds": 600},
        "upgradeStrategy": {"maximumOverCapacity": 1, "minimumHealthCapacity": 1},
        "user": None,
        "version": iso_millis(app.version),
        "versionInfo": {
            "lastScalingAt": iso_millis(app.last_scaling_at),
            "lastConfigChangeAt": iso_millis(app.last_config_change_at),
        },
    }


def healthy(app: App, task: Task) -> bool | None:
    """None when the app has no health checks (Marathon then counts it neither way)."""
    if not app.health_checks or task.state is not TaskState.RUNNING:
        return None
    return not app.unhealthy


def _health_results(app: App, task: Task, now: float) -> list[dict[str, Any]]:
    if not app.health_checks or task.state is not TaskState.RUNNING or task.started_at is None:
        return []
    first = task.started_at + app.health_checks[0].interval
    if now < first:
        return []
    interval = app.health_checks[0].interval
    last_check = first + int((now - first) / interval) * interval
    alive = not app.unhealthy
    return [{
        "alive": alive,
        "consecutiveFailures": 0 if alive else 1 + int((now - first) / interval),
        "firstSuccess": iso_millis(first) if alive or now > first else None,
        "lastFailure": None if alive else iso_millis(last_check),
        "lastSuccess": iso_millis(last_check) if alive else iso_millis(first),
        "lastFailureCause": None if alive else "ConnectionAttemptFailedException",
        "instanceId": task.instance_id,
    }]  # fmt: skip


def task_json(sim: Simulation, task: Task, now: float) -> dict[str, Any]:
    app = sim.apps.get(task.app_id)
    return {
        "id": task.id,
        "appId": task.app_id,
        "host": task.host,
        "slaveId": task.agent_id,
        "state": task.state.value,
        "stagedAt": iso_millis(task.staged_at),
        "startedAt": iso_millis(task.started_at) if task.started_at is not None else None,
        "version": iso_millis(task.version),
        "ports": list(task.ports),
        "servicePorts": list(app.service_ports) if app else [],
        "ipAddresses": [{"ipAddress": task.ip_address, "protocol": "IPv4"}],
        "localVolumes": [],
        "healthCheckResults": _health_results(app, task, now) if app else [],
        "role": "*",
    }


def counts(app: App, tasks: list[Task]) -> dict[str, int]:
    results = [healthy(app, t) for t in tasks]
    return {
        "tasksStaged": sum(1 for t in tasks if t.state is TaskState.STAGING),
        "tasksRunning": sum(1 for t in tasks if t.state is TaskState.RUNNING),
        "tasksHealthy": sum(1 for r in results if r is True),
        "tasksUnhealthy": sum(1 for r in results if r is False),
    }


def _stats(app: App, tasks: list[Task], now: float) -> dict[str, Any]:
    lifetimes = [now - t.started_at for t in tasks if t.started_at is not None]
    out: dict[str, Any] = {
        "counts": {
            "staged": sum(1 for t in tasks if t.state is TaskState.STAGING),
            "running": sum(1 for t in tasks if t.state is TaskState.RUNNING),
            "healthy": sum(1 for t in tasks if healthy(app, t) is True),
            "unhealthy": sum(1 for t in tasks if healthy(app, t) is False),
        }
    }
    if lifetimes:
        out["lifeTime"] = {
            "averageSeconds": round(sum(lifetimes) / len(lifetimes), 3),
            "medianSeconds": round(statistics.median(lifetimes), 3),
        }
    return {"stats": out}


def task_stats(app: App, tasks: list[Task], now: float) -> dict[str, Any]:
    groups = {
        "startedAfterLastScaling": [t for t in tasks if t.staged_at >= app.last_scaling_at],
        "withLatestConfig": [t for t in tasks if t.version >= app.last_config_change_at],
        "withOutdatedConfig": [t for t in tasks if t.version < app.last_config_change_at],
        "totalSummary": tasks,
    }
    return {name: _stats(app, group, now) for name, group in groups.items() if group}


def last_failure(app: App) -> dict[str, Any] | None:
    failure = app.last_failure
    if failure is None:
        return None
    out = dict(failure)
    out["timestamp"] = iso_millis(float(str(failure["timestamp"])))
    out["version"] = iso_millis(float(str(failure["version"])))
    return out


def app_json(sim: Simulation, app: App, embeds: set[str], now: float) -> dict[str, Any]:
    """An app as listed; ``embeds`` uses the ``apps.*`` names (``app.*`` also accepted)."""
    embeds = {e.replace("app.", "apps.", 1) if e.startswith("app.") else e for e in embeds}
    tasks = sim.app_tasks(app)
    out = app_definition(app)
    out.update(counts(app, tasks))
    out["deployments"] = [{"id": app.deployment_id}] if app.deployment_id else []
    if "apps.tasks" in embeds:
        out["tasks"] = [task_json(sim, t, now) for t in tasks]
    if "apps.lastTaskFailure" in embeds or "apps.failures" in embeds:
        failure = last_failure(app)
        if failure is not None:
            out["lastTaskFailure"] = failure
    if "apps.taskStats" in embeds:
        out["taskStats"] = task_stats(app, tasks, now)
    if "apps.readiness" in embeds:
        out["readinessCheckResults"] = []
    return out


def deployment_json(deployment: Deployment) -> dict[str, Any]:
    step = {"action": deployment.action, "app": deployment.app_id}
    return {
        "id": deployment.id,
        "version": iso_millis(deployment.version),
        "affectedApps": [deployment.app_id],
        "affectedPods": [],
        "steps": [{"actions": [step]}],
        "currentActions": [dict(step, readinessCheckResults=[])],
        "currentStep": 1,
        "totalSteps": 1,
    }


def queue_entry(sim: Simulation, app: App, now: float) -> dict[str, Any]:
    since = app.queued_since if app.queued_since is not None else now
    waited = now - since
    offers = int(waited / 5) * max(1, len(sim.agents))
    return {
        "app": app_definition(app),
        "count": sim.queued(app),
        "role": "*",
        "delay": {"timeLeftSeconds": 0, "overdue": waited > 60},
        "since": iso_millis(since),
        "processedOffersSummary": {
            "processedOffersCount": offers,
            "unusedOffersCount": offers,
            "rejectSummaryLastOffers": [
                {"reason": reason, "declined": declined, "processed": offers}
                for reason, declined in (("UnfulfilledRole", 0), ("UnfulfilledConstraint", 0),
                                         ("NoCorrespondingReservationFound", 0),
                                         ("InsufficientCpus", offers),
                                         ("InsufficientMemory", 0), ("InsufficientDisk", 0),
                                         ("InsufficientGpus", 0), ("InsufficientPorts", 0))
            ],
        },
        "lastUnusedOffers": [],
    }
