"""Access and rules reviews answered by the real authorizers (``kubectl auth can-i``, ``can-i --list``).

* SelfSubjectAccessReview asks for the requesting user; SubjectAccessReview
  and LocalSubjectAccessReview for ``spec.user``/``groups``/``uid``/``extra``
  (the local one only in its own namespace).  The status carries
  ``allowed``, ``denied`` when an authorizer refused outright, and the
  authorizers' ``reason`` (``RBAC: allowed by ClusterRoleBinding "x" of
  ClusterRole "y" to Group "z"``, or why a node may not).
* SelfSubjectRulesReview lists what RBAC grants in ``spec.namespace``
  (cluster-wide rules included); it is ``incomplete`` for nodes, whose
  rights the Node authorizer cannot enumerate, as upstream.
"""

from __future__ import annotations

from typing import Any

from pyk8s.apiserver.authorization.attributes import Attributes
from pyk8s.apiserver.authorization.decision import AlwaysAllow, Decision
from pyk8s.apiserver.authorization.rbac import aggregate
from pyk8s.apiserver.authorization.union import UnionAuthorizer
from pyk8s.apiserver.filters.authn import UserInfo
from pyk8s.machinery.errors import bad_request

Obj = dict[str, Any]
ALLOW_ALL = UnionAuthorizer(("AlwaysAllow",), [AlwaysAllow()])


def spec_user(spec: Obj) -> UserInfo:
    extra = {str(k): [str(v) for v in (vals or [])] for k, vals in (spec.get("extra") or {}).items()}
    return UserInfo(str(spec.get("user") or ""), tuple(str(g) for g in spec.get("groups") or []),
                    str(spec.get("uid") or ""), extra)


def spec_attributes(spec: Obj, user: UserInfo) -> Attributes:
    res = spec.get("resourceAttributes")
    if isinstance(res, dict):
        return Attributes(user, str(res.get("verb") or ""), api_group=str(res.get("group") or ""),
                          api_version=str(res.get("version") or ""), resource=str(res.get("resource") or ""),
                          subresource=str(res.get("subresource") or ""), namespace=str(res.get("namespace") or ""),
                          name=str(res.get("name") or ""))
    non = spec.get("nonResourceAttributes") or {}
    return Attributes(user, str(non.get("verb") or ""), resource_request=False, path=str(non.get("path") or ""))


async def access_status(authorizer: UnionAuthorizer | None, attrs: Attributes) -> Obj:
    decision, reason = await (authorizer or ALLOW_ALL).authorize(attrs)
    status: Obj = {"allowed": decision is Decision.ALLOW}
    if decision is Decision.DENY:
        status["denied"] = True
    if reason:
        status["reason"] = reason
    return status


async def access_review(authorizer: UnionAuthorizer | None, kind: str, body: Obj, requester: UserInfo) -> Obj:
    spec = body.get("spec") or {}
    user = requester if kind == "SelfSubjectAccessReview" else spec_user(spec)
    if kind == "LocalSubjectAccessReview":
        ns = (body.get("metadata") or {}).get("namespace") or ""
        res = spec.get("resourceAttributes") or {}
        if (res.get("namespace") or "") != ns:
            raise bad_request(f"spec.resourceAttributes.namespace must match namespace: {ns}")
    return await access_status(authorizer, spec_attributes(spec, user))


def _resource_rule(rule: Any) -> Obj:
    out: Obj = {"verbs": sorted(rule.verbs)}
    if rule.api_groups:
        out["apiGroups"] = sorted(rule.api_groups)
    if rule.resources:
        out["resources"] = list(rule.resources)
    if rule.resource_names:
        out["resourceNames"] = sorted(rule.resource_names)
    return out


async def rules_review(authorizer: UnionAuthorizer | None, body: Obj, requester: UserInfo) -> Obj:
    namespace = str((body.get("spec") or {}).get("namespace") or "")
    answer = await (authorizer or ALLOW_ALL).rules_for(requester, namespace)
    resource_rules = [_resource_rule(r) for r in answer.rules if not r.non_resource_urls]
    non_resource = [{"verbs": sorted(r.verbs), "nonResourceURLs": list(r.non_resource_urls)}
                    for r in answer.rules if r.non_resource_urls]
    status: Obj = {"resourceRules": resource_rules, "nonResourceRules": non_resource,
                   "incomplete": answer.incomplete}
    if answer.errors:
        status["evaluationError"] = aggregate(answer.errors)
    return status
