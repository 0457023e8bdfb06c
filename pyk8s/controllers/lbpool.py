"""Load-balancer address pools and the allocation rule (pure; the controller is ``servicelb``).

A pool is a list of address ranges, written as MetalLB's ``IPAddressPool``
addresses are: CIDRs (``192.168.50.0/29``, every address of it), ranges
(``192.168.50.10-192.168.50.20``) and single addresses, comma-separated.
Without one, the controller's pool is the nodes' InternalIPs, which is what
makes ``curl EXTERNAL-IP:PORT`` work on a laptop with no cloud.

Addresses are shared between Services whose ports do not collide (the same
port and protocol on one address would be ambiguous), the way k3s's
ServiceLB shares node IPs.  ``allocate`` decides for one Service:

1. ``spec.loadBalancerIP`` (deprecated upstream, still honoured): that
   address or nothing; it must be in the pool and its ports free.
2. The address it already has, if still in the pool and not clashing with
   an older Service (the older claim wins, so two Services that clash after
   a port change do not both move).
3. The first address no Service uses yet (so a pool of several addresses
   gives each Service its own, as MetalLB does), else the first shared
   address where its ports are free.

Otherwise it fails with a reason worded for an event ("no available IPs",
which port is taken on which address and by whom).  Only the Service's
primary IP family is served.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
#: (protocol, port) of a Service port.
PortKey = tuple[str, int]
MAX_REPORTED = 3


def _parse_range(item: str) -> tuple[IPAddress, IPAddress]:
    if "/" in item:
        net = ipaddress.ip_network(item, strict=False)
        return net[0], net[-1]
    if "-" in item:
        first_text, _, last_text = item.partition("-")
        first, last = ipaddress.ip_address(first_text.strip()), ipaddress.ip_address(last_text.strip())
        if first.version != last.version or int(last) < int(first):
            raise ValueError(f"invalid address range {item!r}")
        return first, last
    one = ipaddress.ip_address(item)
    return one, one


@dataclass(frozen=True)
class AddressPool:
    """Ordered address ranges; iterating yields addresses lazily (a /8 costs nothing until used)."""

    ranges: tuple[tuple[IPAddress, IPAddress], ...] = ()

    @classmethod
    def parse(cls, text: str) -> AddressPool:
        """``"10.0.0.0/30,192.168.1.10-192.168.1.20,1.2.3.4"``; raises ValueError naming the bad item."""
        ranges = []
        for raw in text.split(","):
            item = raw.strip()
            if not item:
                continue
            try:
                ranges.append(_parse_range(item))
            except ValueError:
                raise ValueError(f"invalid load-balancer IP pool entry {item!r}: "
                                 "want a CIDR, a range A-B or an address") from None
        return cls(tuple(ranges))

    @classmethod
    def of(cls, addresses: Iterable[str]) -> AddressPool:
        ips = [ipaddress.ip_address(a) for a in addresses]
        return cls(tuple((ip, ip) for ip in ips))

    def __bool__(self) -> bool:
        return bool(self.ranges)

    def __contains__(self, address: object) -> bool:
        try:
            ip = ipaddress.ip_address(str(address))
        except ValueError:
            return False
        return any(lo.version == ip.version and int(lo) <= int(ip) <= int(hi) for lo, hi in self.ranges)

    def __iter__(self) -> Iterator[str]:
        seen: set[str] = set()
        for lo, hi in self.ranges:
            for n in range(int(lo), int(hi) + 1):
                text = str(ipaddress.ip_address(n) if lo.version == 4 else ipaddress.IPv6Address(n))
                if text not in seen:
                    seen.add(text)
                    yield text

    def describe(self) -> str:
        return ",".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in self.ranges)


@dataclass(frozen=True)
class Claim:
    """One Service holding one address for its ports."""

    key: str
    ip: str
    ports: frozenset[PortKey]
    #: (creationTimestamp, key): the older claim wins a clash.
    age: tuple[str, str] = ("", "")


@dataclass
class Result:
    ip: str | None = None
    error: str = ""
    clashes: list[str] = field(default_factory=list)


def service_ports(svc: dict[str, Any]) -> frozenset[PortKey]:
    ports = (svc.get("spec") or {}).get("ports") or []
    return frozenset((str(p.get("protocol") or "TCP"), int(p.get("port") or 0)) for p in ports)


def fmt_port(port: PortKey) -> str:
    return f"{port[1]}/{port[0]}"


def _family_ok(ip: str, family: str) -> bool:
    return ipaddress.ip_address(ip).version == (6 if family == "IPv6" else 4)


class Allocator:
    """The state one allocation decision sees: the pool and every other Service's claim."""

    def __init__(self, pool: AddressPool, claims: Iterable[Claim]) -> None:
        self.pool = pool
        self.claims = list(claims)

    def _users(self, key: str, older_than: tuple[str, str] | None = None) -> dict[str, dict[PortKey, str]]:
        used: dict[str, dict[PortKey, str]] = {}
        for c in self.claims:
            if c.key == key or (older_than is not None and c.age >= older_than):
                continue
            slot = used.setdefault(c.ip, {})
            for port in c.ports:
                slot.setdefault(port, c.key)
        return used

    @staticmethod
    def _clash(ip: str, ports: frozenset[PortKey], used: dict[str, dict[PortKey, str]]) -> str:
        taken = used.get(ip) or {}
        for port in sorted(ports):
            if port in taken:
                return f"port {fmt_port(port)} on {ip} is already in use by {taken[port]}"
        return ""

    def allocate(self, key: str, ports: frozenset[PortKey], *, family: str = "IPv4", requested: str = "",
                 current: str = "", age: tuple[str, str] = ("", "")) -> Result:
        used = self._users(key)
        if requested:
            return self._requested(requested, ports, family, used)
        if current and current in self.pool and _family_ok(current, family):
            if not self._clash(current, ports, self._users(key, older_than=age)):
                return Result(current)
        return self._pick(ports, family, used)

    def _requested(self, ip: str, ports: frozenset[PortKey], family: str,
                   used: dict[str, dict[PortKey, str]]) -> Result:
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            return Result(error=f'invalid spec.loadBalancerIP "{ip}"')
        if ip not in self.pool:
            return Result(error=f'"{ip}" is not allowed in config')
        if not _family_ok(ip, family):
            return Result(error=f'requested loadBalancer IP(s) "{ip}" does not match the ipFamily of the service')
        clash = self._clash(ip, ports, used)
        return Result(error=clash) if clash else Result(ip)

    def _pick(self, ports: frozenset[PortKey], family: str, used: dict[str, dict[PortKey, str]]) -> Result:
        shared: list[str] = []
        any_address = False
        for ip in self.pool:
            if not _family_ok(ip, family):
                continue
            any_address = True
            if ip not in used:
                return Result(ip)
            shared.append(ip)  # (the walk ends at the first free address, so it is never longer than the claims)
        clashes = []
        for ip in shared:
            clash = self._clash(ip, ports, used)
            if not clash:
                return Result(ip)
            clashes.append(clash)
        if not any_address:
            return Result(error="no available IPs")
        shown = "; ".join(clashes[:MAX_REPORTED])
        more = f" (and {len(clashes) - MAX_REPORTED} more addresses)" if len(clashes) > MAX_REPORTED else ""
        return Result(error=f"no available IPs: {shown}{more}", clashes=clashes)


def claim_of(key: str, svc: dict[str, Any], ingress: list[dict[str, Any]],
             in_pool: Callable[[str], bool] | None = None) -> list[Claim]:
    """The claims a Service's status makes (every ingress IP, for its ports)."""
    meta = svc.get("metadata") or {}
    age = (str(meta.get("creationTimestamp") or ""), key)
    ports = service_ports(svc)
    return [Claim(key, str(ing["ip"]), ports, age) for ing in ingress
            if ing.get("ip") and (in_pool is None or in_pool(str(ing["ip"])))]
