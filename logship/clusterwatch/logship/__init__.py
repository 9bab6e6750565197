"""clusterwatch.logship."""
