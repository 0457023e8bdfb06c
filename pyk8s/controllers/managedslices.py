"""The slices one EndpointSlice writer manages: what the EndpointSlice controller and the
mirroring controller share.

Both name their slices by ``generateName``, so a slice they just created is unknown to the cache
until its watch event arrives; a re-sync in between would create it again. ``ManagedSlices``
keeps those names per Service key and tells ``sync`` to wait for them. It also routes changes of
slices carrying this writer's ``managed-by`` label back to the Service's key (a slice edited or
deleted by someone else is rewritten) and deletes slices, a 404 counting as done.
"""

from __future__ import annotations

from typing import Any

from pyk8s.client.errors import ApiError, is_not_found
from pyk8s.client.rest import DynamicResource
from pyk8s.client.tools.controller import Controller
from pyk8s.client.tools.informer import SharedInformer
from pyk8s.controllers.endpoints import unwrap

Obj = dict[str, Any]
SLICES = DynamicResource("discovery.k8s.io", "v1", "endpointslices", True, "EndpointSlice")
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
PENDING_RETRY = 0.5  # seconds: how soon to look again for a created slice the cache has not shown


class ManagedSlices:
    def __init__(self, client: Any, slices: SharedInformer, controller: Controller, managed_by: str) -> None:
        self.client, self.slices, self.managed_by = client, slices, managed_by
        self._queue = controller.queue
        # Slices created that the cache has not shown yet, per Service key.
        self.pending: dict[str, set[str]] = {}
        slices.add_event_handler(on_add=self._changed, on_update=lambda o, n: self._changed(n),
                                 on_delete=lambda s: self._changed(unwrap(s)))

    def _changed(self, obj: Obj) -> None:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        if labels.get(MANAGED_BY_LABEL) == self.managed_by and labels.get(SERVICE_NAME_LABEL):
            self._queue.add(f"{obj['metadata'].get('namespace', '')}/{labels[SERVICE_NAME_LABEL]}")

    def cached(self, ns: str, name: str) -> list[Obj]:
        return self.slices.lister.list(ns, {SERVICE_NAME_LABEL: name, MANAGED_BY_LABEL: self.managed_by})

    def wait_for_created(self, key: str, existing: list[Obj]) -> float | None:
        """A retry delay while slices created for ``key`` are not in ``existing`` yet, else None."""
        waiting = self.pending.get(key, set()) - {s["metadata"]["name"] for s in existing}
        if waiting:
            self.pending[key] = waiting
            return PENDING_RETRY
        self.pending.pop(key, None)
        return None

    async def create(self, key: str, body: Obj, ns: str) -> Obj:
        made: Obj = await self.client.create(SLICES, body, namespace=ns)
        self.pending.setdefault(key, set()).add(made["metadata"]["name"])
        return made

    async def delete(self, s: Obj) -> None:
        try:
            await self.client.delete(SLICES, s["metadata"]["name"], namespace=s["metadata"].get("namespace"))
        except ApiError as exc:
            if not is_not_found(exc):
                raise
