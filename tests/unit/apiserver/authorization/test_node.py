from __future__ import annotations

import asyncio
from typing import Any

from pyk8s.apiserver.authorization.attributes import Attributes
from pyk8s.apiserver.authorization.decision import Decision
from pyk8s.apiserver.authorization.node import NodeAuthorizer
from pyk8s.apiserver.authorization.podrefs import pod_refs
from pyk8s.apiserver.filters.authn import UserInfo

NODE = UserInfo("system:node:n1", ("system:nodes", "system:authenticated"))
PODS = {("ns", "web"): "n1", ("ns", "elsewhere"): "n2"}
USES = {("secrets", "ns", "s1"), ("configmaps", "ns", "c1"), ("serviceaccounts", "ns", "sa1"),
        ("persistentvolumeclaims", "ns", "claim"), ("persistentvolumes", "", "pv1")}


class FakeGraph:
    async def uses(self, node: str, kind: str, namespace: str, name: str) -> bool:
        return node == "n1" and (kind, namespace, name) in USES

    async def pod_node(self, namespace: str, name: str) -> str | None:
        return PODS.get((namespace, name))


def decide(verb: str, resource: str, *, ns: str = "", name: str = "", sub: str = "", group: str = "",
           user: UserInfo = NODE) -> tuple[Decision, str]:
    attrs = Attributes(user, verb, api_group=group, resource=resource, subresource=sub, namespace=ns, name=name)
    return asyncio.run(NodeAuthorizer(FakeGraph()).authorize(attrs))  # type: ignore[arg-type]


def test_reads_only_what_its_pods_use() -> None:
    assert decide("get", "secrets", ns="ns", name="s1")[0] is Decision.ALLOW
    assert decide("get", "secrets", ns="ns", name="s2") == (
        Decision.NO_OPINION, "no relationship found between node 'n1' and this object")
    assert decide("list", "secrets", ns="ns") == (Decision.NO_OPINION, "No Object name found")
    assert decide("update", "secrets", ns="ns", name="s1") == (Decision.NO_OPINION,
                                                                "can only read resources of this type")
    assert decide("get", "configmaps", ns="ns", name="c1")[0] is Decision.ALLOW
    assert decide("get", "persistentvolumes", name="pv1")[0] is Decision.ALLOW
    assert decide("list", "persistentvolumeclaims", ns="ns")[1] == "can only get individual resources of this type"
    assert decide("create", "serviceaccounts", ns="ns", name="sa1", sub="token")[0] is Decision.ALLOW
    assert decide("create", "serviceaccounts", ns="ns", name="other", sub="token")[0] is Decision.NO_OPINION


def test_own_lease_node_and_pods_only() -> None:
    lease = "coordination.k8s.io"
    assert decide("update", "leases", ns="kube-node-lease", name="n1", group=lease)[0] is Decision.ALLOW
    assert decide("update", "leases", ns="kube-node-lease", name="n2", group=lease) == (
        Decision.NO_OPINION, "can only access node lease with the same name as the requesting node")
    assert decide("patch", "nodes", name="n1", sub="status")[0] is Decision.ALLOW
    assert decide("patch", "nodes", name="n2", sub="status") == (
        Decision.NO_OPINION, 'node "n1" is not allowed to modify node "n2"')
    assert decide("update", "pods", ns="ns", name="web", sub="status")[0] is Decision.ALLOW
    assert decide("update", "pods", ns="ns", name="elsewhere", sub="status") == (
        Decision.NO_OPINION, 'node "n1" can only update pod status for pods with spec.nodeName set to itself')
    assert decide("delete", "pods", ns="ns", name="elsewhere")[0] is Decision.NO_OPINION


def test_static_node_rules_and_other_users() -> None:
    assert decide("list", "pods")[0] is Decision.ALLOW
    assert decide("watch", "services")[0] is Decision.ALLOW
    assert decide("list", "namespaces") == (Decision.NO_OPINION, "")
    not_a_node = UserInfo("system:node:n1", ("system:authenticated",))
    assert decide("list", "pods", user=not_a_node) == (Decision.NO_OPINION, "")


def test_pod_references() -> None:
    pod: dict[str, Any] = {"metadata": {"name": "p"}, "spec": {
        "serviceAccountName": "sa",
        "imagePullSecrets": [{"name": "pull"}],
        "containers": [{"env": [{"valueFrom": {"secretKeyRef": {"name": "env-s"}}},
                                {"valueFrom": {"configMapKeyRef": {"name": "env-c"}}}],
                        "envFrom": [{"secretRef": {"name": "from-s"}}, {"configMapRef": {"name": "from-c"}}]}],
        "volumes": [{"name": "a", "secret": {"secretName": "vol-s"}},
                    {"name": "b", "configMap": {"name": "vol-c"}},
                    {"name": "c", "projected": {"sources": [{"secret": {"name": "proj-s"}},
                                                            {"configMap": {"name": "kube-root-ca.crt"}}]}},
                    {"name": "d", "persistentVolumeClaim": {"claimName": "data"}},
                    {"name": "e", "ephemeral": {}},
                    {"name": "f", "csi": {"driver": "x", "nodePublishSecretRef": {"name": "csi-s"}}}]}}
    refs = pod_refs(pod)
    assert refs.secrets == {"pull", "env-s", "from-s", "vol-s", "proj-s", "csi-s"}
    assert refs.configmaps == {"env-c", "from-c", "vol-c", "kube-root-ca.crt"}
    assert refs.claims == {"data", "p-e"}
    assert refs.service_accounts == {"sa"}
