"""Roles for pyk8s's cluster add-ons that upstream ships outside kube-apiserver's default policy.

* Cluster DNS runs as ServiceAccount ``kube-system/coredns`` with kubeadm's
  ``system:coredns`` ClusterRole (read Services, EndpointSlices, Endpoints,
  Pods, Namespaces), plus a Role in kube-system to keep the ``kube-dns``
  Service and the EndpointSlices that point at it (pyk8s's DNS publishes
  itself; kubeadm's CoreDNS Deployment has a Service made for it).
* The ingress controller runs as ``kube-system/pyk8s-ingress`` with what
  ingress-nginx's ClusterRole grants (read Ingresses, IngressClasses,
  Services, EndpointSlices, Secrets; write Ingress status; events) plus
  creating its IngressClass, and a kube-system Role for its publish Service
  ``pyk8s-ingress`` and that Service's EndpointSlices.
* The service proxy is ``system:kube-proxy`` with upstream's ``system:node-proxier``.
* The NetworkPolicy agent runs inside the kubelet's process with the node's
  credentials (kube-router-style agents have a ServiceAccount of their own):
  ``pyk8s:node-network-policy`` lets ``system:nodes`` read what it enforces
  (pods, namespaces, NetworkPolicies).
"""

from __future__ import annotations

from pyk8s.apiserver.authorization.bootstrappolicy import (
    CORE,
    DISCOVERY,
    NETWORKING,
    RBAC_GROUP,
    READ,
    Obj,
    _meta,
    cluster_binding,
    cluster_role,
    events_rule,
    rule,
    subject,
)

DNS_ACCOUNT = "coredns"
INGRESS_ACCOUNT = "pyk8s-ingress"
WRITE_ONE = ("get", "patch", "update", "delete")
WRITE_SLICES = ("get", "list", "watch", "create", "patch", "update", "delete")


def cluster_roles() -> list[Obj]:
    return [
        cluster_role("system:coredns", [
            rule(("list", "watch"), CORE, ("endpoints", "services", "pods", "namespaces")),
            rule(("list", "watch"), DISCOVERY, "endpointslices"),
        ]),
        cluster_role("pyk8s:node-network-policy", [
            rule(READ, CORE, ("pods", "namespaces")),
            rule(READ, NETWORKING, "networkpolicies"),
        ]),
        cluster_role("pyk8s:ingress-controller", [
            rule(READ, NETWORKING, "ingresses"),
            rule(READ + ("create",), NETWORKING, "ingressclasses"),
            rule(("get", "update", "patch"), NETWORKING, "ingresses/status"),
            rule(("list", "watch"), CORE, ("services", "secrets", "endpoints")),
            rule(("list", "watch"), DISCOVERY, "endpointslices"),
            rule("get", CORE, "nodes"),
            events_rule(),
        ]),
    ]


def cluster_role_bindings() -> list[Obj]:
    return [
        cluster_binding("system:coredns", [subject("ServiceAccount", DNS_ACCOUNT, "kube-system")]),
        cluster_binding("pyk8s:ingress-controller", [subject("ServiceAccount", INGRESS_ACCOUNT, "kube-system")]),
        cluster_binding("pyk8s:node-network-policy", [subject("Group", "system:nodes")]),
    ]


def _role(name: str, service: str) -> Obj:
    return {"apiVersion": f"{RBAC_GROUP}/v1", "kind": "Role", "metadata": _meta(name, "kube-system"),
            "rules": [rule(WRITE_ONE, CORE, "services", names=(service,)),
                      rule(WRITE_SLICES, DISCOVERY, "endpointslices")]}


def _binding(name: str, account: str) -> Obj:
    return {"apiVersion": f"{RBAC_GROUP}/v1", "kind": "RoleBinding", "metadata": _meta(name, "kube-system"),
            "roleRef": {"apiGroup": RBAC_GROUP, "kind": "Role", "name": name},
            "subjects": [subject("ServiceAccount", account, "kube-system")]}


def namespace_roles() -> list[Obj]:
    return [_role("pyk8s:dns-publisher", "kube-dns"), _role("pyk8s:ingress-publisher", "pyk8s-ingress")]


def namespace_role_bindings() -> list[Obj]:
    return [_binding("pyk8s:dns-publisher", DNS_ACCOUNT), _binding("pyk8s:ingress-publisher", INGRESS_ACCOUNT)]
