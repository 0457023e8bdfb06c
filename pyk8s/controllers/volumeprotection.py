"""The pvc-protection and pv-protection controllers: storage is not deleted while in use.

Admission (``StorageObjectInUseProtection``) gives every new claim the
``kubernetes.io/pvc-protection`` finalizer and every new volume
``kubernetes.io/pv-protection``.  Deleting one only sets its
deletionTimestamp; these controllers remove the finalizer, which lets the
object go, once it is unused:

* a claim is in use while a scheduled pod that is not terminal (phase neither
  Succeeded nor Failed) names it, as a ``persistentVolumeClaim`` volume or as
  the claim of an ``ephemeral`` one (``<pod>-<volume>``).  The pod cache may
  lag, so before letting a claim go the pods are listed live, as upstream does;
* a volume is in use while its phase is ``Bound``.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

from pyk8s.api.core_v1.persistentvolume import PV_PROTECTION_FINALIZER, PVC_PROTECTION_FINALIZER
from pyk8s.client.errors import ApiError, is_not_found
from pyk8s.client.rest import DynamicResource
from pyk8s.client.tools.controller import Controller
from pyk8s.client.tools.store import DeletedFinalStateUnknown
from pyk8s.controllers.manager import ControllerContext
from pyk8s.controllers.pvbinder import PVCS, PVS

log = logging.getLogger(__name__)
Obj = dict[str, Any]
PODS = DynamicResource("", "v1", "pods", True, "Pod")


def claims_of(pod: Obj) -> set[str]:
    name = (pod.get("metadata") or {}).get("name", "")
    out = set()
    for volume in (pod.get("spec") or {}).get("volumes") or []:
        if volume.get("persistentVolumeClaim"):
            out.add(str(volume["persistentVolumeClaim"].get("claimName", "")))
        elif volume.get("ephemeral"):
            out.add(f"{name}-{volume.get('name', '')}")
    return out


def pod_uses_claim(pod: Obj, claim: str) -> bool:
    if not (pod.get("spec") or {}).get("nodeName"):
        return False  # the kubelet never starts an unscheduled pod on a claim being deleted
    if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
        return False
    return claim in claims_of(pod)


def _without(obj: Obj, finalizer: str) -> Obj:
    body = copy.deepcopy(obj)
    body["metadata"]["finalizers"] = [f for f in body["metadata"].get("finalizers") or [] if f != finalizer]
    return body


def _being_deleted_with(obj: Obj | None, finalizer: str) -> bool:
    meta = (obj or {}).get("metadata") or {}
    return bool(meta.get("deletionTimestamp")) and finalizer in (meta.get("finalizers") or [])


class PVCProtection:
    def __init__(self, ctx: ControllerContext) -> None:
        self.client = ctx.client
        self.pvcs = ctx.factory.informer(PVCS)
        self.pods = ctx.factory.informer(PODS)
        self.controller = Controller("pvc-protection", self.sync, clock=ctx.clock, informers=[self.pvcs, self.pods])
        q = self.controller.queue
        self.pvcs.add_event_handler(on_add=self.controller.enqueue,
                                    on_update=lambda o, n: self.controller.enqueue(n))
        self.pods.add_event_handler(on_add=self._pod_changed, on_update=lambda o, n: self._pod_changed(n),
                                    on_delete=self._pod_changed)
        self._queue = q
        self.ready = self.controller.ready

    def _pod_changed(self, obj: Obj | DeletedFinalStateUnknown) -> None:
        pod = obj.obj if isinstance(obj, DeletedFinalStateUnknown) else obj
        ns = (pod.get("metadata") or {}).get("namespace", "")
        for claim in claims_of(pod):
            self._queue.add(f"{ns}/{claim}")

    async def run(self) -> None:
        await self.controller.run()

    async def sync(self, key: str) -> None:
        ns, _, name = key.partition("/")
        pvc = self.pvcs.lister.get(name, ns)
        if pvc is None or not _being_deleted_with(pvc, PVC_PROTECTION_FINALIZER):
            return
        if any(pod_uses_claim(p, name) for p in self.pods.lister.list(ns)):
            return
        live = await self.client.list(PODS, namespace=ns)
        if any(pod_uses_claim(p, name) for p in live.get("items") or []):
            return
        log.info("pvc-protection: removing finalizer from unused claim %s", key)
        await _update(self.client, PVCS, _without(pvc, PVC_PROTECTION_FINALIZER))


class PVProtection:
    def __init__(self, ctx: ControllerContext) -> None:
        self.client = ctx.client
        self.pvs = ctx.factory.informer(PVS)
        self.controller = Controller("pv-protection", self.sync, clock=ctx.clock, informers=[self.pvs])
        self.pvs.add_event_handler(on_add=self.controller.enqueue, on_update=lambda o, n: self.controller.enqueue(n))
        self.ready = self.controller.ready

    async def run(self) -> None:
        await self.controller.run()

    async def sync(self, key: str) -> None:
        pv = self.pvs.lister.get(key)
        if pv is None or not _being_deleted_with(pv, PV_PROTECTION_FINALIZER):
            return
        if (pv.get("status") or {}).get("phase") == "Bound":
            return
        log.info("pv-protection: removing finalizer from unbound volume %s", key)
        await _update(self.client, PVS, _without(pv, PV_PROTECTION_FINALIZER))


async def _update(client: Any, rt: DynamicResource, body: Obj) -> None:
    try:
        await client.update(rt, body)
    except ApiError as exc:
        if not is_not_found(exc):
            raise


def new_pvc_protection(ctx: ControllerContext) -> PVCProtection:
    return PVCProtection(ctx)


def new_pv_protection(ctx: ControllerContext) -> PVProtection:
    return PVProtection(ctx)
