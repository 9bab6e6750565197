"""check_keepalived: the data-dump parser across versions, address sources, and decisions."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from clusterwatch.checks import keepalived, keepalived_data
from tests.reference import REFERENCE

KEEPALIVED = REFERENCE / "keepalived"

# Our own dump, shaped after 2.2: sections before and after the topology, a FAULT instance,
# an IPv6 address, and a scripts section whose "State = idle" is not an instance state.
DUMP = textwrap.dedent("""\
    ------< Global definitions >------
     Router ID = lb1
    ------< VRRP Topology >------
     VRRP Instance = VI_WEB
       VRRP Version = 2
       State = MASTER
       Wantstate = MASTER
       Interface = eth0
       Virtual Router ID = 51
       Virtual IP (2):
         10.0.0.10/24 dev eth0 scope global set
         2001:DB8:0::10/64 dev eth0 scope global
       Unicast Peer :
         10.0.0.3 min_ttl 0 max_ttl 255
     VRRP Instance = VI_API
       VRRP Version = 2
       State = BACKUP
       Master router = 10.0.0.3
       Interface = eth0
       Virtual IP (1):
         10.0.0.11 dev eth0 scope global
     VRRP Instance = VI_DB
       VRRP Version = 2
       State = FAULT
       Interface = eth1
       Virtual IP (1):
         10.0.1.12 dev eth1 scope global
    ------< VRRP Scripts >------
     VRRP Script = chk_haproxy
       Status = GOOD
       State = idle
    """)


def instances(text: str) -> dict[str, keepalived_data.VrrpInstance]:
    return {i.name: i for i in keepalived_data.parse_data(text)}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("keepalived_v1.3.5.data", {"VI_1": ("MASTER", ["10.32.75.200"], [], "eth0")}),
        ("keepalived_v2.0.10.data", {"VI_1": ("MASTER", ["2.2.2.2"], [], "ens192")}),
        (
            "keepalived_v2.1.5.data",
            {
                "VI_EXT_1": ("MASTER", ["192.168.2.1"], [], "ens192"),
                "VI_EXT_2": ("BACKUP", ["192.168.2.2"], [], "ens192"),
                "VI_EXT_3": ("BACKUP", ["192.168.2.3"], [], "ens192"),
            },
        ),
        ("keepalived_v2.2.7.data", {"VI_227_1": ("MASTER", ["10.1.0.1"], ["10.10.0.1"], "ens3")}),
    ],
)
def test_reference_dumps_parse(
    name: str, expected: dict[str, tuple[str, list[str], list[str], str]]
) -> None:
    path = KEEPALIVED / name
    if not path.exists():
        pytest.skip("reference data not available")
    found = {
        i.name: (i.state, i.virtual_ips, i.excluded_ips, i.interface)
        for i in keepalived_data.parse_data(path.read_text())
    }
    assert found == expected


def test_our_dump_parses_three_instances_and_ignores_scripts() -> None:
    found = instances(DUMP)
    assert list(found) == ["VI_WEB", "VI_API", "VI_DB"]
    assert found["VI_WEB"].virtual_ips == ["10.0.0.10", "2001:db8::10"]
    assert found["VI_API"].state == "BACKUP"
    assert found["VI_DB"].state == "FAULT"
    assert found["VI_DB"].interface == "eth1"


def test_address_sources_parse() -> None:
    ip_addr = (
        "1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever\n"
        "2: eth0    inet 10.0.0.10/24 brd 10.0.0.255 scope global eth0\\  valid_lft forever\n"
        "2: eth0    inet6 2001:db8::10/64 scope global \\       valid_lft forever\n"
    )
    assert keepalived_data.parse_ip_addr(ip_addr) == {"127.0.0.1", "10.0.0.10", "2001:db8::10"}
    fib = textwrap.dedent("""\
        Local:
          +-- 0.0.0.0/0 3 0 5
             |-- 10.0.0.0
                /24 link UNICAST
             |-- 10.0.0.10
                /32 host LOCAL
             |-- 10.0.0.255
                /32 link BROADCAST
        """)
    assert keepalived_data.parse_fib_trie(fib) == {"10.0.0.10"}
    inet6 = "20010db8000000000000000000000010 02 40 00 80 eth0\n"
    assert keepalived_data.parse_if_inet6(inet6) == {"2001:db8::10"}


def test_this_hosts_addresses_include_loopback() -> None:
    assert "127.0.0.1" in keepalived_data.local_addresses()


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "keepalived.data"
    path.write_text(text)
    return str(path)


def run(
    capsys: pytest.CaptureFixture[str], argv: list[str], bound: set[str] | None = None
) -> tuple[int, list[str]]:
    code = keepalived.main(argv, addresses=(lambda: set(bound or ())))
    return code, capsys.readouterr().out.splitlines()


ONE_MASTER = (
    " VRRP Instance = VI_1\n   State = MASTER\n   Virtual IP = 1\n     10.0.0.10/32 dev eth0\n"
)


def test_master_holding_its_address_is_ok(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, lines = run(capsys, ["-f", write(tmp_path, ONE_MASTER)], {"10.0.0.10"})
    assert code == 0
    assert lines == [
        "KEEPALIVED OK - VI_1 MASTER | master=1;;;0;1 backup=0;;;0;1 fault=0;;;0;1 other=0;;;0;1"
    ]


def test_master_without_its_address_is_critical(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, lines = run(capsys, ["-f", write(tmp_path, ONE_MASTER)], {"10.0.0.99"})
    assert code == 2
    assert lines[0].startswith("KEEPALIVED CRITICAL - VI_1 MASTER but 10.0.0.10 not bound here")


def test_backup_holding_an_address_and_fault_are_critical(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bound = {"10.0.0.10", "2001:db8::10", "10.0.0.11"}
    code, lines = run(capsys, ["-f", write(tmp_path, DUMP), "-v"], bound)
    assert code == 2
    assert lines[0].startswith(
        "KEEPALIVED CRITICAL - VI_API BACKUP but holds 10.0.0.11 (two masters?); VI_DB FAULT |"
    )
    assert "fault=1;;;0;3" in lines[0]
    assert lines[1:4] == [
        "VI_WEB: MASTER on eth0, virtual IPs: 10.0.0.10 (bound), 2001:db8::10 (bound)",
        "VI_API: BACKUP on eth0, virtual IPs: 10.0.0.11 (bound)",
        "VI_DB: FAULT on eth1, virtual IPs: 10.0.1.12 (not bound)",
    ]


def test_unexpected_state_is_a_warning_and_a_missing_instance_critical(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, ONE_MASTER)
    code, lines = run(capsys, ["-f", path, "-e", "VI_1=BACKUP"], {"10.0.0.10"})
    assert code == 1
    assert lines[0].startswith("KEEPALIVED WARNING - VI_1 MASTER, expected BACKUP")
    code, lines = run(capsys, ["-f", path, "-e", "vi_2=master"], {"10.0.0.10"})
    assert code == 2
    assert lines[0].startswith("KEEPALIVED CRITICAL - vi_2 not in keepalived data")


def test_transitional_state_is_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = run(capsys, ["-f", write(tmp_path, ONE_MASTER.replace("MASTER", "INIT"))])
    assert code == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "no VRRP instance in"), ("<html>oops</html>", "no VRRP instance in")],
)
def test_empty_or_garbage_dump_is_unknown(
    text: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, lines = run(capsys, ["-f", write(tmp_path, text)])
    assert code == 3
    assert message in lines[0]


def test_missing_and_stale_dumps_are_unknown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, lines = run(capsys, ["-f", str(tmp_path / "nope")])
    assert (code, lines[0]) == (
        3, f"KEEPALIVED UNKNOWN - no keepalived data file {tmp_path / 'nope'} (send SIGUSR1 first)"
    )
    path = write(tmp_path, ONE_MASTER)
    old = time.time() - 600
    os.utime(path, (old, old))
    code, lines = run(capsys, ["-f", path, "--max-age", "60"], {"10.0.0.10"})
    assert code == 3
    assert "is 600s old (more than 60s)" in lines[0]


def test_addresses_from_ip_addr_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    addrs = tmp_path / "addrs"
    addrs.write_text("2: eth0    inet 10.0.0.10/32 scope global eth0\n")
    code = keepalived.main(["-f", write(tmp_path, ONE_MASTER), "--addresses-from", str(addrs)])
    assert code == 0


@pytest.mark.parametrize("spec", ["VI_1", "VI_1=LEADER", "=MASTER"])
def test_bad_expectations_are_usage_errors(
    spec: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, lines = run(capsys, ["-e", spec])
    assert code == 3
    assert lines[0].startswith("KEEPALIVED UNKNOWN - argument -e/--expect-state: invalid")


# ------------------------------------------------------------------ SIGUSR1 and the pid file

FAKE_KEEPALIVED = """
import signal, sys, time
data, text, ready = sys.argv[1], sys.argv[2], sys.argv[3]
def dump(signum, frame):
    with open(data, "w") as handle:
        handle.write(text)
if text != "ignore":
    signal.signal(signal.SIGUSR1, dump)
else:
    signal.signal(signal.SIGUSR1, signal.SIG_IGN)
open(ready, "w").close()
time.sleep(60)
"""


@pytest.fixture
def fake_keepalived(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """A process that writes the dump on SIGUSR1, with its pid file; yields (pid, data) paths."""
    procs: list[subprocess.Popen[bytes]] = []

    def start(text: str) -> tuple[Path, Path]:
        data, ready, pid = tmp_path / "k.data", tmp_path / "ready", tmp_path / "k.pid"
        argv = [sys.executable, "-c", FAKE_KEEPALIVED, str(data), text, str(ready)]
        proc = subprocess.Popen(argv)
        procs.append(proc)
        for _ in range(500):
            if ready.exists():
                break
            time.sleep(0.01)
        pid.write_text(f"{proc.pid}\n")
        return pid, data

    yield start  # type: ignore[misc]
    for proc in procs:
        proc.kill()
        proc.wait()


def test_sigusr1_produces_a_fresh_dump(
    fake_keepalived: object, capsys: pytest.CaptureFixture[str]
) -> None:
    pid, data = fake_keepalived(ONE_MASTER)  # type: ignore[operator]
    data.write_text(ONE_MASTER.replace("MASTER", "FAULT"))  # stale dump, must be replaced
    code, lines = run(capsys, ["-p", str(pid), "-f", str(data)], {"10.0.0.10"})
    assert code == 0, lines
    assert lines[0].startswith("KEEPALIVED OK - VI_1 MASTER")


def test_no_fresh_dump_within_the_timeout_is_unknown(
    fake_keepalived: object, capsys: pytest.CaptureFixture[str]
) -> None:
    pid, data = fake_keepalived("ignore")  # type: ignore[operator]
    code, lines = run(capsys, ["-p", str(pid), "-f", str(data), "-t", "0.5"])
    assert code == 3
    assert lines == [
        f"KEEPALIVED UNKNOWN - timeout after 0.5s (waiting for keepalived (pid "
        f"{pid.read_text().strip()}) to rewrite {data} after SIGUSR1)"
    ]


def test_keepalived_not_running_is_critical(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, lines = run(capsys, ["-p", str(tmp_path / "none.pid")])
    assert code == 2
    assert lines[0].startswith("KEEPALIVED CRITICAL - keepalived not running: no pid file")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / "dead.pid").write_text(str(dead.pid))
    code, lines = run(capsys, ["-p", str(tmp_path / "dead.pid")])
    assert code == 2
    assert f"no process {dead.pid}" in lines[0]


def test_a_dump_that_never_opens_times_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fifo = tmp_path / "fifo.data"
    os.mkfifo(fifo)
    code, lines = run(capsys, ["-f", str(fifo), "-t", "0.3"])
    assert code == 3
    assert lines == [f"KEEPALIVED UNKNOWN - timeout after 0.3s (reading {fifo})"]
    with open(fifo, "w"):  # release the abandoned reader
        pass


@pytest.mark.parametrize(
    "address",
    ["::1", "::", "2001:db8::10", "fe80::1:0:0:1", "1:0:1:0:0:1:0:1", "1:2:3:4:5:6:7:8",
     "0:0:1::", "2001:db8:0:0:1::1"],
)
def test_ipv6_from_hex_prints_what_ipaddress_prints(address: str) -> None:
    import ipaddress

    parsed = ipaddress.IPv6Address(address)
    assert keepalived_data.ipv6_from_hex(f"{int(parsed):032x}") == str(parsed)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("10.0.0.1/24", "10.0.0.1"), ("010.0.0.1", "10.0.0.1"), ("300.0.0.1", None),
     ("FE80::0:1%eth0", "fe80::1"), ("dev", None), ("eth0:", None)],
)
def test_normalise_ip(text: str, expected: str | None) -> None:
    assert keepalived_data.normalise_ip(text) == expected
