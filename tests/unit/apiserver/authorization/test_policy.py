"""The bootstrap policy, its reconciliation and ClusterRole aggregation."""

from __future__ import annotations

import asyncio
from typing import Any

from pyk8s.apiserver.authorization import bootstrappolicy, identities
from pyk8s.apiserver.authorization.attributes import Attributes
from pyk8s.apiserver.authorization.controllerpolicy import controller_roles
from pyk8s.apiserver.authorization.decision import Decision
from pyk8s.apiserver.authorization.rbac import PolicyIndex, RBACAuthorizer
from pyk8s.apiserver.authorization.reconcile import reconcile_binding, reconcile_role
from pyk8s.apiserver.filters.authn import UserInfo
from pyk8s.controllers.clusterroleaggregation import aggregated_rules


def bootstrap_index() -> PolicyIndex:
    roles = bootstrappolicy.all_cluster_roles()
    for _ in range(3):  # what the aggregation controller does, until admin <- edit <- view settle
        for role in roles:
            if role.get("aggregationRule"):
                role["rules"] = aggregated_rules(role, roles)
    return PolicyIndex.build(cluster_roles=roles, cluster_bindings=bootstrappolicy.all_cluster_role_bindings(),
                             roles=bootstrappolicy.namespace_roles(),
                             bindings=bootstrappolicy.namespace_role_bindings())


def allowed(user: UserInfo, verb: str, resource: str, *, ns: str = "", name: str = "", group: str = "",
            sub: str = "", path: str = "") -> bool:
    if path:
        attrs = Attributes(user, verb, resource_request=False, path=path)
    else:
        attrs = Attributes(user, verb, api_group=group, resource=resource, subresource=sub, namespace=ns, name=name)
    return asyncio.run(RBACAuthorizer(bootstrap_index()).authorize(attrs))[0] is Decision.ALLOW


def test_every_role_is_labelled_and_auto_updated() -> None:
    for obj in bootstrappolicy.all_cluster_roles() + bootstrappolicy.all_cluster_role_bindings():
        meta = obj["metadata"]
        assert meta["labels"]["kubernetes.io/bootstrapping"] == "rbac-defaults"
        assert meta["annotations"][bootstrappolicy.AUTOUPDATE] == "true"
    names = [r["metadata"]["name"] for r in bootstrappolicy.all_cluster_roles()]
    assert len(names) == len(set(names))


def test_anonymous_and_authenticated_defaults() -> None:
    anon = UserInfo("system:anonymous", ("system:unauthenticated",))
    assert allowed(anon, "get", "", path="/version")
    assert allowed(anon, "get", "", path="/healthz")
    assert not allowed(anon, "get", "", path="/apis")
    assert not allowed(anon, "list", "pods", ns="default")
    someone = UserInfo("someone", ("system:authenticated",))
    assert allowed(someone, "get", "", path="/apis/apps/v1")
    assert allowed(someone, "create", "selfsubjectaccessreviews", group="authorization.k8s.io")
    assert not allowed(someone, "list", "pods", ns="default")


def test_components_hold_what_they_need() -> None:
    sched = UserInfo("system:kube-scheduler", ("system:authenticated",))
    assert allowed(sched, "create", "pods", ns="x", name="p", sub="binding")
    assert allowed(sched, "update", "leases", ns="kube-system", name="kube-scheduler", group="coordination.k8s.io")
    assert not allowed(sched, "update", "leases", ns="kube-system", name="kube-controller-manager",
                       group="coordination.k8s.io")
    kcm = UserInfo("system:kube-controller-manager", ("system:authenticated",))
    assert allowed(kcm, "watch", "deployments", group="apps")
    assert not allowed(kcm, "create", "pods", ns="x")
    rs = UserInfo("system:serviceaccount:kube-system:replicaset-controller", ("system:serviceaccounts",))
    assert allowed(rs, "create", "pods", ns="x")
    assert not allowed(rs, "create", "secrets", ns="x")
    proxy = UserInfo("system:kube-proxy", ("system:authenticated",))
    assert allowed(proxy, "watch", "endpointslices", group="discovery.k8s.io")


def test_admin_edit_view_aggregate_as_upstream() -> None:
    idx = bootstrap_index()
    view, edit, admin = (set(idx.cluster_roles[n]) for n in ("view", "edit", "admin"))
    assert view and view < edit < admin
    assert any("secrets" in r.resources for r in edit) and not any("secrets" in r.resources for r in view)


def test_aggregated_rules_follow_selectors_and_drop_duplicates() -> None:
    def role(name: str, labels: dict[str, str], rules: list[dict[str, Any]]) -> dict[str, Any]:
        return {"metadata": {"name": name, "labels": labels}, "rules": rules}

    r1 = {"verbs": ["get"], "apiGroups": [""], "resources": ["a"]}
    r2 = {"verbs": ["get"], "apiGroups": [""], "resources": ["b"]}
    agg = {"metadata": {"name": "agg"}, "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"x": "1"}}]}}
    roles = [agg, role("z", {"x": "1"}, [r2, r1]), role("a", {"x": "1"}, [r1]), role("n", {"x": "2"}, [r2])]
    assert aggregated_rules(agg, roles) == [r1, r2]


def test_reconcile_adds_missing_and_keeps_user_additions() -> None:
    want = bootstrappolicy.cluster_role("r", [{"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}])
    extra = {"verbs": ["list"], "apiGroups": [""], "resources": ["nodes"]}
    cur = {"metadata": {"name": "r", "labels": {"mine": "1"}}, "rules": [extra]}
    out = reconcile_role(cur, want)
    assert out is not None and out["rules"] == [extra, want["rules"][0]]
    assert out["metadata"]["labels"]["mine"] == "1"
    assert reconcile_role(out, want) is None
    cur["metadata"]["annotations"] = {bootstrappolicy.AUTOUPDATE: "false"}
    assert reconcile_role(cur, want) is None
    b = bootstrappolicy.cluster_binding("b", [bootstrappolicy.subject("Group", "g")])
    have = {"metadata": {"name": "b"}, "subjects": [bootstrappolicy.subject("User", "u")], "roleRef": b["roleRef"]}
    merged = reconcile_binding(have, b)
    assert merged is not None and len(merged["subjects"]) == 2


def test_controller_identities_cover_every_mapped_account() -> None:
    accounts = {r["metadata"]["name"][len("system:controller:"):] for r in controller_roles()}
    assert set(identities.CONTROLLER_ACCOUNTS.values()) <= accounts | {"service-controller"}


def test_any_authenticated_user_may_ask_who_they_are() -> None:
    # `kubectl auth whoami` creates a SelfSubjectReview; upstream's system:basic-user allows it since 1.28.
    user = UserInfo("alice", ("system:authenticated",))
    assert allowed(user, "create", "selfsubjectreviews", group="authentication.k8s.io")
    assert allowed(user, "create", "selfsubjectaccessreviews", group="authorization.k8s.io")
