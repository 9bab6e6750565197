"""One process, one event loop, one listening socket per role: thousands of simulated hosts.

``bind_sockets`` opens 0.0.0.0:PORT for each role (``bind_mode="wildcard"``); the address a
client dialled picks the host. Where a wildcard bind is impossible, ``bind_mode="per-host"``
opens one socket per (host address, role port) instead. ``SimServer`` runs the asyncio loop in
a background thread and stops cleanly, closing even connections that a fault left hanging.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import replace
from typing import Any

from clusterwatch.sim.addresses import Ports
from clusterwatch.sim.faults import FaultTable, apply
from clusterwatch.sim.wire import Handler, HttpProtocol, Request, Resolver, Response

log = logging.getLogger("clusterwatch.sim")

ROLE_FIELDS = ("master", "agent", "marathon", "consul", "chronos", "cadvisor", "control")


def _listen(ip: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((ip, port))
        sock.listen(4096)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


def bind_sockets(
    ports: Ports,
    bind_mode: str = "wildcard",
    host_ips: Callable[[str], Iterable[str]] | None = None,
) -> tuple[Ports, dict[str, list[socket.socket]]]:
    """Open the listening sockets; returns the ports actually bound and the sockets by role.

    The control port always listens on 127.0.0.1 only. In ``per-host`` mode ``host_ips``
    names the addresses of each role.
    """
    if bind_mode not in ("wildcard", "per-host"):
        raise ValueError("bind_mode must be 'wildcard' or 'per-host'")
    sockets: dict[str, list[socket.socket]] = {}
    actual: dict[str, int] = {}
    try:
        for role in ROLE_FIELDS:
            wanted = getattr(ports, role)
            if role == "control":
                ips: list[str] = ["127.0.0.1"]
            elif bind_mode == "wildcard":
                ips = ["0.0.0.0"]
            else:
                ips = list(host_ips(role)) if host_ips else []
            opened: list[socket.socket] = []
            sockets[role] = opened
            port = wanted
            for ip in ips:
                opened.append(_listen(ip, port))
                port = opened[0].getsockname()[1]
            actual[role] = port
    except OSError:
        for group in sockets.values():
            for sock in group:
                sock.close()
        raise
    return replace(ports, **actual), sockets


class SimServer:
    """Serves every role's sockets; ``directory(role, ip)`` finds the host behind an address."""

    def __init__(
        self,
        sockets: dict[str, list[socket.socket]],
        directory: Callable[[str, str], Handler | None],
        faults: FaultTable,
    ) -> None:
        self._sockets = sockets
        self._directory = directory
        self.faults = faults
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stopped = threading.Event()
        self._protocols: set[HttpProtocol] = set()
        self._startup_error: BaseException | None = None

    # -- dispatch -------------------------------------------------------------------------

    def resolver(self, role: str) -> Resolver:
        directory, faults = self._directory, self.faults

        def resolve(ip: str) -> Handler | None:
            host = directory(role, ip)
            if host is None or role == "control":
                return host
            handle = host

            def with_faults(request: Request) -> Response:
                fault = faults.take(role, ip, request.path) if faults else None
                response = handle(request)
                return apply(fault, response) if fault is not None else response

            return with_faults

        return resolve

    # -- lifecycle ------------------------------------------------------------------------

    def start(self, timeout: float = 30.0) -> None:
        self._thread = threading.Thread(target=self._run, name="clusterwatch-sim", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError("simulator did not start in time")
        if self._startup_error is not None:
            raise RuntimeError(f"simulator failed to start: {self._startup_error}")

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        servers: list[asyncio.base_events.Server] = []
        try:
            for role, group in self._sockets.items():
                resolve = self.resolver(role)
                for sock in group:
                    servers.append(loop.run_until_complete(
                        loop.create_server(self._factory(resolve), sock=sock)))  # fmt: skip
        except BaseException as exc:  # report to start(), then leave
            self._startup_error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            for server in servers:
                server.close()
            for protocol in list(self._protocols):
                protocol.abort()
            loop.run_until_complete(asyncio.sleep(0))
            loop.close()
            self._stopped.set()

    def _factory(self, resolve: Resolver) -> Callable[[], HttpProtocol]:
        def make() -> HttpProtocol:
            protocol = HttpProtocol(resolve, self._report, self._protocols.discard)
            self._protocols.add(protocol)
            return protocol

        return make

    @staticmethod
    def _report(exc: BaseException) -> None:
        log.error("simulator handler failed", exc_info=exc)

    def submit(self, coroutine: Coroutine[Any, Any, None], timeout: float = 30.0) -> None:
        """Run a coroutine on the server's loop: wait for it, or (when called from the loop
        itself, e.g. by a control request) schedule it and return at once."""
        loop = self._loop
        if loop is None or loop.is_closed():
            coroutine.close()
            raise RuntimeError("the simulator is not running")
        if threading.current_thread() is self._thread:
            loop.create_task(coroutine)
            return
        asyncio.run_coroutine_threadsafe(coroutine, loop).result(timeout)

    def stop(self, timeout: float = 10.0) -> None:
        loop, thread = self._loop, self._thread
        if loop is not None and thread is not None and thread.is_alive():
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout)
        for group in self._sockets.values():
            for sock in group:
                sock.close()
