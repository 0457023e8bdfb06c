"""NodeUnschedulable: cordoned nodes (``spec.unschedulable``) take only pods tolerating that."""

from __future__ import annotations

from pyk8s.api.core_v1.helpers.tolerations import tolerated
from pyk8s.scheduler.cache import NodeInfo
from pyk8s.scheduler.framework import interface as fw
from pyk8s.scheduler.plugins import tainttoleration

NAME = "NodeUnschedulable"
REASON = "node(s) were unschedulable"
_TAINT = {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}


class NodeUnschedulable:
    name = NAME

    def filter(self, state: fw.CycleState, pod: fw.Pod, node_info: NodeInfo) -> fw.Status | None:
        if not node_info.unschedulable:
            return None
        if tolerated(tainttoleration.pod_tolerations(pod), _TAINT):
            return None
        return fw.Status.unschedulable(REASON, unresolvable=True)

    def events_to_register(self) -> list[fw.ClusterEvent]:
        return [
            fw.ClusterEvent(fw.EventResource.NODE, fw.ActionType.ADD | fw.ActionType.UPDATE_NODE_TAINT),
            fw.ClusterEvent(fw.EventResource.POD, fw.ActionType.UPDATE_POD_TOLERATION),
        ]
