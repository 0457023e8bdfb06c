"""NetworkPolicy semantics: who is isolated, what each rule allows (upstream's documented behaviour)."""

from __future__ import annotations

from typing import Any

from pyk8s.networkpolicy.model import Allow, IPBlock, Pod, PortMatch, compute, pod_from_object, policy_types

NS = {"default": {"kubernetes.io/metadata.name": "default"},
      "prod": {"kubernetes.io/metadata.name": "prod", "env": "prod"},
      "dev": {"kubernetes.io/metadata.name": "dev", "env": "dev"}}
WEB = Pod("default", "web", ("10.244.0.5",), {"app": "web"}, "node-1", {"http": (("TCP", 8080),)})
DB = Pod("default", "db", ("10.244.1.5",), {"app": "db"}, "node-2", {"http": (("TCP", 9090),), "sql": (("TCP", 5432),)})
CLI = Pod("default", "cli", ("10.244.0.6",), {"app": "cli"}, "node-1")
PROD_CLI = Pod("prod", "cli", ("10.244.1.7",), {"app": "cli"}, "node-2")
DEV_CLI = Pod("dev", "cli", ("10.244.1.8",), {"app": "cli"}, "node-2")
PODS = [WEB, DB, CLI, PROD_CLI, DEV_CLI]


def policy(name: str, spec: dict[str, Any], ns: str = "default") -> dict[str, Any]:
    return {"metadata": {"namespace": ns, "name": name}, "spec": spec}


def rules_for(policies: list[dict[str, Any]], node: str = "node-1") -> dict[str, Any]:
    return {r.pod.name: r for r in compute(policies, PODS, NS, node)}


def test_pods_no_policy_selects_are_not_isolated() -> None:
    assert rules_for([policy("p", {"podSelector": {"matchLabels": {"app": "nothing"}}})]) == {}


def test_default_deny_ingress_isolates_every_local_pod_for_ingress_only() -> None:
    rules = rules_for([policy("deny", {"podSelector": {}, "policyTypes": ["Ingress"]})])
    assert set(rules) == {"web", "cli"}  # the node-1 pods of the namespace; db is node-2's business
    assert rules["web"].ingress == [] and rules["web"].egress is None


def test_policy_types_default_as_the_api_server_does() -> None:
    assert policy_types({"podSelector": {}}) == ["Ingress"]
    assert policy_types({"podSelector": {}, "egress": [{}]}) == ["Ingress", "Egress"]
    assert policy_types({"podSelector": {}, "policyTypes": ["Egress"]}) == ["Egress"]


def test_allows_of_several_policies_add_up() -> None:
    rules = rules_for([policy("deny", {"podSelector": {}}),
                       policy("allow", {"podSelector": {"matchLabels": {"app": "web"}},
                                        "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "cli"}}}]}]})])
    assert rules["web"].ingress == [Allow(("10.244.0.6",), None)]
    assert rules["web"].policies == ["default/allow", "default/deny"]
    assert rules["cli"].ingress == []


def test_empty_rule_allows_everything() -> None:
    rules = rules_for([policy("all", {"podSelector": {"matchLabels": {"app": "web"}}, "ingress": [{}]})])
    assert rules["web"].ingress == [Allow(None, None)]


def test_namespace_selector_alone_and_with_pod_selector() -> None:
    alone = rules_for([policy("p", {"podSelector": {"matchLabels": {"app": "web"}}, "ingress": [{"from": [
        {"namespaceSelector": {"matchLabels": {"env": "prod"}}}]}]})])
    assert alone["web"].ingress == [Allow(("10.244.1.7",), None)]
    both = rules_for([policy("p", {"podSelector": {"matchLabels": {"app": "web"}}, "ingress": [{"from": [
        {"namespaceSelector": {"matchExpressions": [{"key": "env", "operator": "Exists"}]},
         "podSelector": {"matchLabels": {"app": "cli"}}}]}]})])
    assert both["web"].ingress == [Allow(("10.244.1.7", "10.244.1.8"), None)]
    # Two peers (an OR) instead of one with both selectors: all of prod, plus cli pods of default.
    either = rules_for([policy("p", {"podSelector": {"matchLabels": {"app": "web"}}, "ingress": [{"from": [
        {"namespaceSelector": {"matchLabels": {"env": "prod"}}}, {"podSelector": {"matchLabels": {"app": "cli"}}}]}]})])
    assert either["web"].ingress == [Allow(("10.244.0.6", "10.244.1.7"), None)]


def test_a_peer_selecting_no_pod_allows_nothing() -> None:
    rules = rules_for([policy("p", {"podSelector": {"matchLabels": {"app": "web"}}, "ingress": [{"from": [
        {"podSelector": {"matchLabels": {"app": "ghost"}}}]}]})])
    assert rules["web"].ingress == []


def test_ip_block_with_except_and_ports_with_end_port() -> None:
    rules = rules_for([policy("p", {"podSelector": {"matchLabels": {"app": "web"}}, "ingress": [{
        "from": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.244.1.0/24"]}}],
        "ports": [{"protocol": "TCP", "port": 8000, "endPort": 8100}, {"protocol": "UDP"}]}]})])
    assert rules["web"].ingress == [Allow((IPBlock("10.0.0.0/8", ("10.244.1.0/24",)),),
                                          (PortMatch("TCP", 8000, 8100), PortMatch("UDP")))]


def test_named_ingress_port_resolves_on_the_target_pod() -> None:
    spec = {"podSelector": {}, "ingress": [{"ports": [{"protocol": "TCP", "port": "http"}]}]}
    rules = rules_for([policy("p", spec)], node="node-2")
    assert rules["db"].ingress == [Allow(None, (PortMatch("TCP", 9090),))]
    node1 = rules_for([policy("p", spec)])
    assert node1["web"].ingress == [Allow(None, (PortMatch("TCP", 8080),))]
    assert node1["cli"].ingress == []  # no port named http: the rule allows it nothing (not everything)


def test_named_egress_port_resolves_per_destination_pod() -> None:
    rules = rules_for([policy("p", {"podSelector": {"matchLabels": {"app": "cli"}}, "policyTypes": ["Egress"],
                                    "egress": [{"to": [{"podSelector": {}}],
                                                "ports": [{"protocol": "TCP", "port": "http"},
                                                          {"protocol": "UDP", "port": 53}]}]})])
    assert rules["cli"].ingress is None
    assert rules["cli"].egress == [Allow(("10.244.0.5", "10.244.0.6", "10.244.1.5"), (PortMatch("UDP", 53),)),
                                   Allow(("10.244.0.5",), (PortMatch("TCP", 8080),)),
                                   Allow(("10.244.1.5",), (PortMatch("TCP", 9090),))]


def test_egress_deny_all() -> None:
    rules = rules_for([policy("p", {"podSelector": {}, "policyTypes": ["Egress"]})])
    assert rules["web"].egress == [] and rules["web"].ingress is None


def test_pod_from_object_skips_pods_without_a_pod_network_address() -> None:
    base = {"metadata": {"namespace": "default", "name": "p", "labels": {"a": "b"}},
            "spec": {"nodeName": "n", "containers": [{"name": "c", "ports": [{"name": "http", "containerPort": 80}]}]},
            "status": {"phase": "Running", "podIP": "10.244.0.9", "podIPs": [{"ip": "10.244.0.9"}]}}
    pod = pod_from_object(base)
    assert pod is not None and pod.ips == ("10.244.0.9",) and pod.named_ports == {"http": (("TCP", 80),)}
    assert pod_from_object({**base, "status": {"phase": "Pending"}}) is None
    assert pod_from_object({**base, "spec": {**base["spec"], "hostNetwork": True}}) is None
    assert pod_from_object({**base, "status": {**base["status"], "phase": "Succeeded"}}) is None
