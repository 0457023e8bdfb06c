"""The server's wire handling without sockets: EDNS0 sizes, truncation, error codes, the answer cache."""

from __future__ import annotations

import dns.flags
import dns.message
import dns.opcode
import dns.rcode
import dns.rdatatype
import pytest

from pyk8s.dns.resolver import Resolver
from pyk8s.dns.server import DNSServer
from pyk8s.testing import dnszone as z


def big_zone():  # type: ignore[no-untyped-def]
    eps = [z.endpoint(f"10.244.1.{i}", hostname=f"web-{i}") for i in range(1, 61)]
    return z.zone([z.namespace("default"), z.service("web", cluster_ip="10.96.0.20"),
                   z.service("big", cluster_ip="None"), z.endpoint_slice("big", eps)])


@pytest.fixture
def server() -> DNSServer:
    return DNSServer(Resolver(big_zone()))


def reply(server: DNSServer, query: dns.message.Message, *, udp: bool = True) -> dns.message.Message:
    wire = server.answer(query.to_wire(), udp=udp)
    assert isinstance(wire, bytes)
    return dns.message.from_wire(wire)


def test_authoritative_answer_keeps_id_and_rd(server: DNSServer) -> None:
    q = dns.message.make_query("web.default.svc.cluster.local.", "A")
    r = reply(server, q)
    assert r.id == q.id and r.flags & dns.flags.AA and r.flags & dns.flags.RD and not r.flags & dns.flags.RA
    assert r.answer[0][0].to_text() == "10.96.0.20"


def test_plain_udp_is_truncated_at_512_and_tcp_is_not(server: DNSServer) -> None:
    q = dns.message.make_query("big.default.svc.cluster.local.", "A")
    assert len(q.to_wire()) and q.edns < 0
    r = reply(server, q)
    assert r.flags & dns.flags.TC and r.answer == []
    assert len(server.answer(q.to_wire(), udp=True)) <= 512  # type: ignore[arg-type]
    full = reply(server, q, udp=False)
    assert not full.flags & dns.flags.TC and len(full.answer[0]) == 60


def test_edns0_payload_decides_the_udp_size(server: DNSServer) -> None:
    q = dns.message.make_query("big.default.svc.cluster.local.", "A", use_edns=0, payload=4096)
    r = reply(server, q)
    assert not r.flags & dns.flags.TC and len(r.answer[0]) == 60 and r.edns == 0
    small = dns.message.make_query("big.default.svc.cluster.local.", "A", use_edns=0, payload=600)
    assert reply(server, small).flags & dns.flags.TC


def test_srv_that_fits_without_glue_drops_glue_not_answers(server: DNSServer) -> None:
    q = dns.message.make_query("big.default.svc.cluster.local.", "SRV", use_edns=0, payload=3500)
    r = reply(server, q)
    assert not r.flags & dns.flags.TC and len(r.answer[0]) == 60 and r.additional == []


def test_edns_version_1_gets_badvers(server: DNSServer) -> None:
    q = dns.message.make_query("web.default.svc.cluster.local.", "A", use_edns=1)
    assert reply(server, q).rcode() == dns.rcode.BADVERS


def test_garbage_gets_formerr_and_responses_get_nothing(server: DNSServer) -> None:
    q = dns.message.make_query("web.default.svc.cluster.local.", "A")
    wire = q.to_wire()
    broken = wire[:12] + b"\x07garbage"
    r = dns.message.from_wire(server.answer(broken, udp=True))  # type: ignore[arg-type]
    assert r.id == q.id and r.rcode() == dns.rcode.FORMERR
    assert server.answer(b"\x01\x02", udp=True) is None
    response = dns.message.make_response(q).to_wire()
    assert server.answer(response, udp=True) is None


def test_other_opcodes_and_classes(server: DNSServer) -> None:
    q = dns.message.make_query("web.default.svc.cluster.local.", "A")
    q.set_opcode(dns.opcode.NOTIFY)
    assert reply(server, q).rcode() == dns.rcode.NOTIMP
    chaos = dns.message.make_query("version.bind.", "TXT", rdclass="CH")
    assert reply(server, chaos).rcode() == dns.rcode.REFUSED


def test_outside_names_are_refused_without_forwarding(server: DNSServer) -> None:
    r = reply(server, dns.message.make_query("example.com.", "A"))
    assert r.rcode() == dns.rcode.REFUSED and not r.flags & dns.flags.AA
    # a reverse name nobody in the cluster owns: NXDOMAIN when it cannot be forwarded
    assert reply(server, dns.message.make_query("4.3.2.1.in-addr.arpa.", "PTR")).rcode() == dns.rcode.NXDOMAIN


def test_cache_serves_the_client_id_and_flushes_on_change() -> None:
    view = big_zone()
    server = DNSServer(Resolver(view))
    q1 = dns.message.make_query("new.default.svc.cluster.local.", "A")
    assert reply(server, q1).rcode() == dns.rcode.NXDOMAIN
    q2 = dns.message.make_query("new.default.svc.cluster.local.", "A")
    r2 = reply(server, q2)
    assert r2.id == q2.id and r2.rcode() == dns.rcode.NXDOMAIN
    view.services.add(z.service("new", cluster_ip="10.96.7.7"))
    view.changed()
    r3 = reply(server, dns.message.make_query("new.default.svc.cluster.local.", "A"))
    assert r3.rcode() == dns.rcode.NOERROR and r3.answer[0][0].to_text() == "10.96.7.7"


def test_a_change_drops_only_the_answers_it_can_change() -> None:
    view = big_zone()
    server = DNSServer(Resolver(view))
    web = dns.message.make_query("web.default.svc.cluster.local.", "A")
    assert reply(server, web).answer[0][0].to_text() == "10.96.0.20"
    # the store changes, but the event names another Service: web's cached answer stands
    view.services.add(z.service("web", cluster_ip="10.96.0.99"))
    other = z.service("other", cluster_ip="10.96.0.50")
    view.services.add(other)
    view.changed(other)
    assert reply(server, web).answer[0][0].to_text() == "10.96.0.20"
    assert reply(server, dns.message.make_query("other.default.svc.cluster.local.", "A")).answer
    # an event for web itself (or its EndpointSlice) drops it
    view.changed(z.endpoint_slice("web", []))
    assert reply(server, web).answer[0][0].to_text() == "10.96.0.99"
    # a Namespace event drops everything
    view.services.add(z.service("web", cluster_ip="10.96.0.98"))
    view.changed(z.namespace("default"))
    assert reply(server, web).answer[0][0].to_text() == "10.96.0.98"


def test_only_allowed_clients_get_recursion() -> None:
    import ipaddress

    from pyk8s.dns.forward import Forwarder

    server = DNSServer(Resolver(big_zone()), forwarder=Forwarder(["192.0.2.1"]),
                       recursion_from=[ipaddress.ip_network("10.244.0.0/16")])
    outside = dns.message.make_query("example.com.", "A").to_wire()
    # a pod may recurse: the query is handed to the forwarder (nothing is sent here)
    assert not isinstance(server.answer(outside, udp=True, source="10.244.1.5"), bytes)
    # anyone else: REFUSED without RA, and the cluster's own names still answered (without RA)
    refused = dns.message.from_wire(server.answer(outside, udp=True, source="192.168.1.20"))  # type: ignore[arg-type]
    assert refused.rcode() == dns.rcode.REFUSED and not refused.flags & dns.flags.RA
    inside = dns.message.make_query("web.default.svc.cluster.local.", "A").to_wire()
    pod = dns.message.from_wire(server.answer(inside, udp=True, source="10.244.1.5"))  # type: ignore[arg-type]
    lan = dns.message.from_wire(server.answer(inside, udp=True, source="192.168.1.20"))  # type: ignore[arg-type]
    assert pod.flags & dns.flags.RA and not lan.flags & dns.flags.RA
    assert pod.answer == lan.answer and lan.flags & dns.flags.AA
    assert not server.may_recurse("not-an-address")
