"""ResourceQuotas: per-namespace caps on resource use.

Usage accounting (status.used) is the quota controller's and the admission
plugin's job; the strategy validates the caps and resets status on create.
"""

from __future__ import annotations

import re
from typing import Any

from pyk8s.api import kinds, meta_v1
from pyk8s.api.core_v1 import quantities
from pyk8s.api.core_v1.common import P, ref, register_kind, spec_of
from pyk8s.api.core_v1.helpers import resources
from pyk8s.machinery.quantity import parse as parse_q
from pyk8s.machinery.schema import STRING, STRING_LIST, ArrayOf, Field, MapOf, Quantity, define
from pyk8s.machinery.scheme import Strategy
from pyk8s.machinery.validation import FieldError, invalid, required

Obj = dict[str, Any]

define(P + "ScopedResourceSelectorRequirement", "A test on a quota scope.", [
    Field("scopeName", STRING, "The scope.", required=True),
    Field("operator", STRING, "In, NotIn, Exists or DoesNotExist.", required=True),
    Field("values", STRING_LIST, "Values for In/NotIn.", list_type="atomic"),
])
define(P + "ScopeSelector", "Scopes a quota applies to, as expressions.", [
    Field("matchExpressions", ArrayOf(ref("ScopedResourceSelectorRequirement")), "The tests.",
          list_type="atomic"),
])
define(P + "ResourceQuotaSpec", "The caps of a quota.", [
    Field("hard", MapOf(Quantity()), "Maximum amounts per resource name."),
    Field("scopes", STRING_LIST, "Only objects matching all scopes are counted.", list_type="atomic"),
    Field("scopeSelector", ref("ScopeSelector"), "Scopes as selector expressions."),
])
define(P + "ResourceQuotaStatus", "Enforced caps and current use.", [
    Field("hard", MapOf(Quantity()), "Caps being enforced."),
    Field("used", MapOf(Quantity()), "Current use in the namespace."),
])
define(P + "ResourceQuota", "Caps on the total resources a namespace may use.", [
    *meta_v1.type_meta_fields(),
    Field("spec", ref("ResourceQuotaSpec"), "The caps."),
    Field("status", ref("ResourceQuotaStatus"), "Observed use."),
], gvk=("", "v1", "ResourceQuota"))

SCOPES = ["BestEffort", "CrossNamespacePodAffinity", "NotBestEffort", "NotTerminating", "PriorityClass",
          "Terminating", "VolumeAttributesClass"]


# Non-negative quantities in the forms the API server writes (every one parses and is >= 0).
_PLAIN = re.compile(r"[0-9]{1,18}(\.[0-9]{1,9})?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?")


def _validate_amounts(values: Any, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for name, value in (values or {}).items():
        if isinstance(value, str) and _PLAIN.fullmatch(value):
            continue  # a plain non-negative amount, the common case: no exact parse needed
        parsed = resources.parse_quantity(value)
        if parsed is not None:
            if parsed.value < 0:
                errs.append(invalid(f"{path}[{name}]", str(value), "must be greater than or equal to 0"))
            continue
        try:
            if parse_q(value).value < 0:
                errs.append(invalid(f"{path}[{name}]", str(value), "must be greater than or equal to 0"))
        except ValueError as exc:
            errs.append(invalid(f"{path}[{name}]", value, str(exc)))
    return errs


POD_COUNT = frozenset({"pods"})
POD_COMPUTE = frozenset({"cpu", "memory", "limits.cpu", "limits.memory", "requests.cpu", "requests.memory"})
STANDARD_NAMES = POD_COUNT | POD_COMPUTE | {
    "services", "replicationcontrollers", "resourcequotas", "secrets", "configmaps", "persistentvolumeclaims",
    "requests.storage", "services.nodeports", "services.loadbalancers", "ephemeral-storage",
    "requests.ephemeral-storage", "limits.ephemeral-storage"}
EXISTS_ONLY = ("BestEffort", "NotBestEffort", "Terminating", "NotTerminating", "CrossNamespacePodAffinity")
CONFLICTS = (("BestEffort", "NotBestEffort"), ("Terminating", "NotTerminating"))
_EXISTS_ONLY_MSG = ("must be 'Exist' when scope is any of ResourceQuotaScopeTerminating, "
                    "ResourceQuotaScopeNotTerminating, ResourceQuotaScopeBestEffort, ResourceQuotaScopeNotBestEffort "
                    "or ResourceQuotaScopeCrossNamespacePodAffinity")


def scope_valid_for(scope: str, name: str) -> bool:
    """Upstream's IsResourceQuotaScopeValidForResource (for standard quota names)."""
    if scope in ("Terminating", "NotTerminating", "NotBestEffort", "PriorityClass", "CrossNamespacePodAffinity"):
        return name in POD_COUNT or name in POD_COMPUTE
    if scope == "BestEffort":
        return name in POD_COUNT
    return True


def _go_scopes(scopes: list[Any]) -> str:
    return "[]core.ResourceQuotaScope{" + ", ".join(kinds.go_quote(str(s)) for s in scopes) + "}"


def _go_selector(selector: Obj) -> str:
    reqs = ", ".join(
        f"core.ScopedResourceSelectorRequirement{{ScopeName:{kinds.go_quote(str(r.get('scopeName') or ''))}, "
        f"Operator:{kinds.go_quote(str(r.get('operator') or ''))}, Values:{kinds.go_string_slice(r.get('values'))}}}"
        for r in selector.get("matchExpressions") or [])
    return f"core.ScopeSelector{{MatchExpressions:[]core.ScopedResourceSelectorRequirement{{{reqs}}}}}"


def validate_quota_spec(spec: Obj) -> list[FieldError]:
    """Upstream's ValidateResourceQuotaSpec: amounts, scopes and scope selectors."""
    errs = _validate_amounts(spec.get("hard"), "spec.hard")
    standard_hard = [k for k in sorted(spec.get("hard") or {}) if k in STANDARD_NAMES]
    scopes = list(spec.get("scopes") or [])
    for scope in scopes:
        if scope not in SCOPES:
            errs.append(kinds.invalid_go("spec.scopes", _go_scopes(scopes), "unsupported scope"))
        for name in standard_hard:
            if not scope_valid_for(str(scope), name):
                errs.append(kinds.invalid_go("spec.scopes", _go_scopes(scopes), "unsupported scope applied to resource"))
    for pair in CONFLICTS:
        if all(s in scopes for s in pair):
            errs.append(kinds.invalid_go("spec.scopes", _go_scopes(scopes), "conflicting scopes"))
    path = "spec.scopeSelector.matchExpressions"
    for req in ((spec.get("scopeSelector") or {}).get("matchExpressions") or []):
        name, op, values = str(req.get("scopeName") or ""), str(req.get("operator") or ""), req.get("values") or []
        if name not in SCOPES:
            errs.append(invalid(path + ".scopeName", name, "unsupported scope"))
        for hard in standard_hard:
            if not scope_valid_for(name, hard):
                errs.append(kinds.invalid_go("spec.scopeSelector", _go_selector(spec["scopeSelector"]),
                                             "unsupported scope applied to resource"))
        if name in EXISTS_ONLY and op != "Exists":
            errs.append(invalid(path + ".operator", op, _EXISTS_ONLY_MSG))
        if op in ("In", "NotIn"):
            if not values:
                errs.append(required(path + ".values", "must be at least one value when `operator` is 'In' or "
                                                       "'NotIn' for scope selector"))
        elif op in ("Exists", "DoesNotExist"):
            if values:
                errs.append(kinds.invalid_go(path + ".values", kinds.go_string_slice(values),
                                             "must be no value when `operator` is 'Exist' or 'DoesNotExist' for "
                                             "scope selector"))
        else:
            errs.append(invalid(path + ".operator", op, "not a valid selector operator"))
    return errs


class ResourceQuotaStrategy(Strategy):
    tracks_generation = False

    def default(self, obj: Obj) -> None:
        quantities.canonicalize(obj, P + "ResourceQuota")

    def prepare_for_create(self, obj: Obj) -> None:
        obj.pop("status", None)

    def validate(self, obj: Obj) -> list[FieldError]:
        return meta_v1.validate_object_meta(obj, namespaced=True) + validate_quota_spec(spec_of(obj))

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        return meta_v1.validate_object_meta_update(new, old) + validate_quota_spec(spec_of(new))

    def validate_status_update(self, new: Obj, old: Obj) -> list[FieldError]:
        status = new.get("status") or {}
        errs = meta_v1.validate_object_meta_update(new, old)
        return errs + _validate_amounts(status.get("hard"), "status.hard") + _validate_amounts(
            status.get("used"), "status.used")


RESOURCEQUOTAS = register_kind(kind="ResourceQuota", plural="resourcequotas", namespaced=True,
                               strategy=ResourceQuotaStrategy(), short_names=("quota",), subresources=("status",))
