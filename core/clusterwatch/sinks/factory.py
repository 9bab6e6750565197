"""Build the configured sinks: a writer chosen by ``type`` behind a spool of its own."""

from __future__ import annotations

from pathlib import Path

from clusterwatch.core import registry
from clusterwatch.core.config_schema import Config, SinkConfig
from clusterwatch.core.spool import Spool
from clusterwatch.sinks.spooled import SpooledSink


def open_sink(name: str, config: SinkConfig, root: Config) -> SpooledSink:
    writer = registry.load("sink", config.type)(name, config, root.http)
    state = Path(root.daemon.state_dir)
    spool = Spool(state / "spool" / name, max_bytes=config.spool_max_bytes, fsync=config.fsync)
    return SpooledSink(
        writer,
        spool,
        quarantine_path=state / "quarantine" / f"{name}.txt",
        batch_records=config.batch_size,
    )


def open_sinks(root: Config) -> list[SpooledSink]:
    return [open_sink(name, cfg, root) for name, cfg in root.sinks.items()]
