"""Start and stop the real servers the integration tests talk to, on loopback only.

Each server runs in its own temporary directory on free 127.0.0.1 ports, as its own
process group, with its output in a log file in that directory. ``start()`` returns once
the server really answers (bounded wait); a failure raises :class:`ServiceError` whose
message ends with the tail of the server's log. ``stop()`` kills the process group; every
server still running is also stopped at interpreter exit, and servers left behind by a
run that was killed are reaped through the pid files under ``.cache/run/``.

What is installed where is ``tests/services/install.sh``'s job (``make services``).
"""

from __future__ import annotations

import atexit
import contextlib
import csv
import functools
import io
import ipaddress
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

REPO = Path(__file__).resolve().parents[2]
CACHE_DIR = REPO / ".cache"
RUN_DIR = CACHE_DIR / "run"
LOOPBACK = "127.0.0.1"
SERVICE_USER = "cwtest"  # created by install.sh; runs Elasticsearch and Nagios when we are root
ES_VERSION = "8.19.3"
ES_HOME = CACHE_DIR / f"elasticsearch-{ES_VERSION}"
ZOOKEEPER_JARS = (
    "/usr/share/java/zookeeper.jar",  # its manifest Class-Path names the other jars it needs
    "/usr/share/java/slf4j-log4j12.jar",  # an slf4j binding, so the server logs something
    "/usr/share/java/log4j-1.2.jar",
)
NAGIOS_PLUGINS = Path("/usr/lib/nagios/plugins")
INSTALL_HINT = "run `make services` (bash tests/services/install.sh)"


class ServiceError(RuntimeError):
    """A server could not be found or started; the message says why, with its log tail."""


class ServiceConfigError(ServiceError):
    """The caller's configuration was rejected (``haproxy -c``, ``nagios4 -v``): a test bug."""


# ---------------------------------------------------------------------------- helpers


_handed_out: set[int] = set()


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 now and not handed out before in this process."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((LOOPBACK, 0))
            port = int(sock.getsockname()[1])
        if port not in _handed_out:
            _handed_out.add(port)
            return port
    raise ServiceError("no free TCP port on 127.0.0.1")


def log_tail(path: Path, lines: int = 40) -> str:
    """The last ``lines`` lines of a log file (or a note that there is none)."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 64 * 1024))
            text = handle.read().decode("utf-8", "replace")
    except OSError as exc:
        return f"(no log: {exc})"
    tail = text.splitlines()[-lines:]
    return "\n".join(tail) if tail else "(log is empty)"


def require_executable(name: str, package: str) -> str:
    """The path of an executable, or a ServiceError that names the package to install."""
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin:/usr/bin")
    if path is None:
        raise ServiceError(f"`{name}` not found (Debian package {package}); {INSTALL_HINT}")
    return path


def http_request(
    method: str,
    url: str,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 10.0,
) -> tuple[int, bytes]:
    """One HTTP request; returns (status, body) for any status, raises OSError when down."""
    request = urllib.request.Request(url, data=body, method=method, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as exc:
        return int(exc.code), bytes(exc.read())


def _http_ok(url: str, expect: int = 200) -> bool:
    status, _ = http_request("GET", url, timeout=2.0)
    return status == expect


def wait_for(
    condition: Callable[[], bool],
    timeout: float,
    what: str,
    *,
    process: ManagedProcess | None = None,
    interval: float = 0.1,
) -> None:
    """Poll ``condition`` until it is true; OSError/ValueError inside it count as "not yet".

    Raises ServiceError (with the process's log tail) on timeout or when the process exits.
    """
    deadline = time.monotonic() + timeout
    last_error = ""
    while True:
        if process is not None and not process.running():
            raise process.error(f"exited with code {process.returncode} while waiting for {what}")
        try:
            if condition():
                return
        except (OSError, ValueError) as exc:
            last_error = f" (last error: {exc})"
        if time.monotonic() >= deadline:
            message = f"timed out after {timeout:.0f} s waiting for {what}{last_error}"
            if process is not None:
                raise process.error(message)
            raise ServiceError(message)
        time.sleep(interval)
        interval = min(interval * 1.5, 0.5)


def _service_account() -> str | None:
    """The user to run Elasticsearch/Nagios as: SERVICE_USER when we are root, else None."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SERVICE_USER)
    except KeyError:
        raise ServiceError(
            f"system user {SERVICE_USER!r} is missing (Elasticsearch refuses root); {INSTALL_HINT}"
        ) from None
    return SERVICE_USER


def _current_user() -> str:
    return pwd.getpwuid(os.geteuid()).pw_name


def _chown_tree(path: Path, user: str) -> None:
    entry = pwd.getpwnam(user)
    for root, dirs, files in os.walk(path):
        os.chown(root, entry.pw_uid, entry.pw_gid)
        for name in dirs + files:
            os.chown(os.path.join(root, name), entry.pw_uid, entry.pw_gid, follow_symlinks=False)


def _check_reachable(path: Path, user: str) -> None:
    """Fail clearly when ``user`` cannot traverse the directories leading to ``path``."""
    for parent in [*reversed(path.parents), path]:
        mode = parent.stat().st_mode
        if not mode & 0o001:
            raise ServiceError(
                f"user {user!r} cannot reach {path}: {parent} is not searchable by others "
                f"(mode {oct(mode & 0o777)}); check out the repository under a world-readable "
                "directory or `chmod o+x` it"
            )


def _make_workdir(name: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=f"cw-{name}-"))


# ------------------------------------------------------------------- process handling


def _proc_start_time(pid: int) -> int | None:
    """The start time (clock ticks since boot) of a process, None when it does not exist."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[19])


def _group_members(pgid: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat[stat.rindex(")") + 2 :].split()[2]) == pgid:
            members.append(int(entry.name))
    return members


_live: list[ManagedProcess] = []
_reaped = False
_OWNER = (os.getpid(), _proc_start_time(os.getpid()))


def reap_stale() -> list[str]:
    """Kill servers (and remove their temp dirs) left by runs whose owner process is gone."""
    reaped: list[str] = []
    if not RUN_DIR.is_dir():
        return reaped
    for pidfile in RUN_DIR.glob("*.json"):
        try:
            record = json.loads(pidfile.read_text())
            owner_pid, owner_start = int(record["owner_pid"]), record["owner_start"]
            pid, start = int(record["pid"]), record["start"]
        except (OSError, ValueError, KeyError, TypeError):
            pidfile.unlink(missing_ok=True)
            continue
        if owner_start is not None and _proc_start_time(owner_pid) == owner_start:
            continue  # its owner (another test run) is alive: not ours to touch
        leader_start = _proc_start_time(pid)
        # A pid is not reused while its process group has members, so a dead leader with
        # members left means those members are the orphans of this very server.
        if (leader_start is None or leader_start == start) and _group_members(pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
            reaped.append(f"{record.get('name')} (pid {pid})")
        workdir = record.get("workdir")
        if workdir and Path(workdir).name.startswith("cw-"):
            shutil.rmtree(workdir, ignore_errors=True)
        pidfile.unlink(missing_ok=True)
    return reaped


@atexit.register
def stop_all() -> None:
    """Stop every server this process started and has not stopped yet."""
    for process in list(reversed(_live)):
        process.stop()


class ManagedProcess:
    """One server process in its own process group, output appended to ``log_path``."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        log_path: Path,
        cwd: Path,
        env: Mapping[str, str] | None = None,
        user: str | None = None,
        workdir: Path | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.cwd = cwd
        self.env = dict(env) if env is not None else None
        self.user = user
        self.workdir = workdir
        self._popen: subprocess.Popen[bytes] | None = None
        self._pidfile: Path | None = None

    def start(self) -> None:
        global _reaped
        if not _reaped:
            _reaped = True
            reap_stale()
        with self.log_path.open("ab") as log:
            log.write(f"=== {time.strftime('%F %T')} starting: {' '.join(self.argv)}\n".encode())
            log.flush()
            user_kwargs: dict[str, Any] = {}
            if self.user is not None:
                entry = pwd.getpwnam(self.user)
                user_kwargs = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
            try:
                self._popen = subprocess.Popen(
                    self.argv,
                    cwd=self.cwd,
                    env=self.env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    **user_kwargs,
                )
            except OSError as exc:
                raise ServiceError(f"{self.name}: cannot run {self.argv[0]}: {exc}") from exc
        _live.append(self)
        RUN_DIR.mkdir(parents=True, exist_ok=True)
        self._pidfile = RUN_DIR / f"{self.name}-{self._popen.pid}.json"
        record = {
            "name": self.name,
            "pid": self._popen.pid,
            "start": _proc_start_time(self._popen.pid),
            "owner_pid": _OWNER[0],
            "owner_start": _OWNER[1],
            "workdir": str(self.workdir) if self.workdir else None,
        }
        self._pidfile.write_text(json.dumps(record))

    @property
    def pid(self) -> int:
        if self._popen is None:
            raise ServiceError(f"{self.name} was not started")
        return self._popen.pid

    @property
    def returncode(self) -> int | None:
        return None if self._popen is None else self._popen.poll()

    def running(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    def error(self, message: str) -> ServiceError:
        return ServiceError(
            f"{self.name}: {message}\n--- last lines of {self.log_path} ---\n"
            f"{log_tail(self.log_path)}"
        )

    def send_signal(self, signum: int) -> None:
        """Signal the leader only (e.g. SIGUSR2 = HAProxy master reload)."""
        if self.running():
            os.kill(self.pid, signum)

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM the process group, SIGKILL it after ``timeout``; idempotent."""
        popen = self._popen
        if popen is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(popen.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            popen.wait(timeout)
        # Members still in the group (children of a leader that went first) go too.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(popen.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            popen.wait(5)
        deadline = time.monotonic() + 5
        while _group_members(popen.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if self in _live:
            _live.remove(self)
        if self._pidfile is not None:
            self._pidfile.unlink(missing_ok=True)
        self._popen = None


class _Server:
    """Shared bits: a temp dir, one main process, stop/cleanup, context manager."""

    name = "server"

    def __init__(self) -> None:
        self.workdir = _make_workdir(self.name)
        self.log_path = self.workdir / f"{self.name}.log"
        self.process: ManagedProcess | None = None
        self.startup_seconds: float | None = None

    def _spawn(self, argv: Sequence[str], **kwargs: Any) -> ManagedProcess:
        process = ManagedProcess(
            self.name, argv, log_path=self.log_path, cwd=self.workdir, workdir=self.workdir,
            **kwargs,
        )
        process.start()
        self.process = process
        return process

    def log(self) -> str:
        return log_tail(self.log_path)

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None

    def cleanup(self) -> None:
        """Stop and remove the temp dir."""
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.cleanup()


# ----------------------------------------------------------------------- InfluxDB 1.x


class InfluxDB1Server(_Server):
    """InfluxDB 1.x (Debian ``influxd`` 1.6): /write and /query, no /api/v2."""

    name = "influxdb1"

    def __init__(self) -> None:
        super().__init__()
        self.port = free_port()
        self.rpc_port = free_port()
        self.url = f"http://{LOOPBACK}:{self.port}"

    def config_text(self) -> str:
        d = self.workdir
        return f"""\
reporting-enabled = false
bind-address = "{LOOPBACK}:{self.rpc_port}"

[meta]
  dir = "{d}/meta"

[data]
  dir = "{d}/data"
  wal-dir = "{d}/wal"
  query-log-enabled = false

[monitor]
  store-enabled = false

[http]
  enabled = true
  bind-address = "{LOOPBACK}:{self.port}"
  auth-enabled = false
  log-enabled = false

[ifql]
  enabled = false

[subscriber]
  enabled = false

[[graphite]]
  enabled = false

[[collectd]]
  enabled = false

[[opentsdb]]
  enabled = false

[[udp]]
  enabled = false
"""

    def start(self, timeout: float = 30.0) -> None:
        influxd = require_executable("influxd", "influxdb")
        config = self.workdir / "influxdb.conf"
        config.write_text(self.config_text())
        began = time.monotonic()
        process = self._spawn([influxd, "-config", str(config)])
        wait_for(lambda: _http_ok(f"{self.url}/ping", 204), timeout, "/ping", process=process)
        self.startup_seconds = time.monotonic() - began

    def query(self, q: str, db: str | None = None, *, epoch: str | None = "ns") -> dict[str, Any]:
        """Run InfluxQL through /query; returns the JSON answer, raises on any error in it."""
        params = {"q": q}
        if db:
            params["db"] = db
        if epoch:
            params["epoch"] = epoch
        body = urllib.parse.urlencode(params).encode()
        status, raw = http_request(
            "POST", f"{self.url}/query", body,
            {"Content-Type": "application/x-www-form-urlencoded"},
        )
        answer: dict[str, Any] = json.loads(raw or b"{}")
        errors = [r["error"] for r in answer.get("results", []) if "error" in r]
        if status != 200 or "error" in answer or errors:
            raise ServiceError(f"influxdb1 query {q!r} failed ({status}): {raw[:500]!r}")
        return answer

    def create_database(self, db: str) -> None:
        self.query(f'CREATE DATABASE "{db}"')

    def write(self, lines: str, db: str, precision: str = "ns") -> None:
        """Write line protocol through /write (the database must exist)."""
        query = urllib.parse.urlencode({"db": db, "precision": precision})
        status, raw = http_request("POST", f"{self.url}/write?{query}", lines.encode())
        if status != 204:
            raise ServiceError(f"influxdb1 write failed ({status}): {raw[:500]!r}")

    def series_values(self, q: str, db: str) -> list[dict[str, Any]]:
        """The rows of every series a query returns, as dicts column -> value."""
        rows: list[dict[str, Any]] = []
        for result in self.query(q, db).get("results", []):
            for series in result.get("series", []):
                for values in series.get("values", []):
                    row = dict(zip(series["columns"], values, strict=True))
                    row.update(series.get("tags", {}))
                    rows.append(row)
        return rows


# -------------------------------------------------------------------- VictoriaMetrics


class VictoriaMetricsServer(_Server):
    """VictoriaMetrics single node: accepts influxdb-client's /api/v2/write.

    Read back with :meth:`export` (``/api/v1/export``) or :meth:`query` (PromQL). A v2
    write of measurement ``m`` with field ``f`` becomes the metric ``m_f`` (also for a field
    named ``value``) and tags become labels; org and bucket are not kept. Instant queries
    only see samples of the last 5 minutes: use :meth:`export` for fixed old timestamps.
    """

    name = "victoria"

    def __init__(self) -> None:
        super().__init__()
        self.port = free_port()
        self.url = f"http://{LOOPBACK}:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        binary = require_executable("victoria-metrics", "victoria-metrics")
        began = time.monotonic()
        process = self._spawn([
            binary,
            f"-httpListenAddr={LOOPBACK}:{self.port}",
            f"-storageDataPath={self.workdir / 'data'}",
            "-retentionPeriod=100y",  # the default (1 month) would drop old test timestamps
            "-search.latencyOffset=0s",  # new samples are visible to queries at once
            "-search.disableCache",
        ])
        wait_for(lambda: _http_ok(f"{self.url}/health"), timeout, "/health", process=process)
        self.startup_seconds = time.monotonic() - began

    def flush(self) -> None:
        """Make everything written so far searchable."""
        http_request("GET", f"{self.url}/internal/force_flush")

    def export(self, match: str = '{__name__!=""}') -> list[dict[str, Any]]:
        """All series matching a selector: ``[{"metric": {...}, "values": [...],
        "timestamps": [ms...]}]``."""
        self.flush()
        query = urllib.parse.urlencode({"match[]": match})
        status, raw = http_request("GET", f"{self.url}/api/v1/export?{query}")
        if status != 200:
            raise ServiceError(f"victoria export failed ({status}): {raw[:500]!r}")
        return [json.loads(line) for line in raw.decode().splitlines() if line.strip()]

    def query(self, promql: str) -> list[dict[str, Any]]:
        """An instant PromQL query; returns ``data.result``."""
        self.flush()
        query = urllib.parse.urlencode({"query": promql})
        status, raw = http_request("GET", f"{self.url}/api/v1/query?{query}")
        answer = json.loads(raw)
        if status != 200 or answer.get("status") != "success":
            raise ServiceError(f"victoria query {promql!r} failed ({status}): {raw[:500]!r}")
        result: list[dict[str, Any]] = answer["data"]["result"]
        return result


# ---------------------------------------------------------------------- Elasticsearch


class ElasticsearchServer(_Server):
    """Elasticsearch 8.19 from the integ-test zip, one node, run as SERVICE_USER when root.

    The zip has no data streams/ILM but does carry the x-pack-core and x-pack-security
    modules, so security is switched off explicitly (otherwise it auto-configures TLS).
    It also lacks ``GET /`` (use ``/_nodes/_local`` for the version). :meth:`client` gives
    an ``elasticsearch`` client that works with this server whatever the client's major.
    """

    name = "elasticsearch"

    def __init__(self, home: Path = ES_HOME, heap: str = "512m") -> None:
        super().__init__()
        self.home = home
        self.heap = heap
        self.port = free_port()
        self.transport_port = free_port()
        self.url = f"http://{LOOPBACK}:{self.port}"

    @staticmethod
    def java_home() -> str:
        for variable in ("ES_JAVA_HOME", "JAVA_HOME"):
            value = os.environ.get(variable)
            if value and Path(value, "bin", "java").exists():
                return value
        java = shutil.which("java")
        if java is None:
            raise ServiceError("no Java found (set ES_JAVA_HOME or JAVA_HOME, or install a JDK)")
        return str(Path(java).resolve().parents[1])

    def start(self, timeout: float = 180.0) -> None:
        launcher = self.home / "bin" / "elasticsearch"
        if not launcher.exists():
            raise ServiceError(
                f"Elasticsearch {ES_VERSION} not found at {self.home}; {INSTALL_HINT}"
            )
        user = _service_account()
        if user is not None:
            _check_reachable(launcher, user)
        config = self.workdir / "config"
        shutil.copytree(self.home / "config", config)
        for sub in ("data", "logs", "tmp"):
            (self.workdir / sub).mkdir()
        (config / "elasticsearch.yml").write_text(
            "cluster.name: clusterwatch-test\n"
            "node.name: node-1\n"
            f"path.data: {self.workdir / 'data'}\n"
            f"path.logs: {self.workdir / 'logs'}\n"
            f"network.host: {LOOPBACK}\n"
            f"http.port: {self.port}\n"
            f"transport.port: {self.transport_port}\n"
            "discovery.type: single-node\n"
            "xpack.security.enabled: false\n"
            "cluster.routing.allocation.disk.threshold_enabled: false\n"
            "action.destructive_requires_name: false\n"
        )
        if user is not None:
            _chown_tree(self.workdir, user)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.workdir),
            "LANG": "C.UTF-8",
            "ES_JAVA_HOME": self.java_home(),
            "ES_PATH_CONF": str(config),
            "ES_TMPDIR": str(self.workdir / "tmp"),
            "ES_JAVA_OPTS": f"-Xms{self.heap} -Xmx{self.heap}",
        }
        began = time.monotonic()
        process = self._spawn([str(launcher)], env=env, user=user)
        health = f"{self.url}/_cluster/health?wait_for_status=yellow&timeout=1s"
        wait_for(lambda: _http_ok(health), timeout, "cluster health yellow", process=process)
        self.startup_seconds = time.monotonic() - began

    def client(self, **kwargs: Any) -> Elasticsearch:
        """An ``elasticsearch.Elasticsearch`` for this server (see :func:`es_client`)."""
        return es_client(self.url, **kwargs)

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop(timeout=30)
            self.process = None


def es_client(url: str, **kwargs: Any) -> Elasticsearch:
    """An Elasticsearch client that can talk to an 8.x server even when the client is 9.x.

    The 9.x client sends ``compatible-with=9`` media types, which 8.x servers refuse
    (``media_type_header_exception``); a transport node rewrites them to ``8`` (8.x
    servers accept 7 and 8, 9.x servers accept 8 and 9). An 8.x client is left as it is.
    """
    from elastic_transport import HttpHeaders, Urllib3HttpNode
    from elasticsearch import Elasticsearch

    class Compat8Node(Urllib3HttpNode):
        def perform_request(  # type: ignore[override]
            self, method: str, target: str, body: bytes | None = None,
            headers: HttpHeaders | None = None, **options: Any,
        ) -> Any:
            if headers is not None:
                headers = HttpHeaders({
                    key: value.replace("compatible-with=9", "compatible-with=8")
                    for key, value in headers.items()
                })
            return super().perform_request(method, target, body=body, headers=headers, **options)

    kwargs.setdefault("node_class", Compat8Node)
    return Elasticsearch(url, **kwargs)


# -------------------------------------------------------------------------- ZooKeeper

_ZK_LOG4J = """\
log4j.rootLogger=INFO, CONSOLE
log4j.appender.CONSOLE=org.apache.log4j.ConsoleAppender
log4j.appender.CONSOLE.layout=org.apache.log4j.PatternLayout
log4j.appender.CONSOLE.layout.ConversionPattern=%d{ISO8601} - %-5p [%t:%C{1}@%L] - %m%n
"""


def zk_four_letter(host: str, port: int, command: str, timeout: float = 2.0) -> str:
    """Send a ZooKeeper four-letter word (``mntr``, ``srvr``, ``ruok``...) and read the answer."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(command.encode())
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks).decode("utf-8", "replace")


def parse_mntr(text: str) -> dict[str, str]:
    """``mntr`` output as a dict (empty when the member is not serving)."""
    result = {}
    for line in text.splitlines():
        key, sep, value = line.partition("\t")
        if sep:
            result[key.strip()] = value.strip()
    return result


@dataclass
class ZooKeeperMember:
    server_id: int
    client_port: int
    peer_port: int
    election_port: int
    workdir: Path
    process: ManagedProcess | None = None

    @property
    def host(self) -> str:
        return f"{LOOPBACK}:{self.client_port}"

    def mntr(self) -> dict[str, str] | None:
        """``mntr`` of this member, None when it does not answer or does not serve."""
        try:
            stats = parse_mntr(zk_four_letter(LOOPBACK, self.client_port, "mntr"))
        except OSError:
            return None
        return stats if stats.get("zk_server_state") in {"leader", "follower"} else None


def _serves(member: ZooKeeperMember) -> bool:
    return member.mntr() is not None


class ZooKeeperEnsemble:
    """A ZooKeeper ensemble (Debian ``zookeeper``) on loopback; members indexed from 0.

    ``stop_member(i)``/``start_member(i)`` stop and restart one member (its data kept).
    """

    name = "zookeeper"

    def __init__(self, size: int = 3, tick_ms: int = 500) -> None:
        self.workdir = _make_workdir(self.name)
        self.tick_ms = tick_ms
        self.members = [
            ZooKeeperMember(
                i + 1, free_port(), free_port(), free_port(), self.workdir / f"zk{i + 1}"
            )
            for i in range(size)
        ]
        self.startup_seconds: float | None = None

    @property
    def hosts(self) -> list[str]:
        return [member.host for member in self.members]

    @property
    def connect_string(self) -> str:
        return ",".join(self.hosts)

    def _config(self, member: ZooKeeperMember) -> str:
        servers = "".join(
            f"server.{m.server_id}={LOOPBACK}:{m.peer_port}:{m.election_port}\n"
            for m in self.members
        )
        return (
            f"tickTime={self.tick_ms}\n"
            "initLimit=20\n"
            "syncLimit=10\n"
            f"dataDir={member.workdir / 'data'}\n"
            f"clientPort={member.client_port}\n"
            f"clientPortAddress={LOOPBACK}\n"
            "admin.enableServer=false\n"
            "4lw.commands.whitelist=*\n"
            "standaloneEnabled=false\n"
            "maxClientCnxns=0\n"
            + servers
        )

    def _java(self) -> str:
        java = require_executable("java", "default-jre-headless")
        for jar in ZOOKEEPER_JARS:
            if not Path(jar).exists():
                raise ServiceError(f"{jar} not found (Debian package zookeeper); {INSTALL_HINT}")
        return java

    def log_path(self, index: int) -> Path:
        return self.members[index].workdir / "zookeeper.log"

    def _launch(self, index: int) -> ManagedProcess:
        member = self.members[index]
        if member.process is not None and member.process.running():
            raise ServiceError(f"zookeeper member {index} is already running")
        java = self._java()
        conf = member.workdir / "conf"
        if not conf.exists():
            (member.workdir / "data").mkdir(parents=True)
            (member.workdir / "data" / "myid").write_text(f"{member.server_id}\n")
            conf.mkdir()
            (conf / "zoo.cfg").write_text(self._config(member))
            (conf / "log4j.properties").write_text(_ZK_LOG4J)
        argv = [
            java, "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
            "-Dzookeeper.cnxTimeout=1000", "-Dzookeeper.jmx.log4j.disable=true",
            f"-Dzookeeper.log.dir={member.workdir}",
            "-cp", ":".join([str(conf), *ZOOKEEPER_JARS]),
            "org.apache.zookeeper.server.quorum.QuorumPeerMain", str(conf / "zoo.cfg"),
        ]
        process = ManagedProcess(
            f"zookeeper{member.server_id}", argv, log_path=self.log_path(index),
            cwd=member.workdir, workdir=self.workdir if index == 0 else None,
        )
        process.start()
        member.process = process
        return process

    def start(self, timeout: float = 60.0) -> None:
        """Start every member; return when all serve and exactly one leads."""
        began = time.monotonic()
        for index in range(len(self.members)):
            self._launch(index)
        self.wait_serving(range(len(self.members)), timeout)
        self.startup_seconds = time.monotonic() - began

    def wait_serving(self, indexes: Sequence[int] | range, timeout: float = 60.0) -> None:
        """Wait until the given members serve (leader or follower) and one of all leads."""

        def ready() -> bool:
            states = [self.members[i].mntr() for i in indexes]
            if any(state is None for state in states):
                return False
            return len(self.leaders()) == 1

        deadline = time.monotonic() + timeout
        for index in indexes:
            member = self.members[index]
            wait_for(
                functools.partial(_serves, member),
                max(1.0, deadline - time.monotonic()),
                f"member {index} (client port {member.client_port}) to serve",
                process=member.process,
            )
        wait_for(ready, max(1.0, deadline - time.monotonic()), "exactly one leader")

    def leaders(self) -> list[int]:
        """Indexes of members that report themselves leader."""
        return [
            i for i, member in enumerate(self.members)
            if (member.mntr() or {}).get("zk_server_state") == "leader"
        ]

    def stop_member(self, index: int) -> None:
        member = self.members[index]
        if member.process is not None:
            member.process.stop()
            member.process = None

    def start_member(self, index: int, timeout: float = 60.0, wait: bool = True) -> None:
        """Restart a stopped member; with ``wait``, return once it serves again (which needs
        a quorum of members running)."""
        process = self._launch(index)
        if wait:
            wait_for(
                lambda: self.members[index].mntr() is not None, timeout,
                f"member {index} to serve again", process=process,
            )

    def running(self) -> list[int]:
        return [i for i, m in enumerate(self.members) if m.process and m.process.running()]

    def restore(self, timeout: float = 60.0) -> None:
        """Start every stopped member and wait until all serve with one leader."""
        stopped = [i for i in range(len(self.members)) if i not in self.running()]
        for index in stopped:
            self._launch(index)
        if stopped:
            self.wait_serving(range(len(self.members)), timeout)

    def stop(self) -> None:
        for index in range(len(self.members)):
            self.stop_member(index)

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def log(self) -> str:
        return "\n".join(
            f"--- member {i} ---\n{log_tail(self.log_path(i), 15)}"
            for i in range(len(self.members))
        )


# ---------------------------------------------------------------------------- HAProxy

_SYSLOG_RE = re.compile(
    r"^<(?P<pri>\d{1,3})>"
    r"(?:(?P<ts3164>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d) |(?P<ts5424>1 \S+) )?"
    r"(?P<rest>.*)$",
    re.DOTALL,
)


class SyslogReceiver:
    """A syslog receiver that writes each message to ``path`` as rsyslog would:
    ``<timestamp> <host> <tag>[pid]: <message>``.

    ``transport`` "unix" listens on a datagram socket (``socket_path``, like /dev/log);
    "udp" on 127.0.0.1 (``port``) - but a UDP sender's own socket is bound to 0.0.0.0,
    hence "unix" by default. ``timestamp_format`` "traditional" = ``Nov 23 13:20:00``, the
    RFC 3164 stamp the sender put in; "rfc3339" = receive time with microseconds,
    rsyslog's high-precision default on Debian 12.
    """

    def __init__(
        self, path: Path, timestamp_format: str = "traditional", transport: str = "unix",
    ) -> None:
        if timestamp_format not in {"traditional", "rfc3339"}:
            raise ValueError(f"timestamp_format must be traditional or rfc3339: {timestamp_format}")
        self.path = path
        self.timestamp_format = timestamp_format
        self.hostname = socket.gethostname().split(".")[0]
        self.socket_path = path.with_name(path.name + ".sock")
        self.port = 0
        if transport == "unix":
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self._sock.bind(str(self.socket_path))
            self.address = str(self.socket_path)
        elif transport == "udp":
            self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self._sock.bind((LOOPBACK, 0))
            self.port = int(self._sock.getsockname()[1])
            self.address = f"{LOOPBACK}:{self.port}"
        else:
            raise ValueError(f"transport must be unix or udp: {transport}")
        self._sock.settimeout(0.2)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="syslog-receiver", daemon=True)
        self._thread.start()

    def format(self, datagram: bytes) -> str:
        text = datagram.decode("utf-8", "replace").rstrip("\n\x00")
        match = _SYSLOG_RE.match(text)
        if match is None:
            return text
        rest = match["rest"]
        if self.timestamp_format == "traditional" and match["ts3164"]:
            stamp = match["ts3164"]
        elif self.timestamp_format == "traditional":
            now = time.localtime()
            stamp = f"{time.strftime('%b', now)} {now.tm_mday:>2} {time.strftime('%T', now)}"
        else:
            stamp = _rfc3339_now()
        return f"{stamp} {self.hostname} {rest}"

    def _run(self) -> None:
        with self.path.open("a", encoding="utf-8") as out:
            while not self._stopping.is_set():
                try:
                    datagram = self._sock.recv(65535)
                except TimeoutError:
                    continue
                except OSError:
                    return
                out.write(self.format(datagram) + "\n")
                out.flush()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(2)
        self._sock.close()
        self.socket_path.unlink(missing_ok=True)


def _rfc3339_now() -> str:
    from datetime import datetime

    return datetime.now().astimezone().isoformat(timespec="microseconds")


class HAProxyServer(_Server):
    """HAProxy (Debian 2.6) in master-worker mode with the caller's frontends/backends.

    Unless ``base=False``, the config written is :meth:`base_config` (global section with
    ``stats socket <dir>/haproxy.sock level admin`` and ``log`` to our syslog receiver,
    ``defaults`` in http mode with ``option httplog``, and a ``listen stats`` section on
    its own port) followed by the caller's text. With ``base=False`` the caller's text is
    used as it is and must bring its own global/defaults (use :attr:`socket_path`,
    :attr:`syslog_address` and :attr:`stats_port`). Bind only to 127.0.0.1 (see
    :func:`free_port`). The log lands in :attr:`log_path` like rsyslog's haproxy.log;
    ``syslog="udp"`` sends it over UDP instead of a unix datagram socket (/dev/log-like).
    """

    name = "haproxy"

    def __init__(
        self, config: str, *, base: bool = True, timestamp_format: str = "traditional",
        syslog: str = "unix",
    ) -> None:
        super().__init__()
        self.user_config = config
        self.base = base
        self.config_path = self.workdir / "haproxy.cfg"
        self.socket_path = self.workdir / "haproxy.sock"
        self.haproxy_log_path = self.workdir / "haproxy.log"
        self.stats_port = free_port()
        self.stats_url = f"http://{LOOPBACK}:{self.stats_port}/stats"
        self.syslog = SyslogReceiver(self.haproxy_log_path, timestamp_format, syslog)
        self.syslog_address = self.syslog.address
        self.log_path = self.haproxy_log_path  # the rsyslog-style log; process output below
        self.output_path = self.workdir / "haproxy.out"

    def base_config(self) -> str:
        return f"""\
global
    log {self.syslog_address} len 8192 local0 info
    stats socket {self.socket_path} mode 600 level admin
    stats timeout 30s
    maxconn 1024

defaults
    mode http
    log global
    option httplog
    option dontlognull
    timeout connect 2s
    timeout client 10s
    timeout server 10s

listen stats
    bind {LOOPBACK}:{self.stats_port}
    stats enable
    stats uri /stats
    stats refresh 5s

"""

    def _write_config(self) -> None:
        text = (self.base_config() if self.base else "") + self.user_config
        self.config_path.write_text(text if text.endswith("\n") else text + "\n")

    def _validate(self, binary: str) -> None:
        check = subprocess.run(
            [binary, "-c", "-f", str(self.config_path)],
            capture_output=True, text=True, timeout=30, check=False,
        )
        if check.returncode != 0:
            raise ServiceConfigError(
                f"haproxy -c rejected the config:\n{check.stdout}{check.stderr}\n"
                f"--- {self.config_path} ---\n{self.config_path.read_text()}"
            )

    def start(self, timeout: float = 20.0) -> None:
        binary = require_executable("haproxy", "haproxy")
        self._write_config()
        self._validate(binary)
        began = time.monotonic()
        process = ManagedProcess(
            self.name, [binary, "-W", "-db", "-f", str(self.config_path)],
            log_path=self.output_path, cwd=self.workdir, workdir=self.workdir,
        )
        process.start()
        self.process = process
        wait_for(lambda: bool(self.worker_pid()), timeout, "the stats socket", process=process)
        wait_for(lambda: _http_ok(self.stats_url), timeout, "the stats page", process=process)
        self.startup_seconds = time.monotonic() - began

    def command(self, command: str, timeout: float = 5.0) -> str:
        """One command on the admin stats socket (``show stat``, ``disable server b/s``...)."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(str(self.socket_path))
            sock.sendall(command.encode() + b"\n")
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode("utf-8", "replace")

    def worker_pid(self) -> int | None:
        info = self.command("show info")
        match = re.search(r"^Pid: (\d+)$", info, re.MULTILINE)
        return int(match[1]) if match else None

    def show_stat(self) -> list[dict[str, str]]:
        """``show stat`` on the socket, as CSV rows."""
        return parse_stats_csv(self.command("show stat"))

    def stats_csv(self) -> list[dict[str, str]]:
        """The HTTP stats page's ``;csv`` export, as rows."""
        status, raw = http_request("GET", f"{self.stats_url};csv")
        if status != 200:
            raise ServiceError(f"haproxy stats page answered {status}")
        return parse_stats_csv(raw.decode())

    def reload(self, config: str | None = None, timeout: float = 20.0) -> None:
        """Re-read the config (optionally a new caller's text): validate, then SIGUSR2."""
        if self.process is None:
            raise ServiceError("haproxy is not running")
        binary = require_executable("haproxy", "haproxy")
        if config is not None:
            self.user_config = config
        self._write_config()
        self._validate(binary)
        old = self.worker_pid()
        self.process.send_signal(signal.SIGUSR2)
        process = self.process

        def new_worker() -> bool:
            pid = self.worker_pid()
            return pid is not None and pid != old

        wait_for(new_worker, timeout, "a new worker after reload", process=process)

    def wait_for_log(self, needle: str, timeout: float = 10.0) -> str:
        """The first line of the haproxy log that contains ``needle`` (UDP is async)."""
        found: list[str] = []

        def present() -> bool:
            if self.log_path.exists():
                lines = self.log_path.read_text().splitlines()
                found.extend(line for line in lines if needle in line)
            return bool(found)

        wait_for(present, timeout, f"a haproxy log line with {needle!r}")
        return found[0]

    def log(self) -> str:
        return log_tail(self.output_path)

    def stop(self) -> None:
        super().stop()
        self.syslog.stop()


def parse_stats_csv(text: str) -> list[dict[str, str]]:
    """HAProxy stats CSV (header line starts with ``# ``) into one dict per row."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines or not lines[0].startswith("# "):
        raise ValueError(f"not HAProxy stats CSV: {text[:200]!r}")
    lines[0] = lines[0][2:]
    reader = csv.DictReader(io.StringIO("\n".join(lines)))
    return [{k: v for k, v in row.items() if k} for row in reader]


# ----------------------------------------------------------------------------- Nagios

NAGIOS_STATES = {"OK": 0, "WARNING": 1, "CRITICAL": 2, "UNKNOWN": 3}
HOST_STATES = {"UP": 0, "DOWN": 1, "UNREACHABLE": 2}

BASE_OBJECTS = """\
define timeperiod {
    timeperiod_name  24x7
    alias            always
    sunday           00:00-24:00
    monday           00:00-24:00
    tuesday          00:00-24:00
    wednesday        00:00-24:00
    thursday         00:00-24:00
    friday           00:00-24:00
    saturday         00:00-24:00
}

define command {
    command_name  check_dummy
    command_line  $USER1$/check_dummy $ARG1$ "$ARG2$"
}

define command {
    command_name  notify_none
    command_line  /bin/true
}

define contact {
    contact_name                   nobody
    alias                          nobody
    host_notifications_enabled     0
    service_notifications_enabled  0
    host_notification_period       24x7
    service_notification_period    24x7
    host_notification_options      n
    service_notification_options   n
    host_notification_commands     notify_none
    service_notification_commands  notify_none
}

define host {
    name                   cw-host
    register               0
    check_command          check_dummy!0!up
    check_interval         1
    retry_interval         1
    max_check_attempts     1
    check_period           24x7
    active_checks_enabled  1
    notifications_enabled  0
    notification_period    24x7
    contacts               nobody
}

define service {
    name                   cw-service
    register               0
    check_interval         1
    retry_interval         1
    max_check_attempts     1
    check_period           24x7
    active_checks_enabled  1
    notifications_enabled  0
    notification_period    24x7
    contacts               nobody
}
"""
"""Objects every Nagios instance gets unless ``base=False``: timeperiod ``24x7``, commands
``check_dummy!<code>!<text>`` and ``notify_none``, contact ``nobody``, and the templates
``cw-host`` (always UP) and ``cw-service`` (1 s intervals, hard after one attempt)."""


@dataclass(frozen=True)
class ServiceAlert:
    time: int
    host: str
    service: str
    state: str
    state_type: str
    attempt: int
    output: str


_ALERT_RE = re.compile(r"^\[(\d+)\] SERVICE ALERT: ([^;]*);([^;]*);([^;]*);([^;]*);(\d+);(.*)$")


def parse_service_alerts(text: str) -> list[ServiceAlert]:
    """The ``SERVICE ALERT:`` lines of a Nagios log."""
    alerts = []
    for line in text.splitlines():
        match = _ALERT_RE.match(line)
        if match:
            alerts.append(ServiceAlert(
                int(match[1]), match[2], match[3], match[4], match[5], int(match[6]), match[7],
            ))
    return alerts


@dataclass
class NagiosStatus:
    """status.dat parsed: every block's ``key=value`` pairs as strings."""

    program: dict[str, str]
    hosts: dict[str, dict[str, str]]
    services: dict[tuple[str, str], dict[str, str]]

    def service(self, host: str, service: str) -> dict[str, str]:
        try:
            return self.services[(host, service)]
        except KeyError:
            raise KeyError(f"no service {host}/{service} in status.dat") from None


def parse_status_dat(text: str) -> NagiosStatus:
    program: dict[str, str] = {}
    hosts: dict[str, dict[str, str]] = {}
    services: dict[tuple[str, str], dict[str, str]] = {}
    block: str | None = None
    values: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("{"):
            block, values = line[:-1].strip(), {}
        elif line == "}":
            if block == "programstatus":
                program = values
            elif block == "hoststatus":
                hosts[values.get("host_name", "")] = values
            elif block == "servicestatus":
                services[(values.get("host_name", ""), values.get("service_description", ""))] = (
                    values
                )
            block = None
        elif block is not None:
            key, _, value = line.partition("=")
            values[key] = value
    return NagiosStatus(program, hosts, services)


class NagiosServer(_Server):
    """Nagios 4 (Debian ``nagios4``) from a temp dir with its own main config.

    ``objects`` is object-definition text (each closing ``}`` on its own line) added to
    :data:`BASE_OBJECTS` unless ``base=False``; ``main_overrides`` replaces or adds main
    config lines (``{"interval_length": "1"}``). ``$USER1$`` is the plugin directory.
    """

    name = "nagios"

    def __init__(
        self, objects: str, *, base: bool = True, main_overrides: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__()
        self.objects = objects
        self.base = base
        self.main_overrides = dict(main_overrides or {})
        self.main_config = self.workdir / "nagios.cfg"
        self.status_path = self.workdir / "status.dat"
        self.nagios_log_path = self.workdir / "nagios.log"
        self.command_file = self.workdir / "rw" / "nagios.cmd"
        self.user = _service_account() or _current_user()
        self.log_path = self.workdir / "nagios.out"  # process output; Nagios' own log is above

    def main_settings(self) -> dict[str, str]:
        d = self.workdir
        group = _group_name(self.user)
        settings = {
            "log_file": f"{d}/nagios.log",
            "cfg_file": f"{d}/objects.cfg",
            "resource_file": f"{d}/resource.cfg",
            "object_cache_file": f"{d}/objects.cache",
            "precached_object_file": f"{d}/objects.precache",
            "status_file": f"{d}/status.dat",
            "status_update_interval": "1",
            "nagios_user": self.user,
            "nagios_group": group,
            "check_external_commands": "1",
            "command_file": str(self.command_file),
            "query_socket": f"{d}/rw/nagios.qh",
            "lock_file": f"{d}/nagios.lock",
            "temp_file": f"{d}/nagios.tmp",
            "temp_path": f"{d}/tmp",
            "check_result_path": f"{d}/checkresults",
            "state_retention_file": f"{d}/retention.dat",
            "retain_state_information": "0",
            "debug_file": f"{d}/nagios.debug",
            "debug_level": "0",
            "log_archive_path": f"{d}/archives",
            "log_rotation_method": "n",
            "use_syslog": "0",
            "log_initial_states": "1",
            "log_current_states": "1",
            "interval_length": "1",
            "check_for_updates": "0",
            "bare_update_check": "0",
            "enable_notifications": "0",
            "enable_flap_detection": "0",
            "check_service_freshness": "0",
            "service_inter_check_delay_method": "n",
            "host_inter_check_delay_method": "n",
            "max_service_check_spread": "1",
            "max_host_check_spread": "1",
            "check_result_reaper_frequency": "1",
            "max_check_result_reaper_time": "1",
            "service_check_timeout": "30",
            "date_format": "iso8601",
            "illegal_object_name_chars": "`~!$%^&*|'\"<>?,()=",
            "illegal_macro_output_chars": "`~$&|'\"<>",
        }
        settings.update(self.main_overrides)
        return settings

    def _write_files(self) -> None:
        d = self.workdir
        for sub in ("rw", "tmp", "checkresults", "archives"):
            (d / sub).mkdir(exist_ok=True)
        self.main_config.write_text(
            "".join(f"{key}={value}\n" for key, value in self.main_settings().items())
        )
        (d / "resource.cfg").write_text(f"$USER1$={NAGIOS_PLUGINS}\n")
        objects = (BASE_OBJECTS + "\n" if self.base else "") + self.objects
        (d / "objects.cfg").write_text(objects if objects.endswith("\n") else objects + "\n")
        if os.geteuid() == 0:
            _chown_tree(d, self.user)

    def start(self, timeout: float = 30.0) -> None:
        binary = require_executable("nagios4", "nagios4-core")
        self._write_files()
        run_as = self.user if os.geteuid() == 0 else None
        user_kwargs: dict[str, Any] = {}
        if run_as is not None:
            entry = pwd.getpwnam(run_as)
            user_kwargs = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
        check = subprocess.run(
            [binary, "-v", str(self.main_config)], capture_output=True, text=True,
            timeout=60, check=False, cwd=self.workdir, **user_kwargs,
        )
        if check.returncode != 0:
            raise ServiceConfigError(
                f"nagios4 -v rejected the config:\n{check.stdout}{check.stderr}"
            )
        began = time.monotonic()
        process = self._spawn([binary, str(self.main_config)], user=run_as)

        def running() -> bool:
            return self.status_path.exists() and bool(self.status().program.get("nagios_pid"))

        wait_for(running, timeout, "status.dat", process=process)
        self.startup_seconds = time.monotonic() - began

    def status(self) -> NagiosStatus:
        return parse_status_dat(self.status_path.read_text())

    def nagios_log(self) -> str:
        return self.nagios_log_path.read_text() if self.nagios_log_path.exists() else ""

    def alerts(self) -> list[ServiceAlert]:
        return parse_service_alerts(self.nagios_log())

    def wait_for_service_state(
        self, host: str, service: str, state: int | str, timeout: float = 30.0, *,
        hard: bool = False,
    ) -> dict[str, str]:
        """Wait until a service's current_state is ``state`` (0-3 or OK/WARNING/...)."""
        wanted = NAGIOS_STATES[state] if isinstance(state, str) else state
        found: dict[str, str] = {}

        def reached() -> bool:
            entry = self.status().services.get((host, service))
            if entry is None or entry.get("has_been_checked") != "1":
                return False
            if int(entry["current_state"]) != wanted:
                return False
            if hard and entry.get("state_type") != "1":
                return False
            found.update(entry)
            return True

        wait_for(reached, timeout, f"{host}/{service} state {state}", process=self.process)
        return found

    def submit_command(self, command: str) -> None:
        """An external command (``SCHEDULE_FORCED_SVC_CHECK;h;s;<ts>``...) via the pipe."""
        with self.command_file.open("w") as pipe:
            pipe.write(f"[{int(time.time())}] {command}\n")


def _group_name(user: str) -> str:
    import grp

    return grp.getgrgid(pwd.getpwnam(user).pw_gid).gr_name


# ---------------------------------------------------------------------------- rpmbuild


def find_rpmbuild() -> str:
    """The path of a working ``rpmbuild`` (Debian package ``rpm``)."""
    path = require_executable("rpmbuild", "rpm")
    result = subprocess.run(
        [path, "--version"], capture_output=True, text=True, timeout=30, check=False,
    )
    if result.returncode != 0 or "RPM" not in result.stdout:
        raise ServiceError(f"`{path} --version` failed: {result.stdout}{result.stderr}")
    return path


def iter_running() -> Iterator[ManagedProcess]:
    """The server processes this interpreter has running now."""
    return iter(list(_live))


def _decode_proc_address(hex_address: str) -> tuple[str, int]:
    host, port = hex_address.split(":")
    raw = bytes.fromhex(host)
    # /proc/net stores addresses as 32-bit words in host (little-endian) order
    swapped = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    address: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(swapped)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return str(address), int(port, 16)


def listening_sockets(process: ManagedProcess) -> list[tuple[str, str, int]]:
    """``(proto, address, port)`` of every TCP listener and bound UDP socket in the
    process group (for checking that a server listens on loopback only)."""
    inodes: set[str] = set()
    for pid in _group_members(process.pid):
        with contextlib.suppress(OSError):
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                with contextlib.suppress(OSError):
                    target = os.readlink(fd)
                    if target.startswith("socket:["):
                        inodes.add(target[8:-1])
    found = []
    for proto in ("tcp", "tcp6", "udp", "udp6"):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/net/{proto}").read_text().splitlines()[1:]:
                fields = line.split()
                local, state, inode = fields[1], fields[3], fields[9]
                if inode in inodes and (state == "0A" or proto.startswith("udp")):
                    found.append((proto, *_decode_proc_address(local)))
    return found


def non_loopback_listeners(process: ManagedProcess) -> list[tuple[str, str, int]]:
    """The sockets of :func:`listening_sockets` bound to anything but 127.0.0.0/8 or ::1."""
    return [
        entry for entry in listening_sockets(process)
        if not ipaddress.ip_address(entry[1]).is_loopback
    ]
