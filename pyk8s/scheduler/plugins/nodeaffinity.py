"""NodeAffinity: ``nodeSelector`` plus required/preferred node affinity.

Required: the node must match every ``nodeSelector`` label and at least one
``nodeSelectorTerms`` entry (a term ANDs its matchExpressions and
matchFields; an empty term matches nothing).  Operators In, NotIn, Exists,
DoesNotExist, Gt, Lt; matchFields supports ``metadata.name`` only, and a
required ``metadata.name In`` lets PreFilter narrow the node list at once.
Preferred terms add their weight to the score, normalised to 0..100.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pyk8s.scheduler.cache import NodeInfo
from pyk8s.scheduler.framework import interface as fw
from pyk8s.scheduler.plugins.tainttoleration import default_normalize

NAME = "NodeAffinity"
REASON = "node(s) didn't match Pod's node affinity/selector"


def _requirement_matches(req: Mapping[str, Any], value: str | None) -> bool:
    op = req.get("operator")
    values = req.get("values") or []
    if op == "In":
        return value is not None and value in values
    if op == "NotIn":
        return value is None or value not in values
    if op == "Exists":
        return value is not None
    if op == "DoesNotExist":
        return value is None
    if op in ("Gt", "Lt"):
        if value is None or len(values) != 1:
            return False
        try:
            have, want = int(value), int(values[0])
        except ValueError:
            return False
        return have > want if op == "Gt" else have < want
    return False


def term_matches(term: Mapping[str, Any], labels: Mapping[str, str], node_name: str) -> bool:
    exprs = term.get("matchExpressions") or []
    fields = term.get("matchFields") or []
    if not exprs and not fields:
        return False
    for req in exprs:
        if not _requirement_matches(req, labels.get(req.get("key", ""))):
            return False
    for req in fields:
        if req.get("key") != "metadata.name" or not _requirement_matches(req, node_name):
            return False
    return True


def node_selector_matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str], node_name: str) -> bool:
    """A v1.NodeSelector: OR of its terms (None matches every node)."""
    if selector is None:
        return True
    return any(term_matches(t, labels, node_name) for t in selector.get("nodeSelectorTerms") or ())


def required_node_selector(pod: fw.Pod) -> Mapping[str, Any] | None:
    aff = ((pod.get("spec") or {}).get("affinity") or {}).get("nodeAffinity") or {}
    return aff.get("requiredDuringSchedulingIgnoredDuringExecution")


def pod_matches_node(pod: fw.Pod, labels: Mapping[str, str], node_name: str) -> bool:
    """``nodeSelector`` and required node affinity (shared with PodTopologySpread, VolumeBinding)."""
    selector = (pod.get("spec") or {}).get("nodeSelector") or {}
    for k, v in selector.items():
        if labels.get(k) != v:
            return False
    return node_selector_matches(required_node_selector(pod), labels, node_name)


def _name_restriction(required: Mapping[str, Any] | None) -> frozenset[str] | None:
    """Node names a required affinity allows when every term pins ``metadata.name In``."""
    if required is None:
        return None
    names: set[str] = set()
    for term in required.get("nodeSelectorTerms") or ():
        pinned = [f for f in term.get("matchFields") or () if f.get("key") == "metadata.name" and f.get("operator") == "In"]
        if not pinned:
            return None
        names.update(pinned[0].get("values") or ())
    return frozenset(names)


class NodeAffinity:
    name = NAME

    def pre_filter(
        self, state: fw.CycleState, pod: fw.Pod, nodes: Sequence[NodeInfo]
    ) -> tuple[fw.PreFilterResult | None, fw.Status | None]:
        required = required_node_selector(pod)
        if not (pod.get("spec") or {}).get("nodeSelector") and required is None:
            return None, fw.Status.skip()
        names = _name_restriction(required)
        if names is not None and not names:
            return None, fw.Status.unschedulable(REASON, unresolvable=True)
        return (fw.PreFilterResult(names) if names is not None else None), None

    def filter(self, state: fw.CycleState, pod: fw.Pod, node_info: NodeInfo) -> fw.Status | None:
        if pod_matches_node(pod, node_info.labels, node_info.name):
            return None
        return fw.Status.unschedulable(REASON, unresolvable=True)

    def pre_score(self, state: fw.CycleState, pod: fw.Pod, nodes: Sequence[NodeInfo]) -> fw.Status | None:
        aff = ((pod.get("spec") or {}).get("affinity") or {}).get("nodeAffinity") or {}
        preferred = aff.get("preferredDuringSchedulingIgnoredDuringExecution") or []
        if not preferred:
            return fw.Status.skip()
        state.write(NAME, preferred)
        return None

    def score(self, state: fw.CycleState, pod: fw.Pod, node_info: NodeInfo) -> int:
        total = 0
        for item in state.read(NAME):
            weight = int(item.get("weight") or 0)
            if weight and term_matches(item.get("preference") or {}, node_info.labels, node_info.name):
                total += weight
        return total

    def normalize_scores(self, state: fw.CycleState, pod: fw.Pod, scores: dict[str, int]) -> None:
        default_normalize(scores)

    def events_to_register(self) -> list[fw.ClusterEvent]:
        return [fw.ClusterEvent(fw.EventResource.NODE, fw.ActionType.ADD | fw.ActionType.UPDATE_NODE_LABEL)]
