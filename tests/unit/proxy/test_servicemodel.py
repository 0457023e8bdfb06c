from __future__ import annotations

from pyk8s.proxy.servicemodel import service_ports
from tests.unit.proxy.fixtures import NODE, endpoint, service, slice_


def test_cluster_ip_port_with_its_endpoints() -> None:
    [sp] = service_ports(service("web", "10.96.0.10"), [slice_("web", endpoint("10.244.0.5"),
                                                                endpoint("10.244.1.5", node="other"))], NODE)
    assert (str(sp.name), sp.cluster_ip, sp.port, sp.protocol) == ("default/web:http", "10.96.0.10", 80, "TCP")
    assert [(e.ip, e.port, e.local) for e in sp.endpoints] == [("10.244.0.5", 8080, True), ("10.244.1.5", 8080, False)]
    assert sp.node_port == 0 and sp.affinity_timeout == 0 and not sp.has_external


def test_headless_and_external_name_services_are_not_proxied() -> None:
    assert service_ports(service("h", "None"), [], NODE) == []
    assert service_ports(service("x", "", type="ExternalName", externalName="example.com"), [], NODE) == []


def test_slice_ports_match_by_name_and_protocol() -> None:
    svc = service("dns", "10.96.0.10", ports=[{"name": "dns", "port": 53, "protocol": "UDP"},
                                               {"name": "dns-tcp", "port": 53, "protocol": "TCP"}])
    sl = slice_("dns", endpoint("10.244.0.7"), ports=[{"name": "dns", "port": 5353, "protocol": "UDP"},
                                                      {"name": "dns-tcp", "port": 5354, "protocol": "TCP"}])
    udp, tcp = service_ports(svc, [sl], NODE)
    assert (udp.protocol, udp.endpoints[0].port) == ("UDP", 5353)
    assert (tcp.protocol, tcp.endpoints[0].port) == ("TCP", 5354)


def test_ready_endpoints_first_then_serving_terminating_as_fallback() -> None:
    eps = [endpoint("10.244.0.5"), endpoint("10.244.0.6", ready=False, serving=True, terminating=True)]
    [sp] = service_ports(service("web", "10.96.0.10"), [slice_("web", *eps)], NODE)
    assert [e.ip for e in sp.cluster_endpoints()] == ["10.244.0.5"]
    [sp] = service_ports(service("web", "10.96.0.10"), [slice_("web", *eps[1:])], NODE)
    assert [e.ip for e in sp.cluster_endpoints()] == ["10.244.0.6"]
    not_serving = endpoint("10.244.0.7", ready=False, serving=False, terminating=True)
    [sp] = service_ports(service("web", "10.96.0.10"), [slice_("web", not_serving)], NODE)
    assert sp.cluster_endpoints() == []


def test_node_port_external_ips_and_load_balancer_ingress() -> None:
    svc = service("lb", "10.96.0.11", type="LoadBalancer", externalIPs=["192.0.2.1"],
                  ports=[{"name": "http", "port": 80, "nodePort": 30080, "protocol": "TCP"}])
    svc["status"] = {"loadBalancer": {"ingress": [{"ip": "192.0.2.9"}, {"ip": "192.0.2.10", "ipMode": "Proxy"},
                                                  {"hostname": "lb.example"}]}}
    [sp] = service_ports(svc, [], NODE)
    assert (sp.node_port, sp.external_ips, sp.load_balancer_ips) == (30080, ("192.0.2.1",), ("192.0.2.9",))
    # A ClusterIP Service never opens a node port, whatever its ports say.
    [sp] = service_ports(service("c", "10.96.0.12", ports=[{"name": "", "port": 80, "nodePort": 30081}]), [], NODE)
    assert sp.node_port == 0


def test_session_affinity_timeout_defaults_to_three_hours() -> None:
    [sp] = service_ports(service("s", "10.96.0.13", sessionAffinity="ClientIP"), [], NODE)
    assert sp.affinity_timeout == 10800
    cfg = {"clientIP": {"timeoutSeconds": 60}}
    [sp] = service_ports(service("s", "10.96.0.13", sessionAffinity="ClientIP", sessionAffinityConfig=cfg), [], NODE)
    assert sp.affinity_timeout == 60


def test_traffic_policies() -> None:
    eps = slice_("p", endpoint("10.244.0.5"), endpoint("10.244.1.5", node="other"))
    [sp] = service_ports(service("p", "10.96.0.14", externalTrafficPolicy="Local"), [eps], NODE)
    assert not sp.external_local  # only externally reachable Services have an external policy
    svc = service("p", "10.96.0.14", type="LoadBalancer", externalTrafficPolicy="Local", healthCheckNodePort=32000,
                  ports=[{"name": "http", "port": 80, "nodePort": 30082}])
    [sp] = service_ports(svc, [eps], NODE)
    assert sp.external_local and sp.health_check_node_port == 32000
    assert [e.ip for e in sp.local_endpoints()] == ["10.244.0.5"]
    assert len(sp.cluster_endpoints()) == 2
    [sp] = service_ports(service("p", "10.96.0.14", internalTrafficPolicy="Local"), [eps], NODE)
    assert [e.ip for e in sp.cluster_endpoints()] == ["10.244.0.5"]


def test_load_balancer_source_ranges_are_normalised_ipv4_networks() -> None:
    svc = service("lb", "10.96.0.30", type="LoadBalancer",
                  loadBalancerSourceRanges=[" 192.0.2.7/24", "198.51.100.9/32", "2001:db8::/64", "192.0.2.0/24"],
                  ports=[{"name": "http", "port": 80, "nodePort": 30090}])
    svc["status"] = {"loadBalancer": {"ingress": [{"ip": "192.168.1.2"}]}}
    [sp] = service_ports(svc, [], NODE)
    assert sp.source_ranges == ("192.0.2.0/24", "198.51.100.9/32")
    assert sp.uses_firewall


def test_source_ranges_apply_only_to_load_balancers_with_an_address() -> None:
    np = service("np", "10.96.0.31", type="NodePort", loadBalancerSourceRanges=["192.0.2.0/24"],
                 ports=[{"name": "http", "port": 80, "nodePort": 30091}])
    assert service_ports(np, [], NODE)[0].source_ranges == ()
    pending = service("lb", "10.96.0.30", type="LoadBalancer", loadBalancerSourceRanges=["192.0.2.0/24"],
                      ports=[{"name": "http", "port": 80, "nodePort": 30090}])
    [sp] = service_ports(pending, [], NODE)
    assert sp.source_ranges == ("192.0.2.0/24",) and not sp.uses_firewall
