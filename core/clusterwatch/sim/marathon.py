"""A simulated Marathon instance (leader or standby) and its REST API.

A standby proxies every request to the leader, as real Marathon does (adding a ``Via``
header), except ``/ping`` and ``/metrics`` which describe the standby itself. Every answer
names the leader in ``X-Marathon-Leader``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from clusterwatch.sim import marathon_json as mj
from clusterwatch.sim.engine import DeploymentConflict, SimError, Simulation
from clusterwatch.sim.ids import iso_millis
from clusterwatch.sim.marathon_apps import app_spec
from clusterwatch.sim.marathon_metrics import HttpCounters, marathon_metrics
from clusterwatch.sim.model import MarathonInstance, TaskState
from clusterwatch.sim.routes import Router, json_response
from clusterwatch.sim.wire import Request, Response, plain

LOCAL_PATHS = frozenset({"/ping", "/metrics"})


def _error(status: int, message: str, **extra: Any) -> Response:
    return json_response({"message": message, **extra}, status)


class MarathonHost:
    def __init__(
        self,
        sim: Simulation,
        instance: MarathonInstance,
        peers: Callable[[MarathonInstance], MarathonHost | None],
    ) -> None:
        self.sim = sim
        self.instance = instance
        self.peers = peers
        self.http = HttpCounters()
        r = self.router = Router()
        r.add("GET", "/v2/apps", self.list_apps)
        r.add("GET", "/v2/apps/(?P<app_id>.+?)/tasks", self.app_tasks)
        r.add("GET", "/v2/apps/(?P<app_id>.+)", self.show_app)
        r.add("PUT,PATCH", "/v2/apps/(?P<app_id>.+)", self.update_app)
        r.add("GET", "/v2/tasks", self.tasks)
        r.add("GET", "/v2/deployments", self.deployments)
        r.add("GET", "/v2/queue", self.queue)
        r.add("GET", "/v2/info", self.info)
        r.add("GET", "/v2/leader", self.leader)
        r.add("DELETE", "/v2/leader", self.abdicate)
        r.add("GET", "/ping", self.ping)
        r.add("GET", "/metrics", self.metrics)

    def handle(self, request: Request) -> Response:
        leader = self.sim.marathon_leader()
        if leader is not self.instance and request.path not in LOCAL_PATHS:
            host = self.peers(leader) if leader is not None else None
            if host is None:
                return _error(503, "Could not determine the current leader")
            response = host.handle(request)
            response.headers.append(("Via", f"1.1 {self.instance.address}"))
            return response
        try:
            response = self.router.dispatch(request, self._not_found)
        except SimError as exc:
            response = _error(exc.status, str(exc))
        if leader is not None:
            response.headers.append(("X-Marathon-Leader", f"http://{leader.address}"))
        self.http.count(response.status, len(request.body), len(response.body))
        return response

    @staticmethod
    def _not_found(request: Request) -> Response:
        return plain(404, "")

    # -- apps -----------------------------------------------------------------------------

    def list_apps(self, request: Request, params: dict[str, str]) -> Response:
        embeds = set(request.args("embed"))
        id_filter = request.arg("id")
        label = request.arg("label")
        with self.sim.lock:
            now = self.sim.sync()
            apps = [
                mj.app_json(self.sim, app, embeds, now)
                for app in self.sim.apps.values()
                if id_filter in app.id and _label_matches(app.labels, label)
            ]
        return json_response({"apps": apps})

    def show_app(self, request: Request, params: dict[str, str]) -> Response:
        embeds = set(request.args("embed")) or set(mj.EMBEDS)
        with self.sim.lock:
            now = self.sim.sync()
            app = self.sim.app(params["app_id"])
            return json_response({"app": mj.app_json(self.sim, app, embeds, now)})

    def app_tasks(self, request: Request, params: dict[str, str]) -> Response:
        with self.sim.lock:
            now = self.sim.sync()
            app = self.sim.app(params["app_id"])
            tasks = [mj.task_json(self.sim, t, now) for t in self.sim.app_tasks(app)]
        return json_response({"tasks": tasks})

    def update_app(self, request: Request, params: dict[str, str]) -> Response:
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            return _error(400, "Invalid JSON", details=[{"path": "/", "errors": [
                "error.expected.jsobject"]}])  # fmt: skip
        if not isinstance(body, dict):
            return _error(422, "Object is not valid", details=[{"path": "/", "errors": [
                "error.expected.jsobject"]}])  # fmt: skip
        instances = body.get("instances")
        if instances is not None and (not isinstance(instances, int) or instances < 0):
            return _error(422, "Object is not valid", details=[{"path": "/instances", "errors": [
                "error.min"]}])  # fmt: skip
        force = request.arg("force").lower() == "true"
        with self.sim.lock:
            if "/" + params["app_id"].strip("/") not in self.sim.apps and request.method == "PUT":
                return self._create(params["app_id"], body)
            app = self.sim.app(params["app_id"])
            target = app.instances if instances is None else instances
            try:
                deployment = self.sim.scale(app.id, target, force=force)
            except DeploymentConflict as exc:
                return _error(409, str(exc), deployments=[{"id": d} for d in exc.deployment_ids])
            if isinstance(body.get("labels"), dict):
                app.labels = {str(k): str(v) for k, v in body["labels"].items()}
                app.last_config_change_at = deployment.version
            return json_response(
                {"version": iso_millis(deployment.version), "deploymentId": deployment.id}
            )

    def _create(self, app_id: str, body: dict[str, Any]) -> Response:
        """Marathon creates the app a PUT names when it does not exist yet: 201."""
        deployment = self.sim.create_app(app_id, app_spec(body))
        return json_response(
            {"version": iso_millis(deployment.version), "deploymentId": deployment.id}, 201,
            [("Location", f"/v2/apps{deployment.app_id}")],
        )  # fmt: skip

    # -- everything else ------------------------------------------------------------------

    def tasks(self, request: Request, params: dict[str, str]) -> Response:
        wanted = {s.lower() for s in request.args("status")}
        with self.sim.lock:
            now = self.sim.sync()
            tasks = [
                mj.task_json(self.sim, t, now)
                for t in self.sim.tasks.values()
                if not wanted or _status_name(t.state) in wanted
            ]
        return json_response({"tasks": tasks})

    def deployments(self, request: Request, params: dict[str, str]) -> Response:
        with self.sim.lock:
            self.sim.sync()
            return json_response([mj.deployment_json(d) for d in self.sim.deployments.values()])

    def queue(self, request: Request, params: dict[str, str]) -> Response:
        with self.sim.lock:
            now = self.sim.sync()
            entries = [
                mj.queue_entry(self.sim, app, now)
                for app in self.sim.apps.values()
                if self.sim.queued(app) > 0
            ]
        return json_response({"queue": entries})

    def info(self, request: Request, params: dict[str, str]) -> Response:
        sim, me = self.sim, self.instance
        leader = sim.marathon_leader()
        zk = "zk://127.0.0.1:2181"
        return json_response({
            "name": "marathon",
            "version": sim.config.marathon_version,
            "buildref": "unknown",
            "elected": me.elected_time is not None,
            "leader": leader.address if leader else None,
            "frameworkId": sim.marathon_framework.id,
            "marathon_config": {
                "checkpoint": True, "executor": "//cmd", "failover_timeout": 604800,
                "features": [], "framework_name": "marathon", "ha": True,
                "hostname": me.ip, "leader_proxy_connection_timeout_ms": 5000,
                "leader_proxy_read_timeout_ms": 10000, "local_port_max": 20000,
                "local_port_min": 10000, "master": f"{zk}/mesos",
                "mesos_leader_ui_url": _mesos_ui(sim), "mesos_role": "*",
                "mesos_user": "root", "webui_url": None,
            },
            "zookeeper_config": {
                "zk": f"{zk}/marathon", "zk_compression": True,
                "zk_compression_threshold": 65536, "zk_connection_timeout": 10000,
                "zk_max_node_size": 1024000, "zk_max_versions": 50,
                "zk_session_timeout": 10000, "zk_timeout": 10000,
            },
            "http_config": {"http_port": me.port, "https_port": 8443},
        })  # fmt: skip

    def leader(self, request: Request, params: dict[str, str]) -> Response:
        leader = self.sim.marathon_leader()
        if leader is None:
            return _error(404, "There is no leader")
        return json_response({"leader": leader.address})

    def abdicate(self, request: Request, params: dict[str, str]) -> Response:
        self.sim.change_marathon_leader()
        return json_response({"message": "Leadership abdicated"})

    def ping(self, request: Request, params: dict[str, str]) -> Response:
        return Response(200, b"pong", "text/plain")

    def metrics(self, request: Request, params: dict[str, str]) -> Response:
        with self.sim.lock:
            now = self.sim.sync()
            return json_response(marathon_metrics(self.sim, self.instance, self.http, now))


def _status_name(state: TaskState) -> str:
    return state.value.removeprefix("TASK_").lower()


def _mesos_ui(sim: Simulation) -> str:
    leader = sim.leader()
    return f"http://{leader.address}/" if leader else ""


def _label_matches(labels: dict[str, str], selector: str) -> bool:
    if not selector:
        return True
    for clause in selector.split(","):
        key, op, value = clause.partition("==")
        if not op:
            key, op, value = clause.partition("!=")
        key, value = key.strip(), value.strip()
        matched = {
            "": key in labels,
            "==": labels.get(key) == value,
            "!=": labels.get(key) != value,
        }[op]
        if not matched:
            return False
    return True
