"""ZooKeeper four-letter words: the pure parsers, then the socket client against fake servers."""

from __future__ import annotations

from pathlib import Path

import pytest

from clusterwatch.core import zk4lw
from clusterwatch.core.errors import FetchError
from tests.reference import REFERENCE
from tests.unit.check_fakes import closed_port, four_letter, hang, reply, serving

DATA = Path(__file__).resolve().parents[1] / "data"
ZOOKEEPER = REFERENCE / "zookeeper"


def read(name: str) -> str:
    return (DATA / name).read_text()


def test_mntr_of_a_leader_gives_followers_and_latency() -> None:
    status = zk4lw.parse_mntr(read("zk_mntr_3.8_leader.txt"))
    assert status.state == "leader"
    assert status.followers == 2
    assert status.synced_followers == 2
    assert status.pending_syncs == 0
    assert status.avg_latency == pytest.approx(0.4211)
    assert status.max_latency == 31
    assert status.outstanding_requests == 2
    assert status.znode_count == 57
    assert status.version is not None and status.version.startswith("3.8.0")
    assert status.source == "mntr"


def test_mntr_of_a_follower_has_no_leader_only_keys_and_tolerates_empty_values() -> None:
    status = zk4lw.parse_mntr(read("zk_mntr_3.8_follower.txt"))
    assert status.state == "follower"
    assert status.synced_followers is None
    assert status.followers is None
    assert status.raw["zk_response_packet_cache_misses"] == ""


def test_srvr_gives_mode_and_latency_triple() -> None:
    status = zk4lw.parse_srvr(read("zk_srvr_3.8_follower.txt"))
    assert status.state == "follower"
    assert (status.min_latency, status.avg_latency, status.max_latency) == (0, 0.7, 12)
    assert status.outstanding_requests == 0
    assert status.znode_count == 57
    assert status.source == "srvr"


@pytest.mark.parametrize(
    ("name", "state"),
    [
        ("beats_mntr_3.5.3_leader.txt", "leader"),
        ("datadog_mntr_3.7.0_follower.txt", "follower"),
        ("netdata_mntr.txt", "standalone"),
    ],
)
def test_reference_mntr_replies_parse(name: str, state: str) -> None:
    path = ZOOKEEPER / name
    if not path.exists():
        pytest.skip("reference data not available")
    status = zk4lw.parse_mntr(path.read_text())
    assert status.state == state
    assert status.avg_latency is not None
    assert status.znode_count is not None and status.znode_count > 0


def test_reference_srvr_reply_parses() -> None:
    path = ZOOKEEPER / "beats_srvr_3.5.5_standalone.txt"
    if not path.exists():
        pytest.skip("reference data not available")
    status = zk4lw.parse_srvr(path.read_text())
    assert status.state == "standalone"
    assert status.avg_latency == 2


@pytest.mark.parametrize("text", ["", "<html><body>502 Bad Gateway</body></html>", "zk_version\t3"])
def test_mntr_parser_refuses_what_is_not_mntr(text: str) -> None:
    with pytest.raises(ValueError, match="not an mntr reply"):
        zk4lw.parse_mntr(text)


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("zk1", ("zk1", 2181)),
        ("zk1:2182", ("zk1", 2182)),
        ("[::1]:2183", ("::1", 2183)),
        ("::1", ("::1", 2181)),
    ],
)
def test_targets_parse(target: str, expected: tuple[str, int]) -> None:
    assert zk4lw.parse_target(target) == expected


@pytest.mark.parametrize("target", ["", "zk1:", "zk1:x", "zk1:70000", ":2181"])
def test_bad_targets_are_refused(target: str) -> None:
    with pytest.raises(ValueError):
        zk4lw.parse_target(target)


def test_mntr_over_a_socket() -> None:
    with serving(four_letter({"mntr": read("zk_mntr_3.8_leader.txt")})) as server:
        status = zk4lw.mntr("127.0.0.1", server.port, timeout=5)
    assert status.state == "leader"


def test_status_falls_back_to_srvr_when_mntr_is_not_whitelisted() -> None:
    replies = {
        "mntr": "mntr is not executed because it is not in the whitelist.\n",
        "srvr": read("zk_srvr_3.8_follower.txt"),
    }
    with serving(four_letter(replies)) as server:
        status = zk4lw.status("127.0.0.1", server.port, timeout=5)
    assert status.source == "srvr"
    assert status.state == "follower"


def test_a_server_without_quorum_is_not_serving() -> None:
    text = "This ZooKeeper instance is not currently serving requests\n"
    with serving(four_letter({"mntr": text})) as server, pytest.raises(zk4lw.ZkNotServing):
        zk4lw.mntr("127.0.0.1", server.port, timeout=5)


def test_ruok() -> None:
    with serving(four_letter({"ruok": "imok"})) as server:
        assert zk4lw.ruok("127.0.0.1", server.port, timeout=5)


def test_refused_connection_is_unreachable() -> None:
    with pytest.raises(zk4lw.ZkUnreachable, match="refused") as info:
        zk4lw.mntr("127.0.0.1", closed_port(), timeout=2)
    assert isinstance(info.value, FetchError)


def test_a_hanging_server_times_out_as_unreachable() -> None:
    with serving(hang()) as server, pytest.raises(zk4lw.ZkUnreachable, match="timed out"):
        zk4lw.mntr("127.0.0.1", server.port, timeout=0.3)


def test_an_html_reply_is_a_bad_reply() -> None:
    page = "HTTP/1.1 400 Bad Request\r\n\r\n<html>nope</html>"
    with serving(reply(page)) as server, pytest.raises(zk4lw.ZkBadReply) as info:
        zk4lw.mntr("127.0.0.1", server.port, timeout=5)
    assert info.value.target == f"127.0.0.1:{server.port}"
    assert "Traceback" not in str(info.value)


def test_unresolvable_host_is_unreachable() -> None:
    with pytest.raises(zk4lw.ZkUnreachable, match="resolve"):
        zk4lw.mntr("no-such-host.invalid", 2181, timeout=5)
