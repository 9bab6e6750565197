"""clusterwatch.core."""
