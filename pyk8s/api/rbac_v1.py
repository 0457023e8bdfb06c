"""rbac.authorization.k8s.io/v1: Role, ClusterRole, RoleBinding,
ClusterRoleBinding.

Names are path segments (``system:controller:foo`` is fine, ``a/b`` is not).
Rules and subjects are atomic lists, as upstream, so a patch replaces them
whole.  A binding's ``roleRef`` can never change (``cannot change roleRef``);
to point a binding elsewhere it must be deleted and recreated.
"""

from __future__ import annotations

from typing import Any

from pyk8s.api import kinds, meta_v1, names
from pyk8s.api.kinds import LABEL_SELECTOR, define_kind, go_quote, go_string_slice, invalid_go, register
from pyk8s.machinery.schema import STRING, STRING_LIST, ArrayOf, Field, Ref, define
from pyk8s.machinery.scheme import Strategy
from pyk8s.machinery.validation import FieldError, invalid, not_supported, required

Obj = dict[str, Any]
P = "io.k8s.api.rbac.v1"
GROUP = "rbac.authorization.k8s.io"
GV = (GROUP, "v1")

define(f"{P}.PolicyRule", "Actions allowed on some resources or non-resource URLs.", [
    Field("verbs", STRING_LIST, "Allowed verbs; '*' means all.", required=True, list_type="atomic", proto=1),
    Field("apiGroups", STRING_LIST, "API groups of the resources; '' is the core group.", list_type="atomic",
          proto=2),
    Field("resources", STRING_LIST, "Resources (and 'resource/subresource'); '*' means all.", list_type="atomic",
          proto=3),
    Field("resourceNames", STRING_LIST, "Restrict the rule to these object names.", list_type="atomic", proto=4),
    Field("nonResourceURLs", STRING_LIST, "URL paths such as /healthz (ClusterRoles only).", list_type="atomic",
          proto=5),
])
define(f"{P}.AggregationRule", "Builds a ClusterRole's rules from other ClusterRoles.", [
    Field("clusterRoleSelectors", ArrayOf(Ref(LABEL_SELECTOR)), "ClusterRoles whose rules are merged in.",
          list_type="atomic", proto=1),
])
define(f"{P}.Subject", "Who a binding grants to: a user, group or service account.", [
    Field("kind", STRING, "User, Group or ServiceAccount.", required=True, proto=1),
    Field("apiGroup", STRING, "rbac.authorization.k8s.io for users and groups, '' for service accounts.", proto=2),
    Field("name", STRING, "Name of the subject.", required=True, proto=3),
    Field("namespace", STRING, "Namespace of a service account.", proto=4),
])
define(f"{P}.RoleRef", "The role a binding grants.", [
    Field("apiGroup", STRING, "Group of the role (rbac.authorization.k8s.io).", required=True, proto=1),
    Field("kind", STRING, "Role or ClusterRole.", required=True, proto=2),
    Field("name", STRING, "Name of the role.", required=True, proto=3),
])
_RULES = Field("rules", ArrayOf(Ref(f"{P}.PolicyRule")), "What the role allows.", list_type="atomic", proto=2)
define_kind(P, "Role", GV, "Permissions within one namespace.", [_RULES])
define_kind(P, "ClusterRole", GV, "Permissions cluster-wide or in any namespace it is bound in.", [
    _RULES,
    Field("aggregationRule", Ref(f"{P}.AggregationRule"), "Compute rules from other ClusterRoles.", proto=3),
])
_SUBJECTS = Field("subjects", ArrayOf(Ref(f"{P}.Subject")), "Who gets the role.", list_type="atomic", proto=2)
_ROLE_REF = Field("roleRef", Ref(f"{P}.RoleRef"), "The role granted; cannot change.", required=True, proto=3)
define_kind(P, "RoleBinding", GV, "Grants a Role or ClusterRole within one namespace.", [_SUBJECTS, _ROLE_REF])
define_kind(P, "ClusterRoleBinding", GV, "Grants a ClusterRole cluster-wide.", [_SUBJECTS, _ROLE_REF])


# ---------------------------------------------------------------- defaults


def default_binding(obj: Obj) -> None:
    ref = obj.get("roleRef")
    if isinstance(ref, dict) and not ref.get("apiGroup"):
        ref["apiGroup"] = GROUP
    for subject in obj.get("subjects") or []:
        if isinstance(subject, dict) and not subject.get("apiGroup"):
            if subject.get("kind") in ("User", "Group"):
                subject["apiGroup"] = GROUP
            elif subject.get("kind") == "ServiceAccount":
                subject["apiGroup"] = ""


# ---------------------------------------------------------------- validation


def validate_policy_rule(rule: Obj, namespaced: bool, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    if not rule.get("verbs"):
        errs.append(required(path + ".verbs", "verbs must contain at least one value"))
    urls = rule.get("nonResourceURLs") or []
    if urls:
        if namespaced:
            errs.append(invalid_go(path + ".nonResourceURLs", go_string_slice(urls),
                                   "namespaced rules cannot apply to non-resource URLs"))
        if rule.get("apiGroups") or rule.get("resources") or rule.get("resourceNames"):
            errs.append(invalid_go(path + ".nonResourceURLs", go_string_slice(urls),
                                   "rules cannot apply to both regular resources and non-resource URLs"))
        return errs
    if not rule.get("apiGroups"):
        errs.append(required(path + ".apiGroups", "resource rules must supply at least one api group"))
    if not rule.get("resources"):
        errs.append(required(path + ".resources", "resource rules must supply at least one resource"))
    return errs


def _validate_role(obj: Obj, namespaced: bool) -> list[FieldError]:
    errs = meta_v1.validate_object_meta(obj, namespaced=namespaced, name_fn=kinds.path_segment_errors)
    for i, rule in enumerate(obj.get("rules") or []):
        errs += validate_policy_rule(rule or {}, namespaced, f"rules[{i}]")
    agg = obj.get("aggregationRule")
    if not namespaced and agg is not None:
        selectors = (agg or {}).get("clusterRoleSelectors") or []
        if not selectors:
            errs.append(required("aggregationRule.clusterRoleSelectors",
                                 "at least one clusterRoleSelector required if aggregationRule is non-nil"))
        for i, sel in enumerate(selectors):
            errs += meta_v1.validate_label_selector(sel, f"aggregationRule.clusterRoleSelectors[{i}]")
    return errs


def validate_subject(subject: Obj, namespaced: bool, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    name, kind, group = subject.get("name") or "", subject.get("kind") or "", subject.get("apiGroup") or ""
    if not name:
        errs.append(required(path + ".name"))
    if kind == "ServiceAccount":
        if name:
            errs += [invalid(path + ".name", name, m) for m in names.is_dns1123_subdomain(name)]
        if group:
            errs.append(not_supported(path + ".apiGroup", group, [""]))
        if not namespaced and not subject.get("namespace"):
            errs.append(required(path + ".namespace"))
    elif kind in ("User", "Group"):
        if group != GROUP:
            errs.append(not_supported(path + ".apiGroup", group, [GROUP]))
    else:
        errs.append(not_supported(path + ".kind", kind, ["ServiceAccount", "User", "Group"]))
    return errs


def _validate_binding(obj: Obj, namespaced: bool) -> list[FieldError]:
    errs = meta_v1.validate_object_meta(obj, namespaced=namespaced, name_fn=kinds.path_segment_errors)
    ref = obj.get("roleRef") or {}
    if ref.get("apiGroup", "") != GROUP:
        errs.append(not_supported("roleRef.apiGroup", ref.get("apiGroup", ""), [GROUP]))
    kinds_ok = ["Role", "ClusterRole"] if namespaced else ["ClusterRole"]
    if ref.get("kind", "") not in kinds_ok:
        errs.append(not_supported("roleRef.kind", ref.get("kind", ""), kinds_ok))
    name = ref.get("name") or ""
    if not name:
        errs.append(required("roleRef.name"))
    else:
        errs += [invalid("roleRef.name", name, m) for m in kinds.path_segment_errors(name)]
    for i, subject in enumerate(obj.get("subjects") or []):
        errs += validate_subject(subject or {}, namespaced, f"subjects[{i}]")
    return errs


def go_role_ref(ref: Obj) -> str:
    return (f"rbac.RoleRef{{APIGroup:{go_quote(ref.get('apiGroup', ''))}, Kind:{go_quote(ref.get('kind', ''))}, "
            f"Name:{go_quote(ref.get('name', ''))}}}")


# ---------------------------------------------------------------- strategies


class RoleStrategy(Strategy):
    allow_create_on_update = True
    has_status = False
    tracks_generation = False
    namespaced = True

    def validate(self, obj: Obj) -> list[FieldError]:
        return _validate_role(obj, self.namespaced)

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        errs = meta_v1.validate_object_meta_update(new, old)
        return errs + [e for e in _validate_role(new, self.namespaced) if not e.field.startswith("metadata.")]


class ClusterRoleStrategy(RoleStrategy):
    namespaced = False


class RoleBindingStrategy(Strategy):
    allow_create_on_update = True
    has_status = False
    tracks_generation = False
    namespaced = True

    def default(self, obj: Obj) -> None:
        default_binding(obj)

    def validate(self, obj: Obj) -> list[FieldError]:
        return _validate_binding(obj, self.namespaced)

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        errs = meta_v1.validate_object_meta_update(new, old)
        errs += [e for e in _validate_binding(new, self.namespaced) if not e.field.startswith("metadata.")]
        if (new.get("roleRef") or {}) != (old.get("roleRef") or {}):
            errs.append(invalid_go("roleRef", go_role_ref(new.get("roleRef") or {}), "cannot change roleRef"))
        return errs


class ClusterRoleBindingStrategy(RoleBindingStrategy):
    namespaced = False


register(group=GROUP, version="v1", kind="ClusterRoleBinding", plural="clusterrolebindings", namespaced=False,
         strategy=ClusterRoleBindingStrategy(), schema=f"{P}.ClusterRoleBinding")
register(group=GROUP, version="v1", kind="ClusterRole", plural="clusterroles", namespaced=False,
         strategy=ClusterRoleStrategy(), schema=f"{P}.ClusterRole")
register(group=GROUP, version="v1", kind="RoleBinding", plural="rolebindings", namespaced=True,
         strategy=RoleBindingStrategy(), schema=f"{P}.RoleBinding")
register(group=GROUP, version="v1", kind="Role", plural="roles", namespaced=True,
         strategy=RoleStrategy(), schema=f"{P}.Role")
