"""clusterwatch.sim: a simulated Mesos/Marathon cluster (with Consul, Chronos and cAdvisor)
served on loopback, one address per simulated host. Start with ``Cluster``."""

from clusterwatch.sim.cluster import AgentEndpoint, Cluster

__all__ = ["AgentEndpoint", "Cluster"]
