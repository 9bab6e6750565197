"""check_haproxy_backends - enough servers UP in every HAProxy backend?

    check_haproxy_backends (-S /run/haproxy/admin.sock | -S host:9999 | -U http://lb:8404/stats)
                           [-u USER] [--password-file FILE | --password-env VAR]
                           [--backend REGEX] [-w MIN] [-c MIN] [-t 10] [-v]

Reads ``show stat`` from the stats socket (unix path or ``host:port``) or the stats page's CSV
(``;csv`` is appended), with basic auth. The password never comes from the command line (it would
show in ``ps`` and in Nagios' logs): ``--password-file`` (first line) or the environment variable
named by ``--password-env`` (default ``CLUSTERWATCH_HAPROXY_PASSWORD``).

Per backend (``--backend`` is a regular expression searched in the name; backends without server
lines are skipped), servers are counted:

- up: ``UP``, ``UP 1/3`` (failing checks, still up), ``no check``;
- not up: ``DOWN``, ``DOWN 1/2`` (recovering, still down), ``MAINT``, ``DRAIN``/``NOLB``;
- configured: all of them (MAINT and DRAIN servers are listed in the long output).

``-w``/``-c`` are the *minimum* servers up: ``2`` means at least 2 (the range ``2:``), ``75%`` at
least 75 % of the configured servers. Any other range (``2:4``, ``@0:1``, ``50:90%``) is taken
as written. Defaults: ``-w 100%`` (any server not up warns), ``-c 1`` (a backend with no server
up is critical). Perfdata: one item per backend, servers up, with warn/crit in servers.
An unreachable stats source or a body that is not the CSV is UNKNOWN.
"""

from __future__ import annotations

import os
import re

import nagiosplugin

from clusterwatch.checks import minimum, plugin, targets
from clusterwatch.core import haproxy_stats
from clusterwatch.core.errors import ClusterwatchError

TYPE_CHECKING = False  # typing costs start-up time: annotations only
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

NAME = "haproxy_backends"
DEFAULT_PASSWORD_ENV = "CLUSTERWATCH_HAPROXY_PASSWORD"
UP_STATES = frozenset({"up"})


class Backend:
    def __init__(self, name: str, servers: list[haproxy_stats.StatRow]) -> None:
        self.name = name
        self.servers = servers

    @property
    def up(self) -> list[haproxy_stats.StatRow]:
        return [s for s in self.servers if s.state in UP_STATES]

    def describe(self) -> str:
        words = []
        for s in self.servers:
            note = ""
            if s.in_transition:
                note = " (going down)" if s.state == "up" else " (coming up)"
            check = f", {s.check_status}" if s.check_status and s.state != "up" else ""
            words.append(f"{s.svname} {s.status}{note}{check}")
        return f"{self.name}: {len(self.up)}/{len(self.servers)} up - " + ", ".join(words)


class Backends(nagiosplugin.Resource):  # type: ignore[misc]
    def __init__(
        self, source: str, pattern: re.Pattern[str] | None, progress: plugin.Progress,
        user: str | None, password: str | None,
    ) -> None:
        self.source = source
        self.pattern = pattern
        self.progress = progress
        self.user = user
        self.password = password
        self.backends: list[Backend] = []
        self.skipped: list[str] = []

    @property
    def name(self) -> str:
        return NAME.upper()

    def probe(self) -> Iterator[nagiosplugin.Metric]:
        self.progress.step(f"reading show stat from {self.source}")
        rows = haproxy_stats.fetch(self.source, self.progress.remaining(), self.user, self.password)
        for name, servers in haproxy_stats.backends(rows).items():
            if self.pattern is not None and not self.pattern.search(name):
                continue
            if servers:
                self.backends.append(Backend(name, servers))
            else:
                self.skipped.append(name)
        if not self.backends:
            what = f" matching {self.pattern.pattern!r}" if self.pattern is not None else ""
            raise nagiosplugin.CheckError(f"no backend with servers{what} in {self.source}")
        for backend in self.backends:
            yield nagiosplugin.Metric(
                backend.name, len(backend.up), min=0, max=len(backend.servers), context="backend"
            )


class BackendContext(minimum.MinimumContext):
    def __init__(self, warning: minimum.Minimum | None, critical: minimum.Minimum | None) -> None:
        super().__init__("backend", warning, critical)

    def evaluate(self, metric: nagiosplugin.Metric, resource: Any) -> nagiosplugin.Result:
        up, total = metric.value, metric.max
        text = f"{metric.name} {up}/{total} up"
        known = getattr(resource, "backends", [])
        backend = next((b for b in known if b.name == metric.name), None)
        if backend is not None and up < total:
            text += " (" + ", ".join(
                f"{s.svname} {s.status}" for s in backend.servers if s.state not in UP_STATES
            ) + ")"
        for limit, state, word in (
            (self.critical, nagiosplugin.Critical, "critical"),
            (self.warning, nagiosplugin.Warn, "warning"),
        ):
            if limit is not None and not limit.matches(up, total):
                return nagiosplugin.Result(state, f"{text}, {word} minimum {limit}", metric)
        return nagiosplugin.Result(nagiosplugin.Ok, text, metric)


class BackendsSummary(plugin.Summary):
    def ok(self, results: nagiosplugin.Results) -> str:
        up = sum(r.metric.value for r in results if r.metric)
        total = sum(r.metric.max for r in results if r.metric)
        count = len(results)
        return f"{count} backend{'s' if count != 1 else ''}, {up}/{total} servers up"

    def verbose(self, results: nagiosplugin.Results) -> list[str]:
        resource = results[0].resource if results else None
        if not isinstance(resource, Backends):
            return []
        lines = [b.describe() for b in resource.backends]
        if resource.skipped:
            lines.append("without servers (skipped): " + ", ".join(resource.skipped))
        return lines


def read_password(args: plugin.Namespace) -> str | None:
    if args.password_file:
        try:
            with open(args.password_file, encoding="utf-8") as handle:
                return handle.readline().rstrip("\r\n")
        except OSError as exc:
            raise ClusterwatchError(
                f"cannot read password file {args.password_file}: {exc.strerror}"
            ) from None
    return os.environ.get(args.password_env)


def parser() -> plugin.ArgumentParser:
    p = plugin.make_parser(
        "check_haproxy_backends",
        "Check that every HAProxy backend has enough servers UP (stats socket or CSV page).",
    )
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("-S", "--socket", metavar="PATH|HOST:PORT",
                        help="stats socket: a unix path or host:port")
    source.add_argument("-U", "--url", metavar="URL",
                        help="stats page, e.g. http://lb:8404/stats (;csv is appended)")
    p.add_argument("-u", "--user", help="basic-auth user for --url")
    p.add_argument("--password-file", metavar="FILE", help="file whose first line is the password")
    p.add_argument("--password-env", metavar="VAR", default=DEFAULT_PASSWORD_ENV,
                   help=f"variable holding the password (default {DEFAULT_PASSWORD_ENV})")
    p.add_argument("-b", "--backend", type=targets.regex_arg, metavar="REGEX",
                   help="only backends whose name matches (re.search)")
    at_least = minimum.minimum_arg
    p.add_argument("-w", "--warning", type=at_least, default=at_least("100%"), metavar="MIN",
                   help="minimum servers up, count or N%% (default 100%%)")
    p.add_argument("-c", "--critical", type=at_least, default=at_least("1"), metavar="MIN",
                   help="minimum servers up, count or N%% (default 1)")
    return p


def build(args: plugin.Namespace, progress: plugin.Progress) -> nagiosplugin.Check:
    source = args.url or args.socket
    password = read_password(args) if args.url else None
    return nagiosplugin.Check(
        Backends(source, args.backend, progress, args.user, password),
        BackendContext(args.warning, args.critical),
        BackendsSummary(),
    )


def main(argv: list[str] | None = None) -> int:
    return plugin.run(NAME, parser(), build, argv)


if __name__ == "__main__":
    raise SystemExit(main())
