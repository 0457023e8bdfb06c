"""The VolumeBinder the scheduler runs with: delayed (WaitForFirstConsumer) claims follow their pod.

``find_pod_volumes``: a claim of a class with a provisioner can be
provisioned anywhere; a ``kubernetes.io/no-provisioner`` class needs an
unclaimed (or pre-bound) PV of that class, large enough, offering the access
modes and admitting the node.  ``bind_pod_volumes`` (PreBind) writes
``volume.kubernetes.io/selected-node`` on each unbound claim, which lets the
PV binder bind it (static volumes) or the provisioner create its volume, and
then waits, as upstream does, until every claim is bound (at most
``timeout`` seconds, 600 as upstream's ``bindTimeoutSeconds``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pyk8s.api.core_v1.helpers.nodeaffinity import volume_node_affinity_matches
from pyk8s.api.core_v1.persistentvolume import storage_class_name
from pyk8s.client.rest import Client
from pyk8s.machinery import quantity
from pyk8s.scheduler.framework import interface as fw
from pyk8s.scheduler.plugins.volumebinding import REASON_BIND_CONFLICT, VolumeLister, claim_names
from pyk8s.util.clock import REAL_CLOCK, Clock

Obj = dict[str, Any]
SELECTED_NODE = "volume.kubernetes.io/selected-node"
BIND_COMPLETED = "pv.kubernetes.io/bind-completed"
NO_PROVISIONER = "kubernetes.io/no-provisioner"
PVCS = Client.resource("", "v1", "persistentvolumeclaims", namespaced=True)


def _request(pvc: Obj) -> str:
    return str((((pvc.get("spec") or {}).get("resources") or {}).get("requests") or {}).get("storage") or "0")


def static_volume_fits(pv: Obj, pvc: Obj, node: Obj) -> bool:
    spec, meta = pv.get("spec") or {}, pvc.get("metadata") or {}
    ref = spec.get("claimRef")
    if pv["metadata"].get("deletionTimestamp") or (ref and (ref.get("name"), ref.get("namespace")) !=
                                                   (meta.get("name"), meta.get("namespace"))):
        return False
    if storage_class_name(pv) != storage_class_name(pvc):
        return False
    if not set((pvc.get("spec") or {}).get("accessModes") or []) <= set(spec.get("accessModes") or []):
        return False
    capacity = str((spec.get("capacity") or {}).get("storage") or "0")
    return quantity.compare(capacity, _request(pvc)) >= 0 and volume_node_affinity_matches(pv, node)


def is_bound(pvc: Obj | None) -> bool:
    return bool(pvc and (pvc.get("spec") or {}).get("volumeName")
                and ((pvc.get("metadata") or {}).get("annotations") or {}).get(BIND_COMPLETED))


class ApiVolumeBinder:
    def __init__(self, client: Client, lister: VolumeLister, list_pvs: Callable[[], list[Obj]], *,
                 clock: Clock = REAL_CLOCK, timeout: float = 600.0, poll: float = 0.1) -> None:
        self.client, self.lister, self.list_pvs = client, lister, list_pvs
        self.clock, self.timeout, self.poll = clock, timeout, poll

    def find_pod_volumes(self, pod: fw.Pod, claims: list[Obj], node: Obj) -> list[str]:
        for pvc in claims:
            cls = self.lister.get_storage_class(storage_class_name(pvc)) or {}
            if cls.get("provisioner") and cls.get("provisioner") != NO_PROVISIONER:
                continue
            if not any(static_volume_fits(pv, pvc, node) for pv in self.list_pvs()):
                return [REASON_BIND_CONFLICT]
        return []

    def assume_pod_volumes(self, pod: fw.Pod, node_name: str) -> None:
        """Nothing to assume: the binder and provisioner work from the selected-node annotation."""

    def revert_assumed_pod_volumes(self, pod: fw.Pod, node_name: str) -> None:
        """Nothing was assumed."""

    def _claims(self, pod: fw.Pod) -> list[tuple[str, str]]:
        ns = (pod.get("metadata") or {}).get("namespace") or "default"
        return [(ns, name) for name in claim_names(pod)]

    async def bind_pod_volumes(self, pod: fw.Pod, node_name: str) -> None:
        for ns, name in self._claims(pod):
            pvc = self.lister.get_pvc(ns, name)
            if pvc is None or is_bound(pvc) or (pvc.get("spec") or {}).get("volumeName"):
                continue
            if ((pvc.get("metadata") or {}).get("annotations") or {}).get(SELECTED_NODE) != node_name:
                await self.client.patch(PVCS, name, {"metadata": {"annotations": {SELECTED_NODE: node_name}}},
                                        namespace=ns, patch_type="merge")
        waited = 0.0
        while not all(is_bound(self.lister.get_pvc(ns, name)) for ns, name in self._claims(pod)):
            if waited >= self.timeout:
                raise TimeoutError("binding volumes: timed out waiting for the condition")
            await self.clock.sleep(self.poll)
            waited += self.poll
