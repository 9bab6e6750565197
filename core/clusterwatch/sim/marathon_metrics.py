"""Marathon's ``/metrics``: the Dropwizard JSON that Marathon 1.7+ serves.

Top-level ``version``, ``counters``, ``gauges``, ``histograms``, ``meters``, ``timers``;
metric names in the 1.7+ scheme (``marathon.<area>.<name>.<type>[.<unit>]``), e.g.
``marathon.apps.active.gauge`` or ``marathon.http.responses.2xx.rate.meter``. Chosen names:

==========================================  ===========================================
gauges                                      ``marathon.apps.active.gauge``,
                                            ``marathon.groups.active.gauge``,
                                            ``marathon.pods.active.gauge``,
                                            ``marathon.deployments.active.gauge``,
                                            ``marathon.instances.running.gauge``,
                                            ``marathon.instances.staged.gauge``,
                                            ``marathon.instances.launch-overdue.gauge``,
                                            ``marathon.instances.inflight-kills.gauge``,
                                            ``marathon.uptime.gauge.seconds``,
                                            ``marathon.leadership.duration.gauge.seconds``,
                                            ``marathon.http.requests.active.gauge``,
                                            ``marathon.jvm.memory.heap.used.gauge.bytes``
counters                                    ``marathon.deployments.counter``,
                                            ``marathon.http.requests.size.counter.bytes``,
                                            ``marathon.http.responses.size.counter.bytes``,
                                            ``marathon.mesos.offers.incoming.counter``,
                                            ``marathon.mesos.offers.used.counter``,
                                            ``marathon.mesos.offers.declined.counter``,
                                            ``marathon.mesos.calls.revive.counter``,
                                            ``marathon.tasks.launched.counter``
meters                                      ``marathon.http.responses.{1..5}xx.rate.meter``
timers                                      ``marathon.http.requests.duration.timer.seconds``
==========================================  ===========================================

A standby reports its own process metrics and zeros for the cluster gauges.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from clusterwatch.sim.engine import Simulation
from clusterwatch.sim.model import MarathonInstance, TaskState


@dataclass
class HttpCounters:
    requests: int = 0
    request_bytes: int = 0
    response_bytes: int = 0
    by_class: dict[str, int] = field(default_factory=lambda: dict.fromkeys("12345", 0))

    def count(self, status: int, request_bytes: int, response_bytes: int) -> None:
        self.requests += 1
        self.request_bytes += request_bytes
        self.response_bytes += response_bytes
        key = str(status // 100)
        self.by_class[key] = self.by_class.get(key, 0) + 1


def _meter(count: int, uptime: float) -> dict[str, Any]:
    rate = count / uptime if uptime > 0 else 0.0
    return {"count": count, "m15_rate": rate, "m1_rate": rate, "m5_rate": rate,
            "mean_rate": rate, "units": "events/second"}  # fmt: skip


def _timer(count: int, uptime: float) -> dict[str, Any]:
    out = {"count": count, "max": 0.25, "mean": 0.012, "min": 0.0005, "p50": 0.008,
           "p75": 0.014, "p95": 0.04, "p98": 0.07, "p99": 0.1, "p999": 0.2, "stddev": 0.02,
           "duration_units": "seconds", "rate_units": "calls/second"}  # fmt: skip
    rate = count / uptime if uptime > 0 else 0.0
    out.update({"m15_rate": rate, "m1_rate": rate, "m5_rate": rate, "mean_rate": rate})
    return out


def marathon_metrics(sim: Simulation, instance: MarathonInstance, http: HttpCounters,
                     now: float) -> dict[str, Any]:  # fmt: skip
    leads = instance.elected_time is not None
    uptime = max(0.0, now - instance.start_time)
    tasks = list(sim.tasks.values()) if leads else []
    launched = sim.events.get("tasks_launched", 0) if leads else 0
    tenure = now - instance.elected_time if instance.elected_time is not None else 0.0
    offers = int(tenure * 0.2 * max(1, len(sim.agents))) + launched
    queued = sum(sim.queued(a) for a in sim.apps.values()) if leads else 0
    gauges = {
        "marathon.apps.active.gauge": len(sim.apps) if leads else 0,
        "marathon.groups.active.gauge": len({a.id.rsplit("/", 1)[0] for a in sim.apps.values()})
        + 1 if leads else 0,
        "marathon.pods.active.gauge": 0,
        "marathon.deployments.active.gauge": len(sim.deployments) if leads else 0,
        "marathon.instances.running.gauge": sum(
            1 for t in tasks if t.state is TaskState.RUNNING),
        "marathon.instances.staged.gauge": sum(1 for t in tasks if t.state is TaskState.STAGING),
        "marathon.instances.launch-overdue.gauge": queued,
        "marathon.instances.inflight-kills.gauge": 0,
        "marathon.uptime.gauge.seconds": round(uptime, 3),
        "marathon.leadership.duration.gauge.seconds": round(tenure, 3),
        "marathon.http.requests.active.gauge": 1,
        "marathon.jvm.memory.heap.used.gauge.bytes": 268_435_456 + 4096 * len(tasks),
    }  # fmt: skip
    counters = {
        "marathon.deployments.counter": sim.events.get("deployments", 0) if leads else 0,
        "marathon.http.requests.size.counter.bytes": http.request_bytes,
        "marathon.http.responses.size.counter.bytes": http.response_bytes,
        "marathon.mesos.offers.incoming.counter": offers if leads else 0,
        "marathon.mesos.offers.used.counter": launched,
        "marathon.mesos.offers.declined.counter": max(0, offers - launched) if leads else 0,
        "marathon.mesos.calls.revive.counter": int(tenure / 300) if leads else 0,
        "marathon.tasks.launched.counter": launched,
    }
    return {
        "version": "4.0.0",
        "counters": {name: {"count": value} for name, value in counters.items()},
        "gauges": {name: {"value": value} for name, value in gauges.items()},
        "histograms": {},
        "meters": {
            f"marathon.http.responses.{k}xx.rate.meter": _meter(v, uptime)
            for k, v in sorted(http.by_class.items())
        },
        "timers": {"marathon.http.requests.duration.timer.seconds": _timer(http.requests, uptime)},
    }
