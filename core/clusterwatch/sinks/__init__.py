"""clusterwatch.sinks."""
