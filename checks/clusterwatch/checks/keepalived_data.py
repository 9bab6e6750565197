"""keepalived's SIGUSR1 data dump (``/tmp/keepalived.data``) and this host's addresses.

Pure parsers, shaped after dumps of keepalived 1.3.5, 2.0.10, 2.1.5 and 2.2.7, which differ in
how they write the same things:

- the instance line ``VRRP Instance = NAME`` (1.3 indents its fields by one space, 2.x by three);
- the address block header ``Virtual IP = 1`` (1.3, 2.0), ``Virtual IP :`` (2.1) or
  ``Virtual IP (1):`` (2.2), then one ``ADDR[/LEN] dev IF scope ...`` line per address;
  ``Virtual IP Excluded`` lists addresses keepalived also adds but does not advertise;
- 1.3 writes a ``VRRP Script`` block inside the topology, 2.x a separate ``VRRP Scripts``
  section whose ``State = idle`` is not an instance state.

Only the ``VRRP Topology`` section (or a dump without section lines) is read.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

_SECTION = re.compile(r"^-+<\s*(.*?)\s*>-+\s*$")
_ADDRESS_BLOCK = re.compile(r"^Virtual IP( Excluded)?\s*(?:=|:|\(\d+\)\s*:)")


@dataclass
class VrrpInstance:
    name: str
    state: str = ""
    """``MASTER``, ``BACKUP``, ``FAULT``, ``INIT``, ``STOP``... as keepalived writes it."""
    interface: str | None = None
    virtual_ips: list[str] = field(default_factory=list)
    excluded_ips: list[str] = field(default_factory=list)
    """``virtual_ipaddress_excluded``: added to the interface, not in adverts."""

    @property
    def all_ips(self) -> list[str]:
        return self.virtual_ips + self.excluded_ips


def normalise_ip(text: str) -> str | None:
    """``10.0.0.1/24`` -> ``10.0.0.1``; ``FE80::0:1`` -> ``fe80::1``; ``None`` if no address."""
    try:
        return str(ipaddress.ip_address(text.split("/", 1)[0].split("%", 1)[0]))
    except ValueError:
        return None


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def parse_data(text: str) -> list[VrrpInstance]:
    """The VRRP instances in a data dump, in file order."""
    instances: list[VrrpInstance] = []
    current: VrrpInstance | None = None
    in_topology = True
    block: list[str] | None = None
    block_indent = 0
    for line in text.splitlines():
        stripped = line.strip()
        section = _SECTION.match(stripped)
        if section:
            in_topology = section.group(1).lower() == "vrrp topology"
            current, block = None, None
            continue
        if not in_topology or not stripped:
            continue
        if block is not None:
            if _indent(line) > block_indent:
                address = normalise_ip(stripped.split()[0])
                if address is not None:
                    block.append(address)
                continue
            block = None
        if stripped.startswith("VRRP Instance = "):
            current = VrrpInstance(stripped.split("=", 1)[1].strip())
            instances.append(current)
            continue
        if current is None:
            continue
        key, sep, value = stripped.partition(" = ")
        if sep and key == "State" and not current.state:
            current.state = value.strip().upper()
        elif sep and key in ("Interface", "Listening device") and current.interface is None:
            current.interface = value.strip()
        else:
            match = _ADDRESS_BLOCK.match(stripped)
            if match:
                block = current.excluded_ips if match.group(1) else current.virtual_ips
                block_indent = _indent(line)
    return instances


def parse_ip_addr(text: str) -> set[str]:
    """Addresses in ``ip -o addr`` (or ``ip addr``) output."""
    found: set[str] = set()
    for match in re.finditer(r"\binet6?\s+(\S+)", text):
        address = normalise_ip(match.group(1))
        if address is not None:
            found.add(address)
    return found


def parse_fib_trie(text: str) -> set[str]:
    """Local IPv4 addresses in ``/proc/net/fib_trie`` (``|-- A`` followed by ``/32 host LOCAL``)."""
    found: set[str] = set()
    last: str | None = None
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("|--"):
            last = stripped[3:].strip()
        elif last is not None and stripped.endswith("host LOCAL"):
            address = normalise_ip(last)
            if address is not None:
                found.add(address)
    return found


def parse_if_inet6(text: str) -> set[str]:
    """Addresses in ``/proc/net/if_inet6`` (32 hex digits first on each line)."""
    found: set[str] = set()
    for line in text.splitlines():
        parts = line.split()
        if parts and re.fullmatch(r"[0-9a-fA-F]{32}", parts[0]):
            found.add(str(ipaddress.IPv6Address(int(parts[0], 16))))
    return found


def local_addresses(proc: str = "/proc/net") -> set[str]:
    """This host's addresses (in our network namespace): /proc first, ``ip -o addr`` if not."""
    try:
        with open(f"{proc}/fib_trie", encoding="ascii", errors="replace") as handle:
            found = parse_fib_trie(handle.read())
        try:
            with open(f"{proc}/if_inet6", encoding="ascii", errors="replace") as handle:
                found |= parse_if_inet6(handle.read())
        except OSError:
            pass
        return found
    except OSError:
        import subprocess

        result = subprocess.run(
            ["ip", "-o", "addr", "show"], capture_output=True, text=True, timeout=5, check=True
        )
        return parse_ip_addr(result.stdout)
