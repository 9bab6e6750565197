"""clusterwatch.checks."""
