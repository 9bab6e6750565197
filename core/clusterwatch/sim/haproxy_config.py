"""haproxy.cfg frontends and backends for the simulated apps, as marathon-lb writes them.

A pure function of the apps and their tasks. marathon-lb's conventions, followed here:

- one frontend per service port, named like its backend, ``use_backend`` glue only;
- the backend is ``<app id without the leading / , / → _>_<service port>``
  (``/web/frontend`` on 10000 → ``web_frontend_10000``);
- each running task is a server named ``<host>_<host port>`` with every character outside
  ``[a-zA-Z0-9-]`` turned into ``_`` (newer marathon-lb writes ``<host>_<ip>_<port>`` when the
  agent's hostname is not its IP; simulated agents run with ``--hostname_lookup=false``, so
  host and IP are the same and both spellings give ``127_1_0_1_31005``);
- servers sorted by (host, port); frontends first, then backends, both by (app id, port);
- a Marathon HTTP health check on the service's port index becomes ``option httpchk GET
  <path>`` + ``timeout check`` on the backend and ``check inter <interval>s fall
  <maxConsecutiveFailures + 1>`` on each server; tasks Marathon sees failing are left out.

Every service is in HTTP mode (as with ``HAPROXY_{n}_MODE=http``) with ``log global`` and
``option httplog``, so each log line names ``backend/server``: server name → (host, port) →
the task in Marathon's ``/v2/tasks``. The global/defaults sections are the caller's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from clusterwatch.sim.model import App, HealthCheck, Task, TaskState

_UNSAFE = re.compile(r"[^a-zA-Z0-9\-]")

FRONTEND = """\
frontend {backend}
  bind {bind}:{port}
  mode http
  log global
  option httplog
  use_backend {backend}
"""

BACKEND_HEAD = """\
backend {backend}
  balance roundrobin
  mode http
  option forwardfor
  http-request set-header X-Forwarded-Port %[dst_port]
  http-request add-header X-Forwarded-Proto https if {{ ssl_fc }}
"""

BACKEND_HTTP_HEALTHCHECK = """\
  option  httpchk GET {path}
  timeout check {timeout}
"""

SERVER = "  server {name} {ip}:{port}{check}\n"
SERVER_HTTP_HEALTHCHECK = " check inter {inter} fall {fall}"


@dataclass(frozen=True)
class Options:
    """What the caller may override, as marathon-lb's flags and templates allow.

    ``bind`` is the frontends' address (marathon-lb's ``*``; loopback here). ``inter`` and
    ``fall`` replace the health check's interval and fall count in every server line (as a
    ``HAPROXY_BACKEND_SERVER_HTTP_HEALTHCHECK_OPTIONS`` template would).
    """

    bind: str = "127.0.0.1"
    inter: float | None = None
    fall: int | None = None


def backend_name(app_id: str, service_port: int) -> str:
    return app_id[1:].replace("/", "_") + "_" + str(service_port)


def server_name(host: str, port: int, ip: str | None = None) -> str:
    """marathon-lb's server name; ``ip`` only when it differs from ``host``."""
    raw = f"{host}_{port}" if ip is None or ip == host else f"{host}_{ip}_{port}"
    return _UNSAFE.sub("_", raw)


def _health_check(app: App, port_index: int) -> HealthCheck | None:
    return next(
        (hc for hc in app.health_checks
         if hc.port_index == port_index and hc.protocol in ("HTTP", "MESOS_HTTP")),
        None,
    )  # fmt: skip


def _serving(app: App, task: Task) -> bool:
    """Running, with ports, and not failing Marathon's health checks."""
    return task.state is TaskState.RUNNING and bool(task.ports) and not (
        app.health_checks and app.unhealthy)  # fmt: skip


def _duration(seconds: float) -> str:
    """An HAProxy time: whole seconds as ``10s``, anything finer in milliseconds."""
    return f"{int(seconds)}s" if seconds == int(seconds) else f"{round(seconds * 1000)}ms"


def _backend(app: App, index: int, tasks: list[Task], options: Options) -> str:
    service_port = app.service_ports[index]
    name = backend_name(app.id, service_port)
    out = BACKEND_HEAD.format(backend=name)
    hc = _health_check(app, index)
    check = ""
    if hc is not None:
        out += BACKEND_HTTP_HEALTHCHECK.format(path=hc.path, timeout=_duration(hc.timeout))
        inter = options.inter if options.inter is not None else hc.interval
        fall = options.fall if options.fall is not None else hc.max_failures + 1
        check = SERVER_HTTP_HEALTHCHECK.format(inter=_duration(inter), fall=fall)
    backends = sorted((t.host, t.ports[index]) for t in tasks if len(t.ports) > index)
    for host, port in backends:
        out += SERVER.format(name=server_name(host, port), ip=host, port=port, check=check)
    return out


def haproxy_config(
    apps: Iterable[App], tasks: Mapping[str, Task], options: Options | None = None
) -> str:
    """Frontend and backend sections for every service port of every app."""
    options = options or Options()
    frontends: list[str] = []
    backends: list[str] = []
    for app in sorted(apps, key=lambda a: a.id):
        serving = [t for t in (tasks.get(i) for i in app.task_ids)
                   if t is not None and _serving(app, t)]  # fmt: skip
        for index, service_port in enumerate(app.service_ports):
            name = backend_name(app.id, service_port)
            frontends.append(FRONTEND.format(backend=name, bind=options.bind, port=service_port))
            backends.append(_backend(app, index, serving, options))
    return "\n".join(frontends + backends)
