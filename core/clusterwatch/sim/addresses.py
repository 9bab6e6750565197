"""Where each simulated host lives: its own loopback address, the real port of its role.

Masters (and the Marathon instances beside them) are 127.0.1.x, Consul 127.0.2.1, Chronos
127.0.3.1, agents (and their cAdvisor) 127.1.0.1 upwards, 254 to a /24, which leaves room for
well over a million agents inside 127.0.0.0/8.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

CONSUL_IP = "127.0.2.1"
CHRONOS_IP = "127.0.3.1"
CONTROL_IP = "127.0.0.1"


@dataclass(frozen=True)
class Ports:
    """One listening port per role; the real defaults, or 0 to let the kernel pick."""

    master: int = 5050
    agent: int = 5051
    marathon: int = 8080
    consul: int = 8500
    chronos: int = 4400
    cadvisor: int = 4194
    control: int = 5099

    @classmethod
    def ephemeral(cls) -> Ports:
        return cls(0, 0, 0, 0, 0, 0, 0)


def master_ip(index: int) -> str:
    if not 0 <= index < 254:
        raise ValueError("at most 254 masters")
    return f"127.0.1.{index + 1}"


def marathon_ip(index: int) -> str:
    return master_ip(index)  # Marathon runs on the master hosts


def agent_ip(index: int) -> str:
    block, host = divmod(index, 254)
    second, third = divmod(block, 256)
    if second > 253:
        raise ValueError("too many agents for 127.0.0.0/8")
    return f"127.{second + 1}.{third}.{host + 1}"


def is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.split("%")[0]).is_loopback
    except ValueError:
        return False
