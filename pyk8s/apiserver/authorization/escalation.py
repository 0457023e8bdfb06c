"""Escalation prevention: nobody grants through RBAC what they do not hold (upstream's rbac registry checks).

* creating or updating a Role or ClusterRole is allowed when the user may
  ``escalate`` that resource, or holds every permission the role grants;
* creating or updating a RoleBinding or ClusterRoleBinding is allowed when
  the user may ``bind`` the role it refers to, or holds every permission of
  that role.

"Holds" is RBAC's answer for the user in the object's namespace (cluster-wide
rules only for cluster-scoped objects), compared rule by rule as upstream's
``Covers``: each verb/group/resource/name the new role grants must be
covered by one rule the user has.  Members of ``system:masters`` and the
server's own writes are trusted.  The refusal is upstream's 403:
``roles.rbac.authorization.k8s.io "r" is forbidden: user "u" (groups=["g"])
is attempting to grant RBAC permissions not currently held:`` followed by
the missing rules in upstream's compact form.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pyk8s.apiserver.authorization.attributes import Attributes
from pyk8s.apiserver.authorization.context import REQUEST, RequestContext
from pyk8s.apiserver.authorization.rbac import GROUP, missing_role_error
from pyk8s.apiserver.authorization.rules import ALL, Rule, compile_rules
from pyk8s.apiserver.authorization.union import PRIVILEGED_GROUP
from pyk8s.machinery import errors

Obj = dict[str, Any]


def _go_strings(values: Iterable[str]) -> str:
    return "[" + " ".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values) + "]"


def compact_string(rule: Rule) -> str:
    """``rbacv1helpers.CompactString``: ``{APIGroups:["apps"], Resources:["deployments"], Verbs:["get"]}``."""
    parts = []
    if rule.api_groups:
        parts.append(f"APIGroups:{_go_strings(sorted(rule.api_groups))}")
    if rule.resources:
        parts.append(f"Resources:{_go_strings(rule.resources)}")
    if rule.non_resource_urls:
        parts.append(f"NonResourceURLs:{_go_strings(rule.non_resource_urls)}")
    if rule.resource_names:
        parts.append(f"ResourceNames:{_go_strings(sorted(rule.resource_names))}")
    if rule.verbs:
        parts.append(f"Verbs:{_go_strings(sorted(rule.verbs))}")
    return "{" + ", ".join(parts) + "}"


def _atoms(rule: Rule) -> list[Rule]:
    """One rule per verb x group x resource (x name; x URL for non-resource rules), as upstream's BreakdownRule."""
    out: list[Rule] = []
    for verb in sorted(rule.verbs):
        for url in rule.non_resource_urls:
            out.append(Rule(frozenset({verb}), frozenset(), (), frozenset(), (url,)))
        for group in sorted(rule.api_groups):
            for resource in rule.resources:
                names = [frozenset({n}) for n in sorted(rule.resource_names)] or [frozenset()]
                for name in names:
                    out.append(Rule(frozenset({verb}), frozenset({group}), (resource,), name, ()))
    return out


def _resource_covers(owner: tuple[str, ...], wanted: str) -> bool:
    if ALL in owner or wanted in owner:
        return True
    if "/" in wanted:
        return "*/" + wanted.split("/", 1)[1] in owner
    return False


def _url_covers(owner: tuple[str, ...], wanted: str) -> bool:
    return any(u == ALL or u == wanted or (u.endswith("*") and wanted.startswith(u[:-1])) for u in owner)


def rule_covers(owner: Rule, atom: Rule) -> bool:
    if not (ALL in owner.verbs or atom.verbs <= owner.verbs):
        return False
    if atom.non_resource_urls:
        return _url_covers(owner.non_resource_urls, atom.non_resource_urls[0])
    if not (ALL in owner.api_groups or atom.api_groups <= owner.api_groups):
        return False
    if not _resource_covers(owner.resources, atom.resources[0]):
        return False
    if not owner.resource_names:
        return True
    return bool(atom.resource_names) and atom.resource_names <= owner.resource_names


def missing_rules(owner: list[Rule], wanted: Iterable[Rule]) -> list[Rule]:
    return [atom for rule in wanted for atom in _atoms(rule) if not any(rule_covers(o, atom) for o in owner)]


def _compact(missing: list[Rule]) -> list[Rule]:
    """Merge missing atoms that differ only in verb (upstream's CompactRules)."""
    merged: dict[tuple[Any, ...], set[str]] = {}
    for atom in missing:
        key = (atom.api_groups, atom.resources, atom.resource_names, atom.non_resource_urls)
        merged.setdefault(key, set()).update(atom.verbs)
    return [Rule(frozenset(verbs), k[0], k[1], k[2], k[3]) for k, verbs in merged.items()]


async def _allowed(ctx: RequestContext, verb: str, resource: str, namespace: str, name: str) -> bool:
    attrs = Attributes(ctx.user, verb, api_group=GROUP, resource=resource, namespace=namespace, name=name)
    return await ctx.authorizer.allowed(attrs)


async def _confirm_no_escalation(ctx: RequestContext, plural: str, name: str, namespace: str,
                                 rules: list[Rule]) -> None:
    rbac = ctx.authorizer.rbac()
    owner, resolution_errors = (await rbac.rules_for(ctx.user, namespace)) if rbac is not None else ([], [])
    missing = missing_rules(owner, rules)
    if not missing:
        return
    groups = _go_strings(ctx.user.groups)
    lines = sorted({compact_string(r) for r in _compact(missing)})
    msg = (f'user "{ctx.user.username}" (groups={groups}) is attempting to grant RBAC permissions not currently '
           f"held:\n" + "\n".join(lines))
    if resolution_errors:
        msg += f"; resolution errors: [{', '.join(resolution_errors)}]"
    raise errors.forbidden(msg, plural, name, GROUP)


def _trusted(ctx: RequestContext | None) -> bool:
    return ctx is None or PRIVILEGED_GROUP in ctx.user.groups


FULL_AUTHORITY = compile_rules([{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]},
                                 {"verbs": ["*"], "nonResourceURLs": ["*"]}])


async def check_role(plural: str, obj: Obj, old: Obj | None = None) -> None:
    """A Role or ClusterRole create/update: ``escalate`` allowed, or every rule already held; a new or
    changed aggregationRule (it can gather anything) needs cluster-admin's rights, as upstream."""
    ctx = REQUEST.get()
    if _trusted(ctx):
        return
    assert ctx is not None
    meta = obj.get("metadata") or {}
    ns, name = meta.get("namespace") or "", meta.get("name") or ""
    if await _allowed(ctx, "escalate", plural, ns, name):
        return
    await _confirm_no_escalation(ctx, plural, name, ns, list(compile_rules(obj.get("rules") or [])))
    aggregation = obj.get("aggregationRule")
    if aggregation and aggregation != (old or {}).get("aggregationRule"):
        rbac = ctx.authorizer.rbac()
        owner = (await rbac.rules_for(ctx.user, ns))[0] if rbac is not None else []
        if missing_rules(owner, FULL_AUTHORITY):
            raise errors.forbidden("must have cluster-admin privileges to use the aggregationRule", plural, name,
                                   GROUP)


async def check_binding(plural: str, obj: Obj) -> None:
    """A RoleBinding or ClusterRoleBinding create/update: ``bind`` on the role, or every rule of it held."""
    ctx = REQUEST.get()
    if _trusted(ctx):
        return
    assert ctx is not None
    meta = obj.get("metadata") or {}
    ns, name = meta.get("namespace") or "", meta.get("name") or ""
    ref = obj.get("roleRef") or {}
    kind, role_name = str(ref.get("kind") or ""), str(ref.get("name") or "")
    role_plural = "clusterroles" if kind == "ClusterRole" else "roles"
    if await _allowed(ctx, "bind", role_plural, ns, role_name):
        return
    rbac = ctx.authorizer.rbac()
    idx = await rbac.index() if rbac is not None else None
    rules = idx.role_rules((kind, role_name), ns) if idx is not None else None
    if rules is None:
        raise errors.forbidden(missing_role_error((kind, role_name)), plural, name, GROUP)
    await _confirm_no_escalation(ctx, plural, name, ns, list(rules))
