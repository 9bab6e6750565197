"""Which simulated host answers at (role, address): the server's directory.

Masters and Marathon instances are built up front; agent hosts on first contact, so ten
thousand agents cost nothing until someone talks to them. A lost or removed agent has no
host: its connections are dropped, as if nothing listened there.
"""

from __future__ import annotations

from collections.abc import Callable

from clusterwatch.sim.engine import Simulation
from clusterwatch.sim.marathon import MarathonHost
from clusterwatch.sim.mesos_agent import AgentHost
from clusterwatch.sim.mesos_master import MasterHost
from clusterwatch.sim.model import Agent, MarathonInstance
from clusterwatch.sim.wire import Handler

AgentServiceFactory = Callable[[Agent], Handler]


class HostDirectory:
    def __init__(self, sim: Simulation) -> None:
        self.sim = sim
        self.masters = {m.ip: MasterHost(sim, m) for m in sim.masters}
        self.marathons: dict[str, MarathonHost] = {}
        for instance in sim.marathons:
            self.marathons[instance.ip] = MarathonHost(sim, instance, self._marathon_host)
        self._agents_by_ip = {a.ip: a for a in sim.agents}
        self._agent_hosts: dict[str, AgentHost] = {}
        self._agent_services: dict[str, AgentServiceFactory] = {}
        self._agent_service_cache: dict[tuple[str, str], Handler] = {}
        self._singles: dict[tuple[str, str], Handler] = {}

    def _marathon_host(self, instance: MarathonInstance) -> MarathonHost | None:
        return self.marathons.get(instance.ip)

    def add_single(self, role: str, ip: str, handler: Handler) -> None:
        """A service with one address (Consul, Chronos, the control endpoint)."""
        self._singles[(role, ip)] = handler

    def add_agent_service(self, role: str, factory: AgentServiceFactory) -> None:
        """A service every agent runs beside Mesos (cAdvisor)."""
        self._agent_services[role] = factory

    def __call__(self, role: str, ip: str) -> Handler | None:
        if role == "master":
            master = self.masters.get(ip)
            return master.handle if master else None
        if role == "marathon":
            marathon = self.marathons.get(ip)
            return marathon.handle if marathon else None
        if role == "agent" or role in self._agent_services:
            agent = self._agents_by_ip.get(ip)
            if agent is None or not agent.active:
                return None
            if role == "agent":
                host = self._agent_hosts.get(ip)
                if host is None:
                    host = self._agent_hosts[ip] = AgentHost(self.sim, agent)
                return host.handle
            key = (role, ip)
            handler = self._agent_service_cache.get(key)
            if handler is None:
                handler = self._agent_service_cache[key] = self._agent_services[role](agent)
            return handler
        if role == "control":
            return self._singles.get((role, "*")) or self._singles.get((role, ip))
        return self._singles.get((role, ip))
