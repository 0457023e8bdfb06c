"""Scheduling constraints: node/pod (anti-)affinity, tolerations and topology
spread constraints.  Schemas plus the validation pod.py calls."""

from __future__ import annotations

from typing import Any

from pyk8s.api.core_v1.common import P, ref
from pyk8s.api.meta_v1 import LABEL_SELECTOR, validate_label_selector
from pyk8s.machinery.schema import INT32, INT64, STRING, STRING_LIST, ArrayOf, Field, Ref, define
from pyk8s.machinery.validation import FieldError, invalid, not_supported, required

Obj = dict[str, Any]

define(P + "NodeSelectorRequirement", "A test on a node label or field.", [
    Field("key", STRING, "Label key (or field name).", required=True),
    Field("operator", STRING, "In, NotIn, Exists, DoesNotExist, Gt or Lt.", required=True),
    Field("values", STRING_LIST, "Values to compare against.", list_type="atomic"),
])
define(P + "NodeSelectorTerm", "Requirements that must all hold for a node. An empty term matches nothing.", [
    Field("matchExpressions", ArrayOf(ref("NodeSelectorRequirement")), "Tests on node labels.", list_type="atomic"),
    Field("matchFields", ArrayOf(ref("NodeSelectorRequirement")), "Tests on node fields.", list_type="atomic"),
])
define(P + "NodeSelector", "A node must match at least one of the terms.", [
    Field("nodeSelectorTerms", ArrayOf(ref("NodeSelectorTerm")), "Alternative terms.", required=True,
          list_type="atomic"),
])
define(P + "PreferredSchedulingTerm", "A weighted node preference.", [
    Field("weight", INT32, "Weight from 1 to 100.", required=True),
    Field("preference", ref("NodeSelectorTerm"), "The preferred nodes.", required=True),
])
define(P + "NodeAffinity", "Node placement rules.", [
    Field("requiredDuringSchedulingIgnoredDuringExecution", ref("NodeSelector"), "Hard requirement."),
    Field("preferredDuringSchedulingIgnoredDuringExecution", ArrayOf(ref("PreferredSchedulingTerm")),
          "Soft preferences.", list_type="atomic"),
])
define(P + "PodAffinityTerm", "Pods matching the selector in the same topology domain.", [
    Field("labelSelector", Ref(LABEL_SELECTOR), "Which pods count."),
    Field("namespaces", STRING_LIST, "Namespaces to look in; the pod's own by default.", list_type="atomic"),
    Field("topologyKey", STRING, "Node label that defines a domain.", required=True),
    Field("namespaceSelector", Ref(LABEL_SELECTOR), "Namespaces to look in, by label."),
    Field("matchLabelKeys", STRING_LIST, "Incoming pod label keys merged into the selector (In).",
          list_type="atomic"),
    Field("mismatchLabelKeys", STRING_LIST, "Incoming pod label keys merged into the selector (NotIn).",
          list_type="atomic"),
])
define(P + "WeightedPodAffinityTerm", "A weighted pod (anti-)affinity preference.", [
    Field("weight", INT32, "Weight from 1 to 100.", required=True),
    Field("podAffinityTerm", ref("PodAffinityTerm"), "The term.", required=True),
])
for _kind, _what in (("PodAffinity", "near"), ("PodAntiAffinity", "away from")):
    define(P + _kind, f"Rules placing the pod {_what} other pods.", [
        Field("requiredDuringSchedulingIgnoredDuringExecution", ArrayOf(ref("PodAffinityTerm")), "Hard rules.",
              list_type="atomic"),
        Field("preferredDuringSchedulingIgnoredDuringExecution", ArrayOf(ref("WeightedPodAffinityTerm")),
              "Soft rules.", list_type="atomic"),
    ])
define(P + "Affinity", "Scheduling affinity rules of a pod.", [
    Field("nodeAffinity", ref("NodeAffinity"), "Rules about nodes."),
    Field("podAffinity", ref("PodAffinity"), "Co-location rules."),
    Field("podAntiAffinity", ref("PodAntiAffinity"), "Separation rules."),
])
define(P + "Toleration", "Lets the pod be scheduled onto (or stay on) nodes with a matching taint.", [
    Field("key", STRING, "Taint key; empty with Exists matches all taints."),
    Field("operator", STRING, "Exists or Equal (default)."),
    Field("value", STRING, "Taint value for Equal."),
    Field("effect", STRING, "Taint effect to match; empty matches all."),
    Field("tolerationSeconds", INT64, "For NoExecute: how long the pod stays after the taint appears."),
])
define(P + "TopologySpreadConstraint", "Limits how unevenly matching pods spread over topology domains.", [
    Field("maxSkew", INT32, "Largest allowed difference in matching pods between domains.", required=True),
    Field("topologyKey", STRING, "Node label that defines a domain.", required=True),
    Field("whenUnsatisfiable", STRING, "DoNotSchedule or ScheduleAnyway.", required=True),
    Field("labelSelector", Ref(LABEL_SELECTOR), "Which pods are counted."),
    Field("minDomains", INT32, "Minimum number of eligible domains."),
    Field("nodeAffinityPolicy", STRING, "Honor or Ignore the pod's node affinity when counting."),
    Field("nodeTaintsPolicy", STRING, "Honor or Ignore node taints when counting."),
    Field("matchLabelKeys", STRING_LIST, "Incoming pod label keys added to the selector.", list_type="atomic"),
])

_TAINT_EFFECTS = ["NoExecute", "NoSchedule", "PreferNoSchedule"]
_NODE_OPS = ["DoesNotExist", "Exists", "Gt", "In", "Lt", "NotIn"]


def validate_tolerations(tolerations: Any, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, tol in enumerate(tolerations or []):
        p = f"{path}[{i}]"
        op = tol.get("operator") or "Equal"
        if not tol.get("key") and op != "Exists":
            errs.append(invalid(p + ".operator", op, "operator must be Exists when `key` is empty, which means "
                                                     "\"match all values and all keys\""))
        if op == "Exists" and tol.get("value"):
            errs.append(invalid(p + ".operator", tol.get("value"), "value must be empty when `operator` is "
                                                                   "'Exists'"))
        if op not in ("Equal", "Exists"):
            errs.append(not_supported(p + ".operator", op, ["Equal", "Exists"]))
        effect = tol.get("effect") or ""
        if effect and effect not in _TAINT_EFFECTS:
            errs.append(not_supported(p + ".effect", effect, _TAINT_EFFECTS))
        if tol.get("tolerationSeconds") is not None and effect != "NoExecute":
            errs.append(invalid(p + ".effect", effect, "effect must be 'NoExecute' when `tolerationSeconds` is set"))
    return errs


def _validate_node_selector_term(term: Obj, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for key in ("matchExpressions", "matchFields"):
        for i, req in enumerate(term.get(key) or []):
            p = f"{path}.{key}[{i}]"
            op, values = req.get("operator", ""), req.get("values") or []
            if op in ("In", "NotIn") and not values:
                errs.append(required(p + ".values", "must be specified when `operator` is 'In' or 'NotIn'"))
            elif op in ("Exists", "DoesNotExist") and values:
                errs.append(FieldError(("FieldValueForbidden", "Forbidden"), p + ".values",
                                       "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
            elif op in ("Gt", "Lt") and len(values) != 1:
                errs.append(required(p + ".values", "must be specified single value when `operator` is 'Lt' or "
                                                    "'Gt'"))
            elif op not in _NODE_OPS:
                errs.append(invalid(p + ".operator", op, "not a valid selector operator"))
    return errs


def validate_affinity(affinity: Any, path: str) -> list[FieldError]:
    if not isinstance(affinity, dict):
        return []
    errs: list[FieldError] = []
    node = affinity.get("nodeAffinity") or {}
    req = node.get("requiredDuringSchedulingIgnoredDuringExecution")
    if isinstance(req, dict):
        p = path + ".nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"
        terms = req.get("nodeSelectorTerms") or []
        if not terms:
            errs.append(required(p + ".nodeSelectorTerms", "must have at least one node selector term"))
        for i, term in enumerate(terms):
            errs += _validate_node_selector_term(term, f"{p}.nodeSelectorTerms[{i}]")
    for i, pref in enumerate(node.get("preferredDuringSchedulingIgnoredDuringExecution") or []):
        p = f"{path}.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[{i}]"
        errs += _validate_weight(pref.get("weight"), p + ".weight")
        errs += _validate_node_selector_term(pref.get("preference") or {}, p + ".preference")
    for kind in ("podAffinity", "podAntiAffinity"):
        rules = affinity.get(kind) or {}
        for i, term in enumerate(rules.get("requiredDuringSchedulingIgnoredDuringExecution") or []):
            errs += _validate_pod_affinity_term(term, f"{path}.{kind}.requiredDuringSchedulingIgnoredDuringExecution[{i}]")
        for i, wt in enumerate(rules.get("preferredDuringSchedulingIgnoredDuringExecution") or []):
            p = f"{path}.{kind}.preferredDuringSchedulingIgnoredDuringExecution[{i}]"
            errs += _validate_weight(wt.get("weight"), p + ".weight")
            errs += _validate_pod_affinity_term(wt.get("podAffinityTerm") or {}, p + ".podAffinityTerm")
    return errs


def _validate_weight(weight: Any, path: str) -> list[FieldError]:
    if not isinstance(weight, int) or not 1 <= weight <= 100:
        return [invalid(path, weight, "must be in the range 1-100")]
    return []


def _validate_pod_affinity_term(term: Obj, path: str) -> list[FieldError]:
    errs = validate_label_selector(term.get("labelSelector"), path + ".labelSelector")
    errs += validate_label_selector(term.get("namespaceSelector"), path + ".namespaceSelector")
    if not term.get("topologyKey"):
        errs.append(required(path + ".topologyKey", "can not be empty"))
    return errs


def validate_topology_spread(constraints: Any, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    seen: set[tuple[str, str]] = set()
    for i, c in enumerate(constraints or []):
        p = f"{path}[{i}]"
        skew = c.get("maxSkew")
        if not isinstance(skew, int) or skew <= 0:
            errs.append(invalid(p + ".maxSkew", skew, "must be greater than zero"))
        if not c.get("topologyKey"):
            errs.append(required(p + ".topologyKey", "can not be empty"))
        when = c.get("whenUnsatisfiable") or ""
        if when not in ("DoNotSchedule", "ScheduleAnyway"):
            errs.append(not_supported(p + ".whenUnsatisfiable", when, ["DoNotSchedule", "ScheduleAnyway"]))
        key = (c.get("topologyKey") or "", when)
        if key in seen:
            errs.append(FieldError(("FieldValueDuplicate", "Duplicate value"), p,
                                   f'{{{key[0]}, {key[1]}}}', None, False))
        seen.add(key)
        errs += validate_label_selector(c.get("labelSelector"), p + ".labelSelector")
    return errs


define(P + "TopologySelectorLabelRequirement", "A label key and the values it may take.", [
    Field("key", STRING, "Label key.", required=True),
    Field("values", STRING_LIST, "Accepted values.", required=True, list_type="atomic"),
])
define(P + "TopologySelectorTerm", "A topology domain described by label values (used by StorageClass).", [
    Field("matchLabelExpressions", ArrayOf(ref("TopologySelectorLabelRequirement")), "Label requirements.",
          list_type="atomic"),
])
