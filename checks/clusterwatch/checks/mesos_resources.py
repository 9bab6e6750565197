"""check_mesos_resources - how much of the cluster's cpus, mem, disk and gpus is in use?

    check_mesos_resources -H http://m1:5050[,...] [-w RANGE] [-c RANGE]
                          [--cpus W[,C]] [--mem W[,C]] [--disk W[,C]] [--gpus W[,C]]
                          [--role ROLE] [-t 10] [-v]

The leading master is found through ``/master/redirect`` and its ``/metrics/snapshot`` read:
``master/<kind>_percent`` is a 0..1 ratio of the resources allocated, shown here in %.
With ``--role``, the percentages are that role's allocation over the cluster's totals
(``/master/roles``, else the role's frameworks in ``/master/state``).

``-w``/``-c`` are ranges in % applied to every kind; ``--cpus 80,90`` (warning, critical;
either may be left empty: ``--gpus ,95``) sets one kind's own ranges and wins over ``-w/-c``.
Full range syntax: ``--mem 80`` alerts above 80 %, ``--disk @0:5`` inside 0..5 %.
Defaults: no thresholds (perfdata only). A kind the cluster has none of (gpus, usually) is
left out. A standby's snapshot (``master/elected`` 0: zeros) is UNKNOWN.
Perfdata: cpus, mem, disk, gpus in % (0..100), with the cluster totals in long output.
"""

from __future__ import annotations

import nagiosplugin

from clusterwatch.checks import findings, mesos_discovery, plugin, targets
from clusterwatch.core import quickhttp
from clusterwatch.core.errors import ClusterwatchError, FetchError

TYPE_CHECKING = False  # typing costs start-up time: annotations only
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    Ranges = tuple[nagiosplugin.Range | None, nagiosplugin.Range | None]

NAME = "mesos_resources"
KINDS = ("cpus", "mem", "disk", "gpus")


def pair_arg(spec: str) -> Ranges:
    """``WARN[,CRIT]`` -> two ranges (either may be empty: ``,90``)."""
    warn, _, crit = spec.partition(",")
    try:
        return (
            plugin.parse_range(warn) if warn.strip() else None,
            plugin.parse_range(crit) if crit.strip() else None,
        )
    except ValueError as exc:
        raise plugin.BadValue(str(exc)) from None


def cluster_usage(snapshot: Any) -> dict[str, tuple[float, float]]:
    """``kind -> (percent used, total)`` from a leading master's snapshot; kinds with no total
    are left out. ValueError for a standby's snapshot or a body that is not a snapshot."""
    if not isinstance(snapshot, dict) or "master/elected" not in snapshot:
        raise ValueError("not a Mesos master snapshot (no master/elected)")
    if snapshot["master/elected"] != 1:
        raise ValueError("the master is not elected (a standby reports zeros)")
    out = {}
    for kind in KINDS:
        total = snapshot.get(f"master/{kind}_total")
        ratio = snapshot.get(f"master/{kind}_percent")
        if isinstance(total, int | float) and total > 0 and isinstance(ratio, int | float):
            out[kind] = (round(100.0 * ratio, 2), float(total))
    return out


def role_allocation(role: str, roles: Any = None, state: Any = None) -> dict[str, float] | None:
    """The resources allocated to ``role``: from ``/master/roles`` or else ``/master/state``
    (its frameworks' ``used_resources``); None when the role is not found."""
    if isinstance(roles, dict) and isinstance(roles.get("roles"), list):
        for entry in roles["roles"]:
            if isinstance(entry, dict) and entry.get("name") == role:
                res = entry.get("allocated") or entry.get("resources") or {}
                return {k: float(res.get(k) or 0) for k in KINDS}
        return None
    if isinstance(state, dict) and isinstance(state.get("frameworks"), list):
        found, used = False, dict.fromkeys(KINDS, 0.0)
        for fw in state["frameworks"]:
            if not isinstance(fw, dict):
                continue
            if fw.get("role") == role or role in (fw.get("roles") or []):
                found = True
                res = fw.get("used_resources") or {}
                for kind in KINDS:
                    used[kind] += float(res.get(kind) or 0)
        return used if found else None
    return None


def role_usage(
    allocation: Mapping[str, float], totals: Mapping[str, tuple[float, float]]
) -> dict[str, tuple[float, float]]:
    return {
        kind: (round(100.0 * allocation.get(kind, 0.0) / total, 2), total)
        for kind, (_, total) in totals.items()
    }


class Measure(findings.Measure):
    def get(self, url: str, accept: tuple[int, ...] = (200,)) -> Any:
        self.progress.step(f"reading {url}")
        return quickhttp.get_json(url, self.progress.remaining(), accept=accept)

    def role_allocation(self, leader: str, role: str) -> dict[str, float]:
        try:
            found = role_allocation(role, roles=self.get(quickhttp.join(leader, "/master/roles")))
        except FetchError as exc:
            if exc.status != 404:
                raise
            state = self.get(quickhttp.join(leader, "/master/state"))
            found = role_allocation(role, state=state)
        if found is None:
            raise ClusterwatchError(f"no role {role!r} on {leader}")
        return found

    def __call__(self) -> findings.Outcome:
        leader = mesos_discovery.find_leader(targets.flatten(self.args.hosts), self.progress)
        url = quickhttp.join(leader, "/metrics/snapshot")
        try:
            usage = cluster_usage(self.get(url))
        except ValueError as exc:
            raise ClusterwatchError(f"{url}: {exc}") from None
        details = [f"leading master {leader}"]
        details += [f"cluster {kind}: {plugin.format_value(total)} in total"
                    for kind, (_, total) in usage.items()]  # fmt: skip
        if self.args.role:
            usage = role_usage(self.role_allocation(leader, self.args.role), usage)
            details.append(f"role {self.args.role}: share of the cluster's totals")
        metrics = [
            nagiosplugin.Metric(kind, pct, "%", 0, 100, context=kind)
            for kind, (pct, _) in usage.items()
        ]
        if not metrics:
            raise ClusterwatchError(f"{url}: no resources in the cluster (no *_total)")
        return findings.Outcome([], metrics, details)


def contexts(args: plugin.Namespace) -> list[plugin.RangeContext]:
    prefix = f"{args.role} " if args.role else ""
    out = []
    for kind in KINDS:
        warn, crit = getattr(args, kind) or (args.warning, args.critical)
        out.append(plugin.RangeContext(kind, warn, crit, fmt_metric=prefix + "{name} {valueunit}"))
    return out


def parser() -> plugin.ArgumentParser:
    p = plugin.make_parser(
        "check_mesos_resources",
        "Check the share of the Mesos cluster's cpus, mem, disk and gpus in use (in %).",
    )
    p.add_argument("-H", "--hosts", type=targets.urls_arg, action="append", required=True,
                   metavar="URL,...", help="Mesos masters, e.g. http://m1:5050 (any of them)")
    p.add_argument("-w", "--warning", type=plugin.range_arg, metavar="RANGE",
                   help="range in %% for every kind (e.g. 80: alert above 80 %%)")
    p.add_argument("-c", "--critical", type=plugin.range_arg, metavar="RANGE",
                   help="range in %% for every kind")
    for kind in KINDS:
        p.add_argument(f"--{kind}", type=pair_arg, metavar="WARN[,CRIT]",
                       help=f"ranges in %% for {kind} only (instead of -w/-c)")
    p.add_argument("--role", metavar="ROLE", help="judge this role's allocation instead")
    return p


def build(args: plugin.Namespace, progress: plugin.Progress) -> nagiosplugin.Check:
    return findings.check(NAME, Measure(args, progress), *contexts(args))


def main(argv: list[str] | None = None) -> int:
    return plugin.run(NAME, parser(), build, argv)


if __name__ == "__main__":
    raise SystemExit(main())
