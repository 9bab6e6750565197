"""The daemon with per-agent worker processes against the simulator: every sink gets the
agents' points in its own precision, and the self-metrics count them."""

from __future__ import annotations

from pathlib import Path

from clusterwatch.core.config import load_config
from clusterwatch.scheduler.daemon import Daemon
from clusterwatch.sim import Cluster
from tests.daemon_process import run_daemon_until


def test_worker_processes_feed_every_sink_in_its_precision(
    tmp_path: Path, sim_cluster: Cluster
) -> None:
    masters = ", ".join(f'"{url}"' for url in sim_cluster.master_urls)
    path = tmp_path / "cw.toml"
    path.write_text(
        f'[cluster]\nname = "t1"\nmesos_masters = [{masters}]\n'
        f'[daemon]\nstate_dir = "{tmp_path / "state"}"\n'
        "[sources.mesos_agent]\ninterval_seconds = 60\nprocesses = 2\n"
        f'[sinks.fine]\ntype = "file"\npath = "{tmp_path / "ns.lp"}"\nprecision = "ns"\n'
        f'[sinks.coarse]\ntype = "file"\npath = "{tmp_path / "s.lp"}"\nprecision = "s"\n'
    )
    daemon = Daemon(load_config(path), path)
    ns_file, s_file = tmp_path / "ns.lp", tmp_path / "s.lp"

    def self_metric_written() -> bool:
        return s_file.exists() and "source=mesos_agent" in s_file.read_text()

    run_daemon_until(daemon, self_metric_written, timeout=30)
    fine = [line for line in ns_file.read_text().splitlines() if not line.startswith("cluster")]
    coarse = [line for line in s_file.read_text().splitlines() if not line.startswith("cluster")]
    hosts = {line.split("host=")[1].split(",")[0].split(" ")[0] for line in fine
             if line.startswith("mesos_agent,")}  # fmt: skip
    assert len(hosts) == len(sim_cluster.agents) == 10
    assert any(line.startswith("mesos_executor,") for line in fine)
    assert sorted(line.rsplit(" ", 1)[0] for line in fine) == sorted(
        line.rsplit(" ", 1)[0] for line in coarse
    )
    fine_stamp, coarse_stamp = int(fine[0].rsplit(" ", 1)[1]), int(coarse[0].rsplit(" ", 1)[1])
    assert fine_stamp == coarse_stamp * 10**9
    (self_line,) = [line for line in s_file.read_text().splitlines()
                    if line.startswith("clusterwatch,cluster=t1,source=mesos_agent")]  # fmt: skip
    assert f"points={len(fine)}," in self_line
