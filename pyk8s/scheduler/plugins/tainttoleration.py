"""TaintToleration: NoSchedule/NoExecute taints must be tolerated; PreferNoSchedule steers scores.

Filter rejects a node on its first untolerated hard taint (unresolvable by
moving pods, so UnschedulableAndUnresolvable).  Score counts untolerated
PreferNoSchedule taints; normalisation flips it so fewer is better.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pyk8s.api.core_v1.helpers.tolerations import tolerated
from pyk8s.scheduler.cache import NodeInfo
from pyk8s.scheduler.framework import interface as fw

NAME = "TaintToleration"
_HARD = ("NoSchedule", "NoExecute")


def pod_tolerations(pod: fw.Pod) -> list[dict[str, Any]]:
    return (pod.get("spec") or {}).get("tolerations") or []


def untolerated_reason(taint: Mapping[str, Any]) -> str:
    return f"node(s) had untolerated taint {{{taint.get('key', '')}: {taint.get('value') or ''}}}"


class TaintToleration:
    name = NAME

    def filter(self, state: fw.CycleState, pod: fw.Pod, node_info: NodeInfo) -> fw.Status | None:
        if not node_info.taints:
            return None
        tols = pod_tolerations(pod)
        for taint in node_info.taints:
            if taint.get("effect") in _HARD and not tolerated(tols, taint):
                return fw.Status.unschedulable(untolerated_reason(taint), unresolvable=True)
        return None

    def pre_score(self, state: fw.CycleState, pod: fw.Pod, nodes: list[NodeInfo]) -> fw.Status | None:
        tols = [t for t in pod_tolerations(pod) if not t.get("effect") or t.get("effect") == "PreferNoSchedule"]
        state.write(NAME, tols)
        return None

    def score(self, state: fw.CycleState, pod: fw.Pod, node_info: NodeInfo) -> int:
        if not node_info.taints:
            return 0
        tols = state.get(NAME, [])
        return sum(
            1 for t in node_info.taints if t.get("effect") == "PreferNoSchedule" and not tolerated(tols, t)
        )

    def normalize_scores(self, state: fw.CycleState, pod: fw.Pod, scores: dict[str, int]) -> None:
        default_normalize(scores, reverse=True)

    def events_to_register(self) -> list[fw.ClusterEvent]:
        return [
            fw.ClusterEvent(fw.EventResource.NODE, fw.ActionType.ADD | fw.ActionType.UPDATE_NODE_TAINT),
            fw.ClusterEvent(fw.EventResource.POD, fw.ActionType.UPDATE_POD_TOLERATION),
        ]


def default_normalize(scores: dict[str, int], *, reverse: bool = False) -> None:
    """Upstream ``DefaultNormalizeScore``: scale to 0..100 by the maximum, optionally flipped."""
    top = max(scores.values(), default=0)
    if top == 0:
        if reverse:
            for k in scores:
                scores[k] = fw.MAX_NODE_SCORE
        return
    for k, v in scores.items():
        s = fw.MAX_NODE_SCORE * v // top
        scores[k] = fw.MAX_NODE_SCORE - s if reverse else s
