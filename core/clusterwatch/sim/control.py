"""The control endpoint (its own port, 127.0.0.1): faults and cluster events over HTTP.

    GET    /control                          endpoints, leaders, active faults
    GET    /control/faults                   list
    POST   /control/faults                   {"kind", "role"?, "host"?, "path"?, "count"?,
                                              "params"?: {...}}  -> {"id": n}
    DELETE /control/faults[/<id>]            remove one or all
    POST   /control/masters/failover         {"to"?: index}
    POST   /control/masters/<i>/standby-mode {"mode": "redirect"|"local"|"claims_leader"}
    POST   /control/marathon/failover        {"to"?: index}
    POST   /control/agents/<id>/lose|remove|restore
    POST   /control/apps/<app id>/scale      {"instances": n, "force"?: bool}
    POST   /control/apps/<app id>/stuck      {"stuck"?: bool}
    POST   /control/apps/<app id>/flapping   {"every"?: seconds or null}
    POST   /control/apps/<app id>/unhealthy  {"unhealthy"?: bool}
    POST   /control/consul/leader            {"present": bool}
    POST   /control/zookeeper/session-loss   {"master"?: index}
    POST   /control/clock/advance            {"seconds": n}
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from clusterwatch.sim.engine import SimError
from clusterwatch.sim.routes import Router, json_response
from clusterwatch.sim.wire import Request, Response

if TYPE_CHECKING:
    from clusterwatch.sim.cluster import Cluster

Action = Callable[[dict[str, Any], dict[str, str]], Any]


class ControlHost:
    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        c = cluster
        r = self.router = Router()
        r.add("GET", "/control", self.overview)
        r.add("GET", "/control/faults", self.list_faults)
        r.add("POST", "/control/faults", self.act(self._add_fault))
        r.add("DELETE", "/control/faults", self.act(lambda b, p: c.clear_faults()))
        r.add("DELETE", "/control/faults/(?P<id>[0-9]+)",
              self.act(lambda b, p: c.remove_fault(int(p["id"]))))  # fmt: skip
        r.add("POST", "/control/masters/failover",
              self.act(lambda b, p: {"leader": c.fail_over_master(b.get("to"))}))  # fmt: skip
        r.add("POST", "/control/masters/(?P<i>[0-9]+)/standby-mode",
              self.act(lambda b, p: c.set_standby_mode(int(p["i"]), str(b.get("mode")))))
        r.add("POST", "/control/marathon/failover",
              self.act(lambda b, p: {"leader": c.change_marathon_leader(b.get("to"))}))
        r.add("POST", "/control/agents/(?P<id>[^/]+)/(?P<what>lose|remove|restore)",
              self.act(self._agent))
        r.add("POST", "/control/apps/(?P<app>.+)/(?P<what>scale|stuck|flapping|unhealthy)",
              self.act(self._app))
        r.add("POST", "/control/consul/leader",
              self.act(lambda b, p: c.set_consul_leader(bool(b.get("present", True)))))
        r.add("POST", "/control/zookeeper/session-loss",
              self.act(lambda b, p: c.expire_zk_session(b.get("master"))))
        r.add("POST", "/control/clock/advance",
              self.act(lambda b, p: {"now": c.advance(float(b.get("seconds", 0)))}))

    def handle(self, request: Request) -> Response:
        return self.router.dispatch(request, lambda req: _error(404, "no such control"))

    def act(self, action: Action) -> Callable[[Request, dict[str, str]], Response]:
        def endpoint(request: Request, params: dict[str, str]) -> Response:
            try:
                body = json.loads(request.body) if request.body.strip() else {}
            except ValueError:
                return _error(400, "body is not JSON")
            if not isinstance(body, dict):
                return _error(400, "body must be a JSON object")
            try:
                result = action(body, params)
            except SimError as exc:
                return _error(exc.status, str(exc))
            except (ValueError, TypeError, KeyError, IndexError, RuntimeError) as exc:
                return _error(400, str(exc) or type(exc).__name__)
            return json_response(result if isinstance(result, dict) else {"ok": True})

        return endpoint

    def _add_fault(self, body: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
        extra = body.get("params") or {}
        if not isinstance(extra, dict):
            raise ValueError("params must be an object")
        fault_id = self.cluster.inject(
            str(body.get("kind", "")), body.get("role"), body.get("host"), body.get("path"),
            body.get("count"), **extra,
        )  # fmt: skip
        return {"id": fault_id}

    def _agent(self, body: dict[str, Any], params: dict[str, str]) -> None:
        actions = {
            "lose": self.cluster.lose_agent,
            "remove": self.cluster.remove_agent,
            "restore": self.cluster.restore_agent,
        }
        actions[params["what"]](params["id"])

    def _app(self, body: dict[str, Any], params: dict[str, str]) -> dict[str, Any] | None:
        c, app, what = self.cluster, "/" + params["app"].strip("/"), params["what"]
        if what == "scale":
            deployment = c.scale(app, int(body["instances"]), bool(body.get("force", False)))
            return {"deploymentId": deployment.id}
        if what == "stuck":
            c.stick_deployments(app, bool(body.get("stuck", True)))
        elif what == "flapping":
            every = body.get("every", 30.0)
            c.flap(app, None if every is None else float(every))
        else:
            c.set_unhealthy(app, bool(body.get("unhealthy", True)))
        return None

    def overview(self, request: Request, params: dict[str, str]) -> Response:
        c = self.cluster
        return json_response({
            "endpoints": c.endpoints(),
            "leader": c.leader_url,
            "marathon_leader": c.marathon_leader_url,
            "faults": [f.as_json() for f in c.faults.list()],
        })  # fmt: skip

    def list_faults(self, request: Request, params: dict[str, str]) -> Response:
        return json_response([f.as_json() for f in self.cluster.faults.list()])


def _error(status: int, message: str) -> Response:
    return json_response({"message": message}, status)
