"""Whether a pod may run on a node, as the DaemonSet controller judges it.

Follows ``component-helpers/scheduling/corev1`` (``nodeaffinity``,
``FindMatchingUntoleratedTaint``, ``ToleratesTaint``):

* ``nodeSelector`` labels must all match, and the required node affinity must
  match: the terms are ORed, the requirements of a term ANDed, a term with no
  requirements matches nothing; ``matchFields`` knows only ``metadata.name``.
* Operators: In, NotIn, Exists, DoesNotExist, Gt, Lt (integers).
* A toleration with empty key and ``Exists`` tolerates every taint; empty
  effect tolerates every effect; ``Equal`` (the default) compares values.

Kept here (not imported from the scheduler) because controllers and the
scheduler may not import each other; the rules are small and fixed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

Obj = Mapping[str, Any]


def _requirement(req: Obj, values_of: Callable[[str], str | None]) -> bool:
    actual = values_of(req.get("key", ""))
    op, values = req.get("operator"), req.get("values") or []
    if op == "In":
        return actual is not None and actual in values
    if op == "NotIn":
        return actual is None or actual not in values
    if op == "Exists":
        return actual is not None
    if op == "DoesNotExist":
        return actual is None
    if op in ("Gt", "Lt") and actual is not None and len(values) == 1:
        try:
            left, right = int(actual), int(values[0])
        except ValueError:
            return False
        return left > right if op == "Gt" else left < right
    return False


def _term(term: Obj, node: Obj) -> bool:
    exprs, fields = term.get("matchExpressions") or [], term.get("matchFields") or []
    if not exprs and not fields:
        return False
    node_labels = node.get("metadata", {}).get("labels") or {}
    name = node.get("metadata", {}).get("name")
    field_of = {"metadata.name": name}.get
    return all(_requirement(r, node_labels.get) for r in exprs) and all(_requirement(r, field_of) for r in fields)


def matches_node(pod_spec: Obj, node: Obj) -> bool:
    """``GetRequiredNodeAffinity(pod).Match(node)``: nodeSelector and required affinity."""
    node_labels = node.get("metadata", {}).get("labels") or {}
    if any(node_labels.get(k) != v for k, v in (pod_spec.get("nodeSelector") or {}).items()):
        return False
    required = (((pod_spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution"))
    if required is None:
        return True
    return any(_term(t, node) for t in required.get("nodeSelectorTerms") or [])


def tolerates(toleration: Obj, taint: Obj) -> bool:
    if toleration.get("effect") and toleration.get("effect") != taint.get("effect"):
        return False
    if toleration.get("key") and toleration.get("key") != taint.get("key"):
        return False
    op = toleration.get("operator") or "Equal"
    if op == "Exists":
        return True
    return op == "Equal" and (toleration.get("value") or "") == (taint.get("value") or "")


def untolerated(taints: Sequence[Obj], tolerations: Sequence[Obj], effects: Sequence[str]) -> Obj | None:
    """The first taint with one of ``effects`` that no toleration tolerates."""
    for taint in taints:
        if taint.get("effect") in effects and not any(tolerates(t, taint) for t in tolerations):
            return taint
    return None
