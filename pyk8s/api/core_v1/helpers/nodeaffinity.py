"""Node selection: ``nodeSelector`` and node affinity against a node, as
upstream's ``component-helpers/scheduling/corev1/nodeaffinity`` matches them.

* A ``NodeSelector`` ORs its ``nodeSelectorTerms``; a term ANDs its
  ``matchExpressions`` (node labels) and ``matchFields`` (only
  ``metadata.name`` exists); a term with neither matches no node.
* Operators: In, NotIn (also true when the label is absent), Exists,
  DoesNotExist, Gt and Lt (one value, both sides integers, else no match).
* A pod's required node constraints are every ``nodeSelector`` label plus
  ``requiredDuringSchedulingIgnoredDuringExecution`` (absent: any node).
* A PersistentVolume's ``spec.nodeAffinity.required`` is the same kind of
  NodeSelector (absent: any node).

Functions take the node's labels and name rather than the Node, so callers
with pre-parsed node info (the scheduler) pay no dict lookups.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Obj = Mapping[str, Any]
NAME_FIELD = "metadata.name"


def requirement_matches(req: Obj, value: str | None) -> bool:
    """One NodeSelectorRequirement against the value found (None: the key is absent)."""
    op, values = req.get("operator"), req.get("values") or []
    if op == "In":
        return value is not None and value in values
    if op == "NotIn":
        return value is None or value not in values
    if op == "Exists":
        return value is not None
    if op == "DoesNotExist":
        return value is None
    if op in ("Gt", "Lt") and value is not None and len(values) == 1:
        try:
            have, want = int(value), int(values[0])
        except ValueError:
            return False
        return have > want if op == "Gt" else have < want
    return False


def term_matches(term: Obj, labels: Mapping[str, str], node_name: str) -> bool:
    """One NodeSelectorTerm: every expression and every field requirement holds (empty: no match)."""
    exprs, fields = term.get("matchExpressions") or (), term.get("matchFields") or ()
    if not exprs and not fields:
        return False
    if not all(requirement_matches(r, labels.get(r.get("key", ""))) for r in exprs):
        return False
    return all(r.get("key") == NAME_FIELD and requirement_matches(r, node_name) for r in fields)


def node_selector_matches(selector: Obj | None, labels: Mapping[str, str], node_name: str) -> bool:
    """A v1.NodeSelector: any term matches (None: every node)."""
    if selector is None:
        return True
    return any(term_matches(t, labels, node_name) for t in selector.get("nodeSelectorTerms") or ())


def required_node_selector(pod_spec: Obj) -> Obj | None:
    """The pod's required node affinity (None when it has none)."""
    affinity = (pod_spec.get("affinity") or {}).get("nodeAffinity") or {}
    required: Obj | None = affinity.get("requiredDuringSchedulingIgnoredDuringExecution")
    return required


def pod_matches_node_labels(pod_spec: Obj, labels: Mapping[str, str], node_name: str) -> bool:
    """``GetRequiredNodeAffinity(pod).Match(node)``: nodeSelector labels and required affinity."""
    for key, value in (pod_spec.get("nodeSelector") or {}).items():
        if labels.get(key) != value:
            return False
    return node_selector_matches(required_node_selector(pod_spec), labels, node_name)


def pod_matches_node(pod_spec: Obj, node: Obj) -> bool:
    """As ``pod_matches_node_labels``, taking the Node object."""
    meta = node.get("metadata") or {}
    return pod_matches_node_labels(pod_spec, meta.get("labels") or {}, meta.get("name") or "")


def volume_node_affinity_matches(pv: Obj, node: Obj | None) -> bool:
    """``CheckNodeAffinity``: the PV's required node affinity admits ``node`` (no affinity: any node)."""
    required = ((pv.get("spec") or {}).get("nodeAffinity") or {}).get("required")
    if not required:
        return True
    if node is None:
        return False
    meta = node.get("metadata") or {}
    return node_selector_matches(required, meta.get("labels") or {}, meta.get("name") or "")
