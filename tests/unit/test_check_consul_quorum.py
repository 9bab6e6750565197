"""check_consul_quorum's rules over parsed /v1/status answers (no server)."""

from __future__ import annotations

from clusterwatch.checks.consul_quorum import ServerView, judge
from clusterwatch.checks.findings import CRITICAL, OK, WARNING, Finding, worst

PEERS = ["10.0.0.1:8300", "10.0.0.2:8300", "10.0.0.3:8300"]


def server(url: str, leader: str = "10.0.0.1:8300", peers: list[str] = PEERS) -> ServerView:
    return ServerView(url, error=None, leader=leader, peers=peers)


def test_agreeing_servers_with_all_peers_are_ok() -> None:
    found = judge([server("c1"), server("c2"), server("c3")], expected_peers=3)
    assert found == [Finding(OK, "leader 10.0.0.1:8300"), Finding(OK, "3/3 raft peers")]


def test_empty_leader_string_is_no_leader() -> None:
    found = judge([server("c1", leader="")], expected_peers=None)
    assert Finding(CRITICAL, "no leader (raft has not elected one)") in found


def test_servers_naming_different_leaders_is_critical() -> None:
    found = judge([server("c1"), server("c2", leader="10.0.0.2:8300")], expected_peers=None)
    assert worst(found) == CRITICAL
    assert "disagree" in found[0].text


def test_one_server_without_leader_while_others_have_one_is_disagreement() -> None:
    found = judge([server("c1"), server("c2", leader="")], expected_peers=None)
    assert found[0].state == CRITICAL and "c2 says none" in found[0].text


def test_peer_boundaries() -> None:
    def peers(n: int) -> int:
        return worst(judge([server("c1", peers=PEERS[:n])], expected_peers=3))

    assert (peers(3), peers(2), peers(1)) == (OK, WARNING, CRITICAL)


def test_a_server_down_warns_and_none_up_is_critical() -> None:
    gone = ServerView("c3", error="connection refused")
    assert worst(judge([server("c1"), server("c2"), gone], 3)) == WARNING
    assert judge([gone], None) == [
        Finding(CRITICAL, "no Consul server answers (c3: connection refused)")
    ]
