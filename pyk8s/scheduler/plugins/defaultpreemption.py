"""DefaultPreemption (diagnosis only): explains why preemption cannot help.

Evicting lower-priority pods is not implemented yet.  This PostFilter does
the part of upstream's dry run that needs no eviction, so the
FailedScheduling message carries the same ``preemption: ...`` suffix:

* ``preemptionPolicy: Never`` -> ``not eligible due to preemptionPolicy=Never.``;
* nodes rejected as UnschedulableAndUnresolvable ->
  ``Preemption is not helpful for scheduling``;
* nodes holding no lower-priority pod -> ``No preemption victims found for incoming pod``.

When some node does hold lower-priority pods, upstream would preempt there;
we report no preemption verdict at all (the message stops after the filter
reasons) rather than invent one.
"""

from __future__ import annotations

from collections.abc import Mapping

from pyk8s.scheduler import schedule_one
from pyk8s.scheduler.framework import interface as fw
from pyk8s.scheduler.podinfo import PodInfo

NAME = "DefaultPreemption"
NOT_HELPFUL = "Preemption is not helpful for scheduling"
NO_VICTIMS = "No preemption victims found for incoming pod"


def fit_message(num_nodes: int, statuses: Mapping[str, fw.Status]) -> str:
    return schedule_one.FitError(num_all_nodes=num_nodes, statuses=dict(statuses)).message()


class DefaultPreemption:
    name = NAME

    def post_filter(self, state: fw.CycleState, pod: fw.Pod, statuses: Mapping[str, fw.Status]) -> fw.Status | None:
        spec = pod.get("spec") or {}
        if spec.get("preemptionPolicy") == "Never":
            return fw.Status(fw.Code.UNSCHEDULABLE, ["preemption: not eligible due to preemptionPolicy=Never."])
        info = state.pod_info or PodInfo.of(pod)
        snap = state.snapshot
        verdicts: dict[str, fw.Status] = {}
        for node_name, status in statuses.items():
            if status.code == fw.Code.UNSCHEDULABLE_AND_UNRESOLVABLE:
                verdicts[node_name] = fw.Status(fw.Code.UNSCHEDULABLE_AND_UNRESOLVABLE, [NOT_HELPFUL])
                continue
            node = snap.get(node_name) if snap is not None else None
            if node is not None and any(p.priority < info.priority for p in node.pods):
                return fw.Status(fw.Code.UNSCHEDULABLE)  # a candidate exists: no verdict to report
            verdicts[node_name] = fw.Status(fw.Code.UNSCHEDULABLE_AND_UNRESOLVABLE, [NO_VICTIMS])
        num = len(snap.node_infos) if snap is not None else len(statuses)
        return fw.Status(fw.Code.UNSCHEDULABLE, ["preemption: " + fit_message(num, verdicts)])
