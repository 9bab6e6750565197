"""Start-up cost of every Nagios plugin, beside two baselines measured in the same hyperfine run:

- Debian's C ``check_http`` on the same HTTP endpoint the HAProxy plugin reads (the floor);
- ``python -c "import nagiosplugin"`` (the Python floor: interpreter + the framework).

Each plugin does a full, real run against loopback servers this script starts (a ZooKeeper 4lw
responder for three members, an HTTP server with a stats CSV, a keepalived dump on disk, an
InfluxDB-like /query answer, and the cluster simulator for the Mesos, Marathon, Consul and Chronos
plugins: 3 masters, 3 Marathons, 10 agents).
One ``hyperfine`` invocation, median per command. The source roots are byte-compiled first (as
the RPM install does; this environment may set PYTHONDONTWRITEBYTECODE, which would otherwise
time the compiler). Prints ``<name>: <value> <unit>`` lines.
Goal: every plugin within 1.5x of the Python floor.
"""

from __future__ import annotations

import argparse
import http.server
import json
import shutil
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[1]
CHECK_HTTP = "/usr/lib/nagios/plugins/check_http"
CSV = """\
# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,\
status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,\
type,rate,rate_lim,rate_max,check_status,
web,FRONTEND,,,1,5,2000,90,1,1,0,0,0,,,,,OPEN,,,,,,,,,1,1,0,,,,0,1,0,5,,
app,s1,0,0,0,2,,30,1,1,,0,,0,0,0,0,UP,1,1,0,0,0,99,0,,1,2,1,,30,,2,0,,2,L4OK,
app,s2,0,0,0,2,,30,1,1,,0,,0,0,0,0,UP 1/3,1,1,0,1,0,99,0,,1,2,2,,30,,2,0,,2,L4CON,
app,s3,0,0,0,2,,30,1,1,,0,,0,0,0,0,UP,1,1,0,0,0,99,0,,1,2,3,,30,,2,0,,2,L4OK,
app,BACKEND,0,0,0,2,200,90,1,1,0,0,,0,0,0,0,UP,3,3,0,,0,99,0,,1,2,0,,90,,1,0,,5,,
"""
MNTR = "".join(
    f"{k}\t{v}\n"
    for k, v in [
        ("zk_version", "3.8.0-bench"), ("zk_server_state", "follower"), ("zk_avg_latency", "0.2"),
        ("zk_max_latency", "3"), ("zk_outstanding_requests", "0"), ("zk_znode_count", "40"),
    ]
)
LEADER = MNTR.replace("follower", "leader") + "zk_followers\t2\nzk_synced_followers\t2\n"
DUMP = """\
------< VRRP Topology >------
 VRRP Instance = VI_1
   State = MASTER
   Interface = lo
   Virtual IP (1):
     127.0.0.1/8 dev lo scope host
"""


class _Stats(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = CSV.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class _Influx(http.server.BaseHTTPRequestHandler):
    """An InfluxDB 1.x /query answer whose newest point is 10 s old."""

    def do_GET(self) -> None:
        newest = int((time.time() - 10) * 1000)
        body = json.dumps({"results": [{"statement_id": 0, "series": [
            {"name": "mesos_master", "columns": ["time", "cpus"], "values": [[newest, 1]]}]}]})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args: object) -> None:
        pass


class _FourLetter(socketserver.BaseRequestHandler):
    reply = MNTR

    def handle(self) -> None:
        self.request.recv(16)
        self.request.sendall(self.reply.encode())


class _Leader(_FourLetter):
    reply = LEADER


def _serve(server: socketserver.BaseServer) -> None:
    threading.Thread(target=server.serve_forever, daemon=True).start()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=30)
    runs = parser.parse_args().runs
    if not shutil.which("hyperfine"):
        sys.exit("hyperfine is not installed")

    roots = [str(ROOT / root / "clusterwatch") for root in ("core", "checks")]
    subprocess.run([sys.executable, "-m", "compileall", "-q", *roots], check=True,
                   stdout=subprocess.DEVNULL)
    socketserver.ThreadingTCPServer.allow_reuse_address = True
    servers: list[socketserver.BaseServer] = [
        http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Stats),
        socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Leader),
        socketserver.ThreadingTCPServer(("127.0.0.1", 0), _FourLetter),
        socketserver.ThreadingTCPServer(("127.0.0.1", 0), _FourLetter),
        http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Influx),
    ]
    for server in servers:
        _serve(server)
    web_port = servers[0].server_address[1]
    zk_hosts = ",".join(f"127.0.0.1:{s.server_address[1]}" for s in servers[1:4])
    influx_port = servers[4].server_address[1]

    from clusterwatch.sim import Cluster

    cluster = Cluster(agents=10, apps=5, seed=1).start()
    masters = ",".join(cluster.master_urls)

    with tempfile.TemporaryDirectory() as tmp:
        dump = Path(tmp) / "keepalived.data"
        dump.write_text(DUMP)
        commands = {
            "check_http (C floor)": [CHECK_HTTP, "-H", "127.0.0.1", "-p", str(web_port),
                                     "-u", "/stats;csv"],
            "import nagiosplugin (Python floor)": [sys.executable, "-c", "import nagiosplugin"],
            "check_zookeeper_quorum": [str(BIN / "check_zookeeper_quorum"), "-H", zk_hosts],
            "check_haproxy_backends": [str(BIN / "check_haproxy_backends"), "-U",
                                       f"http://127.0.0.1:{web_port}/stats", "-w", "2"],
            "check_keepalived": [str(BIN / "check_keepalived"), "-f", str(dump)],
            "check_mesos_quorum": [str(BIN / "check_mesos_quorum"), "-H", masters],
            "check_consul_quorum": [str(BIN / "check_consul_quorum"), "-H", cluster.consul_url],
            "check_marathon_leader": [str(BIN / "check_marathon_leader"), "-H",
                                      ",".join(cluster.marathon_urls)],
            "check_mesos_agents": [str(BIN / "check_mesos_agents"), "-H", masters],
            "check_mesos_resources": [str(BIN / "check_mesos_resources"), "-H", masters],
            "check_marathon_apps": [str(BIN / "check_marathon_apps"), "-H",
                                    cluster.marathon_urls[0]],
            "check_chronos_jobs": [str(BIN / "check_chronos_jobs"), "-H",
                                   cluster.chronos_url or ""],
            "check_freshness": [str(BIN / "check_freshness"), "--influxdb",
                                f"http://127.0.0.1:{influx_port}", "--database", "cw"],
        }
        for name, argv in commands.items():  # each must work before it is timed
            done = subprocess.run(argv, capture_output=True, text=True)
            if done.returncode != 0:
                sys.exit(f"{name} exited {done.returncode}: {done.stdout}{done.stderr}")
        export = Path(tmp) / "hyperfine.json"
        timed = [subprocess.list2cmdline(argv) for argv in commands.values()]
        subprocess.run(
            ["hyperfine", "--shell=none", "--warmup", "3", "--runs", str(runs), "--style", "none",
             "--export-json", str(export), *timed],
            check=True, stdout=subprocess.DEVNULL,
        )
        results = json.loads(export.read_text())["results"]
    for server in servers:
        server.shutdown()
    cluster.stop()

    medians = {name: r["median"] * 1000 for name, r in zip(commands, results, strict=True)}
    floor = medians["import nagiosplugin (Python floor)"]
    for name, value in medians.items():
        print(f"{name}: {value:.1f} ms")
    for name, value in medians.items():
        if name.startswith("check_") and "floor" not in name:
            print(f"{name} / python floor: {value / floor:.2f} x")


if __name__ == "__main__":
    main()
