"""check_keepalived - VRRP instances in the expected state, holding exactly their virtual IPs.

    check_keepalived [-f /tmp/keepalived.data] [-p /run/keepalived.pid] [--max-age SECONDS]
                     [-e VI_1=MASTER ...] [--addresses-from FILE] [-t 10] [-v]

Reads keepalived's data dump (written on SIGUSR1; 1.3 to 2.2 formats). With ``--pid-file`` the
plugin first sends SIGUSR1 to keepalived and waits (within ``-t``) for a fresh dump; signalling a
root keepalived needs privileges, e.g. a sudoers line for this plugin. Without it, the dump is
read as it is; ``--max-age`` makes an older one UNKNOWN.

- CRITICAL: an instance in FAULT; a MASTER whose virtual IPs are not all bound on this host; a
  BACKUP that holds one of them (two masters); an instance named by ``--expect-state`` missing
  from the dump; keepalived not running (with ``--pid-file``: no pid file or no such process);
- WARNING: an instance not in its ``--expect-state`` (a fail-over happened: the service runs on
  the peer), or in a transitional state (INIT, STOP...);
- UNKNOWN: no dump, an unreadable or stale dump, no instance in it.

Bound addresses come from /proc/net/fib_trie and /proc/net/if_inet6 (``ip -o addr`` when /proc
is not there), or from ``--addresses-from FILE`` holding ``ip -o addr`` output.
Perfdata: instances in each of master, backup, fault, other.

The floating IP itself is best watched from the Nagios server with the standard ``check_tcp``,
as a service of a host object for the virtual address (so that it follows whichever balancer is
MASTER), e.g.::

    define command {
        command_name    check_vip_tcp
        command_line    $USER1$/check_tcp -H $HOSTADDRESS$ -p $ARG1$ -w 1 -c 3 -t 10
    }
    define host {
        use             generic-host
        host_name       lb-vip
        address         10.1.0.1
    }
    define service {
        use                     generic-service
        host_name               lb-vip
        service_description     HAProxy VIP tcp/443
        check_command           check_vip_tcp!443
    }
"""

from __future__ import annotations

import os
import signal
import time

import nagiosplugin

from clusterwatch.checks import keepalived_data, plugin
from clusterwatch.core.errors import ClusterwatchError

TYPE_CHECKING = False  # typing costs start-up time: annotations only
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from typing import Any

    AddressSource = Callable[[], set[str]]

NAME = "keepalived"
DEFAULT_DATA = "/tmp/keepalived.data"
STATES = ("MASTER", "BACKUP")
POLL = 0.02


class NotRunning(ClusterwatchError):
    """keepalived is not running (no pid file, or no such process)."""


def _mtime(path: str) -> int | None:
    try:
        return os.stat(path).st_mtime_ns
    except FileNotFoundError:
        return None


def request_dump(pid_file: str, data_file: str, progress: plugin.Progress) -> None:
    """SIGUSR1 to the pid in ``pid_file``, then wait until ``data_file`` is rewritten."""
    progress.step(f"reading pid file {pid_file}")
    try:
        with open(pid_file, encoding="ascii", errors="replace") as handle:
            pid = int(handle.read().split()[0])
    except FileNotFoundError:
        raise NotRunning(f"keepalived not running: no pid file {pid_file}") from None
    except (OSError, ValueError, IndexError):
        raise ClusterwatchError(f"no pid in {pid_file}") from None
    before = _mtime(data_file)
    try:
        os.kill(pid, signal.SIGUSR1)
    except ProcessLookupError:
        raise NotRunning(f"keepalived not running: no process {pid} ({pid_file})") from None
    except PermissionError:
        raise ClusterwatchError(f"not allowed to signal keepalived (pid {pid})") from None
    progress.step(f"waiting for keepalived (pid {pid}) to rewrite {data_file} after SIGUSR1")
    while True:
        now = _mtime(data_file)
        if now is not None and now != before:
            size = os.stat(data_file).st_size
            time.sleep(POLL)  # let keepalived finish writing
            if _mtime(data_file) == now and os.stat(data_file).st_size == size:
                return
        time.sleep(POLL)


def read_dump(path: str, max_age: float | None, progress: plugin.Progress) -> str:
    progress.step(f"reading {path}")
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            age = time.time() - os.fstat(handle.fileno()).st_mtime
            text = handle.read()
    except FileNotFoundError:
        raise ClusterwatchError(f"no keepalived data file {path} (send SIGUSR1 first)") from None
    except OSError as exc:
        raise ClusterwatchError(f"cannot read {path}: {exc.strerror}") from None
    if max_age is not None and age > max_age:
        raise ClusterwatchError(f"{path} is {age:.0f}s old (more than {max_age:g}s)")
    return text


class Keepalived(nagiosplugin.Resource):  # type: ignore[misc]
    def __init__(
        self, args: plugin.Namespace, progress: plugin.Progress, addresses: AddressSource
    ) -> None:
        self.args = args
        self.progress = progress
        self.addresses = addresses
        self.instances: list[keepalived_data.VrrpInstance] = []
        self.bound: set[str] = set()

    @property
    def name(self) -> str:
        return NAME.upper()

    def probe(self) -> Iterator[nagiosplugin.Metric]:
        args = self.args
        if args.pid_file:
            try:
                request_dump(args.pid_file, args.data_file, self.progress)
            except NotRunning as exc:
                yield nagiosplugin.Metric("running", str(exc), context="not_running")
                return
        text = read_dump(args.data_file, args.max_age, self.progress)
        self.instances = keepalived_data.parse_data(text)
        if not self.instances:
            raise nagiosplugin.CheckError(f"no VRRP instance in {args.data_file}")
        self.progress.step("reading this host's addresses")
        self.bound = self.addresses()
        seen = {i.name for i in self.instances}
        for name in sorted(set(args.expect) - seen):
            yield nagiosplugin.Metric(name, None, context="missing")
        for instance in self.instances:
            yield nagiosplugin.Metric(instance.name, instance, context="instance")
        counts = {"master": 0, "backup": 0, "fault": 0, "other": 0}
        for instance in self.instances:
            key = instance.state.lower()
            counts[key if key in counts else "other"] += 1
        for key, value in counts.items():
            yield nagiosplugin.Metric(
                key, value, min=0, max=len(self.instances), context="count"
            )


class InstanceContext(nagiosplugin.Context):  # type: ignore[misc]
    def __init__(self, expect: dict[str, str]) -> None:
        super().__init__("instance")
        self.expect = expect

    def evaluate(self, metric: nagiosplugin.Metric, resource: Keepalived) -> nagiosplugin.Result:
        inst: keepalived_data.VrrpInstance = metric.value
        ips = inst.all_ips
        bound = [ip for ip in ips if ip in resource.bound]
        missing = [ip for ip in ips if ip not in resource.bound]
        text = f"{inst.name} {inst.state or 'no state'}"
        if inst.state == "FAULT":
            return nagiosplugin.Result(nagiosplugin.Critical, text, metric)
        if inst.state == "MASTER" and missing:
            hint = f"{text} but {', '.join(missing)} not bound here"
            return nagiosplugin.Result(nagiosplugin.Critical, hint, metric)
        if inst.state == "BACKUP" and bound:
            hint = f"{text} but holds {', '.join(bound)} (two masters?)"
            return nagiosplugin.Result(nagiosplugin.Critical, hint, metric)
        wanted = self.expect.get(inst.name)
        if wanted is not None and inst.state != wanted:
            hint = f"{text}, expected {wanted}"
            return nagiosplugin.Result(nagiosplugin.Warn, hint, metric)
        if inst.state not in STATES:
            return nagiosplugin.Result(nagiosplugin.Warn, text, metric)
        return nagiosplugin.Result(nagiosplugin.Ok, text, metric)


class MissingContext(nagiosplugin.Context):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__("missing")

    def evaluate(self, metric: nagiosplugin.Metric, resource: Any) -> nagiosplugin.Result:
        return nagiosplugin.Result(
            nagiosplugin.Critical, f"{metric.name} not in keepalived data", metric
        )


class NotRunningContext(nagiosplugin.Context):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__("not_running")

    def evaluate(self, metric: nagiosplugin.Metric, resource: Any) -> nagiosplugin.Result:
        return nagiosplugin.Result(nagiosplugin.Critical, str(metric.value), metric)


class KeepalivedSummary(plugin.Summary):
    def ok(self, results: nagiosplugin.Results) -> str:
        return ", ".join(
            str(r) for r in results if r.metric and r.metric.context == "instance"
        )

    def verbose(self, results: nagiosplugin.Results) -> list[str]:
        resource = next((r.resource for r in results if r.resource), None)
        if not isinstance(resource, Keepalived):
            return []
        lines = []
        for inst in resource.instances:
            ips = ", ".join(
                f"{ip} ({'bound' if ip in resource.bound else 'not bound'})" for ip in inst.all_ips
            )
            where = f" on {inst.interface}" if inst.interface else ""
            lines.append(f"{inst.name}: {inst.state}{where}, virtual IPs: {ips or 'none'}")
        return lines


def expect_arg(text: str) -> tuple[str, str]:
    name, sep, state = text.partition("=")
    state = state.strip().upper()
    if not sep or not name.strip() or state not in STATES:
        raise plugin.BadValue(f"invalid expectation {text!r} (want NAME=MASTER|BACKUP)")
    return name.strip(), state


def age_arg(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise plugin.BadValue(f"invalid age {text!r} (seconds)")
    return value


def parser() -> plugin.ArgumentParser:
    p = plugin.make_parser(
        "check_keepalived",
        "Check keepalived's VRRP instances (from its SIGUSR1 data dump) and their virtual IPs.",
    )
    p.add_argument("-f", "--data-file", default=DEFAULT_DATA, metavar="FILE",
                   help=f"keepalived's data dump (default {DEFAULT_DATA})")
    p.add_argument("-p", "--pid-file", metavar="FILE",
                   help="send SIGUSR1 to this keepalived first and wait for a fresh dump")
    p.add_argument("--max-age", type=age_arg, metavar="SECONDS",
                   help="UNKNOWN when the dump is older than this")
    p.add_argument("-e", "--expect-state", type=expect_arg, action="append", default=[],
                   metavar="NAME=STATE", help="expected state of an instance (repeatable)")
    p.add_argument("--addresses-from", metavar="FILE",
                   help="read this host's addresses from 'ip -o addr' output in FILE")
    return p


def address_source(args: plugin.Namespace) -> AddressSource:
    if not args.addresses_from:
        return keepalived_data.local_addresses

    def from_file() -> set[str]:
        try:
            with open(args.addresses_from, encoding="utf-8", errors="replace") as handle:
                return keepalived_data.parse_ip_addr(handle.read())
        except OSError as exc:
            raise ClusterwatchError(f"cannot read {args.addresses_from}: {exc.strerror}") from None

    return from_file


def build(
    args: plugin.Namespace, progress: plugin.Progress, addresses: AddressSource | None = None
) -> nagiosplugin.Check:
    args.expect = dict(args.expect_state)
    return nagiosplugin.Check(
        Keepalived(args, progress, addresses or address_source(args)),
        InstanceContext(args.expect),
        MissingContext(),
        NotRunningContext(),
        plugin.RangeContext("count"),
        KeepalivedSummary(),
    )


def main(argv: list[str] | None = None, addresses: AddressSource | None = None) -> int:
    """The plugin; ``addresses`` replaces this host's address list (tests)."""

    def build_with(args: plugin.Namespace, progress: plugin.Progress) -> nagiosplugin.Check:
        return build(args, progress, addresses)

    return plugin.run(NAME, parser(), build_with, argv)


if __name__ == "__main__":
    raise SystemExit(main())
