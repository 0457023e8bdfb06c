"""The DNS server on 127.0.0.1 (a random port), asked with dnspython over UDP and TCP.

Forwarding is tested against a second instance of the server on loopback: no query leaves the machine.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import dns.asyncquery
import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import pytest

from pyk8s.dns.forward import Forwarder
from pyk8s.dns.resolver import Resolver
from pyk8s.dns.server import DNSServer
from pyk8s.testing import dnszone as z

T = dns.rdatatype


def cluster():  # type: ignore[no-untyped-def]
    eps = [z.endpoint(f"10.244.1.{i}", hostname=f"web-{i}") for i in range(1, 41)]
    return z.zone([z.namespace("default"), z.namespace("prod"),
                   z.service("web", cluster_ip="10.96.0.20"),
                   z.service("nginx", cluster_ip="None", ports=[{"name": "web", "port": 80, "protocol": "TCP"}]),
                   z.endpoint_slice("nginx", eps, ports=[{"name": "web", "port": 8080, "protocol": "TCP"}]),
                   z.service("db", "prod", type="ExternalName", external_name="db.other.test")])


async def start(server: DNSServer) -> asyncio.Task[None]:
    task = asyncio.create_task(server.run())
    await asyncio.wait_for(server.ready.wait(), 10)
    return task


@pytest.fixture
async def server() -> AsyncIterator[DNSServer]:
    srv = DNSServer(Resolver(cluster()), address="127.0.0.1", port=0)
    task = await start(srv)
    try:
        yield srv
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def udp(server: DNSServer, name: str, rdtype: str = "A", **kw) -> dns.message.Message:  # type: ignore[no-untyped-def]
    q = dns.message.make_query(name, rdtype, **kw)
    return await dns.asyncquery.udp(q, "127.0.0.1", port=server.bound_port, timeout=5)


async def tcp(server: DNSServer, name: str, rdtype: str = "A") -> dns.message.Message:
    q = dns.message.make_query(name, rdtype)
    return await dns.asyncquery.tcp(q, "127.0.0.1", port=server.bound_port, timeout=5)


async def test_a_over_udp_and_tcp(server: DNSServer) -> None:
    for ask in (udp, tcp):
        r = await ask(server, "web.default.svc.cluster.local.")
        assert r.rcode() == dns.rcode.NOERROR and r.flags & dns.flags.AA
        assert [rd.to_text() for rd in r.answer[0]] == ["10.96.0.20"] and r.answer[0].ttl == 30


async def test_udp_truncates_and_tcp_carries_everything(server: DNSServer) -> None:
    r = await udp(server, "nginx.default.svc.cluster.local.")
    assert r.flags & dns.flags.TC
    full = await tcp(server, "nginx.default.svc.cluster.local.")
    assert not full.flags & dns.flags.TC and len(full.answer[0]) == 40
    big = await udp(server, "nginx.default.svc.cluster.local.", use_edns=0, payload=4096)
    assert not big.flags & dns.flags.TC and len(big.answer[0]) == 40 and big.edns == 0
    # dnspython's resolver path: a TC answer, then the same query over TCP
    q = dns.message.make_query("nginx.default.svc.cluster.local.", "A")
    r2, used_tcp = await dns.asyncquery.udp_with_fallback(q, "127.0.0.1", port=server.bound_port, timeout=5)
    assert used_tcp and len(r2.answer[0]) == 40


async def test_srv_for_statefulset_pods(server: DNSServer) -> None:
    r = await tcp(server, "_web._tcp.nginx.default.svc.cluster.local.", "SRV")
    targets = sorted(rd.target.to_text() for rd in r.answer[0])
    assert len(targets) == 40 and targets[0] == "web-1.nginx.default.svc.cluster.local."
    assert {rd.port for rd in r.answer[0]} == {8080}
    one = await udp(server, "web-7.nginx.default.svc.cluster.local.")
    assert [rd.to_text() for rd in one.answer[0]] == ["10.244.1.7"]


async def test_ptr(server: DNSServer) -> None:
    r = await udp(server, "20.0.96.10.in-addr.arpa.", "PTR")
    assert [rd.to_text() for rd in r.answer[0]] == ["web.default.svc.cluster.local."]
    r = await udp(server, "3.1.244.10.in-addr.arpa.", "PTR")
    assert [rd.to_text() for rd in r.answer[0]] == ["web-3.nginx.default.svc.cluster.local."]


async def test_nxdomain_versus_nodata(server: DNSServer) -> None:
    nx = await udp(server, "nope.default.svc.cluster.local.")
    assert nx.rcode() == dns.rcode.NXDOMAIN and nx.answer == []
    assert nx.authority[0].rdtype == T.SOA and nx.authority[0][0].minimum == 30
    nodata = await udp(server, "web.default.svc.cluster.local.", "AAAA")
    assert nodata.rcode() == dns.rcode.NOERROR and nodata.answer == [] and nodata.authority[0].rdtype == T.SOA
    ent = await udp(server, "prod.svc.cluster.local.")
    assert ent.rcode() == dns.rcode.NOERROR and ent.answer == []


async def test_txt_and_outside_names(server: DNSServer) -> None:
    r = await udp(server, "dns-version.cluster.local.", "TXT")
    assert [rd.to_text() for rd in r.answer[0]] == ['"1.1.0"']
    out = await udp(server, "example.com.")
    assert out.rcode() == dns.rcode.REFUSED and not out.flags & dns.flags.RA


async def test_forwarding_and_external_cname_chase_on_loopback() -> None:
    # The "upstream" is another instance serving zone other.test; the cluster server forwards to it.
    upstream_view = z.zone([z.namespace("x"), z.service("db", "x", cluster_ip="192.0.2.7")])
    upstream = DNSServer(Resolver(upstream_view, zone="other.test"), address="127.0.0.1", port=0)
    up_task = await start(upstream)
    srv = DNSServer(Resolver(cluster()), address="127.0.0.1", port=0,
                    forwarder=Forwarder(["127.0.0.1"], port=upstream.bound_port, timeout=2))
    task = await start(srv)
    try:
        r = await udp(srv, "db.x.svc.other.test.")
        assert r.rcode() == dns.rcode.NOERROR and r.flags & dns.flags.RA
        assert [rd.to_text() for rd in r.answer[0]] == ["192.0.2.7"]
        t = await tcp(srv, "missing.x.svc.other.test.")
        assert t.rcode() == dns.rcode.NXDOMAIN
        upstream_view.services.add(z.service("db", "x", cluster_ip="192.0.2.8"))
        upstream_view.changed()
        chased = await udp(srv, "db.prod.svc.cluster.local.")
        assert [rrset.rdtype for rrset in chased.answer] == [T.CNAME]  # db.other.test has no A upstream
        assert chased.rcode() == dns.rcode.NXDOMAIN  # RFC 6604: the rcode of the chain's last name
    finally:
        for t_ in (task, up_task):
            t_.cancel()
        await asyncio.gather(task, up_task, return_exceptions=True)


async def test_forwarding_to_a_silent_upstream_is_servfail() -> None:
    # An upstream port where nothing answers (a bound, never-read UDP socket on loopback).
    import socket

    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    srv = DNSServer(Resolver(cluster()), address="127.0.0.1", port=0,
                    forwarder=Forwarder(["127.0.0.1"], port=silent.getsockname()[1], timeout=0.3))
    task = await start(srv)
    try:
        r = await udp(srv, "example.com.")
        assert r.rcode() == dns.rcode.SERVFAIL
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        silent.close()
