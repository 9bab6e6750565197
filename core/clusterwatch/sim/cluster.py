"""``Cluster``: a whole simulated cluster on loopback, as a context manager.

    with Cluster(agents=10, apps=5, seed=1) as c:
        requests.get(c.master_urls[0] + "/metrics/snapshot")
        c.fail_over_master()

Ports default to ephemeral ones (tests run side by side); pass ``ports=Ports()`` for the
real defaults (5050, 5051, 8080, 8500, 4400, 4194; control 5099).

``task_listeners=True`` (small clusters) gives every running task a real HTTP listener on
its agent's address and host ports; ``haproxy_config()`` writes marathon-lb's frontends and
backends for the apps, so a real HAProxy can balance, check and log them
(``service_port_base`` moves Marathon's service ports off 10000). ``containers_per_agent``
sizes the apps so every agent runs about that many containers (10,000 x 10 for benchmarks).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType
from typing import Any

from clusterwatch.sim import addresses
from clusterwatch.sim.addresses import Ports
from clusterwatch.sim.engine import SimConfig, Simulation
from clusterwatch.sim.faults import FaultTable
from clusterwatch.sim.haproxy_config import Options, haproxy_config
from clusterwatch.sim.hosts import HostDirectory
from clusterwatch.sim.mesos_master import master_info
from clusterwatch.sim.model import Deployment
from clusterwatch.sim.server import SimServer, bind_sockets
from clusterwatch.sim.task_listeners import TaskListeners


@dataclass(frozen=True)
class AgentEndpoint:
    id: str
    mesos: str
    cadvisor: str


class Cluster:
    def __init__(
        self,
        agents: int = 10,
        apps: int = 5,
        seed: int = 1,
        zookeeper: str | None = None,
        ports: Ports | dict[str, int] | None = None,
        *,
        masters: int = 3,
        marathons: int = 3,
        clock_speed: float = 1.0,
        start_time: float | None = None,
        staging_seconds: float = 5.0,
        snapshot_rate_limit: float | None = None,
        app_loads: dict[str, str] | None = None,
        chronos: bool = True,
        bind_mode: str = "wildcard",
        task_listeners: bool = False,
        service_port_base: int = 10000,
        containers_per_agent: int | None = None,
    ) -> None:
        if isinstance(ports, dict):
            ports = Ports(**{**Ports.ephemeral().__dict__, **ports})
        self._wanted_ports = ports or Ports.ephemeral()
        self.config = SimConfig(
            agents=agents, apps=apps, masters=masters, marathons=marathons, seed=seed,
            clock_speed=clock_speed, start_time=start_time, staging_seconds=staging_seconds,
            snapshot_rate_limit=snapshot_rate_limit, app_loads=dict(app_loads or {}),
            chronos=chronos, service_port_base=service_port_base,
            containers_per_agent=containers_per_agent,
        )  # fmt: skip
        self.zookeeper = zookeeper
        self.bind_mode = bind_mode
        self.task_listeners = task_listeners
        self.faults = FaultTable()
        self.sim: Simulation | None = None
        self.ports: Ports | None = None
        self._server: SimServer | None = None
        self._registrar: Any = None
        self._consul: Any = None
        self._chronos: Any = None
        self._listeners: TaskListeners | None = None

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> Cluster:
        from clusterwatch.sim.control import ControlHost
        from clusterwatch.sim.svc_cadvisor import CadvisorHost
        from clusterwatch.sim.svc_chronos import ChronosHost
        from clusterwatch.sim.svc_consul import ConsulHost

        cfg = self.config
        ports, sockets = bind_sockets(self._wanted_ports, self.bind_mode, self._host_ips)
        self.ports = cfg.ports = ports
        sim = self.sim = Simulation(cfg)
        directory = HostDirectory(sim)
        self._consul = ConsulHost(sim)
        directory.add_single("consul", addresses.CONSUL_IP, self._consul.handle)
        if cfg.chronos:
            self._chronos = ChronosHost(sim)
            directory.add_single("chronos", addresses.CHRONOS_IP, self._chronos.handle)
        directory.add_agent_service("cadvisor", lambda agent: CadvisorHost(sim, agent).handle)
        directory.add_single("control", "*", ControlHost(self).handle)
        self._server = SimServer(sockets, directory, self.faults)
        try:
            if self.zookeeper:
                from clusterwatch.sim.zk import MasterRegistrar

                self._registrar = MasterRegistrar(
                    self.zookeeper, sim, lambda m: master_info(sim, m))
                self._registrar.start()
            self._server.start()
            if self.task_listeners:
                self._listeners = TaskListeners(sim, self._server)
                self._listeners.start()
        except BaseException:
            self.stop()
            raise
        return self

    def _host_ips(self, role: str) -> list[str]:
        cfg = self.config
        return {
            "master": [addresses.master_ip(i) for i in range(cfg.masters)],
            "marathon": [addresses.marathon_ip(i) for i in range(cfg.marathons)],
            "agent": [addresses.agent_ip(i) for i in range(cfg.agents)],
            "cadvisor": [addresses.agent_ip(i) for i in range(cfg.agents)],
            "consul": [addresses.CONSUL_IP],
            "chronos": [addresses.CHRONOS_IP],
        }.get(role, [])

    def stop(self) -> None:
        if self._registrar is not None:
            self._registrar.stop()
            self._registrar = None
        if self._listeners is not None:
            self._listeners.stop()
            self._listeners = None
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> Cluster:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- where things are -----------------------------------------------------------------

    def _sim(self) -> Simulation:
        if self.sim is None:
            raise RuntimeError("the cluster is not started")
        return self.sim

    def _ports(self) -> Ports:
        if self.ports is None:
            raise RuntimeError("the cluster is not started")
        return self.ports

    @property
    def master_urls(self) -> list[str]:
        return [f"http://{m.ip}:{m.port}" for m in self._sim().masters]

    @property
    def marathon_urls(self) -> list[str]:
        return [f"http://{m.ip}:{m.port}" for m in self._sim().marathons]

    @property
    def agents(self) -> list[AgentEndpoint]:
        cadvisor = self._ports().cadvisor
        return [
            AgentEndpoint(a.id, f"http://{a.ip}:{a.port}", f"http://{a.ip}:{cadvisor}")
            for a in self._sim().agents
        ]

    @property
    def consul_url(self) -> str:
        return f"http://{addresses.CONSUL_IP}:{self._ports().consul}"

    @property
    def chronos_url(self) -> str | None:
        if not self.config.chronos:
            return None
        return f"http://{addresses.CHRONOS_IP}:{self._ports().chronos}"

    @property
    def control_url(self) -> str:
        return f"http://{addresses.CONTROL_IP}:{self._ports().control}"

    @property
    def leader_url(self) -> str | None:
        leader = self._sim().leader()
        return f"http://{leader.address}" if leader else None

    @property
    def marathon_leader_url(self) -> str | None:
        leader = self._sim().marathon_leader()
        return f"http://{leader.address}" if leader else None

    def endpoints(self) -> dict[str, Any]:
        return {
            "mesos_masters": self.master_urls,
            "marathon": self.marathon_urls,
            "consul": self.consul_url,
            "chronos": self.chronos_url,
            "agents": [
                {"id": a.id, "mesos": a.mesos, "cadvisor": a.cadvisor} for a in self.agents
            ],
            "control": self.control_url,
        }

    # -- faults and actions ---------------------------------------------------------------

    def inject(
        self,
        kind: str,
        role: str | None = None,
        host: str | None = None,
        path: str | None = None,
        count: int | None = None,
        **params: Any,
    ) -> int:
        """Break answers: ``kind`` is one of faults.FaultKind; returns the fault's id."""
        if host is not None and "://" in host:
            host = host.split("://", 1)[1].rsplit(":", 1)[0]
        return self.faults.add(kind, role, host, path, count, **params).id

    def remove_fault(self, fault_id: int) -> bool:
        return self.faults.remove(fault_id)

    def clear_faults(self) -> None:
        self.faults.clear()

    def fail_over_master(self, to: int | None = None) -> str:
        """The leading master restarts; another is elected. Returns the new leader's URL."""
        master = self._sim().fail_over_master(to)
        return f"http://{master.address}"

    def change_marathon_leader(self, to: int | None = None) -> str:
        instance = self._sim().change_marathon_leader(to)
        return f"http://{instance.address}"

    def set_standby_mode(self, master_index: int, mode: str) -> None:
        """``redirect`` (default), ``local`` (old-style state naming the leader) or
        ``claims_leader`` (a standby that answers as if it led)."""
        self._sim().set_standby_mode(master_index, mode)

    def lose_agent(self, agent_id: str) -> None:
        self._sim().lose_agent(agent_id)
        self._tasks_changed()

    def remove_agent(self, agent_id: str) -> None:
        self._sim().remove_agent(agent_id)
        self._tasks_changed()

    def restore_agent(self, agent_id: str) -> None:
        self._sim().restore_agent(agent_id)
        self._tasks_changed()

    def scale(self, app_id: str, instances: int, force: bool = False) -> Deployment:
        deployment = self._sim().scale(app_id, instances, force)
        self._tasks_changed()
        return deployment

    def stick_deployments(self, app_id: str, stuck: bool = True) -> None:
        """Deployments of this app never finish (until called with ``stuck=False``)."""
        self._sim().set_stuck(app_id, stuck)

    def flap(self, app_id: str, every: float | None = 30.0) -> None:
        """A task of this app fails every ``every`` simulated seconds (None: stop)."""
        self._sim().set_flapping(app_id, every)

    def set_unhealthy(self, app_id: str, unhealthy: bool = True) -> None:
        self._sim().set_unhealthy(app_id, unhealthy)

    def set_consul_leader(self, present: bool) -> None:
        if self._consul is not None:
            self._consul.has_leader = present

    def expire_zk_session(self, master_index: int | None = None) -> None:
        """One master loses its ZooKeeper session (default: the leader's)."""
        sim = self._sim()
        if self._registrar is None:
            raise RuntimeError("the cluster was started without zookeeper=")
        if master_index is None:
            leader = sim.leader()
            master_index = leader.index if leader else 0
        self._registrar.expire_session(master_index)

    def advance(self, seconds: float) -> float:
        """Move simulated time forward; returns the new simulated epoch time."""
        now = self._sim().advance(seconds)
        self._tasks_changed()
        return now

    # -- load balancing -------------------------------------------------------------------

    def _tasks_changed(self) -> None:
        if self._listeners is not None:
            self._listeners.reconcile()

    def haproxy_config(
        self, bind: str = "127.0.0.1", inter: float | None = None, fall: int | None = None
    ) -> str:
        """haproxy.cfg frontends and backends for the apps as marathon-lb would write them
        now (see haproxy_config.py); ``inter``/``fall`` override the health checks'."""
        sim = self._sim()
        with sim.lock:
            sim.sync()
            return haproxy_config(sim.apps.values(), sim.tasks, Options(bind, inter, fall))

    def task_endpoints(self) -> dict[tuple[str, int], str]:
        """(agent address, host port) → task id of every live task listener."""
        return self._listeners.endpoints() if self._listeners is not None else {}
