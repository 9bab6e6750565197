"""Session fixtures for the cluster simulator (filled in with clusterwatch.sim)."""
