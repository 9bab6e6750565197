"""clusterwatch.collectors."""
