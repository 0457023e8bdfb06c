"""What the proxy knows about Services, and the one seam its backends implement.

The change tracker (``pyk8s.proxy.changetracker``) turns Services and
EndpointSlices into ``ServicePort`` values: one per (Service, port), with the
endpoints of that port already resolved from the slices.  A backend
(``Provider``) turns the whole map into rules on this node; it gets the map
each time and may compare it with what it wrote last to send only the
difference (``changed`` names what moved since the previous call, or is None
for a full resync).

``cluster_endpoints``/``local_endpoints`` choose endpoints as upstream's
``CategorizeEndpoints`` does: ready endpoints, or, when none is ready, the
ones still serving while they terminate; internalTrafficPolicy Local narrows
cluster traffic to this node's endpoints, externalTrafficPolicy Local narrows
traffic from outside to them (and keeps the client's source address).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

#: kube-proxy's --masquerade-bit default (14): packets to SNAT carry this mark.
MASQUERADE_MARK = 0x4000
DEFAULT_AFFINITY_TIMEOUT = 10800
#: How often every rule is rewritten from scratch (upstream's fullSyncPeriod); the 30 s resync in between
#: re-reads every Service and slice from the caches but writes only what differs.
FULL_REWRITE_PERIOD = 3600.0


class ProxyError(Exception):
    """A backend could not program (or remove) its rules; the message says why."""


@dataclass(frozen=True, slots=True, order=True)
class ServicePortName:
    namespace: str
    name: str
    port: str  # the port's name, "" for an unnamed single port
    protocol: str = "TCP"

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}:{self.port}" if self.port else f"{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class Endpoint:
    ip: str
    port: int
    ready: bool = True
    serving: bool = True
    terminating: bool = False
    node: str = ""
    local: bool = False

    @property
    def address(self) -> str:
        return f"{self.ip}:{self.port}"


@dataclass(frozen=True, slots=True)
class ServicePort:
    name: ServicePortName
    cluster_ip: str
    port: int
    node_port: int = 0
    external_ips: tuple[str, ...] = ()
    load_balancer_ips: tuple[str, ...] = ()
    affinity_timeout: int = 0  # seconds of ClientIP affinity; 0 = none
    external_local: bool = False  # externalTrafficPolicy: Local
    internal_local: bool = False  # internalTrafficPolicy: Local
    health_check_node_port: int = 0
    endpoints: tuple[Endpoint, ...] = ()
    #: spec.loadBalancerSourceRanges (IPv4 CIDRs, normalised): only these sources reach the load balancer IPs
    source_ranges: tuple[str, ...] = ()

    @property
    def protocol(self) -> str:
        return self.name.protocol

    @property
    def uses_firewall(self) -> bool:
        """Traffic to the load balancer IPs is filtered by source (upstream's KUBE-FW / ``firewall-ips``)."""
        return bool(self.source_ranges and self.load_balancer_ips)

    @property
    def has_external(self) -> bool:
        return bool(self.node_port or self.external_ips or self.load_balancer_ips)

    def cluster_endpoints(self) -> list[Endpoint]:
        candidates = [e for e in self.endpoints if e.local] if self.internal_local else list(self.endpoints)
        return usable(candidates)

    def local_endpoints(self) -> list[Endpoint]:
        return usable([e for e in self.endpoints if e.local])

    def reachable_endpoints(self) -> list[Endpoint]:
        """Every endpoint some rule of this port may send to (each gets its own endpoint chain)."""
        seen: dict[str, Endpoint] = {e.address: e for e in self.cluster_endpoints()}
        if self.external_local and self.has_external:
            seen.update({e.address: e for e in self.local_endpoints()})
        return sorted(seen.values(), key=lambda e: (e.ip, e.port))


def usable(endpoints: list[Endpoint]) -> list[Endpoint]:
    """Ready endpoints, else those serving while terminating (upstream's fallback)."""
    ready = [e for e in endpoints if e.ready]
    chosen = ready or [e for e in endpoints if e.serving and e.terminating]
    return sorted(chosen, key=lambda e: (e.ip, e.port))


def firewall_sources(sp: ServicePort, node_ips: Iterable[str]) -> list[str]:
    """Sources allowed to a load balancer IP: the source ranges, plus the LB IPs when a range holds a node IP.

    As upstream: a node reaching a load balancer IP that is local to it sends from that IP, so when the
    ranges admit the node, traffic from the LB IPs themselves must pass too.
    """
    nets = [ipaddress.ip_network(r) for r in sp.source_ranges]
    allowed = list(sp.source_ranges)
    nodes = [a for a in map(ipaddress.ip_address, node_ips) if a.version == 4]
    if any(a in net for a in nodes for net in nets):
        allowed += [ip for ip in sp.load_balancer_ips if ip not in allowed]
    return allowed


@dataclass(frozen=True, slots=True)
class ProxyConfig:
    node_name: str
    node_ips: tuple[str, ...] = ()
    cluster_cidr: str = ""  # "" = no masquerade for off-cluster sources (nothing to tell them apart)
    #: addresses NodePorts answer on; () = every local address (iptables) or the node IPs (nftables)
    nodeport_ips: tuple[str, ...] = ()
    localhost_nodeports: bool = True  # iptables mode only, as upstream
    masquerade_mark: int = MASQUERADE_MARK
    extra: Mapping[str, str] = field(default_factory=dict)


ServiceMap = Mapping[ServicePortName, ServicePort]


class Provider(Protocol):
    """One way of programming Services into the kernel (``nftables`` or ``iptables``)."""

    mode: str

    def sync(self, services: ServiceMap, changed: set[ServicePortName] | None) -> int:
        """Make the node's rules match ``services``; returns how many rule lines were written."""
        ...

    def cleanup(self) -> list[str]:
        """Remove everything this mode ever installed; returns what was removed (for the user)."""
        ...
