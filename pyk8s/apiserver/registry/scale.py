"""The ``scale`` subresource of built-in workloads: an autoscaling/v1 Scale view of ``spec.replicas``.

Upstream's per-resource ``ScaleREST`` (Deployments, ReplicaSets, StatefulSets,
ReplicationControllers): ``get`` shows the parent as a Scale; ``update`` and
``patch`` read the parent, apply the change to its Scale, check it (an int32
``spec.replicas``, not negative: 422 from the ``autoscaling`` group) and write
the parent back with ``spec.replicas`` changed, through the parent store's
``scale`` subresource update (admission, managedFields).  A resourceVersion the
client sent (a PUT body's, or one a patch set) is a precondition; a write racing
one with none is retried on the fresh parent, as upstream's is.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from pyk8s.apiserver.registry.rest import RESTStorage, WriteOptions
from pyk8s.machinery import labels, typecheck
from pyk8s.machinery.errors import Cause, StatusError, bad_request, conflict, invalid
from pyk8s.machinery.patch import apply_json_patch, apply_merge_patch, apply_strategic

Obj = dict[str, Any]
SCALE_SCHEMA = "io.k8s.api.autoscaling.v1.Scale"
JSON_PATCH = "application/json-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
CONFLICT_RETRIES = 5


def to_scale(obj: Obj) -> Obj:
    meta = obj.get("metadata") or {}
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    scale_meta = {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp") if k in meta}
    selector = spec.get("selector")
    scale_status: Obj = {"replicas": int(status.get("replicas") or 0)}
    if isinstance(selector, dict):
        text = labels.format_label_selector(selector)
        if text and text != "<none>":
            scale_status["selector"] = text
    return {"kind": "Scale", "apiVersion": "autoscaling/v1", "metadata": scale_meta,
            "spec": {"replicas": int(spec.get("replicas", 1) or 0)}, "status": scale_status}


def patched(current: Obj, patch_type: str, doc: Any) -> Obj:
    if patch_type == JSON_PATCH:
        return apply_json_patch(current, doc)
    if patch_type == STRATEGIC_MERGE_PATCH:
        return apply_strategic(current, doc, SCALE_SCHEMA)
    return apply_merge_patch(current, doc)


def checked_replicas(new: Obj, current: Obj) -> int:
    mismatch = typecheck.first_mismatch(new, SCALE_SCHEMA)  # a Scale upstream could not decode (int32 replicas)
    if mismatch is not None:
        raise bad_request(f'Scale in version "v1" cannot be handled as a Scale: {mismatch.message()}')
    replicas = (new.get("spec") or {}).get("replicas", 0)
    if not isinstance(replicas, int) or isinstance(replicas, bool):
        raise bad_request("spec.replicas: must be an integer")
    if replicas < 0:
        name = (current.get("metadata") or {}).get("name", "")
        raise invalid("Scale", name, [Cause("FieldValueInvalid", f"Invalid value: {replicas}: must be greater than or equal to 0",
                                            "spec.replicas")], group="autoscaling")
    return replicas


class ScaleREST:
    def __init__(self, store: RESTStorage) -> None:
        self.store = store

    async def get(self, namespace: str, name: str) -> Obj:
        return to_scale(await self.store.get(namespace, name))

    async def update(self, namespace: str, name: str, body: Obj, opts: WriteOptions) -> tuple[Obj, bool]:
        return await self._write(namespace, name, opts, lambda _cur: body), False

    async def patch(self, namespace: str, name: str, patch_type: str, doc: Any,
                    opts: WriteOptions) -> tuple[Obj, bool]:
        return await self._write(namespace, name, opts, lambda cur: patched(cur, patch_type, doc)), False

    async def _write(self, namespace: str, name: str, opts: WriteOptions, make: Callable[[Obj], Obj]) -> Obj:
        rt = self.store.resource
        for _ in range(CONFLICT_RETRIES):
            obj = await self.store.get(namespace, name)
            current = to_scale(obj)
            new = make(copy.deepcopy(current))
            replicas = checked_replicas(new, current)
            wanted_rv = (new.get("metadata") or {}).get("resourceVersion")
            if wanted_rv and wanted_rv != current["metadata"].get("resourceVersion"):
                raise conflict(rt.plural, name, rt.group)
            obj.setdefault("spec", {})["replicas"] = replicas
            try:
                result, _ = await self.store.update(namespace, name, obj, opts, subresource="scale")
            except StatusError as err:
                if err.code == 409:
                    continue  # the parent changed since it was read: re-read; a precondition fails above
                raise
            return to_scale(result)
        raise conflict(rt.plural, name, rt.group)
