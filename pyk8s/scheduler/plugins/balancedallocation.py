"""NodeResourcesBalancedAllocation: prefer nodes whose cpu and memory fill evenly.

Score = (1 - standard deviation of the requested/allocatable fractions) x 100;
with two resources the deviation is half their difference.  Uses actual
requests (not the non-zero defaults), as upstream.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from pyk8s.scheduler import resources as res
from pyk8s.scheduler.cache import NodeInfo
from pyk8s.scheduler.framework import interface as fw

NAME = "NodeResourcesBalancedAllocation"
_CPU_MEMORY = (res.CPU, res.MEMORY)


class BalancedAllocation:
    name = NAME

    def __init__(self, resource_names: Sequence[str] = (res.CPU, res.MEMORY)) -> None:
        self.resource_names = tuple(resource_names)

    def score(self, state: fw.CycleState, pod: fw.Pod, node_info: NodeInfo) -> int:
        info = state.pod_info
        assert info is not None
        if self.resource_names == _CPU_MEMORY:  # the default: two fractions, no list
            alloc, used, want = node_info.allocatable, node_info.requested, info.requests
            cpu, mem = alloc.get(res.CPU, 0), alloc.get(res.MEMORY, 0)
            if cpu > 0 and mem > 0:
                f1 = min(1.0, (used.get(res.CPU, 0) + want.get(res.CPU, 0)) / cpu)
                f2 = min(1.0, (used.get(res.MEMORY, 0) + want.get(res.MEMORY, 0)) / mem)
                return int((1 - abs(f1 - f2) / 2) * fw.MAX_NODE_SCORE)
        fractions: list[float] = []
        for name in self.resource_names:
            capacity = node_info.allocatable.get(name, 0)
            if capacity <= 0:
                continue
            requested = node_info.requested.get(name, 0) + info.requests.get(name, 0)
            fractions.append(min(1.0, requested / capacity))
        if len(fractions) < 2:
            std = 0.0
        elif len(fractions) == 2:
            std = abs(fractions[0] - fractions[1]) / 2
        else:
            mean = sum(fractions) / len(fractions)
            std = math.sqrt(sum((f - mean) ** 2 for f in fractions) / len(fractions))
        return int((1 - std) * fw.MAX_NODE_SCORE)

    def events_to_register(self) -> list[fw.ClusterEvent]:
        return [
            fw.ClusterEvent(fw.EventResource.ASSIGNED_POD, fw.ActionType.DELETE),
            fw.ClusterEvent(fw.EventResource.NODE, fw.ActionType.ADD | fw.ActionType.UPDATE_NODE_ALLOCATABLE),
        ]
