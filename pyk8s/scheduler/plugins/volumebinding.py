"""VolumeBinding (hook): PVC-backed pods go where their volumes can follow.

PreFilter resolves the pod's claims through an injected ``VolumeLister``:
a missing or terminating claim, or an unbound claim whose StorageClass binds
``Immediate``, rejects the pod outright.  Filter requires every bound PV's
``nodeAffinity`` to match the node.  An ephemeral volume's claim
(``<pod>-<volume>``) must be owned by the pod.  ``WaitForFirstConsumer`` claims are
left to an optional ``VolumeBinder`` (find/assume/bind; the scheduler runs
``volumebinding_api.ApiVolumeBinder``); without one they are assumed
satisfiable.  A claim's class is read as upstream does (beta annotation first).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from pyk8s.api.core_v1.helpers import ephemeral
from pyk8s.api.core_v1.helpers.nodeaffinity import node_selector_matches
from pyk8s.api.core_v1.persistentvolume import storage_class_name
from pyk8s.scheduler.cache import NodeInfo
from pyk8s.scheduler.framework import interface as fw

NAME = "VolumeBinding"
REASON_NODE_CONFLICT = "node(s) had volume node affinity conflict"
REASON_UNBOUND_IMMEDIATE = "pod has unbound immediate PersistentVolumeClaims"
REASON_BIND_CONFLICT = "node(s) didn't find available persistent volumes to bind"


class VolumeLister(Protocol):
    def get_pvc(self, namespace: str, name: str) -> dict[str, Any] | None: ...

    def get_pv(self, name: str) -> dict[str, Any] | None: ...

    def get_storage_class(self, name: str) -> dict[str, Any] | None: ...


class VolumeBinder(Protocol):
    def find_pod_volumes(self, pod: fw.Pod, claims: list[dict[str, Any]], node: dict[str, Any]) -> list[str]:
        """Reasons the delayed-binding claims cannot be satisfied on this node (empty = fine)."""
        ...

    def assume_pod_volumes(self, pod: fw.Pod, node_name: str) -> None: ...

    def revert_assumed_pod_volumes(self, pod: fw.Pod, node_name: str) -> None: ...

    async def bind_pod_volumes(self, pod: fw.Pod, node_name: str) -> None: ...


def claim_names(pod: fw.Pod) -> list[str]:
    out = []
    for v in (pod.get("spec") or {}).get("volumes") or ():
        if v.get("persistentVolumeClaim"):
            out.append(v["persistentVolumeClaim"].get("claimName", ""))
        elif v.get("ephemeral") is not None:
            out.append(ephemeral.claim_name(pod, v))
    return out


@dataclass(slots=True)
class _State:
    bound_pvs: list[dict[str, Any]] = field(default_factory=list)
    delayed: list[dict[str, Any]] = field(default_factory=list)


class VolumeBinding:
    name = NAME

    def __init__(self, lister: VolumeLister, binder: VolumeBinder | None = None) -> None:
        self._lister = lister
        self._binder = binder

    def pre_filter(
        self, state: fw.CycleState, pod: fw.Pod, nodes: Sequence[NodeInfo]
    ) -> tuple[fw.PreFilterResult | None, fw.Status | None]:
        names = claim_names(pod)
        if not names:
            return None, fw.Status.skip()
        ns = (pod.get("metadata") or {}).get("namespace") or "default"
        s = _State()
        ephemeral_names = {ephemeral.claim_name(pod, v) for v in ephemeral.ephemeral_volumes(pod)}
        for claim_name in names:
            pvc = self._lister.get_pvc(ns, claim_name)
            if pvc is None:
                return None, fw.Status.unschedulable(f'persistentvolumeclaim "{claim_name}" not found', unresolvable=True)
            if (pvc.get("metadata") or {}).get("deletionTimestamp"):
                return None, fw.Status.unschedulable(f'persistentvolumeclaim "{claim_name}" is being deleted', unresolvable=True)
            if claim_name in ephemeral_names and (why := ephemeral.not_for_pod(pod, pvc)) is not None:
                return None, fw.Status.error(why)  # upstream: a plain error, retried with back-off
            volume = (pvc.get("spec") or {}).get("volumeName")
            if volume:
                pv = self._lister.get_pv(volume)
                if pv is not None:
                    s.bound_pvs.append(pv)
            elif self._binding_mode(pvc) == "WaitForFirstConsumer":
                s.delayed.append(pvc)
            else:
                return None, fw.Status.unschedulable(REASON_UNBOUND_IMMEDIATE, unresolvable=True)
        state.write(NAME, s)
        return None, None

    def _binding_mode(self, pvc: dict[str, Any]) -> str:
        cls_name = storage_class_name(pvc)
        sc = self._lister.get_storage_class(cls_name) if cls_name else None
        return (sc or {}).get("volumeBindingMode") or "Immediate"

    def filter(self, state: fw.CycleState, pod: fw.Pod, node_info: NodeInfo) -> fw.Status | None:
        s: _State = state.read(NAME)
        for pv in s.bound_pvs:
            required = (((pv.get("spec") or {}).get("nodeAffinity")) or {}).get("required")
            if required is not None and not node_selector_matches(required, node_info.labels, node_info.name):
                return fw.Status.unschedulable(REASON_NODE_CONFLICT, unresolvable=True)
        if s.delayed and self._binder is not None:
            reasons = self._binder.find_pod_volumes(pod, s.delayed, node_info.node)
            if reasons:
                return fw.Status.unschedulable(*reasons)
        return None

    def reserve(self, state: fw.CycleState, pod: fw.Pod, node_name: str) -> fw.Status | None:
        s: _State | None = state.get(NAME)
        if s is not None and s.delayed and self._binder is not None:
            self._binder.assume_pod_volumes(pod, node_name)
        return None

    def unreserve(self, state: fw.CycleState, pod: fw.Pod, node_name: str) -> None:
        s: _State | None = state.get(NAME)
        if s is not None and s.delayed and self._binder is not None:
            self._binder.revert_assumed_pod_volumes(pod, node_name)

    async def pre_bind(self, state: fw.CycleState, pod: fw.Pod, node_name: str) -> fw.Status | None:
        s: _State | None = state.get(NAME)
        if s is None or not s.delayed or self._binder is None:
            return fw.Status.skip()
        try:
            await self._binder.bind_pod_volumes(pod, node_name)
        except Exception as e:  # noqa: BLE001 - volume binding failures requeue the pod
            return fw.Status.error(str(e))
        return None

    def events_to_register(self) -> list[fw.ClusterEvent]:
        return [
            fw.ClusterEvent(fw.EventResource.PERSISTENT_VOLUME_CLAIM, fw.ActionType.ADD | fw.ActionType.UPDATE_OTHER),
            fw.ClusterEvent(fw.EventResource.PERSISTENT_VOLUME, fw.ActionType.ADD | fw.ActionType.UPDATE_OTHER),
            fw.ClusterEvent(fw.EventResource.STORAGE_CLASS, fw.ActionType.ADD | fw.ActionType.UPDATE_OTHER),
            fw.ClusterEvent(fw.EventResource.NODE, fw.ActionType.ADD | fw.ActionType.UPDATE_NODE_LABEL),
        ]
