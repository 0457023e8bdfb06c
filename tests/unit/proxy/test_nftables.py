"""The nftables ruleset for given states (text checks of what ``nft -f`` is sent)."""

from __future__ import annotations

import pytest

from pyk8s.proxy.backends import nftables
from pyk8s.proxy.backends.names import nft_base, nft_endpoint_base
from pyk8s.proxy.interface import Endpoint, ProxyConfig, ServicePort, ServicePortName

CONFIG = ProxyConfig(node_name="node-a", node_ips=("192.168.1.2",), cluster_cidr="10.244.0.0/16")
WEB = ServicePortName("default", "web", "http", "TCP")
E1, E2 = Endpoint("10.244.0.5", 8080, node="node-a", local=True), Endpoint("10.244.1.5", 8080, node="node-b")
BASE = nft_base(WEB)


def web(*eps: Endpoint, **kw: object) -> ServicePort:
    return ServicePort(WEB, "10.96.0.10", 80, endpoints=eps, **kw)  # type: ignore[arg-type]


def test_chain_names_are_upstreams_shape() -> None:
    assert BASE.endswith("-default/web/tcp/http") and len(BASE.split("-")[0]) == 8
    assert nft_endpoint_base(WEB, E1).endswith("-default/web/tcp/http__10.244.0.5/8080")


def test_cluster_ip_dispatch_by_map_and_random_pick() -> None:
    r = nftables.render_service(web(E1, E2), CONFIG)
    assert r.elements["service-ips"] == {"10.96.0.10 . tcp . 80": f"goto service-{BASE}"}
    rules = r.chains[f"service-{BASE}"]
    assert rules[0] == ("ip daddr 10.96.0.10 tcp dport 80 ip saddr != 10.244.0.0/16 jump mark-for-masquerade")
    e1, e2 = nft_endpoint_base(WEB, E1), nft_endpoint_base(WEB, E2)
    assert rules[1:] == [f"numgen random mod 2 == 0 goto endpoint-{e1}", f"goto endpoint-{e2}"]
    assert r.chains[f"endpoint-{e1}"] == ["ip saddr 10.244.0.5 jump mark-for-masquerade",  # hairpin
                                          "meta l4proto tcp dnat to 10.244.0.5:8080"]
    assert r.sets == {}


def test_random_pick_is_uniform_one_rule_per_endpoint() -> None:
    e3 = Endpoint("10.244.2.5", 8080)
    rules = nftables.render_service(web(E1, E2, e3), CONFIG).chains[f"service-{BASE}"][1:]
    assert [r.partition("goto ")[0].strip() for r in rules] == ["numgen random mod 3 == 0",
                                                               "numgen random mod 2 == 0", ""]
    assert "vmap" not in " ".join(rules)  # no anonymous map per Service (see nftables._pick)


def test_session_affinity_uses_one_timeout_set_per_endpoint() -> None:
    r = nftables.render_service(web(E1, E2, affinity_timeout=600), CONFIG)
    e1 = nft_endpoint_base(WEB, E1)
    assert r.sets[f"affinity-{e1}"] == 600
    assert r.chains[f"service-{BASE}"][1] == f"ip saddr @affinity-{e1} goto endpoint-{e1}"
    assert f"update @affinity-{e1} {{ ip saddr }}" in r.chains[f"endpoint-{e1}"]


def test_no_endpoints_rejects_and_internal_local_drops() -> None:
    r = nftables.render_service(web(), CONFIG)
    assert r.elements["no-endpoint-services"] == {"10.96.0.10 . tcp . 80": "goto reject-chain"}
    assert r.elements["service-ips"] == {} and f"service-{BASE}" not in r.chains
    r = nftables.render_service(web(E2, internal_local=True), CONFIG)
    assert r.elements["no-endpoint-services"] == {"10.96.0.10 . tcp . 80": "drop"}


def test_node_port_external_ip_and_cluster_policy_masquerades() -> None:
    r = nftables.render_service(web(E1, node_port=30080, external_ips=("192.0.2.1",)), CONFIG)
    assert r.elements["service-nodeports"] == {"tcp . 30080": f"goto external-{BASE}"}
    assert r.elements["service-ips"]["192.0.2.1 . tcp . 80"] == f"goto external-{BASE}"
    assert r.chains[f"external-{BASE}"] == ["jump mark-for-masquerade", f"goto service-{BASE}"]
    r = nftables.render_service(web(node_port=30080), CONFIG)
    assert r.elements["no-endpoint-nodeports"] == {"tcp . 30080": "goto reject-chain"}


def test_external_policy_local_keeps_the_source_for_outsiders() -> None:
    r = nftables.render_service(web(E1, E2, node_port=30080, external_local=True), CONFIG)
    assert r.chains[f"external-{BASE}"] == [
        f"ip saddr 10.244.0.0/16 goto service-{BASE}", "fib saddr type local jump mark-for-masquerade",
        f"fib saddr type local goto service-{BASE}", f"goto local-{BASE}"]
    e1 = nft_endpoint_base(WEB, E1)
    assert r.chains[f"local-{BASE}"] == [f"goto endpoint-{e1}"]
    r = nftables.render_service(web(E2, node_port=30080, external_local=True), CONFIG)
    assert r.chains[f"local-{BASE}"] == ["drop"]  # no endpoint on this node


def test_nodeport_ips_never_include_loopback() -> None:
    cfg = ProxyConfig(node_name="n", node_ips=("192.168.1.2",), nodeport_ips=("127.0.0.1", "10.0.0.1"))
    assert nftables.nodeport_ips(cfg) == ["10.0.0.1"]
    assert nftables.nodeport_ips(CONFIG) == ["192.168.1.2"]


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    scripts: list[str] = []
    monkeypatch.setattr(nftables, "run_nft", scripts.append)
    return scripts


def test_first_sync_recreates_the_table_and_hooks_base_chains(sent: list[str]) -> None:
    p = nftables.NftablesProvider(CONFIG)
    p.sync({WEB: web(E1)}, None)
    script = sent[-1]
    assert "delete table ip kube-proxy" in script
    assert ("add chain ip kube-proxy nat-prerouting { type nat hook prerouting priority dstnat ; policy accept ; }"
            in script)
    assert "add rule ip kube-proxy services ip daddr . meta l4proto . th dport vmap @service-ips" in script
    assert "add element ip kube-proxy nodeport-ips { 192.168.1.2 }" in script
    assert "masquerade fully-random" in script


def test_incremental_sync_sends_only_the_difference(sent: list[str]) -> None:
    p = nftables.NftablesProvider(CONFIG)
    other = ServicePortName("default", "other", "", "TCP")
    p.sync({WEB: web(E1, E2), other: ServicePort(other, "10.96.0.11", 80, endpoints=(E2,))}, None)
    p.sync({WEB: web(E1), other: ServicePort(other, "10.96.0.11", 80, endpoints=(E2,))}, {WEB})
    script = sent[-1]
    assert "delete table" not in script and "other" not in script
    e2 = nft_endpoint_base(WEB, E2)
    lines = script.splitlines()
    assert f"delete chain ip kube-proxy endpoint-{e2}" in lines
    # The service chain stops pointing at the endpoint before that endpoint's chain goes.
    assert lines.index(f"flush chain ip kube-proxy service-{BASE}") < lines.index(f"delete chain ip kube-proxy endpoint-{e2}")
    assert p.sync({WEB: web(E1), other: ServicePort(other, "10.96.0.11", 80, endpoints=(E2,))}, set()) == 0


def test_service_losing_its_endpoints_moves_to_the_reject_map(sent: list[str]) -> None:
    p = nftables.NftablesProvider(CONFIG)
    p.sync({WEB: web(E1)}, None)
    p.sync({WEB: web()}, {WEB})
    lines = sent[-1].splitlines()
    assert "delete element ip kube-proxy service-ips { 10.96.0.10 . tcp . 80 }" in lines
    assert "add element ip kube-proxy no-endpoint-services { 10.96.0.10 . tcp . 80 : goto reject-chain }" in lines
    assert lines.index("delete element ip kube-proxy service-ips { 10.96.0.10 . tcp . 80 }") < \
        lines.index(f"delete chain ip kube-proxy service-{BASE}")


def test_full_resync_rewrites_everything_but_keeps_affinity_sets(sent: list[str]) -> None:
    p = nftables.NftablesProvider(CONFIG)
    state = {WEB: web(E1, affinity_timeout=60)}
    p.sync(state, None)
    p.sync(state, None)
    script = sent[-1]
    assert "delete table" not in script and "delete set" not in script and "flush set ip kube-proxy affinity" not in script
    assert "flush map ip kube-proxy service-ips" in script
    assert f"add rule ip kube-proxy service-{BASE} goto endpoint-" in script


def test_a_failed_write_makes_the_next_sync_start_over(monkeypatch: pytest.MonkeyPatch) -> None:
    scripts: list[str] = []

    def fail(script: str) -> None:
        scripts.append(script)
        raise nftables.ProxyError("nft -f failed")

    p = nftables.NftablesProvider(CONFIG)
    monkeypatch.setattr(nftables, "run_nft", fail)
    with pytest.raises(nftables.ProxyError):
        p.sync({WEB: web(E1)}, None)
    monkeypatch.setattr(nftables, "run_nft", scripts.append)
    p.sync({WEB: web(E1)}, set())
    assert "delete table ip kube-proxy" in scripts[-1]


def lb(*eps: Endpoint, ranges: tuple[str, ...] = ("198.51.100.0/24",), **kw: object) -> ServicePort:
    return web(*eps, node_port=30080, load_balancer_ips=("192.168.1.50",), source_ranges=ranges, **kw)


def test_source_ranges_filter_the_load_balancer_ip_before_dnat() -> None:
    r = nftables.render_service(lb(E1, E2), CONFIG)
    assert r.chains[f"firewall-{BASE}"] == ["ip saddr != { 198.51.100.0/24 } drop"]
    assert r.elements["firewall-ips"] == {"192.168.1.50 . tcp . 80": f"goto firewall-{BASE}"}
    # The Service itself is still dispatched as usual; only the LB address is filtered, not the NodePort.
    assert r.elements["service-ips"]["192.168.1.50 . tcp . 80"] == f"goto external-{BASE}"
    assert "tcp . 30080" not in " ".join(r.elements["firewall-ips"])
    fixed = nftables.fixed_chains(CONFIG)
    assert fixed["filter-prerouting"] == ["ct state new jump firewall-check"]
    assert "ct state new jump firewall-check" in fixed["filter-output"]
    assert fixed["firewall-check"] == ["ip daddr . meta l4proto . th dport vmap @firewall-ips"]
    assert "priority -110" in nftables.BASE_CHAINS["filter-prerouting"]  # before dstnat (-100)


def test_source_ranges_holding_a_node_ip_also_admit_the_load_balancer_ips() -> None:
    r = nftables.render_service(lb(E1, ranges=("192.168.1.0/24", "198.51.100.0/24")), CONFIG)
    assert r.chains[f"firewall-{BASE}"] == ["ip saddr != { 192.168.1.0/24, 198.51.100.0/24, 192.168.1.50 } drop"]


def test_source_ranges_without_endpoints_still_filter_and_rules_go_with_the_service(sent: list[str]) -> None:
    r = nftables.render_service(lb(), CONFIG)
    assert r.elements["firewall-ips"] == {"192.168.1.50 . tcp . 80": f"goto firewall-{BASE}"}
    p = nftables.NftablesProvider(CONFIG)
    p.sync({WEB: lb(E1)}, None)
    assert f"add element ip kube-proxy firewall-ips {{ 192.168.1.50 . tcp . 80 : goto firewall-{BASE} }}" in sent[-1]
    p.sync({}, {WEB})
    lines = sent[-1].splitlines()
    assert lines.index("delete element ip kube-proxy firewall-ips { 192.168.1.50 . tcp . 80 }") < \
        lines.index(f"delete chain ip kube-proxy firewall-{BASE}")
