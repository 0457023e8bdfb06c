"""Pods: graceful deletion, the binding subresource and pods/ephemeralcontainers.

A pod bound to a node is not removed by a delete: it gets deletionTimestamp
(now + grace) and deletionGracePeriodSeconds, and its kubelet deletes it again
with grace 0 once the containers are gone.  Unbound pods, pods in a terminal
phase and deletes with gracePeriodSeconds=0 remove the pod at once.

``pods/ephemeralcontainers`` (PUT and PATCH, what ``kubectl debug`` sends)
changes only ``spec.ephemeralContainers``, judged by upstream's rules for it
(added, never removed or changed) rather than the pod-update rules, which
forbid any other spec change.
"""

from __future__ import annotations

import copy
from typing import Any

from pyk8s.api.core_v1 import pod as pod_api
from pyk8s.apiserver.registry import objectmeta
from pyk8s.apiserver.registry.generic import GenericStore
from pyk8s.apiserver.registry.rest import DeleteOptions, WriteOptions
from pyk8s.machinery import errors

Obj = dict[str, Any]
DEFAULT_GRACE = 30
EPHEMERAL = "ephemeralcontainers"


class PodStore(GenericStore):
    async def _prepare_update(self, old: Obj, new: Obj, opts: WriteOptions, subresource: str) -> Obj:
        if subresource != EPHEMERAL:
            return await super()._prepare_update(old, new, opts, subresource)
        pod_api.prepare_for_ephemeral_update(new, old)
        errs = pod_api.validate_ephemeral_update(new, old)
        if errs:
            raise self._invalid(old["metadata"]["name"], errs)
        # Judged above: the common update steps then compare against the old pod with the new list.
        baseline = copy.deepcopy(old)
        baseline.setdefault("spec", {})["ephemeralContainers"] = (new.get("spec") or {}).get("ephemeralContainers")
        if baseline["spec"]["ephemeralContainers"] is None:
            baseline["spec"].pop("ephemeralContainers")
        return await super()._prepare_update(baseline, new, opts, subresource)

    def _prepare_subresource(self, new: Obj, old: Obj, subresource: str) -> None:
        if subresource != EPHEMERAL:
            super()._prepare_subresource(new, old, subresource)

    async def graceful_delete(self, obj: Obj, opts: DeleteOptions) -> bool:
        spec, meta = obj.get("spec") or {}, obj["metadata"]
        phase = (obj.get("status") or {}).get("phase")
        grace = opts.grace_period_seconds
        if grace is None:
            grace = spec.get("terminationGracePeriodSeconds")
            grace = DEFAULT_GRACE if grace is None else int(grace)
        if not spec.get("nodeName") or phase in ("Succeeded", "Failed") or grace <= 0:
            return False
        current = meta.get("deletionGracePeriodSeconds")
        if meta.get("deletionTimestamp") and current is not None and current <= grace:
            return True  # already terminating with a shorter (or equal) grace period
        meta["deletionTimestamp"] = objectmeta.now_rfc3339(grace)
        meta["deletionGracePeriodSeconds"] = grace
        return True


class PodBinding:
    """POST pods/{name}/binding: sets spec.nodeName once, plus the PodScheduled condition."""

    def __init__(self, store: GenericStore) -> None:
        self.store = store

    async def create(self, namespace: str, name: str, body: Obj, opts: WriteOptions, peers: Any = None) -> Obj:
        target = body.get("target") or {}
        node = target.get("name") if isinstance(target, dict) else None
        if not node:
            raise errors.invalid("Binding", name, [errors.Cause("FieldValueRequired", "Required value",
                                                                "target.name")])

        def mutate(pod: Obj) -> Obj:
            bound = (pod.get("spec") or {}).get("nodeName")
            if bound:
                raise errors.conflict("pods/binding", name, "", f'pod {name} is already assigned to node "{bound}"')
            if pod["metadata"].get("deletionTimestamp"):
                raise errors.conflict("pods/binding", name, "", f"pod {name} is being deleted, cannot be assigned "
                                                                 "to a host")
            pod.setdefault("spec", {})["nodeName"] = node
            status = pod.setdefault("status", {})
            conds = [c for c in status.get("conditions") or [] if c.get("type") != "PodScheduled"]
            conds.append({"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                          "lastTransitionTime": objectmeta.now_rfc3339()})
            status["conditions"] = conds
            return pod

        raw_update = getattr(self.store, "raw_update", None)
        if raw_update is not None:
            await raw_update(namespace, name, mutate, dry_run=opts.dry_run)
        else:  # a store without the storage-level path (the HTTP layer's test fakes): read, change, write
            await self.store.update(namespace, name, mutate(await self.store.get(namespace, name)), opts)
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}
