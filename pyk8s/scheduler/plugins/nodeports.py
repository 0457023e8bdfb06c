"""NodePorts: a pod's hostPorts must be free on the node (per IP and protocol; 0.0.0.0 covers all IPs)."""

from __future__ import annotations

from collections.abc import Sequence

from pyk8s.scheduler.cache import NodeInfo
from pyk8s.scheduler.framework import interface as fw

NAME = "NodePorts"
REASON = "node(s) didn't have free ports for the requested pod ports"


class NodePorts:
    name = NAME

    def pre_filter(
        self, state: fw.CycleState, pod: fw.Pod, nodes: Sequence[NodeInfo]
    ) -> tuple[fw.PreFilterResult | None, fw.Status | None]:
        if state.pod_info is None or not state.pod_info.ports:
            return None, fw.Status.skip()
        return None, None

    def filter(self, state: fw.CycleState, pod: fw.Pod, node_info: NodeInfo) -> fw.Status | None:
        assert state.pod_info is not None
        if node_info.used_ports and node_info.port_conflicts(state.pod_info.ports):
            return fw.Status.unschedulable(REASON)
        return None

    def events_to_register(self) -> list[fw.ClusterEvent]:
        return [
            fw.ClusterEvent(fw.EventResource.ASSIGNED_POD, fw.ActionType.DELETE),
            fw.ClusterEvent(fw.EventResource.NODE, fw.ActionType.ADD),
        ]
