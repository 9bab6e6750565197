"""check_freshness - is the pipeline alive: how old is the newest point or document?

    check_freshness --influxdb http://influx:8086 --database DB [--measurement M]
                    [--cluster C] [--user U] [--password-file FILE]
                    [--elasticsearch http://es:9200 --index PATTERN [--field @timestamp]]
                    [--api-key-file FILE] [--lookback SECONDS] [-w 300] [-c 900] [-t 10] [-v]

InfluxDB 1.x: ``SELECT * FROM <M> [WHERE cluster = C AND] time > now() - lookback ORDER BY
time DESC LIMIT 1`` (``epoch=ms``; every measurement when ``--measurement`` is not given - a
``last(*)`` would answer time 0 for several fields). Elasticsearch: the newest document by
``--field`` (``_search?size=1&sort=FIELD:desc``) over ``--index`` (a pattern such as
``clusterwatch-logs-*``). Either source, or both (each judged).

``-w``/``-c`` are ranges on the age in seconds (defaults ``300`` and ``900``: alert when
older). Nothing newer than ``--lookback`` (default 86400 s; InfluxDB only) or no document at
all is CRITICAL. Secrets never come from the command line (``ps`` and Nagios' logs show it):
the InfluxDB password from ``--password-file`` (first line) or the variable named by
``--password-env`` (default ``CLUSTERWATCH_INFLUXDB_PASSWORD``); the Elasticsearch API key
from ``--api-key-file`` or ``--api-key-env`` (default ``CLUSTERWATCH_ES_API_KEY``).
Perfdata: influxdb_age, elasticsearch_age (s).
"""

from __future__ import annotations

import time

import nagiosplugin

from clusterwatch.checks import findings, plugin, targets
from clusterwatch.checks.findings import CRITICAL, Finding
from clusterwatch.checks.times import age_text, seconds_arg
from clusterwatch.core import quickhttp
from clusterwatch.core.errors import ClusterwatchError, FetchError

TYPE_CHECKING = False  # typing costs start-up time: annotations only
if TYPE_CHECKING:
    from typing import Any

NAME = "freshness"
PASSWORD_ENV = "CLUSTERWATCH_INFLUXDB_PASSWORD"
API_KEY_ENV = "CLUSTERWATCH_ES_API_KEY"
DEFAULT_LOOKBACK = 86400.0


def ident(name: str) -> str:
    """An InfluxQL identifier, double-quoted."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def literal(value: str) -> str:
    """An InfluxQL string literal, single-quoted."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def influx_query(
    measurement: str | None, cluster: str | None, cluster_tag: str, lookback: float
) -> str:
    source = ident(measurement) if measurement else "/.*/"
    where = [f"time > now() - {int(lookback)}s"]
    if cluster:
        where.insert(0, f"{ident(cluster_tag)} = {literal(cluster)}")
    return f"SELECT * FROM {source} WHERE {' AND '.join(where)} ORDER BY time DESC LIMIT 1"


def newest_influx(body: Any) -> float | None:
    """The newest time (epoch seconds) in an InfluxDB 1.x ``/query?epoch=ms`` answer; None
    when there is no point. ClusterwatchError for an error or a body that is not an answer."""
    if not isinstance(body, dict) or not isinstance(body.get("results"), list):
        raise ClusterwatchError("not an InfluxDB /query answer (no results)")
    newest = None
    for result in body["results"]:
        if not isinstance(result, dict):
            continue
        if result.get("error"):
            raise ClusterwatchError(f"InfluxDB: {result['error']}")
        for series in result.get("series") or []:
            columns = series.get("columns") or []
            if "time" not in columns:
                continue
            at = columns.index("time")
            for row in series.get("values") or []:
                stamp = row[at] if len(row) > at else None
                if isinstance(stamp, int | float) and (newest is None or stamp / 1000 > newest):
                    newest = stamp / 1000
    return newest


def newest_es(body: Any) -> float | None:
    """The newest document's sort value (epoch seconds) in a ``_search`` answer sorted by a
    date field; None when no document matches."""
    if not isinstance(body, dict) or not isinstance(body.get("hits"), dict):
        raise ClusterwatchError("not an Elasticsearch _search answer (no hits)")
    for hit in body["hits"].get("hits") or []:
        values = hit.get("sort") if isinstance(hit, dict) else None
        if values and isinstance(values[0], int | float):
            stamp = float(values[0])
            return stamp / 1e9 if stamp > 1e15 else stamp / 1000  # date_nanos sort in ns
        raise ClusterwatchError("newest document has no sort value (is --field a date?)")
    return None


def basic_auth(user: str, password: str) -> dict[str, str]:
    import base64

    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return {"Authorization": f"Basic {token}"}


class Measure(findings.Measure):
    def get(self, url: str, headers: dict[str, str], shown: str) -> Any:
        self.progress.step(f"querying {shown}")
        try:
            return quickhttp.get_json(url, self.progress.remaining(), headers)
        except FetchError as exc:
            raise FetchError(shown, exc.reason, exc.status) from None

    def influxdb(self) -> float | None:
        args = self.args
        query = influx_query(args.measurement, args.cluster, args.cluster_tag, args.lookback)
        params = quickhttp.urlencode({"db": args.database, "q": query, "epoch": "ms"})
        headers = {}
        password = targets.read_secret(args.password_file, args.password_env)
        if args.user:
            headers = basic_auth(args.user, password or "")
        url = quickhttp.join(args.influxdb, f"/query?{params}")
        return newest_influx(self.get(url, headers, f"{args.influxdb} database {args.database}"))

    def elasticsearch(self) -> float | None:
        args = self.args
        params = quickhttp.urlencode({
            "size": 1, "sort": f"{args.field}:desc", "_source": "false",
            "track_total_hits": "false", "ignore_unavailable": "true",
            "allow_no_indices": "true", "filter_path": "hits.hits.sort,hits.total",
        })  # fmt: skip
        key = targets.read_secret(args.api_key_file, args.api_key_env)
        headers = {"Authorization": f"ApiKey {key}"} if key else {}
        index = quickhttp.quote(args.index, safe="*,")
        url = quickhttp.join(args.elasticsearch, f"/{index}/_search?{params}")
        body = self.get(url, headers, f"{args.elasticsearch} index {args.index}")
        if isinstance(body, dict) and "hits" not in body:
            body = {"hits": {"hits": []}}  # filter_path drops an empty hits list entirely
        return newest_es(body)

    def __call__(self) -> findings.Outcome:
        args = self.args
        sources = []
        if args.influxdb:
            sources.append(("influxdb", self.influxdb, f"{args.database}"
                            + (f" {args.measurement}" if args.measurement else "")))
        if args.elasticsearch:
            sources.append(("elasticsearch", self.elasticsearch, args.index))
        found: list[Finding] = []
        metrics = []
        details = []
        for name, newest_of, what in sources:
            newest = newest_of()
            if newest is None:
                since = (f" in the last {age_text(args.lookback)}"
                         if name == "influxdb" else "")  # fmt: skip
                found.append(Finding(CRITICAL, f"{name} {what}: no data{since}"))
                metrics.append(findings.perf(f"{name}_age", None, "s"))
                details.append(f"{name} {what}: no data")
                continue
            age = round(max(0.0, time.time() - newest), 3)
            metrics.append(nagiosplugin.Metric(f"{name}_age", age, "s", min=0, context="age"))
            details.append(f"{name} {what}: newest at {newest:.3f} (epoch), {age_text(age)} old")
        return findings.Outcome(found, metrics, details)


def describe_age(metric: nagiosplugin.Metric, context: Any) -> str:
    return f"{metric.name.removesuffix('_age')} newest {age_text(metric.value)} old"


def parser() -> plugin.ArgumentParser:
    p = plugin.make_parser(
        "check_freshness",
        "Check that the newest point in InfluxDB and/or document in Elasticsearch is recent.",
    )
    influx = p.add_argument_group("InfluxDB 1.x")
    influx.add_argument("--influxdb", type=targets.url_arg, metavar="URL",
                        help="e.g. http://influx:8086")
    influx.add_argument("--database", metavar="DB", help="database (required with --influxdb)")
    influx.add_argument("--measurement", metavar="M", help="only this measurement")
    influx.add_argument("--cluster", metavar="C", help="only points tagged with this cluster")
    influx.add_argument("--cluster-tag", default="cluster", metavar="TAG",
                        help="the cluster's tag key (default cluster)")
    influx.add_argument("--user", help="InfluxDB user (basic auth)")
    influx.add_argument("--password-file", metavar="FILE",
                        help="file whose first line is the InfluxDB password")
    influx.add_argument("--password-env", default=PASSWORD_ENV, metavar="VAR",
                        help=f"variable holding the password (default {PASSWORD_ENV})")
    influx.add_argument("--lookback", type=seconds_arg, default=DEFAULT_LOOKBACK,
                        metavar="SECONDS", help="look this far back at most (default 86400)")
    es = p.add_argument_group("Elasticsearch")
    es.add_argument("--elasticsearch", type=targets.url_arg, metavar="URL",
                    help="e.g. http://es:9200")
    es.add_argument("--index", metavar="PATTERN",
                    help="index or pattern (required with --elasticsearch)")
    es.add_argument("--field", default="@timestamp", help="date field (default @timestamp)")
    es.add_argument("--api-key-file", metavar="FILE", help="file whose first line is the API key")
    es.add_argument("--api-key-env", default=API_KEY_ENV, metavar="VAR",
                    help=f"variable holding the API key (default {API_KEY_ENV})")
    p.add_argument("-w", "--warning", type=plugin.range_arg, default=plugin.parse_range("300"),
                   metavar="RANGE", help="range on the age in seconds (default 300)")
    p.add_argument("-c", "--critical", type=plugin.range_arg, default=plugin.parse_range("900"),
                   metavar="RANGE", help="range on the age in seconds (default 900)")
    return p


def usage_problem(args: plugin.Namespace) -> str | None:
    """What is missing from the command line (argparse cannot say "one of, with its pair")."""
    if not args.influxdb and not args.elasticsearch:
        return "give --influxdb and/or --elasticsearch"
    if args.influxdb and not args.database:
        return "--influxdb needs --database"
    if args.elasticsearch and not args.index:
        return "--elasticsearch needs --index"
    return None


def build(args: plugin.Namespace, progress: plugin.Progress) -> nagiosplugin.Check:
    problem = usage_problem(args)
    if problem:
        raise ClusterwatchError(problem)  # exit 3 with the reason, as a usage error
    return findings.check(
        NAME, Measure(args, progress),
        plugin.RangeContext("age", args.warning, args.critical, fmt_metric=describe_age),
    )


def main(argv: list[str] | None = None) -> int:
    return plugin.run(NAME, parser(), build, argv)


if __name__ == "__main__":
    raise SystemExit(main())
