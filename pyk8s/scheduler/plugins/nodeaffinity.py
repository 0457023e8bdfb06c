"""NodeAffinity: ``nodeSelector`` plus required/preferred node affinity.

Required: the node must match every ``nodeSelector`` label and at least one
``nodeSelectorTerms`` entry (the matching rules are
``pyk8s.api.core_v1.helpers.nodeaffinity``); a required ``metadata.name In``
lets PreFilter narrow the node list at once.
Preferred terms add their weight to the score, normalised to 0..100.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pyk8s.api.core_v1.helpers import nodeaffinity as helpers
from pyk8s.scheduler.cache import NodeInfo
from pyk8s.scheduler.framework import interface as fw
from pyk8s.scheduler.plugins.tainttoleration import default_normalize

NAME = "NodeAffinity"
REASON = "node(s) didn't match Pod's node affinity/selector"


def required_node_selector(pod: fw.Pod) -> Mapping[str, Any] | None:
    return helpers.required_node_selector(pod.get("spec") or {})


def pod_matches_node(pod: fw.Pod, labels: Mapping[str, str], node_name: str) -> bool:
    """``nodeSelector`` and required node affinity (shared with PodTopologySpread, VolumeBinding)."""
    return helpers.pod_matches_node_labels(pod.get("spec") or {}, labels, node_name)


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
            if weight and helpers.term_matches(item.get("preference") or {}, node_info.labels, node_info.name):
                total += weight
        return total

    def normalize_scores(self, state: fw.CycleState, pod: fw.Pod, scores: dict[str, int]) -> None:
        default_normalize(scores)

    def events_to_register(self) -> list[fw.ClusterEvent]:
        return [fw.ClusterEvent(fw.EventResource.NODE, fw.ActionType.ADD | fw.ActionType.UPDATE_NODE_LABEL)]
