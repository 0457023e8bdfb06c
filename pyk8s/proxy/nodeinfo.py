"""What the proxy reads about its node: its IPs, its pod CIDR, local addresses and one sysctl."""

from __future__ import annotations

import ipaddress
import logging
import subprocess
from typing import Any

import orjson

log = logging.getLogger(__name__)
BRIDGE_SYSCTL = "/proc/sys/net/bridge/bridge-nf-call-iptables"


def node_ips(node: dict[str, Any]) -> tuple[str, ...]:
    """The Node's IPv4 InternalIPs, then ExternalIPs (upstream's node IP detection)."""
    addresses = (node.get("status") or {}).get("addresses") or []
    out: list[str] = []
    for kind in ("InternalIP", "ExternalIP"):
        for a in addresses:
            if a.get("type") == kind and _v4(a.get("address", "")) and a["address"] not in out:
                out.append(a["address"])
    return tuple(out)


def pod_cidr(node: dict[str, Any]) -> str:
    spec = node.get("spec") or {}
    for cidr in [*(spec.get("podCIDRs") or []), spec.get("podCIDR") or ""]:
        if cidr and ":" not in cidr:
            return str(cidr)
    return ""


def _v4(text: str) -> bool:
    try:
        return ipaddress.ip_address(text).version == 4
    except ValueError:
        return False


def local_addresses() -> list[str]:
    """Every IPv4 address on this namespace's interfaces (``ip -j -4 addr``)."""
    try:
        proc = subprocess.run(["ip", "-j", "-4", "addr"], capture_output=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return []
    return [a["local"] for link in orjson.loads(proc.stdout or b"[]") for a in link.get("addr_info") or []
            if a.get("local")]


def nodeport_ips(spec: tuple[str, ...], node_ips: tuple[str, ...]) -> tuple[str, ...]:
    """--nodeport-addresses (CIDRs, or ``primary`` for the node IPs) resolved to local addresses."""
    if not spec:
        return ()
    chosen: list[str] = []
    nets = [ipaddress.ip_network(c, strict=False) for c in spec if c != "primary"]
    if "primary" in spec:
        chosen += node_ips
    for addr in local_addresses():
        if any(ipaddress.ip_address(addr) in net for net in nets) and addr not in chosen:
            chosen.append(addr)
    return tuple(chosen)


def check_bridge_netfilter() -> None:
    """Pod-to-Service traffic over a bridge needs it; upstream warns rather than setting it."""
    try:
        with open(BRIDGE_SYSCTL) as f:
            if f.read().strip() != "1":
                log.warning("net.bridge.bridge-nf-call-iptables is not 1: Services reached from pods on the same "
                            "bridge will not work (set it to 1)")
    except OSError:
        log.warning("bridge netfilter is unavailable (%s missing): Services reached from pods on a bridge "
                    "will not work", BRIDGE_SYSCTL)
