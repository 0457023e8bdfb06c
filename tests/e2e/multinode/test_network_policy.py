"""NetworkPolicy enforced by each node's agent (nftables), for traffic on one node and across nodes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from pyk8s.testing.multinode import MultiNodeCluster
from tests.e2e.multinode.kit import Kit


@pytest.fixture(scope="module")
def np_kit(multinode: MultiNodeCluster) -> Iterator[Kit]:
    """The module's pods, all started at once: in a namespace of its own, server web (app=web) on node-1 and
    clients near (node-1) and far (node-2); in a second namespace labelled team=friends, guest (node-2) and
    stranger (node-1)."""
    tag = uuid.uuid4().hex[:6]
    ns, other = f"mn-np-{tag}", f"mn-friends-{tag}"
    multinode.kubectl("create", "namespace", ns)
    multinode.kubectl("create", "namespace", other)
    kit = Kit(multinode, ns)
    kit.other = other
    try:
        multinode.kubectl("label", "namespace", other, "team=friends")
        kit.pod("web", "node-1", {"app": "web"}, server=True)
        kit.pod("near", "node-1", {"role": "near"}, server=False)
        kit.pod("far", "node-2", {"role": "far"}, server=False)
        kit.pod("guest", "node-2", {"role": "guest"}, server=False, namespace=other)
        kit.pod("stranger", "node-1", {"role": "stranger"}, server=False, namespace=other)
        kit.wait_ready("web", "near", "far")
        kit.wait_ready("guest", "stranger", namespace=other)
        yield kit
    finally:
        for name in (ns, other):
            multinode.kubectl("delete", "namespace", name, "--wait=false", check=False)


@pytest.fixture
def kit(np_kit: Kit) -> Iterator[Kit]:
    """The module's namespace with no policy at the start and end of each test."""
    yield np_kit
    np_kit.kubectl("delete", "networkpolicy", "--all")


def _servers_and_clients(kit: Kit) -> str:
    """The server's URL, once both clients reach it (no policy left from an earlier test)."""
    url = f"http://{kit.ip('web')}:8080/"
    for client in ("near", "far"):
        kit.wait_reachable(client, url)
    return url


def test_default_deny_ingress_then_allow_from_a_pod_selector(kit: Kit) -> None:
    url = _servers_and_clients(kit)
    kit.policy("default-deny", {"podSelector": {}, "policyTypes": ["Ingress"]})
    kit.wait_blocked("near", url)
    kit.wait_blocked("far", url)
    # Allows add up: the far client by label, on the named port.
    kit.policy("allow-far", {"podSelector": {"matchLabels": {"app": "web"}},
                             "ingress": [{"from": [{"podSelector": {"matchLabels": {"role": "far"}}}],
                                          "ports": [{"port": "http"}]}]})
    assert kit.wait_reachable("far", url) == "web"
    assert kit.fetch("near", url, timeout=1) is None
    # A port the rule does not name stays closed even for the allowed client.
    kit.policy("allow-far", {"podSelector": {"matchLabels": {"app": "web"}},
                             "ingress": [{"from": [{"podSelector": {"matchLabels": {"role": "far"}}}],
                                          "ports": [{"port": 9000, "endPort": 9100}]}]})
    kit.wait_blocked("far", url)
    # Removing the policies opens the pod again.
    kit.kubectl("delete", "networkpolicy", "default-deny", "allow-far")
    kit.wait_reachable("near", url)


def test_allow_from_a_namespace_selector_and_combined_selectors(kit: Kit) -> None:
    url = _servers_and_clients(kit)
    other = kit.other
    # Both selectors in one peer: pods labelled role=guest in namespaces labelled team=friends.
    kit.policy("from-friends", {"podSelector": {"matchLabels": {"app": "web"}}, "ingress": [{"from": [
        {"namespaceSelector": {"matchLabels": {"team": "friends"}},
         "podSelector": {"matchLabels": {"role": "guest"}}}]}]})
    kit.wait_blocked("far", url)  # the policy's own namespace is not selected
    assert kit.wait_reachable("guest", url, namespace=other) == "web"
    assert kit.fetch("stranger", url, namespace=other, timeout=1) is None
    # namespaceSelector alone: every pod of the selected namespaces.
    kit.policy("from-friends", {"podSelector": {"matchLabels": {"app": "web"}}, "ingress": [{"from": [
        {"namespaceSelector": {"matchLabels": {"team": "friends"}}}]}]})
    assert kit.wait_reachable("stranger", url, namespace=other) == "web"
    assert kit.fetch("near", url, timeout=1) is None


def test_ip_block_with_except(kit: Kit, multinode: MultiNodeCluster) -> None:
    url = _servers_and_clients(kit)
    far_cidr = multinode.kubectl("get", "node", "node-2", "-o", "jsonpath={.spec.podCIDR}").stdout.strip()
    kit.policy("cluster-but-node-2", {"podSelector": {"matchLabels": {"app": "web"}}, "ingress": [{"from": [
        {"ipBlock": {"cidr": "10.244.0.0/16", "except": [far_cidr]}}]}]})
    kit.wait_blocked("far", url)
    assert kit.fetch("near", url) == "web"


def test_egress_deny_and_allow(kit: Kit) -> None:
    url = _servers_and_clients(kit)
    kit.policy("far-no-egress", {"podSelector": {"matchLabels": {"role": "far"}}, "policyTypes": ["Egress"]})
    kit.wait_blocked("far", url)
    assert kit.fetch("near", url) == "web"  # only the selected pod is isolated
    kit.policy("far-to-web", {"podSelector": {"matchLabels": {"role": "far"}}, "policyTypes": ["Egress"],
                              "egress": [{"to": [{"podSelector": {"matchLabels": {"app": "web"}}}],
                                          "ports": [{"protocol": "TCP", "port": "http"}]}]})
    assert kit.wait_reachable("far", url) == "web"
