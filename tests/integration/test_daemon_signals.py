"""``clusterwatch run`` as a process: SIGHUP reloads the config (an invalid one is refused and
the running one kept), SIGTERM stops it with exit 0 after flushing the spools."""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from clusterwatch.sim import Cluster
from tests.daemon_process import DaemonProcess, daemon_config, wait_until

pytestmark = pytest.mark.integration


def lines_of(path: Path, cluster_name: str) -> int:
    if not path.exists():
        return 0
    return sum(f",cluster={cluster_name}," in line for line in path.read_text().splitlines())


def test_sighup_reloads_and_an_invalid_config_is_refused(
    make_sim_cluster: Callable[..., Cluster], tmp_path: Path, daemons: list[DaemonProcess]
) -> None:
    cluster = make_sim_cluster(agents=3, apps=2, seed=11)
    out = tmp_path / "out.lp"
    sinks = {"file": {"type": "file", "path": str(out), "fsync": "never"}}

    def write_config(name: str, extra: str = "") -> None:
        config.write_text(
            daemon_config(cluster, tmp_path / "state", sinks, sources=("marathon",), name=name)
            + extra
        )

    config = tmp_path / "cw.toml"
    write_config("before")
    daemon = DaemonProcess(config, tmp_path / "daemon.log").start()
    daemons.append(daemon)
    wait_until("points of the first config", lambda: lines_of(out, "before") >= 2)

    write_config("broken", extra="[sources.marathon.oops]\n")
    assert daemon.proc is not None
    daemon.proc.send_signal(signal.SIGHUP)
    wait_until("the refusal in the log", lambda: "reload refused" in daemon.log())
    before = lines_of(out, "before")
    wait_until("collection going on with the old config", lambda: lines_of(out, "before") > before)
    assert daemon.alive()

    write_config("after")
    daemon.proc.send_signal(signal.SIGHUP)
    wait_until("points of the reloaded config", lambda: lines_of(out, "after") >= 2)
    assert lines_of(out, "broken") == 0

    assert daemon.stop() == 0
    assert "stopped" in daemon.log() and "Traceback" not in daemon.log()
