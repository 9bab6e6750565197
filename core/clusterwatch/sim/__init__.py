"""clusterwatch.sim."""
