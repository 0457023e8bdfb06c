"""The nft script: one inet table swapped atomically, per-pod chains reached through verdict maps."""

from __future__ import annotations

from pyk8s.networkpolicy.model import Allow, IPBlock, Pod, PodRules, PortMatch
from pyk8s.networkpolicy.nftables import delete_script, render

WEB = Pod("default", "web", ("10.244.0.5",), {}, "node-1")
CLI = Pod("default", "cli", ("10.244.0.6", "fd00::6"), {}, "node-1")


def lines(script: str) -> list[str]:
    return [line.strip() for line in script.splitlines()]


def test_no_isolated_pod_installs_an_empty_pass_through_table() -> None:
    out = lines(render([]))
    assert out[:3] == ["add table inet pyk8s-netpol", "delete table inet pyk8s-netpol", "table inet pyk8s-netpol {"]
    assert "type filter hook forward priority filter; policy accept;" in out
    assert not [line for line in out if "vmap" in line or "drop" in line]


def test_replies_pass_before_any_policy_check() -> None:
    out = lines(render([PodRules(WEB, ingress=[])]))
    assert out.index("ct state established,related accept") < out.index("ip daddr vmap { 10.244.0.5 : jump ingress-0 }")


def test_default_deny_is_a_chain_that_only_drops() -> None:
    out = lines(render([PodRules(WEB, ingress=[])]))
    chain = out[out.index("chain ingress-0 {"):]
    assert chain[1:4] == ['comment "ingress of default/web"', "counter drop", "}"]


def test_ingress_allows_accept_and_egress_allows_return_so_the_peer_ingress_is_still_checked() -> None:
    rules = PodRules(WEB, ingress=[Allow(("10.244.1.7", "10.244.0.6"), (PortMatch("TCP", 8080),))],
                     egress=[Allow(None, (PortMatch("UDP", 53),))])
    out = lines(render([rules]))
    assert "ip saddr vmap { 10.244.0.5 : jump egress-0 }" in out
    assert "ip saddr { 10.244.1.7, 10.244.0.6 } meta l4proto tcp th dport 8080 accept" in out
    assert "meta l4proto udp th dport 53 return" in out
    # egress is checked first (saddr map), ingress after: both directions of one hop apply.
    assert out.index("ip saddr vmap { 10.244.0.5 : jump egress-0 }") < out.index(
        "ip daddr vmap { 10.244.0.5 : jump ingress-0 }")


def test_ip_block_except_port_ranges_and_protocol_only() -> None:
    rules = PodRules(WEB, ingress=[Allow((IPBlock("10.0.0.0/8", ("10.244.1.0/24", "10.9.0.0/16")),),
                                         (PortMatch("TCP", 8000, 8100), PortMatch("SCTP")))])
    out = lines(render([rules]))
    assert "ip saddr 10.0.0.0/8 ip saddr != { 10.244.1.0/24, 10.9.0.0/16 } meta l4proto tcp th dport 8000-8100 accept" in out
    assert "ip saddr 10.0.0.0/8 ip saddr != { 10.244.1.0/24, 10.9.0.0/16 } meta l4proto sctp accept" in out


def test_any_peer_any_port_is_a_bare_verdict() -> None:
    out = lines(render([PodRules(WEB, ingress=[Allow(None, None)])]))
    chain = out[out.index("chain ingress-0 {"):]
    assert chain[2] == "accept"


def test_ipv6_addresses_get_ip6_matches_and_maps() -> None:
    rules = PodRules(CLI, egress=[Allow(("10.244.0.5", "fd00::5"), None),
                                  Allow((IPBlock("fd00::/64"),), (PortMatch("TCP", 80, 80),))])
    out = lines(render([rules]))
    assert "ip saddr vmap { 10.244.0.6 : jump egress-0 }" in out
    assert "ip6 saddr vmap { fd00::6 : jump egress-0 }" in out
    assert "ip daddr 10.244.0.5 return" in out and "ip6 daddr fd00::5 return" in out
    assert "ip6 daddr fd00::/64 meta l4proto tcp th dport 80 return" in out


def test_delete_script_never_fails_on_a_missing_table() -> None:
    assert delete_script() == "add table inet pyk8s-netpol\ndelete table inet pyk8s-netpol\n"
