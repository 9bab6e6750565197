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

import re

_SECTION = re.compile(r"^-+<\s*(.*?)\s*>-+\s*$")
_ADDRESS_BLOCK = re.compile(r"^Virtual IP( Excluded)?\s*(?:=|:|\(\d+\)\s*:)")


class VrrpInstance:
    """One ``VRRP Instance`` of the dump (a plain class: ``dataclasses`` is slow to import)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.state = ""
        """``MASTER``, ``BACKUP``, ``FAULT``, ``INIT``, ``STOP``... as keepalived writes it."""
        self.interface: str | None = None
        self.virtual_ips: list[str] = []
        self.excluded_ips: list[str] = []
        """``virtual_ipaddress_excluded``: added to the interface, not in adverts."""

    def __repr__(self) -> str:
        return f"VrrpInstance({self.name!r}, {self.state!r}, {self.all_ips!r})"

    @property
    def all_ips(self) -> list[str]:
        return self.virtual_ips + self.excluded_ips


_IPV4 = re.compile(r"(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})")


def normalise_ip(text: str) -> str | None:
    """``10.0.0.1/24`` -> ``10.0.0.1``; ``FE80::0:1`` -> ``fe80::1``; ``None`` if no address."""
    address = text.split("/", 1)[0].split("%", 1)[0]
    match = _IPV4.fullmatch(address)
    if match:
        octets = [int(part) for part in match.groups()]
        return ".".join(map(str, octets)) if max(octets) < 256 else None
    if ":" not in address:
        return None
    import ipaddress  # only for IPv6 text: most dumps have none, and it costs start-up time

    try:
        return str(ipaddress.IPv6Address(address))
    except ValueError:
        return None


def ipv6_from_hex(digits: str) -> str:
    """32 hex digits (``/proc/net/if_inet6``) -> the RFC 5952 text ``ipaddress`` would print."""
    groups = [int(digits[i : i + 4], 16) for i in range(0, 32, 4)]
    best_start, best_len, start = -1, 0, -1
    for i, group in enumerate([*groups, 1]):
        if group == 0 and start < 0:
            start = i
        elif group != 0 and start >= 0:
            if i - start > best_len:
                best_start, best_len = start, i - start
            start = -1
    words = [f"{g:x}" for g in groups]
    if best_len < 2:
        return ":".join(words)
    head, tail = words[:best_start], words[best_start + best_len :]
    return ":".join(head) + "::" + ":".join(tail)


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
            found.add(ipv6_from_hex(parts[0]))
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
