"""Marathon PUT on an app id that does not exist creates the app, as real Marathon does."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests

from clusterwatch.sim import Cluster

pytestmark = pytest.mark.integration

MakeCluster = Callable[..., Cluster]

DEFINITION = {
    "instances": 2,
    "cpus": 0.25,
    "mem": 256,
    "container": {
        "type": "DOCKER",
        "docker": {"image": "nginx:1.25"},
        "portMappings": [{"containerPort": 80, "hostPort": 0, "name": "http"}],
    },
    "labels": {"HAPROXY_GROUP": "external"},
    "healthChecks": [{"protocol": "MESOS_HTTP", "path": "/ping", "intervalSeconds": 5}],
}


def test_put_on_an_unknown_id_creates_and_deploys_the_app(make_sim_cluster: MakeCluster) -> None:
    cluster = make_sim_cluster(agents=3, apps=2)
    marathon = cluster.marathon_urls[1]  # a standby: proxied to the leader
    r = requests.put(marathon + "/v2/apps/tools/echo", json=DEFINITION, timeout=10)
    assert r.status_code == 201, r.text
    assert r.headers["Location"].endswith("/v2/apps/tools/echo")
    deployment = r.json()["deploymentId"]
    deployments = requests.get(marathon + "/v2/deployments", timeout=10).json()
    assert deployment in {d["id"] for d in deployments}

    app = requests.get(marathon + "/v2/apps/tools/echo", timeout=10).json()["app"]
    assert (app["instances"], app["cpus"], app["mem"]) == (2, 0.25, 256)
    assert app["container"]["docker"]["image"] == "nginx:1.25"
    assert app["healthChecks"][0]["path"] == "/ping"
    assert app["labels"] == {"HAPROXY_GROUP": "external"}
    others = requests.get(marathon + "/v2/apps", timeout=10).json()["apps"]
    taken = {m["servicePort"] for a in others if a["id"] != "/tools/echo"
             for m in a["container"]["portMappings"]}  # fmt: skip
    assert app["container"]["portMappings"][0]["servicePort"] not in taken
    assert app["tasksStaged"] == 2

    cluster.advance(cluster.config.staging_seconds + 1)
    app = requests.get(marathon + "/v2/apps/tools/echo", timeout=10).json()["app"]
    assert app["tasksRunning"] == 2 and app["deployments"] == []
    again = requests.put(marathon + "/v2/apps/tools/echo", json={"instances": 3}, timeout=10)
    assert again.status_code == 200  # now an update, not a creation


def test_invalid_definition_is_refused_and_nothing_is_created(
    make_sim_cluster: MakeCluster,
) -> None:
    cluster = make_sim_cluster(agents=3, apps=2)
    marathon = cluster.marathon_urls[0]
    r = requests.put(marathon + "/v2/apps/bad", json={"cpus": "lots"}, timeout=10)
    assert r.status_code == 422 and "/cpus" in r.json()["message"]
    assert requests.get(marathon + "/v2/apps/bad", timeout=10).status_code == 404
