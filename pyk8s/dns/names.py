"""What a query name asks for, as the Kubernetes DNS specification lays names out.

Under the cluster domain (``cluster.local``)::

    dns-version.<zone>                                  TXT, the schema version
    ns.dns.<zone>                                       the server's own A (NS glue)
    <svc>.<ns>.svc.<zone>                               a Service
    <hostname>.<svc>.<ns>.svc.<zone>                    one endpoint of a Service
    _<port>._<proto>.<svc>.<ns>.svc.<zone>              SRV for a named port
    <a-b-c-d>.<ns>.pod.<zone>                           a pod by its dashed IP

Every shorter name on those paths (``svc.<zone>``, ``<ns>.svc.<zone>``,
``_tcp.<svc>...``) is an empty non-terminal: it may exist without records,
and whether it exists decides NXDOMAIN against NODATA (RFC 8020).  Names in
``in-addr.arpa``/``ip6.arpa`` are reverse lookups.  Labels are compared in
lower case (DNS names are case-insensitive); ``parse`` gets them lowered.
"""

from __future__ import annotations

import enum
import ipaddress
from dataclasses import dataclass

import dns.name
import dns.reversename

REVERSE_ZONES = (dns.name.from_text("in-addr.arpa."), dns.name.from_text("ip6.arpa."))
PROTOCOLS = ("tcp", "udp", "sctp")


class Kind(enum.Enum):
    APEX = "apex"
    DNS_VERSION = "dns-version"
    NS_GLUE = "ns-glue"
    EMPTY = "empty"            # an empty non-terminal that always exists (svc, pod, dns)
    NAMESPACE = "namespace"    # <ns>.svc / <ns>.pod: exists when the namespace does
    SERVICE = "service"
    ENDPOINT = "endpoint"
    SRV_PROTO = "srv-proto"    # _<proto>.<svc>...: exists when a port of that protocol has a name
    SRV = "srv"
    POD = "pod"
    NONE = "none"              # under the zone but on no path the specification defines


@dataclass(frozen=True, slots=True)
class Query:
    kind: Kind
    namespace: str = ""
    service: str = ""
    endpoint: str = ""   # endpoint hostname, or a pod's dashed IP
    port: str = ""       # SRV port name without the underscore
    protocol: str = ""   # SRV protocol without the underscore, lower case


def parse(labels: tuple[str, ...]) -> Query:
    """``labels`` are the query name's labels left of the zone, lower case, leftmost first."""
    n = len(labels)
    if n == 0:
        return Query(Kind.APEX)
    top = labels[-1]
    if n == 1 and top == "dns-version":
        return Query(Kind.DNS_VERSION)
    if top == "dns":
        return Query(Kind.EMPTY) if n == 1 else Query(Kind.NS_GLUE) if labels == ("ns", "dns") else Query(Kind.NONE)
    if top == "svc":
        return _service_name(labels[:-1])
    if top == "pod":
        if n == 1:
            return Query(Kind.EMPTY)
        if n == 2:
            return Query(Kind.NAMESPACE, namespace=labels[0])
        if n == 3:
            return Query(Kind.POD, namespace=labels[1], endpoint=labels[0])
    return Query(Kind.NONE)


def _service_name(labels: tuple[str, ...]) -> Query:
    n = len(labels)
    if n == 0:
        return Query(Kind.EMPTY)
    ns = labels[-1]
    if n == 1:
        return Query(Kind.NAMESPACE, namespace=ns)
    svc = labels[-2]
    if n == 2:
        return Query(Kind.SERVICE, namespace=ns, service=svc)
    first = labels[0]
    if n == 3:
        if first.startswith("_"):
            return Query(Kind.SRV_PROTO, namespace=ns, service=svc, protocol=first[1:])
        return Query(Kind.ENDPOINT, namespace=ns, service=svc, endpoint=first)
    if n == 4 and first.startswith("_") and labels[1].startswith("_"):
        return Query(Kind.SRV, namespace=ns, service=svc, port=first[1:], protocol=labels[1][1:])
    return Query(Kind.NONE)


def pod_ip(dashed: str) -> str | None:
    """``10-1-2-3`` -> ``10.1.2.3``; ``fd00--1`` -> ``fd00::1``; anything else -> None."""
    text = dashed.replace("-", ".") if dashed.count("-") == 3 else dashed.replace("-", ":")
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def dashed(ip: str) -> str:
    """An address as a DNS label: ``10.1.2.3`` -> ``10-1-2-3``, ``fd00::1`` -> ``fd00--1``."""
    return ip.replace(".", "-").replace(":", "-")


def reverse_address(name: dns.name.Name) -> str | None:
    """The address a full ``in-addr.arpa``/``ip6.arpa`` name stands for, else None (a partial name)."""
    try:
        return dns.reversename.to_address(name)
    except (dns.exception.SyntaxError, ValueError):
        return None


def reverse_zone(name: dns.name.Name) -> dns.name.Name | None:
    for zone in REVERSE_ZONES:
        if name.is_subdomain(zone):
            return zone
    return None
