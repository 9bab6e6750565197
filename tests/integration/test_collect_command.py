"""``clusterwatch collect --once`` as a user runs it, against the simulator.

``--print`` output must be line protocol the real InfluxDB 1.x accepts as it is, carrying the
values the simulated cluster has.
"""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from clusterwatch.sim import Cluster

pytestmark = pytest.mark.integration

CLI = Path(sys.executable).with_name("clusterwatch")
# measurement[,tag=value...] field=value[,field=value...] timestamp (no spaces in our values)
LINE = re.compile(r"^(?P<m>[a-z_]+)(?P<tags>(,[^,= ]+=[^,= ]+)*) (?P<fields>\S.*) (?P<ts>\d{19})$")


def collect_once(cluster: Cluster, *extra: str) -> subprocess.CompletedProcess[str]:
    assert cluster.ports is not None
    args = [str(CLI), "collect", "--once", "--print"]
    for url in cluster.master_urls:
        args += ["--mesos", url]
    for url in cluster.marathon_urls:
        args += ["--marathon", url]
    args += ["--cadvisor", f"http://{{ip}}:{cluster.ports.cadvisor}", *extra]
    return subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)


def test_print_writes_line_protocol_with_the_clusters_values(
    make_sim_cluster: Any, influxdb1: Any
) -> None:
    cluster: Cluster = make_sim_cluster(agents=6, apps=4, clock_speed=0)
    done = collect_once(cluster)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    bad = [line for line in lines if not LINE.match(line)]
    assert bad == []
    counts = Counter(line.split(",", 1)[0] for line in lines)
    sim = cluster.sim
    assert sim is not None
    assert counts["mesos_cluster"] == 1 and counts["mesos_master"] == 3
    assert counts["mesos_agent"] == 6 and counts["marathon_app"] == 4
    assert counts["cadvisor_container"] == counts["mesos_executor"] == len(sim.tasks)
    assert counts["clusterwatch"] == 4  # one self-metrics line per source
    timestamps = {line.rsplit(" ", 1)[1] for line in lines}
    per_source = {
        m.group("tags"): line.rsplit(" ", 1)[1]
        for line in lines
        if (m := LINE.match(line)) and line.startswith("clusterwatch,")
    }
    assert len(per_source) == 4 and set(per_source.values()) <= timestamps
    cpus_total = sum(a.resources.cpus for a in sim.agents)
    [summary] = [line for line in lines if line.startswith("mesos_cluster,")]
    assert f"cpus_total={cpus_total:g}" in summary or f"cpus_total={cpus_total}" in summary

    # the real InfluxDB takes the output as it is and reads back the same values
    db = f"cw_{uuid.uuid4().hex[:8]}"
    influxdb1.create_database(db)
    influxdb1.write(done.stdout, db, precision="ns")
    [row] = influxdb1.series_values("SELECT cpus_total, agents_active FROM mesos_cluster", db)
    assert row["cpus_total"] == cpus_total and row["agents_active"] == 6
    agents = influxdb1.series_values("SELECT cpus_total, host FROM mesos_agent", db)
    assert {r["host"]: r["cpus_total"] for r in agents} == {
        a.hostname: a.resources.cpus for a in sim.agents
    }
    apps = influxdb1.series_values(
        'SELECT count(cpu_usage_cores) FROM cadvisor_container GROUP BY "app"', db
    )
    assert {r["app"]: r["count"] for r in apps} == {
        app.id: app.running for app in sim.apps.values() if app.running
    }


def test_a_broken_agent_is_reported_on_stderr_and_the_exit_status(
    make_sim_cluster: Any,
) -> None:
    cluster: Cluster = make_sim_cluster(agents=4, apps=2, clock_speed=0)
    victim = cluster.agents[0]
    cluster.inject("html", role="agent", host=victim.mesos)
    done = collect_once(cluster, "--source", "mesos_agent")
    assert done.returncode == 1
    assert f"mesos_agent: {victim.mesos}/metrics/snapshot: HTTP 502" in done.stderr
    assert "Traceback" not in done.stderr
    agents = [line for line in done.stdout.splitlines() if line.startswith("mesos_agent,")]
    assert len(agents) == 4  # the broken agent keeps its master-side view
