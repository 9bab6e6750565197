"""``clusterwatch config check|show``: validate a config, or print it with secrets hidden."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

from clusterwatch.core.config import DEFAULT_PATH, config_files, load_config
from clusterwatch.core.secrets import Secret


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("check", "show"), help="check: validate; show: print")
    parser.add_argument("--config", dest="verb_config", type=Path, default=None, help="config file")


def run(args: argparse.Namespace) -> int:
    path: Path = args.verb_config or args.config or DEFAULT_PATH
    config = load_config(path)  # ConfigError -> exit 3 with every problem (see cli)
    if args.action == "show":
        import tomli_w

        print(tomli_w.dumps(_plain(dataclasses.asdict(config))), end="")
        return 0
    files = ", ".join(str(f) for f in config_files(path))
    print(
        f"config OK: {files} ({len(config.sources)} sources, {len(config.sinks)} sinks, "
        f"cluster {config.cluster.name!r})"
    )
    return 0


def _plain(value: Any) -> Any:
    """TOML-ready copy: secrets shown by their source only, None left out."""
    if isinstance(value, Secret):
        return f"<secret from {value.source}>"
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
