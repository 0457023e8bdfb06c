"""NodeResourcesFit: requests must fit the node's allocatable; scoring prefers the least (or most) allocated.

Filter reports every short resource at once (``Too many pods``,
``Insufficient cpu``, ``Insufficient memory``...), as upstream, so the
failure message counts each.  Scoring uses the non-zero request defaults
(100m CPU, 200Mi memory per container) so best-effort pods still spread.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pyk8s.scheduler import resources as res
from pyk8s.scheduler.cache import NodeInfo
from pyk8s.scheduler.framework import interface as fw

NAME = "NodeResourcesFit"
LEAST_ALLOCATED = "LeastAllocated"
MOST_ALLOCATED = "MostAllocated"
_ORDER = (res.CPU, res.MEMORY, res.EPHEMERAL_STORAGE)


def insufficient(requests: Mapping[str, int], node: NodeInfo) -> list[str]:
    """The upstream reasons for which ``requests`` do not fit on ``node``."""
    reasons: list[str] = []
    alloc, used = node.allocatable, node.requested
    if alloc.get(res.PODS, 0) < used.get(res.PODS, 0) + 1:
        reasons.append("Too many pods")
    for name in _ORDER:
        want = requests.get(name, 0)
        if want > 0 and want > alloc.get(name, 0) - used.get(name, 0):
            reasons.append(f"Insufficient {name}")
    for name, want in requests.items():
        if name in _ORDER or name == res.PODS or want <= 0:
            continue
        if want > alloc.get(name, 0) - used.get(name, 0):
            reasons.append(f"Insufficient {name}")
    return reasons


class NodeResourcesFit:
    name = NAME

    def __init__(self, strategy: str = LEAST_ALLOCATED, weights: Mapping[str, int] | None = None) -> None:
        if strategy not in (LEAST_ALLOCATED, MOST_ALLOCATED):
            raise ValueError(f"unknown scoring strategy {strategy!r}")
        self.strategy = strategy
        self.weights = dict(weights or {res.CPU: 1, res.MEMORY: 1})
        self._cpu_memory = self.weights == {res.CPU: 1, res.MEMORY: 1}

    def filter(self, state: fw.CycleState, pod: fw.Pod, node_info: NodeInfo) -> fw.Status | None:
        assert state.pod_info is not None
        requests = state.pod_info.requests
        alloc, used = node_info.allocatable, node_info.requested
        # Fast path (the common case): everything fits, no reasons to build.
        if alloc.get(res.PODS, 0) > used.get(res.PODS, 0):
            for name, want in requests.items():
                if want > 0 and name != res.PODS and want > alloc.get(name, 0) - used.get(name, 0):
                    break
            else:
                return None
        reasons = insufficient(requests, node_info)
        return fw.Status.unschedulable(*reasons) if reasons else None

    def pre_score(self, state: fw.CycleState, pod: fw.Pod, nodes: Sequence[NodeInfo]) -> fw.Status | None:
        return None

    def score(self, state: fw.CycleState, pod: fw.Pod, node_info: NodeInfo) -> int:
        info = state.pod_info
        assert info is not None
        if self._cpu_memory:  # the default weights: the loop below, unrolled (runs per node per pod)
            alloc = node_info.allocatable
            cpu, mem = alloc.get(res.CPU, 0), alloc.get(res.MEMORY, 0)
            want_cpu = node_info.non_zero_cpu + info.non_zero_cpu
            want_mem = node_info.non_zero_memory + info.non_zero_memory
            total = 0
            if self.strategy == LEAST_ALLOCATED:
                if 0 < cpu and want_cpu <= cpu:
                    total += (cpu - want_cpu) * fw.MAX_NODE_SCORE // cpu
                if 0 < mem and want_mem <= mem:
                    total += (mem - want_mem) * fw.MAX_NODE_SCORE // mem
            else:
                if 0 < cpu and want_cpu <= cpu:
                    total += want_cpu * fw.MAX_NODE_SCORE // cpu
                if 0 < mem and want_mem <= mem:
                    total += want_mem * fw.MAX_NODE_SCORE // mem
            return total // 2
        total = weight_sum = 0
        for name, weight in self.weights.items():
            capacity = node_info.allocatable.get(name, 0)
            if name == res.CPU:
                requested = node_info.non_zero_cpu + info.non_zero_cpu
            elif name == res.MEMORY:
                requested = node_info.non_zero_memory + info.non_zero_memory
            else:
                requested = node_info.requested.get(name, 0) + info.requests.get(name, 0)
            weight_sum += weight
            if capacity == 0 or requested > capacity:
                continue  # scores 0 for this resource
            if self.strategy == LEAST_ALLOCATED:
                total += (capacity - requested) * fw.MAX_NODE_SCORE // capacity * weight
            else:
                total += requested * fw.MAX_NODE_SCORE // capacity * weight
        return total // weight_sum if weight_sum else 0

    def events_to_register(self) -> list[fw.ClusterEvent]:
        return [
            fw.ClusterEvent(fw.EventResource.ASSIGNED_POD, fw.ActionType.DELETE | fw.ActionType.UPDATE_POD_SCALE_DOWN),
            fw.ClusterEvent(fw.EventResource.NODE, fw.ActionType.ADD | fw.ActionType.UPDATE_NODE_ALLOCATABLE),
        ]
