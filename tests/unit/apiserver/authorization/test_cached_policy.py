"""The RBAC authorizer over the registry's watch caches: what a user is granted is resolved once per policy
version (``Grants``), and every RBAC write this server makes counts for the very next request."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

import pyk8s.api  # noqa: F401  (fills the scheme)
from pyk8s.apiserver.authorization import rbac
from pyk8s.apiserver.authorization.attributes import Attributes
from pyk8s.apiserver.authorization.decision import Decision
from pyk8s.apiserver.authorization.rbac import CachedPolicy, Grants, PolicyIndex, RBACAuthorizer
from pyk8s.apiserver.filters.authn import UserInfo
from pyk8s.apiserver.registry import Registry, build_registry
from pyk8s.apiserver.registry.rest import DeleteOptions, WriteOptions
from pyk8s.machinery.scheme import SCHEME
from pyk8s.storage import open_storage

G = "rbac.authorization.k8s.io"
NS = "team"
ALICE = UserInfo("alice", ("system:authenticated",))


@pytest.fixture
async def registry() -> AsyncIterator[Registry]:
    storage = open_storage("memory://")
    await storage.start()
    reg = build_registry(SCHEME, storage)
    namespaces = reg.store("", "namespaces")
    assert namespaces is not None
    await namespaces.create("", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}, WriteOptions())
    try:
        yield reg
    finally:
        await reg.close()
        await storage.close()


def store(reg: Registry, plural: str) -> Any:
    found = reg.store(G, plural)
    assert found is not None
    return found


def cluster_role(name: str, verbs: list[str], resources: list[str] | None = None) -> dict[str, Any]:
    return {"apiVersion": f"{G}/v1", "kind": "ClusterRole", "metadata": {"name": name},
            "rules": [{"apiGroups": [""], "resources": resources or ["pods"], "verbs": verbs}]}


def role_binding(name: str, role: str, subject: dict[str, Any], kind: str = "ClusterRole") -> dict[str, Any]:
    return {"apiVersion": f"{G}/v1", "kind": "RoleBinding", "metadata": {"name": name, "namespace": NS},
            "subjects": [subject], "roleRef": {"apiGroup": G, "kind": kind, "name": role}}


def user_subject(name: str) -> dict[str, Any]:
    return {"kind": "User", "name": name, "apiGroup": G}


def pods(user: UserInfo, verb: str, ns: str = NS) -> Attributes:
    return Attributes(user, verb, resource="pods", namespace=ns)


async def decide(authz: RBACAuthorizer, attrs: Attributes) -> Decision:
    return (await authz.authorize(attrs))[0]


async def test_deleted_binding_denies_at_once(registry: Registry) -> None:
    authz = RBACAuthorizer(CachedPolicy(registry))
    await store(registry, "clusterroles").create("", cluster_role("pod-writer", ["create", "list"]), WriteOptions())
    await store(registry, "rolebindings").create(NS, role_binding("w", "pod-writer", user_subject("alice")),
                                                 WriteOptions())
    assert await decide(authz, pods(ALICE, "create")) is Decision.ALLOW
    assert await decide(authz, pods(ALICE, "create")) is Decision.ALLOW  # from the remembered grants
    await store(registry, "rolebindings").delete(NS, "w", DeleteOptions())
    # The very next request: no await in between for the watch cache to apply the delete on its own.
    assert await decide(authz, pods(ALICE, "create")) is Decision.NO_OPINION
    assert await decide(authz, pods(ALICE, "list")) is Decision.NO_OPINION


async def test_every_kind_of_rbac_write_counts_for_the_next_request(registry: Registry) -> None:
    authz = RBACAuthorizer(CachedPolicy(registry))
    assert await decide(authz, pods(ALICE, "create")) is Decision.NO_OPINION
    await store(registry, "roles").create(NS, {"apiVersion": f"{G}/v1", "kind": "Role",
                                               "metadata": {"name": "r", "namespace": NS},
                                               "rules": [{"apiGroups": [""], "resources": ["pods"],
                                                          "verbs": ["get"]}]}, WriteOptions())
    await store(registry, "rolebindings").create(NS, role_binding("rb", "r", user_subject("alice"), kind="Role"),
                                                 WriteOptions())
    assert await decide(authz, pods(ALICE, "get")) is Decision.ALLOW
    assert await decide(authz, pods(ALICE, "create")) is Decision.NO_OPINION

    # A Role's rules changed: the remembered grants of alice in the namespace must go.
    role = await store(registry, "roles").get(NS, "r")
    role["rules"][0]["verbs"] = ["get", "create"]
    await store(registry, "roles").update(NS, "r", role, WriteOptions())
    assert await decide(authz, pods(ALICE, "create")) is Decision.ALLOW

    # A ClusterRoleBinding to a group alice is in: cluster-wide, in any namespace.
    await store(registry, "clusterroles").create("", cluster_role("deleter", ["delete"]), WriteOptions())
    assert await decide(authz, pods(ALICE, "delete", "elsewhere")) is Decision.NO_OPINION
    await store(registry, "clusterrolebindings").create("", {
        "apiVersion": f"{G}/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "crb"},
        "subjects": [{"kind": "Group", "name": "system:authenticated", "apiGroup": G}],
        "roleRef": {"apiGroup": G, "kind": "ClusterRole", "name": "deleter"}}, WriteOptions())
    assert await decide(authz, pods(ALICE, "delete", "elsewhere")) is Decision.ALLOW

    # The ClusterRole deleted: no opinion at once, with upstream's reason.
    await store(registry, "clusterroles").delete("", "deleter", DeleteOptions())
    decision, reason = await authz.authorize(pods(ALICE, "delete", "elsewhere"))
    assert decision is Decision.NO_OPINION
    assert reason == f'RBAC: clusterrole.{G} "deleter" not found'


async def test_grants_are_per_user_groups_and_namespace(registry: Registry) -> None:
    authz = RBACAuthorizer(CachedPolicy(registry))
    await store(registry, "clusterroles").create("", cluster_role("reader", ["list"]), WriteOptions())
    await store(registry, "rolebindings").create(NS, role_binding("g", "reader", {"kind": "Group", "name": "devs",
                                                                                  "apiGroup": G}), WriteOptions())
    dev = UserInfo("bob", ("devs", "system:authenticated"))
    not_dev = UserInfo("bob", ("system:authenticated",))  # same name, other groups
    assert await decide(authz, pods(dev, "list")) is Decision.ALLOW
    assert await decide(authz, pods(not_dev, "list")) is Decision.NO_OPINION
    assert await decide(authz, pods(dev, "list", "other")) is Decision.NO_OPINION
    assert await decide(authz, pods(dev, "list")) is Decision.ALLOW


def test_grants_keep_the_walk_order_and_reasons() -> None:
    idx = PolicyIndex.build(
        cluster_roles=[{"metadata": {"name": "any"}, "rules": [{"verbs": ["*"], "apiGroups": [""],
                                                                "resources": ["pods"]}]},
                       {"metadata": {"name": "get"}, "rules": [{"verbs": ["get"], "apiGroups": [""],
                                                                "resources": ["pods"]}]}],
        cluster_bindings=[{"metadata": {"name": "c"}, "roleRef": {"kind": "ClusterRole", "name": "get"},
                           "subjects": [{"kind": "User", "name": "alice"}]}],
        bindings=[{"metadata": {"name": "n", "namespace": NS}, "roleRef": {"kind": "ClusterRole", "name": "any"},
                   "subjects": [{"kind": "User", "name": "alice"}]},
                  {"metadata": {"name": "gone", "namespace": NS}, "roleRef": {"kind": "Role", "name": "x"},
                   "subjects": [{"kind": "User", "name": "alice"}]}])
    grants = idx.grants(ALICE, NS)
    assert isinstance(grants, Grants)
    assert grants is idx.grants(ALICE, NS)
    # The cluster binding is visited first: a get is allowed by it, anything else by the "*" rule.
    assert [reason for _, reason in grants.candidates("get")] == [
        'RBAC: allowed by ClusterRoleBinding "c" of ClusterRole "get" to User "alice"',
        'RBAC: allowed by RoleBinding "n/team" of ClusterRole "any" to User "alice"']
    assert [reason for _, reason in grants.candidates("patch")] == [
        'RBAC: allowed by RoleBinding "n/team" of ClusterRole "any" to User "alice"']
    assert grants.denied == f'RBAC: role.{G} "x" not found'
    # Any change to the index forgets the answers.
    idx.set_bindings([])
    assert idx.grants(ALICE, NS) is not grants
    assert idx.grants(ALICE, NS).candidates("patch") == ()


def test_grants_memo_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rbac, "GRANTS_LIMIT", 3)
    idx = PolicyIndex()
    for i in range(10):
        idx.grants(UserInfo(f"u{i}"), NS)
    assert len(idx._grants) <= 3


async def test_node_reads_follow_its_pods_at_once() -> None:
    """The Node authorizer's graph: a pod deleted (or bound elsewhere) through this server takes its Secret away
    from the node for the very next request; the remembered answer is reused only while no pod changed."""
    from pyk8s.apiserver.admission.chain import NAMES
    from pyk8s.apiserver.authorization.node import NodeAuthorizer, NodeGraph

    storage = open_storage("memory://")
    await storage.start()
    reg = build_registry(SCHEME, storage, disable_admission_plugins=tuple(NAMES))
    try:
        namespaces, pods_store = reg.store("", "namespaces"), reg.store("", "pods")
        assert namespaces is not None and pods_store is not None
        await namespaces.create("", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}},
                                WriteOptions())

        def pod(name: str, node: str, secret: str) -> dict[str, Any]:
            return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": NS},
                    "spec": {"nodeName": node, "containers": [{"name": "c", "image": "busybox"}],
                             "volumes": [{"name": "s", "secret": {"secretName": secret}}]}}

        node = UserInfo("system:node:n1", ("system:nodes", "system:authenticated"))
        authz = NodeAuthorizer(NodeGraph(reg))

        async def may_read(secret: str) -> bool:
            attrs = Attributes(node, "get", resource="secrets", namespace=NS, name=secret)
            return (await authz.authorize(attrs))[0] is Decision.ALLOW

        await pods_store.create(NS, pod("a", "n1", "s-a"), WriteOptions())
        await pods_store.create(NS, pod("b", "n2", "s-b"), WriteOptions())
        assert await may_read("s-a")
        assert not await may_read("s-b")
        assert await may_read("s-a")  # the remembered answer
        await pods_store.delete(NS, "a", DeleteOptions(grace_period_seconds=0))
        assert not await may_read("s-a")
        await pods_store.create(NS, pod("c", "n1", "s-b"), WriteOptions())
        assert await may_read("s-b")
    finally:
        await reg.close()
        await storage.close()
