from __future__ import annotations

import asyncio
from typing import Any

from pyk8s.apiserver.authorization.attributes import Attributes
from pyk8s.apiserver.authorization.decision import Decision
from pyk8s.apiserver.authorization.rbac import PolicyIndex, RBACAuthorizer
from pyk8s.apiserver.authorization.rules import Rule
from pyk8s.apiserver.filters.authn import UserInfo

G = "rbac.authorization.k8s.io"


def role(name: str, rules: list[dict[str, Any]], ns: str = "") -> dict[str, Any]:
    meta = {"name": name, **({"namespace": ns} if ns else {})}
    return {"metadata": meta, "rules": rules}


def binding(name: str, kind: str, ref: str, subjects: list[dict[str, Any]], ns: str = "") -> dict[str, Any]:
    meta = {"name": name, **({"namespace": ns} if ns else {})}
    return {"metadata": meta, "roleRef": {"apiGroup": G, "kind": kind, "name": ref}, "subjects": subjects}


def user(name: str, *groups: str) -> UserInfo:
    return UserInfo(name, (*groups, "system:authenticated"))


def index() -> PolicyIndex:
    return PolicyIndex.build(
        cluster_roles=[
            role("pod-reader", [{"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods", "pods/log"]}]),
            role("scaler", [{"verbs": ["update"], "apiGroups": ["*"], "resources": ["*/scale"]}]),
            role("one-cm", [{"verbs": ["get"], "apiGroups": [""], "resources": ["configmaps"],
                             "resourceNames": ["cfg"]}]),
            role("health", [{"verbs": ["get"], "nonResourceURLs": ["/healthz", "/logs/*"]}]),
            role("all", [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}]),
        ],
        roles=[role("ns-secrets", [{"verbs": ["get"], "apiGroups": [""], "resources": ["secrets"]}], "team")],
        cluster_bindings=[
            binding("health", "ClusterRole", "health", [{"kind": "Group", "name": "system:authenticated"}]),
            binding("ops", "ClusterRole", "all", [{"kind": "Group", "name": "ops"}]),
            binding("dangling", "ClusterRole", "gone", [{"kind": "User", "name": "dan"}]),
        ],
        bindings=[
            binding("r", "ClusterRole", "pod-reader", [{"kind": "User", "name": "alice"}], "team"),
            binding("s", "Role", "ns-secrets", [{"kind": "ServiceAccount", "name": "bot"}], "team"),
            binding("c", "ClusterRole", "one-cm", [{"kind": "User", "name": "alice"}], "team"),
            binding("sc", "ClusterRole", "scaler", [{"kind": "User", "name": "alice"}], "team"),
        ])


def decide(a: Attributes) -> tuple[Decision, str]:
    return asyncio.run(RBACAuthorizer(index()).authorize(a))


def res(u: UserInfo, verb: str, resource: str, ns: str = "", name: str = "", group: str = "",
        sub: str = "") -> Attributes:
    return Attributes(u, verb, api_group=group, resource=resource, subresource=sub, namespace=ns, name=name)


def test_role_binding_grants_only_in_its_namespace() -> None:
    alice = user("alice")
    assert decide(res(alice, "list", "pods", "team"))[0] is Decision.ALLOW
    assert decide(res(alice, "list", "pods", "other"))[0] is Decision.NO_OPINION
    assert decide(res(alice, "list", "pods"))[0] is Decision.NO_OPINION
    assert decide(res(alice, "delete", "pods", "team", "p"))[0] is Decision.NO_OPINION


def test_allow_reason_names_the_binding() -> None:
    assert decide(res(user("alice"), "get", "pods", "team", "p"))[1] == \
        'RBAC: allowed by RoleBinding "r/team" of ClusterRole "pod-reader" to User "alice"'


def test_subresources_and_wildcards() -> None:
    alice = user("alice")
    assert decide(res(alice, "get", "pods", "team", "p", sub="log"))[0] is Decision.ALLOW
    assert decide(res(alice, "get", "pods", "team", "p", sub="exec"))[0] is Decision.NO_OPINION
    assert decide(res(alice, "update", "deployments", "team", "d", "apps", "scale"))[0] is Decision.ALLOW
    assert decide(res(alice, "update", "deployments", "team", "d", "apps"))[0] is Decision.NO_OPINION
    assert decide(res(user("x", "ops"), "deletecollection", "anything", "any", group="weird.io"))[0] \
        is Decision.ALLOW


def test_resource_names() -> None:
    alice = user("alice")
    assert decide(res(alice, "get", "configmaps", "team", "cfg"))[0] is Decision.ALLOW
    assert decide(res(alice, "get", "configmaps", "team", "other"))[0] is Decision.NO_OPINION
    assert decide(res(alice, "get", "configmaps", "team"))[0] is Decision.NO_OPINION


def test_service_account_subject_defaults_to_the_binding_namespace() -> None:
    bot = UserInfo("system:serviceaccount:team:bot", ("system:serviceaccounts", "system:serviceaccounts:team"))
    assert decide(res(bot, "get", "secrets", "team", "s"))[0] is Decision.ALLOW
    other = UserInfo("system:serviceaccount:other:bot", ("system:serviceaccounts",))
    assert decide(res(other, "get", "secrets", "team", "s"))[0] is Decision.NO_OPINION


def test_non_resource_urls_with_trailing_star() -> None:
    alice = user("alice")
    for path, ok in (("/healthz", True), ("/logs/kube.log", True), ("/logs", False), ("/metrics", False)):
        d, _ = decide(Attributes(alice, "get", resource_request=False, path=path))
        assert (d is Decision.ALLOW) is ok, path


def test_missing_role_is_the_reason() -> None:
    d, reason = decide(res(user("dan"), "get", "pods", "x", "p"))
    assert d is Decision.NO_OPINION
    assert reason == 'RBAC: clusterrole.rbac.authorization.k8s.io "gone" not found'


def test_rules_for_lists_cluster_and_namespace_rules() -> None:
    rules, errors = asyncio.run(RBACAuthorizer(index()).rules_for(user("alice"), "team"))
    assert errors == []
    assert Rule.from_dict({"verbs": ["get"], "nonResourceURLs": ["/healthz", "/logs/*"]}) in rules
    assert any("pods" in r.resources for r in rules)
