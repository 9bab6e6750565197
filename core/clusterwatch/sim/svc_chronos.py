"""Chronos beside Marathon: a few jobs whose run counts follow the simulated clock.
Builders: ``chronos.py``."""

from __future__ import annotations

from datetime import UTC, datetime

from clusterwatch.sim import chronos
from clusterwatch.sim.engine import Simulation
from clusterwatch.sim.routes import Router, json_response
from clusterwatch.sim.wire import Request, Response, plain

# name, command, period in seconds (0: runs after its parent), parent, owner
JOBS: tuple[tuple[str, str, int, str, str], ...] = (
    ("backup-catalogue-db", "/opt/backup/run.sh catalogue", 3600, "", "data-mgmt"),
    ("rotate-logs", "logrotate -f /etc/logrotate.d/grid", 86400, "", "tier1-ops"),
    ("verify-backup", "/opt/backup/verify.sh catalogue", 0, "backup-catalogue-db", "data-mgmt"),
    ("transfer-report", "python3 /opt/reports/transfers.py", 21600, "", "grid-services"),
)


def _iso_period(seconds: int) -> str:
    return f"PT{seconds // 3600}H" if seconds % 3600 == 0 else f"PT{seconds}S"


class ChronosHost:
    def __init__(self, sim: Simulation) -> None:
        self.sim = sim
        self.failing: set[str] = set()
        r = self.router = Router()
        for prefix in ("", "/v1"):
            r.add("GET", f"{prefix}/scheduler/jobs", self.jobs)
            r.add("GET", f"{prefix}/scheduler/graph/csv", self.graph)

    def handle(self, request: Request) -> Response:
        return self.router.dispatch(request, lambda req: plain(404, ""))

    def current_jobs(self) -> list[chronos.ChronosJob]:
        now = self.sim.now()
        start = self.sim.start - 30 * 86400
        out = []
        for name, command, period, parent, owner in JOBS:
            every = period or dict((j[0], j[2]) for j in JOBS)[parent]
            runs = int((now - start) / every)
            last = datetime.fromtimestamp(start + runs * every, UTC)
            failing = name in self.failing
            out.append(chronos.ChronosJob(
                name=name, command=command, owner=owner,
                schedule=chronos.schedule(datetime.fromtimestamp(start, UTC),
                                          _iso_period(period)) if period else "",
                parents=(parent,) if parent else (),
                success_count=runs - (1 if failing else 0),
                error_count=1 if failing else 0,
                last_success=last if not failing else None,
                last_error=last if failing else None,
                errors_since_last_success=1 if failing else 0,
            ))  # fmt: skip
        return out

    def jobs(self, request: Request, params: dict[str, str]) -> Response:
        return json_response(chronos.jobs(self.current_jobs()))

    def graph(self, request: Request, params: dict[str, str]) -> Response:
        body = chronos.graph_csv(self.current_jobs())
        return Response(200, body.encode(), "text/plain")
