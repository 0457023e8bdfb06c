"""The resolver against fake informer stores: the records CoreDNS's kubernetes plugin serves, and RFC 8020's
NXDOMAIN versus NODATA."""

from __future__ import annotations

import dns.name
import dns.rcode
import dns.rdatatype
import dns.reversename
import pytest

from pyk8s.dns.resolver import Answer, Resolver
from pyk8s.testing import dnszone as z

T = dns.rdatatype


@pytest.fixture
def view():  # type: ignore[no-untyped-def]
    return z.zone([
        z.namespace("default"), z.namespace("other"), z.namespace("empty"),
        z.service("web", cluster_ip="10.96.0.20", ports=[
            {"name": "http", "port": 80, "protocol": "TCP"}, {"name": "dns", "port": 53, "protocol": "UDP"},
            {"port": 9000, "protocol": "TCP"}]),
        z.endpoint_slice("web", [z.endpoint("10.244.0.5"), z.endpoint("10.244.0.6", ready=False)]),
        z.service("dual", cluster_ip="10.96.0.21", cluster_ips=["10.96.0.21", "fd00::21"]),
        z.service("v6", cluster_ip="fd00::22"),
        z.service("nginx", cluster_ip="None", ports=[{"name": "web", "port": 80, "protocol": "TCP"}]),
        z.endpoint_slice("nginx", [z.endpoint("10.244.0.10", hostname="web-0"),
                                   z.endpoint("10.244.0.11", hostname="web-1"),
                                   z.endpoint("10.244.0.12"),
                                   z.endpoint("10.244.0.13", hostname="web-3", ready=False),
                                   z.endpoint("10.244.0.14", ready=None)],
                         ports=[{"name": "web", "port": 8080, "protocol": "TCP"}]),
        z.service("lonely", cluster_ip="None"),
        z.endpoint_slice("lonely", [z.endpoint("10.244.0.30", ready=False)]),
        z.service("db", "other", type="ExternalName", external_name="db.example.com"),
        z.service("alias", type="ExternalName", external_name="web.default.svc.cluster.local"),
    ])


def ask(view, name: str, rdtype: int = T.A, **kwargs) -> Answer:  # type: ignore[no-untyped-def]
    return Resolver(view, **kwargs).resolve(dns.name.from_text(name), rdtype)


def texts(answer: Answer, rdtype: int | None = None) -> list[str]:
    return sorted(rd.to_text() for rrset in answer.answer if rdtype in (None, rrset.rdtype) for rd in rrset)


def test_cluster_ip_service_a_and_ttl(view) -> None:  # type: ignore[no-untyped-def]
    a = ask(view, "web.default.svc.cluster.local.")
    assert a.rcode == dns.rcode.NOERROR and texts(a) == ["10.96.0.20"]
    assert a.answer[0].ttl == 30 and not a.authority


def test_names_are_case_insensitive_and_owner_keeps_the_case_asked(view) -> None:  # type: ignore[no-untyped-def]
    a = ask(view, "WEB.Default.SVC.cluster.LOCAL.")
    assert texts(a) == ["10.96.0.20"] and a.answer[0].name.to_text() == "WEB.Default.SVC.cluster.LOCAL."


def test_ipv4_only_service_has_no_aaaa_but_exists(view) -> None:  # type: ignore[no-untyped-def]
    a = ask(view, "web.default.svc.cluster.local.", T.AAAA)
    assert a.rcode == dns.rcode.NOERROR and a.answer == []
    soa = a.authority[0]
    assert soa.rdtype == T.SOA and soa.name.to_text() == "cluster.local." and soa[0].minimum == 30


def test_dual_stack_and_ipv6_services(view) -> None:  # type: ignore[no-untyped-def]
    assert texts(ask(view, "dual.default.svc.cluster.local.", T.AAAA)) == ["fd00::21"]
    assert texts(ask(view, "dual.default.svc.cluster.local.", T.A)) == ["10.96.0.21"]
    assert texts(ask(view, "v6.default.svc.cluster.local.", T.AAAA)) == ["fd00::22"]
    assert ask(view, "v6.default.svc.cluster.local.", T.A).answer == []


def test_missing_service_and_namespace_are_nxdomain_with_soa(view) -> None:  # type: ignore[no-untyped-def]
    for name in ("nope.default.svc.cluster.local.", "web.nons.svc.cluster.local.", "nons.svc.cluster.local.",
                 "a.b.c.d.e.svc.cluster.local.", "foo.cluster.local.", "web.default.pod.x.cluster.local."):
        a = ask(view, name)
        assert a.rcode == dns.rcode.NXDOMAIN, name
        assert a.authority[0].rdtype == T.SOA and a.authority[0].ttl == 30


def test_empty_non_terminals_are_nodata(view) -> None:  # type: ignore[no-untyped-def]
    for name in ("svc.cluster.local.", "default.svc.cluster.local.", "empty.svc.cluster.local.",
                 "pod.cluster.local.", "other.pod.cluster.local.", "_tcp.web.default.svc.cluster.local.",
                 "_udp.web.default.svc.cluster.local.", "dns.cluster.local."):
        a = ask(view, name)
        assert (a.rcode, a.answer) == (dns.rcode.NOERROR, []), name
        assert a.authority[0].rdtype == T.SOA


def test_srv_for_named_ports_only(view) -> None:  # type: ignore[no-untyped-def]
    a = ask(view, "_http._tcp.web.default.svc.cluster.local.", T.SRV)
    assert texts(a) == ["0 100 80 web.default.svc.cluster.local."]
    assert [r.to_text() for rrset in a.additional for r in rrset] == ["10.96.0.20"]
    assert texts(ask(view, "_dns._udp.web.default.svc.cluster.local.", T.SRV)) == \
        ["0 100 53 web.default.svc.cluster.local."]
    # wrong protocol, unknown name: no such name
    assert ask(view, "_http._udp.web.default.svc.cluster.local.", T.SRV).rcode == dns.rcode.NXDOMAIN
    assert ask(view, "_sctp.web.default.svc.cluster.local.", T.SRV).rcode == dns.rcode.NXDOMAIN
    assert ask(view, "_nope._tcp.web.default.svc.cluster.local.", T.SRV).rcode == dns.rcode.NXDOMAIN
    # the SRV name exists: an A query there is NODATA
    assert ask(view, "_http._tcp.web.default.svc.cluster.local.", T.A).rcode == dns.rcode.NOERROR


def test_headless_one_a_per_ready_endpoint(view) -> None:  # type: ignore[no-untyped-def]
    a = ask(view, "nginx.default.svc.cluster.local.")
    assert texts(a) == ["10.244.0.10", "10.244.0.11", "10.244.0.12", "10.244.0.14"]


def test_headless_without_ready_endpoints_is_nxdomain(view) -> None:  # type: ignore[no-untyped-def]
    assert ask(view, "lonely.default.svc.cluster.local.").rcode == dns.rcode.NXDOMAIN


def test_statefulset_pod_names_and_dashed_endpoint_names(view) -> None:  # type: ignore[no-untyped-def]
    assert texts(ask(view, "web-0.nginx.default.svc.cluster.local.")) == ["10.244.0.10"]
    assert texts(ask(view, "10-244-0-12.nginx.default.svc.cluster.local.")) == ["10.244.0.12"]
    assert ask(view, "web-3.nginx.default.svc.cluster.local.").rcode == dns.rcode.NXDOMAIN  # not ready
    assert ask(view, "web-9.nginx.default.svc.cluster.local.").rcode == dns.rcode.NXDOMAIN


def test_headless_srv_one_per_endpoint_with_target_port(view) -> None:  # type: ignore[no-untyped-def]
    a = ask(view, "_web._tcp.nginx.default.svc.cluster.local.", T.SRV)
    assert texts(a) == ["0 25 8080 10-244-0-12.nginx.default.svc.cluster.local.",
                        "0 25 8080 10-244-0-14.nginx.default.svc.cluster.local.",
                        "0 25 8080 web-0.nginx.default.svc.cluster.local.",
                        "0 25 8080 web-1.nginx.default.svc.cluster.local."]
    glue = {rrset.name.to_text(): [r.to_text() for r in rrset] for rrset in a.additional}
    assert glue["web-0.nginx.default.svc.cluster.local."] == ["10.244.0.10"]


def test_external_name_is_a_cname(view) -> None:  # type: ignore[no-untyped-def]
    a = ask(view, "db.other.svc.cluster.local.")
    assert texts(a) == ["db.example.com."] and a.answer[0].rdtype == T.CNAME
    assert a.external_target == dns.name.from_text("db.example.com.")
    assert ask(view, "db.other.svc.cluster.local.", T.CNAME).external_target is None


def test_cname_into_the_zone_is_chased(view) -> None:  # type: ignore[no-untyped-def]
    a = ask(view, "alias.default.svc.cluster.local.")
    assert [rrset.rdtype for rrset in a.answer] == [T.CNAME, T.A]
    assert texts(a, T.A) == ["10.96.0.20"]


def test_pod_records_insecure_and_disabled(view) -> None:  # type: ignore[no-untyped-def]
    assert texts(ask(view, "10-244-1-7.default.pod.cluster.local.")) == ["10.244.1.7"]
    assert texts(ask(view, "fd00--7.default.pod.cluster.local.", T.AAAA)) == ["fd00::7"]
    assert ask(view, "10-244-1-7.nons.pod.cluster.local.").rcode == dns.rcode.NXDOMAIN
    assert ask(view, "not-an-ip.default.pod.cluster.local.").rcode == dns.rcode.NXDOMAIN
    assert ask(view, "10-244-1-7.default.pod.cluster.local.", pods="disabled").rcode == dns.rcode.NXDOMAIN


def test_ptr_for_service_and_endpoint_ips(view) -> None:  # type: ignore[no-untyped-def]
    assert texts(ask(view, "20.0.96.10.in-addr.arpa.", T.PTR)) == ["web.default.svc.cluster.local."]
    assert texts(ask(view, "10.0.244.10.in-addr.arpa.", T.PTR)) == ["web-0.nginx.default.svc.cluster.local."]
    assert texts(ask(view, "5.0.244.10.in-addr.arpa.", T.PTR)) == ["10-244-0-5.web.default.svc.cluster.local."]
    assert texts(ask(view, dns.reversename.from_address("fd00::22").to_text(), T.PTR)) == \
        ["v6.default.svc.cluster.local."]


def test_unknown_reverse_names_fall_through(view) -> None:  # type: ignore[no-untyped-def]
    miss = ask(view, "1.2.3.4.in-addr.arpa.", T.PTR)
    assert miss.rcode == dns.rcode.NXDOMAIN and miss.fallthrough
    assert miss.authority[0].name.to_text() == "in-addr.arpa."
    parent = ask(view, "0.96.10.in-addr.arpa.", T.PTR)   # a parent of 10.96.0.20: exists, no PTR
    assert (parent.rcode, parent.answer) == (dns.rcode.NOERROR, [])


def test_dns_version_txt_soa_and_ns(view) -> None:  # type: ignore[no-untyped-def]
    assert texts(ask(view, "dns-version.cluster.local.", T.TXT)) == ['"1.1.0"']
    soa = ask(view, "cluster.local.", T.SOA).answer[0][0]
    assert (soa.mname.to_text(), soa.minimum) == ("ns.dns.cluster.local.", 30)
    ns = ask(view, "cluster.local.", T.NS)
    assert texts(ns) == ["ns.dns.cluster.local."] and ns.additional[0][0].to_text() == "10.96.0.10"


def test_names_outside_the_zones_are_not_ours(view) -> None:  # type: ignore[no-untyped-def]
    a = ask(view, "example.com.")
    assert a.outside and a.answer == [] and a.authority == []


def test_changes_move_the_serial_and_rebuild_reverse(view) -> None:  # type: ignore[no-untyped-def]
    serial = view.serial
    assert ask(view, "9.9.96.10.in-addr.arpa.", T.PTR).rcode == dns.rcode.NXDOMAIN
    view.services.add(z.service("new", cluster_ip="10.96.9.9"))
    view.changed()
    assert view.serial > serial
    assert texts(ask(view, "9.9.96.10.in-addr.arpa.", T.PTR)) == ["new.default.svc.cluster.local."]


def test_custom_zone_and_ttl_bounds(view) -> None:  # type: ignore[no-untyped-def]
    a = ask(view, "web.default.svc.k8s.test.", zone="k8s.test", ttl=5)
    assert texts(a) == ["10.96.0.20"] and a.answer[0].ttl == 5
    assert ask(view, "web.default.svc.cluster.local.", zone="k8s.test").outside
    with pytest.raises(ValueError, match="5 to 3600"):
        Resolver(view, ttl=4)
    with pytest.raises(ValueError, match="verified"):
        Resolver(view, pods="verified")
