"""NodeName: a pod that names its node (``spec.nodeName``) fits only there."""

from __future__ import annotations

from collections.abc import Sequence

from pyk8s.scheduler.cache import NodeInfo
from pyk8s.scheduler.framework import interface as fw

NAME = "NodeName"
REASON = "node(s) didn't match the requested node name"


class NodeName:
    name = NAME

    def pre_filter(
        self, state: fw.CycleState, pod: fw.Pod, nodes: Sequence[NodeInfo]
    ) -> tuple[fw.PreFilterResult | None, fw.Status | None]:
        # Most pods name no node: skip the per-node check entirely for them.
        if not (pod.get("spec") or {}).get("nodeName"):
            return None, fw.Status.skip()
        return None, None

    def filter(self, state: fw.CycleState, pod: fw.Pod, node_info: NodeInfo) -> fw.Status | None:
        wanted = (pod.get("spec") or {}).get("nodeName")
        if wanted and wanted != node_info.name:
            return fw.Status.unschedulable(REASON, unresolvable=True)
        return None

    def events_to_register(self) -> list[fw.ClusterEvent]:
        return [fw.ClusterEvent(fw.EventResource.NODE, fw.ActionType.ADD)]
