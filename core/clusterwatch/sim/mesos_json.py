"""JSON pieces shared by the Mesos master and agent: resources, tasks, frameworks.

Shapes follow the 1.0.0 master and 1.4.0 agent ``/state`` captures: floats for scalar
resources, ports as Mesos' range text, statuses with ``container_status``.
"""

from __future__ import annotations

from typing import Any

from clusterwatch.sim.engine import Simulation
from clusterwatch.sim.model import Agent, App, Framework, Resources, Task, ports_text, ranges_of

BUILD_DATE = "2017-09-01 12:00:00"
BUILD_TIME = 1504267200.0


def resources(res: Resources) -> dict[str, Any]:
    out: dict[str, Any] = {
        "cpus": float(res.cpus),
        "disk": float(res.disk),
        "gpus": float(res.gpus),
        "mem": float(res.mem),
    }
    if res.ports:
        out["ports"] = res.ports_text()
    return out


def scalar_resources(cpus: float, mem: float, disk: float, gpus: float,
                     ports: list[int] | None = None) -> dict[str, Any]:  # fmt: skip
    out: dict[str, Any] = {
        "cpus": round(float(cpus), 6),
        "disk": round(float(disk), 6),
        "gpus": round(float(gpus), 6),
        "mem": round(float(mem), 6),
    }
    if ports:
        out["ports"] = ports_text(ranges_of(ports))
    return out


def agent_used(agent: Agent) -> dict[str, Any]:
    ports = sorted(agent.used_ports)
    return scalar_resources(agent.used_cpus, agent.used_mem, agent.used_disk, agent.used_gpus,
                            ports)  # fmt: skip


def zero_resources() -> dict[str, Any]:
    return {"cpus": 0.0, "disk": 0.0, "gpus": 0.0, "mem": 0.0}


def task_resources(app: App | None, task: Task) -> dict[str, Any]:
    if app is None:
        return scalar_resources(0, 0, 0, 0, task.ports)
    return scalar_resources(app.cpus, app.mem, app.disk, app.gpus, task.ports)


def _status(task: Task, state: str, timestamp: float) -> dict[str, Any]:
    return {
        "state": state,
        "timestamp": round(timestamp, 5),
        "labels": [{"key": "Docker.NetworkSettings.IPAddress", "value": task.ip_address}],
        "container_status": {
            "container_id": {"value": task.container_id},
            "network_infos": [{"ip_addresses": [{"ip_address": task.ip_address}]}],
        },
    }


def task(sim: Simulation, task: Task) -> dict[str, Any]:
    app = sim.apps.get(task.app_id)
    statuses = [_status(task, "TASK_STAGING", task.staged_at)]
    if task.started_at is not None:
        statuses.append(_status(task, "TASK_RUNNING", task.started_at))
    if task.finished_at is not None:
        statuses.append(_status(task, task.state.value, task.finished_at))
    name = task.app_id.strip("/").replace("/", ".")
    port_names = app.port_names if app else []
    return {
        "id": task.id,
        "name": name,
        "framework_id": task.framework_id,
        "executor_id": "",
        "slave_id": task.agent_id,
        "state": task.state.value,
        "resources": task_resources(app, task),
        "role": "*",
        "statuses": statuses,
        "discovery": {
            "visibility": "FRAMEWORK",
            "name": name,
            "ports": {
                "ports": [
                    {"number": port, "name": pname, "protocol": "tcp"}
                    for port, pname in zip(task.ports, port_names, strict=False)
                ]
            },
        },
        "container": {
            "type": "DOCKER",
            "docker": {
                "image": app.image if app else "",
                "network": "BRIDGE",
                "port_mappings": [
                    {"host_port": port, "container_port": 8080 + i, "protocol": "tcp"}
                    for i, port in enumerate(task.ports)
                ],
                "privileged": False,
                "parameters": [{"key": "label", "value": f"MESOS_TASK_ID={task.id}"}],
                "force_pull_image": False,
            },
        },
        "labels": [{"key": k, "value": v} for k, v in (app.labels if app else {}).items()],
    }


def framework_info(fw: Framework) -> dict[str, Any]:
    return {
        "id": fw.id,
        "name": fw.name,
        "user": fw.user,
        "failover_timeout": 604800.0,
        "checkpoint": True,
        "hostname": fw.hostname,
        "principal": fw.principal,
        "role": fw.role,
        "capabilities": list(fw.capabilities),
        "webui_url": fw.webui_url,
    }


def version(sim: Simulation) -> dict[str, Any]:
    """``/version`` of a master or an agent (both run the same build)."""
    return {
        "build_date": BUILD_DATE,
        "build_time": BUILD_TIME,
        "build_user": "",
        "git_sha": sim.git_sha,
        "git_tag": sim.config.mesos_version,
        "version": sim.config.mesos_version,
    }
