"""``clusterwatch run``: the daemon (see clusterwatch.scheduler.daemon)."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", dest="verb_config", default=None, help="config file")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from clusterwatch.core.config import DEFAULT_PATH, load_config
    from clusterwatch.core.errors import ConfigError
    from clusterwatch.core.log import configure
    from clusterwatch.scheduler.daemon import Daemon

    path = Path(args.verb_config) if args.verb_config else (args.config or DEFAULT_PATH)
    config = load_config(path)
    nothing = [
        problem
        for problem, missing in (
            (
                "no [sources.*] is enabled: the daemon would collect nothing",
                not any(s.enabled for s in config.sources.values()),
            ),
            ("no [sinks.*] is configured: points would have nowhere to go", not config.sinks),
        )
        if missing
    ]
    if nothing:
        raise ConfigError([f"{path}: {problem}" for problem in nothing])
    configure(args.log_level or config.logging.level, args.log_format or config.logging.format)
    daemon = Daemon(config, path)
    daemon.install_signal_handlers()
    return daemon.run()
