"""clusterwatch.scheduler."""
