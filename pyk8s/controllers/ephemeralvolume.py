"""The ephemeral-volume controller: a PersistentVolumeClaim for each generic ephemeral volume.

Upstream's ``ephemeral-volume`` controller of kube-controller-manager.  For a
pod that is not being deleted, each ``volumes[].ephemeral.volumeClaimTemplate``
becomes the claim ``<pod>-<volume>`` in the pod's namespace: the template's
labels, annotations and spec, with the pod as controller owner (so the
garbage collector deletes the claim with the pod).  A claim of that name the
pod does not own is left alone: the pod gets a Warning FailedBinding event
(``ephemeral volume v: PVC ns/c was not created for pod ns/p (pod is not
owner)``) and is retried with back-off until that claim goes.

As upstream, pod updates are ignored (a pod's volumes are immutable) and a
deleted claim requeues the pods that name it, so a claim deleted under a
running pod is made again.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from pyk8s.api.core_v1.helpers import ephemeral
from pyk8s.client.errors import ApiError
from pyk8s.client.rest import DynamicResource
from pyk8s.client.tools.controller import Controller
from pyk8s.client.tools.events import EventRecorder
from pyk8s.client.tools.store import DeletedFinalStateUnknown, meta_key
from pyk8s.controllers.manager import ControllerContext
from pyk8s.controllers.pvbinder import PVCS

log = logging.getLogger(__name__)
Obj = dict[str, Any]
PODS = DynamicResource("", "v1", "pods", True, "Pod")
CLAIM_INDEX = "ephemeral-volume-claims"
COMPONENT = "ephemeral_volume"


def _claim_keys(pod: Obj) -> list[str]:
    ns = (pod.get("metadata") or {}).get("namespace", "")
    return [f"{ns}/{ephemeral.claim_name(pod, v)}" for v in ephemeral.ephemeral_volumes(pod)]


class EphemeralVolumeController:
    def __init__(self, ctx: ControllerContext) -> None:
        self.client = ctx.client
        self.recorder = EventRecorder(ctx.client, component=COMPONENT, clock=ctx.clock)
        self.pods = ctx.factory.informer(PODS)
        self.pods.add_indexers({CLAIM_INDEX: _claim_keys})
        self.pvcs = ctx.factory.informer(PVCS)
        self.controller = Controller("ephemeral-volume", self.sync, informers=[self.pods, self.pvcs], clock=ctx.clock,
                                     workers=int(ctx.option("ephemeral_volume_workers", 1)))
        self.ready = self.controller.ready
        self.pods.add_event_handler(on_add=self._pod_added)
        self.pvcs.add_event_handler(on_delete=self._claim_deleted)

    def _pod_added(self, pod: Obj) -> None:
        if not (pod.get("metadata") or {}).get("deletionTimestamp") and any(ephemeral.ephemeral_volumes(pod)):
            self.controller.queue.add(meta_key(pod))

    def _claim_deleted(self, obj: Obj | DeletedFinalStateUnknown) -> None:
        claim = obj.obj if isinstance(obj, DeletedFinalStateUnknown) else obj
        for pod in self.pods.store.by_index(CLAIM_INDEX, meta_key(claim)):
            self._pod_added(pod)

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self.recorder.run())
            tg.create_task(self.controller.run())

    async def sync(self, key: str) -> None:
        ns, _, name = key.rpartition("/")
        pod = self.pods.lister.get(name, ns)
        if pod is None or (pod.get("metadata") or {}).get("deletionTimestamp"):
            return
        for volume in ephemeral.ephemeral_volumes(pod):
            try:
                await self._handle(pod, volume)
            except (ClaimNotOwned, ClaimNotCreated) as exc:
                self.recorder.event(pod, "Warning", "FailedBinding", f"ephemeral volume {volume.get('name', '')}: {exc}")
                raise

    async def _handle(self, pod: Obj, volume: Obj) -> None:
        ns = (pod.get("metadata") or {}).get("namespace", "")
        name = ephemeral.claim_name(pod, volume)
        existing = self.pvcs.lister.get(name, ns)
        if existing is not None:
            if (why := ephemeral.not_for_pod(pod, existing)) is not None:
                raise ClaimNotOwned(why)
            return
        try:
            await self.client.create(PVCS, ephemeral.new_claim(pod, volume), namespace=ns)
        except ApiError as exc:
            # Already there too: the cache lags a claim made meanwhile; the retry reads and checks it.
            raise ClaimNotCreated(f"create PVC {name}: {exc.message or exc}") from exc
        log.info("ephemeral-volume: created claim %s/%s for pod %s", ns, name, pod["metadata"].get("name", ""))


class ClaimNotOwned(Exception):
    pass


class ClaimNotCreated(Exception):
    pass


def new(ctx: ControllerContext) -> EphemeralVolumeController:
    return EphemeralVolumeController(ctx)
