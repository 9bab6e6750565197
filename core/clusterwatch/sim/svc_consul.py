"""Consul beside the cluster: servers on the master hosts, every host a node, each Marathon
task a service instance (as registrator would register it). Builders: ``consul.py``."""

from __future__ import annotations

import uuid

from clusterwatch.sim import consul
from clusterwatch.sim.engine import Simulation
from clusterwatch.sim.routes import Router, json_response
from clusterwatch.sim.wire import Request, Response, plain


class ConsulHost:
    def __init__(self, sim: Simulation) -> None:
        self.sim = sim
        self.has_leader = True
        ids = sim.ids
        self.servers = [
            consul.ConsulServer(f"master-{m.index + 1}", m.ip, ids.uuid4()) for m in sim.masters
        ]
        self.master_nodes = [
            consul.ConsulNode(s.node, s.address, s.node_id) for s in self.servers
        ]
        self._node_ids = {a.id: str(uuid.uuid5(uuid.NAMESPACE_URL, a.id)) for a in sim.agents}
        r = self.router = Router()
        r.add("GET", "/v1/status/leader", self.leader)
        r.add("GET", "/v1/status/peers", self.peers)
        r.add("GET", "/v1/operator/raft/configuration", self.raft)
        r.add("GET", "/v1/catalog/services", self.services)
        r.add("GET", "/v1/catalog/service/(?P<name>[^/]+)", self.catalog_service)
        r.add("GET", "/v1/health/service/(?P<name>[^/]+)", self.health_service)
        r.add("GET", "/v1/health/state/(?P<state>[^/]+)", self.health_state)

    def handle(self, request: Request) -> Response:
        response = self.router.dispatch(request, lambda req: plain(404, ""))
        response.headers.extend([
            ("X-Consul-Index", str(100 + int(self.sim.now() - self.sim.start))),
            ("X-Consul-Knownleader", "true" if self.has_leader else "false"),
            ("X-Consul-Lastcontact", "0"),
        ])  # fmt: skip
        return response

    def _leader(self) -> consul.ConsulServer | None:
        return self.servers[0] if self.has_leader and self.servers else None

    def instances(self) -> list[consul.ServiceInstance]:
        sim = self.sim
        with sim.lock:
            sim.sync()
            out = [
                consul.ServiceInstance(node, service, f"{service}-{node.name}", node.address,
                                       port)
                for node in self.master_nodes
                for service, port in (("mesos-master", sim.config.ports.master),
                                      ("marathon", sim.config.ports.marathon))
            ]  # fmt: skip
            nodes: dict[str, consul.ConsulNode] = {}
            for task in sim.tasks.values():
                agent = sim.agents_by_id[task.agent_id]
                node = nodes.get(agent.id)
                if node is None:
                    node = nodes[agent.id] = consul.ConsulNode(
                        f"agent-{agent.index}", agent.ip, self._node_ids[agent.id])
                app = sim.apps.get(task.app_id)
                name = task.app_id.strip("/").replace("/", "-")
                checks: tuple[consul.Check, ...] = ()
                if app is not None and app.health_checks:
                    status = "critical" if app.unhealthy else "passing"
                    checks = (consul.Check(f"service:{task.id}", f"Service '{name}' check",
                                           status, "HTTP GET: 200 OK", type="http"),)  # fmt: skip
                for port in task.ports[:1]:
                    out.append(consul.ServiceInstance(
                        node, name, f"{agent.hostname}:{task.docker_name}:{port}",
                        agent.ip, port, tags=("marathon",), checks=checks))  # fmt: skip
            return out

    def leader(self, request: Request, params: dict[str, str]) -> Response:
        return json_response(consul.status_leader(self._leader()))

    def peers(self, request: Request, params: dict[str, str]) -> Response:
        return json_response(consul.status_peers(self.servers))

    def raft(self, request: Request, params: dict[str, str]) -> Response:
        return json_response(consul.raft_configuration(self.servers, self._leader(), 42))

    def services(self, request: Request, params: dict[str, str]) -> Response:
        return json_response(consul.catalog_services(self.instances()))

    def catalog_service(self, request: Request, params: dict[str, str]) -> Response:
        tag = request.arg("tag") or None
        return json_response(consul.catalog_service(self.instances(), params["name"], tag))

    def health_service(self, request: Request, params: dict[str, str]) -> Response:
        tag = request.arg("tag") or None
        passing = "passing" in request.query
        return json_response(
            consul.health_service(self.instances(), params["name"], passing, tag))

    def health_state(self, request: Request, params: dict[str, str]) -> Response:
        state = params["state"]
        if state not in consul.HEALTH_STATES:
            return plain(400, f"Bad state: {state}")
        return json_response(consul.health_state(self.instances(), state))
