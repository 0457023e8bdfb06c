"""One question in, an authoritative answer out: the records CoreDNS's kubernetes plugin serves.

``Resolver.resolve(qname, qtype)`` first finds the *node* the name stands
for (``names.parse`` says what it asks for, ``ClusterView`` whether it
exists) as a map ``rdtype -> rdatas``; a node that is missing is NXDOMAIN.
Then the generic DNS rules apply, so every kind of name behaves alike:

* a CNAME (ExternalName Service) answers every type but CNAME-chasing stays
  in the zone; a target outside it is left to the server (forwarded, if on);
* the asked type present: its RRset; ``ANY``: every RRset of the node;
* otherwise NOERROR with no answer (NODATA: the name exists, RFC 8020 and
  RFC 2308), which covers empty non-terminals like ``<ns>.svc.<zone>``;
* NXDOMAIN and NODATA carry the zone's SOA in the authority section, whose
  ``minimum`` (the TTL, 30) bounds negative caching (RFC 2308).

A headless Service with no ready endpoint does not exist (NXDOMAIN), as the
specification says.  A reverse name nobody owns *falls through*: the server
forwards it when forwarding is on, and answers NXDOMAIN otherwise (CoreDNS's
``fallthrough in-addr.arpa ip6.arpa``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.CNAME
import dns.rdtypes.ANY.NS
import dns.rdtypes.ANY.PTR
import dns.rdtypes.ANY.SOA
import dns.rdtypes.ANY.TXT
import dns.rdtypes.IN.A
import dns.rdtypes.IN.AAAA
import dns.rdtypes.IN.SRV
import dns.rrset

from pyk8s.dns import names
from pyk8s.dns.cluster import EVERYTHING, REVERSE, STATIC, ClusterView, Endpoint, cluster_ips, family, is_headless

IN = dns.rdataclass.IN
T = dns.rdatatype
DNS_SCHEMA_VERSION = "1.1.0"   # CoreDNS's kubernetes plugin (spec schema 1.1.0)
DEFAULT_TTL = 30               # kubeadm's Corefile: ``ttl 30``
MAX_CHASE = 8
POD_MODES = ("insecure", "disabled")
Node = dict[int, list[dns.rdata.Rdata]]


@dataclass(slots=True)
class Answer:
    rcode: dns.rcode.Rcode = dns.rcode.NOERROR
    answer: list[dns.rrset.RRset] = field(default_factory=list)
    authority: list[dns.rrset.RRset] = field(default_factory=list)
    additional: list[dns.rrset.RRset] = field(default_factory=list)
    #: Not in a zone of ours (forward it), or a reverse name we do not own (forward it if forwarding is on).
    outside: bool = False
    fallthrough: bool = False
    #: A CNAME chain that left the zone: the name to resolve upstream (if forwarding is on).
    external_target: dns.name.Name | None = None
    #: Which cluster changes can change this answer (``cluster.scope_of``): the answer cache's key.
    scope: str = STATIC


@functools.lru_cache(maxsize=65536)  # rdatas are immutable: one per address serves every answer
def _a(ip: str) -> dns.rdata.Rdata:
    if family(ip) == 4:
        return dns.rdtypes.IN.A.A(IN, T.A, ip)
    return dns.rdtypes.IN.AAAA.AAAA(IN, T.AAAA, ip)


class Resolver:
    def __init__(self, view: ClusterView, *, zone: str = "cluster.local", ttl: int = DEFAULT_TTL,
                 pods: str = "insecure", dns_ip: str = "10.96.0.10") -> None:
        self.check(ttl=ttl, pods=pods)
        self.view = view
        self.zone = dns.name.from_text(zone.rstrip(".") + ".")
        self.ttl, self.pods, self.dns_ip = ttl, pods, dns_ip

    @staticmethod
    def check(*, ttl: int, pods: str) -> None:
        """ValueError for settings CoreDNS would refuse (``pods verified`` is not implemented here)."""
        if pods not in POD_MODES:
            raise ValueError(f"pods mode {pods!r} is not supported (supported: {', '.join(POD_MODES)})")
        if not 5 <= ttl <= 3600:
            raise ValueError(f"ttl {ttl} out of range: CoreDNS allows 5 to 3600 seconds")

    # --- entry point ---------------------------------------------------------------

    def resolve(self, qname: dns.name.Name, qtype: int) -> Answer:
        out = Answer()
        self._resolve_into(out, qname, qtype, depth=0)
        return out

    def _resolve_into(self, out: Answer, qname: dns.name.Name, qtype: int, depth: int) -> None:
        if qname.is_subdomain(self.zone):
            apex, (node, scope) = self.zone, self._zone_node(qname, qtype)
        elif (rzone := names.reverse_zone(qname)) is not None:
            apex, node, scope = rzone, self._reverse_node(qname, rzone), REVERSE
            if node is None:
                out.fallthrough = True
        else:
            if depth == 0:
                out.outside = True
            else:
                out.external_target = qname
            return
        out.scope = scope if depth == 0 else EVERYTHING  # a chain depends on several objects
        if node is None:
            out.rcode = dns.rcode.NXDOMAIN
            out.authority.append(self._soa(apex))
            return
        cname = node.get(T.CNAME)
        if cname and qtype != T.CNAME:
            out.answer.append(self._rrset(qname, T.CNAME, cname))
            if depth < MAX_CHASE:
                self._resolve_into(out, cname[0].target, qtype, depth + 1)  # type: ignore[attr-defined]
            return
        wanted = list(node) if qtype == T.ANY else [qtype] if qtype in node else []
        if not wanted:
            out.authority.append(self._soa(apex))
            return
        for rdtype in wanted:
            out.answer.append(self._rrset(qname, rdtype, node[rdtype]))
            self._additional(out, rdtype, node[rdtype])

    def _additional(self, out: Answer, rdtype: int, rdatas: list[dns.rdata.Rdata]) -> None:
        """Addresses of SRV and NS targets in the zone (glue: a client need not ask again)."""
        if rdtype not in (T.SRV, T.NS):
            return
        seen: set[dns.name.Name] = set()
        for rd in rdatas:
            target = rd.target  # type: ignore[attr-defined]
            if target in seen or not target.is_subdomain(self.zone):
                continue
            seen.add(target)
            node = self._zone_node(target, T.ANY)[0] or {}
            for t in (T.A, T.AAAA):
                if node.get(t):
                    out.additional.append(self._rrset(target, t, node[t]))

    # --- nodes -------------------------------------------------------------------------

    def _zone_node(self, qname: dns.name.Name, want: int) -> tuple[Node | None, str]:
        """The node and its cache scope; ``want`` (a type, or ANY) spares building records nobody asked for."""
        # qname is under the zone: its labels left of the zone's (no relativized Name to build).
        relative = qname.labels[:len(qname.labels) - len(self.zone.labels)]
        labels = tuple(label.decode("latin-1").lower() for label in relative)
        q = names.parse(labels)
        if q.kind in (names.Kind.SERVICE, names.Kind.ENDPOINT, names.Kind.SRV_PROTO, names.Kind.SRV):
            return self._service_node(q, want), f"{q.namespace}/{q.service}"
        if q.kind in (names.Kind.NAMESPACE, names.Kind.POD):
            # Only Namespace events change these (EVERYTHING); without a namespace store, Services decide.
            return self._other_node(q), STATIC if self.view.namespaces is not None else EVERYTHING
        return self._other_node(q), STATIC

    def _other_node(self, q: names.Query) -> Node | None:
        k = names.Kind
        if q.kind is k.APEX:
            return {T.SOA: [self._soa_rdata()], T.NS: [self._ns_target()]}
        if q.kind is k.DNS_VERSION:
            return {T.TXT: [dns.rdtypes.ANY.TXT.TXT(IN, T.TXT, [DNS_SCHEMA_VERSION])]}
        if q.kind is k.NS_GLUE:
            return {T.A if family(self.dns_ip) == 4 else T.AAAA: [_a(self.dns_ip)]}
        if q.kind is k.EMPTY:
            return {}
        if q.kind is k.NAMESPACE:
            return {} if self.view.namespace_exists(q.namespace) else None
        if q.kind is k.POD:
            return self._pod(q)
        return None

    def _pod(self, q: names.Query) -> Node | None:
        if self.pods == "disabled" or not self.view.namespace_exists(q.namespace):
            return None
        ip = names.pod_ip(q.endpoint)
        return _addresses([ip]) if ip else None

    def _service_node(self, q: names.Query, want: int) -> Node | None:
        svc = self.view.service(q.namespace, q.service)
        if svc is None:
            return None
        spec = svc.get("spec") or {}
        if spec.get("type") == "ExternalName":
            if q.kind is not names.Kind.SERVICE or not spec.get("externalName"):
                return None
            target = dns.name.from_text(str(spec["externalName"]).rstrip(".") + ".")
            return {T.CNAME: [dns.rdtypes.ANY.CNAME.CNAME(IN, T.CNAME, target)]}
        fqdn = self._service_fqdn(q)
        if is_headless(svc):
            endpoints = self.view.endpoints(q.namespace, q.service)
            if not endpoints:
                return None
            return self._headless(q, fqdn, endpoints, want)
        return self._cluster_ip(q, svc, fqdn, want)

    def _cluster_ip(self, q: names.Query, svc: dict, fqdn: dns.name.Name,  # type: ignore[type-arg]
                    want: int) -> Node | None:
        k = names.Kind
        ports = [(p.get("name") or "", int(p.get("port") or 0), p.get("protocol") or "TCP")
                 for p in (svc.get("spec") or {}).get("ports") or []]
        if q.kind is k.SERVICE:
            node = _addresses(cluster_ips(svc))
            if ports and want in (T.SRV, T.ANY):
                node[T.SRV] = _srv([(port, fqdn) for _, port, _ in ports])
            return node
        if q.kind is k.ENDPOINT:
            return _addresses(self.view.endpoint_addresses(q.namespace, q.service, q.endpoint)) or None
        if q.kind is k.SRV_PROTO:
            return {} if any(n and proto.lower() == q.protocol for n, _, proto in ports) else None
        matching = [(port, fqdn) for n, port, proto in ports if _port_matches(q, n, proto)]
        return {T.SRV: _srv(matching)} if matching else None

    def _headless(self, q: names.Query, fqdn: dns.name.Name, endpoints: list[Endpoint], want: int) -> Node | None:
        k = names.Kind
        if q.kind is k.SERVICE:
            node = _addresses([ep.address for ep in endpoints])
            targets = [(port, self._endpoint_fqdn(ep, fqdn)) for ep in endpoints for _, port, _ in ep.ports
                       if want in (T.SRV, T.ANY)]
            if targets:
                node[T.SRV] = _srv(targets)
            return node
        if q.kind is k.ENDPOINT:
            return _addresses(self.view.endpoint_addresses(q.namespace, q.service, q.endpoint)) or None
        if q.kind is k.SRV_PROTO:
            return {} if any(n and proto.lower() == q.protocol for ep in endpoints for n, _, proto in ep.ports) \
                else None
        matching = [(port, self._endpoint_fqdn(ep, fqdn)) for ep in endpoints
                    for n, port, proto in ep.ports if _port_matches(q, n, proto)]
        return {T.SRV: _srv(matching)} if matching else None

    def _reverse_node(self, qname: dns.name.Name, rzone: dns.name.Name) -> Node | None:
        if qname == rzone:
            return {T.SOA: [self._soa_rdata()], T.NS: [self._ns_target()]}
        ip = names.reverse_address(qname)
        owners = self.view.reverse(ip) if ip else []
        if owners:
            return {T.PTR: [dns.rdtypes.ANY.PTR.PTR(IN, T.PTR, dns.name.from_text(o, self.zone)) for o in owners]}
        return {} if self.view.reverse_exists(qname.to_text().lower()) else None

    # --- records -------------------------------------------------------------------

    def _service_fqdn(self, q: names.Query) -> dns.name.Name:
        return dns.name.Name((q.service.encode(), q.namespace.encode(), b"svc", *self.zone.labels))

    def _endpoint_fqdn(self, ep: Endpoint, service_fqdn: dns.name.Name) -> dns.name.Name:
        return dns.name.Name((ep.name.encode(), *service_fqdn.labels))

    def _ns_target(self) -> dns.rdata.Rdata:
        return dns.rdtypes.ANY.NS.NS(IN, T.NS, dns.name.from_text("ns.dns", self.zone))

    def _soa_rdata(self) -> dns.rdata.Rdata:
        # CoreDNS's shape: refresh 2h, retry 30m, expire 1d, minimum = the TTL (negative caching).
        return dns.rdtypes.ANY.SOA.SOA(IN, T.SOA, dns.name.from_text("ns.dns", self.zone),
                                       dns.name.from_text("hostmaster", self.zone), self.view.serial % 2**32,
                                       7200, 1800, 86400, self.ttl)

    def _soa(self, apex: dns.name.Name) -> dns.rrset.RRset:
        return self._rrset(apex, T.SOA, [self._soa_rdata()])

    def _rrset(self, owner: dns.name.Name, rdtype: int, rdatas: list[dns.rdata.Rdata]) -> dns.rrset.RRset:
        rrset = dns.rrset.RRset(owner, IN, dns.rdatatype.RdataType.make(rdtype))
        for rd in rdatas:
            rrset.add(rd, self.ttl)
        return rrset


def _addresses(ips: list[str]) -> Node:
    node: Node = {}
    for ip in ips:
        node.setdefault(T.A if family(ip) == 4 else T.AAAA, []).append(_a(ip))
    return node


def _port_matches(q: names.Query, name: str, protocol: str) -> bool:
    return bool(name) and name.lower() == q.port and protocol.lower() == q.protocol


def _srv(targets: list[tuple[int, dns.name.Name]]) -> list[dns.rdata.Rdata]:
    """One SRV per (port, target); equal priority, the weight shared out as CoreDNS does (100 / count)."""
    weight = max(1, 100 // len(targets))
    return [dns.rdtypes.IN.SRV.SRV(IN, T.SRV, 0, weight, port, target) for port, target in targets]
