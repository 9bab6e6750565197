"""The ``clusterwatch`` command: one entry point, one verb per job.

Start-up must stay fast (``--help`` well under 150 ms), so this module imports only the
standard library; a verb's module is imported only when that verb runs or shows its help.
Every verb module offers ``add_arguments(parser)`` and ``run(args) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from pathlib import Path

from clusterwatch.core.version import __version__

# verb -> (module, one-line help)
VERBS: dict[str, tuple[str, str]] = {
    "demo": ("clusterwatch.scheduler.demo", "a simulated cluster with everything pointed at it"),
    "config": ("clusterwatch.core.config_command", "check or show the configuration"),
    "run": (
        "clusterwatch.scheduler.run_command",
        "the daemon: every configured job on its interval",
    ),
    "collect": ("clusterwatch.scheduler.collect_command", "one collection cycle, for debugging"),
    "sim": ("clusterwatch.sim.command", "serve a simulated Mesos/Marathon cluster"),
    "sim-control": ("clusterwatch.sim.control_command", "break or steer a running simulator"),
}

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_CONFIG = 3
EXIT_INTERRUPTED = 130

EPILOG = """exit codes:
  0    success
  1    the command failed (the reason is printed)
  2    usage error (unknown verb or option)
  3    the configuration is invalid (every problem is printed)
  130  interrupted (Ctrl-C)
"""


def build_parser(verb: str | None) -> argparse.ArgumentParser:
    """The parser; only ``verb``'s own options are loaded (that imports its module)."""
    parser = argparse.ArgumentParser(
        prog="clusterwatch",
        description="Observability and alerting for Mesos / Marathon clusters.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"clusterwatch {__version__}")
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help="config file (default /etc/clusterwatch/clusterwatch.toml, plus conf.d/*.toml)",
    )
    parser.add_argument("--log-format", choices=("kv", "json"), default=None)
    parser.add_argument("--log-level", choices=("debug", "info", "warning", "error"), default=None)
    subparsers = parser.add_subparsers(dest="verb", metavar="VERB")
    subparsers.required = True
    for name, (module_name, help_text) in VERBS.items():
        sub = subparsers.add_parser(name, help=help_text, description=help_text)
        if name == verb:
            importlib.import_module(module_name).add_arguments(sub)
    return parser


def find_verb(argv: Sequence[str]) -> str | None:
    """The first word that names a verb; options before it are the global ones."""
    skip_next = False
    for arg in argv:
        if skip_next:
            skip_next = False
            continue
        if arg in ("--config", "--log-format", "--log-level"):
            skip_next = True
            continue
        if not arg.startswith("-"):
            return arg if arg in VERBS else None
    return None


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    verb = find_verb(argv)
    args = build_parser(verb).parse_args(argv)
    from clusterwatch.core import log  # light: stdlib only

    log.configure(args.log_level or "info", args.log_format or "kv")
    module = importlib.import_module(VERBS[args.verb][0])
    return run_verb(module.run, args)


def run_verb(run: object, args: argparse.Namespace) -> int:
    """Run a verb, turning our errors into one line and an exit code."""
    from clusterwatch.core.errors import ClusterwatchError, ConfigError

    try:
        return int(run(args))  # type: ignore[operator]
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"clusterwatch: config: {problem}", file=sys.stderr)
        return EXIT_CONFIG
    except ClusterwatchError as exc:
        print(f"clusterwatch: error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except OSError as exc:  # a directory we may not write, a port in use, a full disk
        where = f": {exc.filename}" if exc.filename else ""
        print(f"clusterwatch: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
