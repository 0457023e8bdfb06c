"""Namespace controller: empties a terminating namespace, then finalizes it.

A namespace being deleted (``deletionTimestamp`` set, phase Terminating) still
carries the ``kubernetes`` finalizer in ``spec.finalizers``.  ``sync``:

1. lists every namespaced resource type in the scheme that supports
   list+delete, and deletes what is left (``deletecollection`` where served,
   else one by one);
2. writes status conditions (``NamespaceDeletionContentFailure`` on errors,
   ``NamespaceContentRemaining`` while objects remain);
3. requeues until every list is empty (pods may take their grace period);
4. then PUTs ``namespaces/{name}/finalize`` without ``kubernetes``; the API
   server deletes the namespace once no finalizers remain.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

from pyk8s.api.core_v1.helpers.timestamps import format_time
from pyk8s.client.errors import ApiError, is_conflict, is_not_found
from pyk8s.client.rest import DynamicResource
from pyk8s.client.tools.controller import Controller
from pyk8s.controllers.manager import ControllerContext
from pyk8s.machinery.scheme import SCHEME, ResourceType

log = logging.getLogger(__name__)
Obj = dict[str, Any]
NAMESPACES = DynamicResource("", "v1", "namespaces", False, "Namespace")
FINALIZER = "kubernetes"
RECHECK = 2.0


def namespaced_resources() -> list[ResourceType]:
    """One entry per group/plural that can be listed and deleted in a namespace."""
    import pyk8s.api  # noqa: F401  (fills the scheme)

    seen: set[tuple[str, str]] = set()
    out = []
    for rt in SCHEME.all():
        if not rt.namespaced or not {"list", "delete"} <= set(rt.verbs) or (rt.group, rt.plural) in seen:
            continue
        seen.add((rt.group, rt.plural))
        out.append(rt)
    return out


class NamespaceController:
    def __init__(self, ctx: ControllerContext) -> None:
        self.client = ctx.client
        self.clock = ctx.clock
        self.namespaces = ctx.factory.informer(NAMESPACES)
        self.recheck = float(ctx.option("namespace_recheck_seconds", RECHECK))
        self.controller = Controller("namespace", self.sync, informers=[self.namespaces], clock=ctx.clock,
                                     workers=int(ctx.option("namespace_workers", 5)))
        self.namespaces.add_event_handler(self.controller.handler())
        self.ready = self.controller.ready

    async def run(self) -> None:
        await self.controller.run()

    async def sync(self, key: str) -> float | None:
        ns = self.namespaces.lister.get(key)
        if ns is None or not ns["metadata"].get("deletionTimestamp"):
            return None
        if FINALIZER not in ((ns.get("spec") or {}).get("finalizers") or []):
            return None
        remaining, errors = await self.delete_content(key)
        await self._set_conditions(ns, remaining, errors)
        if remaining or errors:
            return self.recheck
        await self.finalize(key)
        return None

    async def delete_content(self, namespace: str) -> tuple[dict[str, int], list[str]]:
        """Delete everything in the namespace; counts of what was still there, and errors."""
        remaining: dict[str, int] = {}
        errors: list[str] = []
        for rt in namespaced_resources():
            try:
                items = (await self.client.list(rt, namespace=namespace)).get("items") or []
            except ApiError as exc:
                if exc.code not in (404, 405):
                    errors.append(f"{rt.qualified}: {exc.message}")
                continue
            live = [o for o in items if not (o.get("metadata") or {}).get("deletionTimestamp")]
            if live:
                try:
                    await self._delete_all(rt, namespace, live)
                    # Graceful kinds (pods) linger after delete: count what is really left.
                    items = (await self.client.list(rt, namespace=namespace)).get("items") or []
                except ApiError as exc:
                    if not is_not_found(exc):
                        errors.append(f"{rt.qualified}: {exc.message}")
            if items:
                remaining[rt.qualified] = len(items)
        return remaining, errors

    async def _delete_all(self, rt: ResourceType, namespace: str, live: list[Obj]) -> None:
        if "deletecollection" in rt.verbs:
            await self.client.delete_collection(rt, namespace=namespace)
            return
        for obj in live:
            try:
                await self.client.delete(rt, obj["metadata"]["name"], namespace=namespace)
            except ApiError as exc:
                if not is_not_found(exc):
                    raise

    async def _set_conditions(self, ns: Obj, remaining: dict[str, int], errors: list[str]) -> None:
        now = format_time(self.clock.now())
        want = {
            "NamespaceDeletionContentFailure": ("True", "ContentDeletionFailed", "; ".join(errors)) if errors
            else ("False", "ContentDeleted", "All content successfully deleted, may be waiting on finalization"),
            "NamespaceContentRemaining": ("True", "SomeResourcesRemain", "Some resources are remaining: " + ", ".join(
                f"{k} has {v} resource instances" for k, v in sorted(remaining.items()))) if remaining
            else ("False", "ContentRemoved", "All content successfully removed"),
        }
        status = copy.deepcopy(ns.get("status") or {})
        conds = {c["type"]: c for c in status.get("conditions") or []}
        changed = False
        for ctype, (value, reason, message) in want.items():
            old = conds.get(ctype)
            if old and (old.get("status"), old.get("reason"), old.get("message")) == (value, reason, message):
                continue
            conds[ctype] = {"type": ctype, "status": value, "reason": reason, "message": message,
                            "lastTransitionTime": now}
            changed = True
        if not changed:
            return
        status["conditions"] = list(conds.values())
        body = copy.deepcopy(ns)
        body["status"] = status
        try:
            await self.client.update_status(NAMESPACES, body)
        except ApiError as exc:
            if not (is_conflict(exc) or is_not_found(exc)):
                raise

    async def finalize(self, name: str) -> None:
        try:
            live = await self.client.get(NAMESPACES, name)
        except ApiError as exc:
            if is_not_found(exc):
                return
            raise
        finalizers = (live.get("spec") or {}).get("finalizers") or []
        if FINALIZER not in finalizers:
            return
        live.setdefault("spec", {})["finalizers"] = [f for f in finalizers if f != FINALIZER]
        try:
            await self.client.update(NAMESPACES, live, subresource="finalize")
        except ApiError as exc:
            if not is_not_found(exc):
                raise
        log.info("namespace %s finalized", name)


def new(ctx: ControllerContext) -> NamespaceController:
    return NamespaceController(ctx)
