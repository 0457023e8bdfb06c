"""Garbage collector: deletes dependents whose owners are gone, and runs the
foreground and orphan deletion finalizers.

Instead of upstream's separate graph builder, the owner graph *is* the
informer caches: every watched resource's store is indexed by owner uid and
by uid, so "dependents of X" and "is uid U cached" are index lookups.  Work
items are ``group/version/plural|namespace/name`` keys; ``sync`` looks at one
object and does every step that concerns it:

* it carries the ``orphan`` finalizer and is being deleted: strip its
  ownerReference from every dependent, then drop the finalizer;
* it carries ``foregroundDeletion`` and is being deleted: delete its
  dependents (Foreground for those with ``blockOwnerDeletion``), and once no
  blocking dependent remains drop the finalizer (the API server then deletes
  it);
* it has ownerReferences: classify each owner as present, being deleted in
  the foreground, or absent.  An owner is absent only when neither the cache
  nor a live GET has an object with that uid (caches lag; a fresh owner must
  not lose its children).  All owners absent (or waiting in the foreground)
  -> delete the object (uid precondition); some absent -> remove just those
  references.

Events enqueue: every added/updated object (its own owners may be gone, its
finalizers may need work), and on delete its dependents.  Level-triggered, so
a missed event is repaired by the next relist.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from pyk8s.client.errors import ApiError, is_conflict, is_not_found
from pyk8s.client.rest import Client, Resource
from pyk8s.client.tools.controller import Controller
from pyk8s.client.tools.informer import SharedInformer
from pyk8s.client.tools.store import DeletedFinalStateUnknown, by_owner_uid, meta_key
from pyk8s.controllers.manager import ControllerContext
from pyk8s.machinery.scheme import SCHEME, ResourceType

log = logging.getLogger(__name__)
Obj = dict[str, Any]

FOREGROUND = "foregroundDeletion"
ORPHAN = "orphan"
OWNER_INDEX = "gc-owner-uid"
UID_INDEX = "gc-uid"
NEEDED_VERBS = {"list", "watch", "delete", "get", "update"}
# High-churn or ownerless kinds not worth a watch.
SKIPPED = {("", "events"), ("events.k8s.io", "events"), ("coordination.k8s.io", "leases")}


def by_uid(obj: Obj) -> list[str]:
    uid = (obj.get("metadata") or {}).get("uid")
    return [uid] if uid else []


def gc_resources() -> list[ResourceType]:
    """Every scheme resource the collector can watch and delete (preferred version per group/plural)."""
    import pyk8s.api  # noqa: F401  (fills the scheme)

    seen: set[tuple[str, str]] = set()
    out: list[ResourceType] = []
    for rt in SCHEME.all():
        ident = (rt.group, rt.plural)
        if ident in seen or ident in SKIPPED or not NEEDED_VERBS <= set(rt.verbs):
            continue
        seen.add(ident)
        out.append(rt)
    return out


def rt_id(rt: Resource) -> str:
    return f"{rt.group}/{rt.version}/{rt.plural}"


@dataclass
class OwnerState:
    ref: Obj
    present: bool
    waiting: bool = False  # owner is being deleted in the foreground


class GarbageCollector:
    def __init__(self, ctx: ControllerContext, resources: Iterable[ResourceType] | None = None) -> None:
        self.client: Client = ctx.client
        self.clock = ctx.clock
        self.informers: dict[str, tuple[Resource, SharedInformer]] = {}
        self.controller = Controller("garbagecollector", self.sync, clock=ctx.clock,
                                     workers=int(ctx.option("gc_workers", 5)))
        for rt in resources if resources is not None else gc_resources():
            inf = ctx.factory.informer(rt, indexers={OWNER_INDEX: by_owner_uid, UID_INDEX: by_uid})
            self.informers[rt_id(rt)] = (rt, inf)
            self.controller.informers.append(inf)
            inf.add_event_handler(on_add=self._enqueuer(rt), on_update=self._update_enqueuer(rt),
                                  on_delete=self._deleted(rt))
        self.ready = self.controller.ready

    # --- handlers -----------------------------------------------------------------------

    def _enqueuer(self, rt: Resource) -> Any:
        prefix = rt_id(rt)

        def on_add(obj: Obj) -> None:
            if _interesting(obj):
                self.controller.queue.add(f"{prefix}|{meta_key(obj)}")
        return on_add

    def _update_enqueuer(self, rt: Resource) -> Any:
        add = self._enqueuer(rt)
        return lambda old, new: add(new)

    def _deleted(self, rt: Resource) -> Any:
        def on_delete(obj: Obj | DeletedFinalStateUnknown) -> None:
            last = obj.obj if isinstance(obj, DeletedFinalStateUnknown) else obj
            uid = (last.get("metadata") or {}).get("uid")
            if uid:
                self._enqueue_dependents(uid)
            # Owners waiting on this dependent (foreground) re-check.
            for ref in (last.get("metadata") or {}).get("ownerReferences") or []:
                for owner_key in self._keys_for_uid(ref.get("uid", "")):
                    self.controller.queue.add(owner_key)
        return on_delete

    def _enqueue_dependents(self, uid: str) -> None:
        for prefix, (_, inf) in self.informers.items():
            for key in inf.store.index_keys(OWNER_INDEX, uid):
                self.controller.queue.add(f"{prefix}|{key}")

    def _keys_for_uid(self, uid: str) -> list[str]:
        return [f"{prefix}|{key}" for prefix, (_, inf) in self.informers.items()
                for key in inf.store.index_keys(UID_INDEX, uid)] if uid else []

    async def run(self) -> None:
        await self.controller.run()

    # --- lookups ------------------------------------------------------------------------

    def dependents(self, uid: str) -> list[tuple[Resource, Obj]]:
        return [(rt, o) for rt, inf in self.informers.values() for o in inf.store.by_index(OWNER_INDEX, uid)]

    def _resource_for(self, ref: Obj) -> Resource | None:
        group, _, version = str(ref.get("apiVersion", "")).rpartition("/")
        rt = SCHEME.by_kind(group, version, str(ref.get("kind", "")))
        if rt is not None:
            return rt
        for cand, _ in self.informers.values():  # another served version of the same kind
            full = SCHEME.get(cand.group, cand.version, cand.plural)
            if full is not None and cand.group == group and full.kind == ref.get("kind"):
                return cand
        return None

    async def owner_state(self, ref: Obj, namespace: str) -> OwnerState:
        uid = ref.get("uid", "")
        cached = [o for _, inf in self.informers.values() for o in inf.store.by_index(UID_INDEX, uid)]
        owner = cached[0] if cached else None
        if owner is None:
            rt = self._resource_for(ref)
            if rt is None:
                return OwnerState(ref, present=True)  # unknown kind: never collect on a guess
            try:
                owner = await self.client.get(rt, ref["name"], namespace=namespace if rt.namespaced else None)
            except ApiError as exc:
                if is_not_found(exc):
                    return OwnerState(ref, present=False)
                raise
            if owner["metadata"].get("uid") != uid:
                return OwnerState(ref, present=False)
        meta = owner.get("metadata") or {}
        waiting = bool(meta.get("deletionTimestamp")) and FOREGROUND in (meta.get("finalizers") or [])
        return OwnerState(ref, present=True, waiting=waiting)

    # --- sync ---------------------------------------------------------------------------

    async def sync(self, key: str) -> float | None:
        prefix, _, obj_key = key.partition("|")
        entry = self.informers.get(prefix)
        if entry is None:
            return None
        rt, inf = entry
        obj = inf.store.get(obj_key)
        if obj is None:
            return None
        meta = obj["metadata"]
        finalizers = meta.get("finalizers") or []
        if meta.get("deletionTimestamp"):
            if ORPHAN in finalizers:
                await self.orphan_dependents(rt, obj)
                return None
            if FOREGROUND in finalizers:
                return await self.delete_dependents(rt, obj)
        if meta.get("ownerReferences"):
            await self.check_owners(rt, obj)
        return None

    async def check_owners(self, rt: Resource, obj: Obj) -> None:
        meta = obj["metadata"]
        ns = meta.get("namespace", "")
        states = [await self.owner_state(ref, ns) for ref in meta["ownerReferences"]]
        solid = [s for s in states if s.present and not s.waiting]
        dangling = [s for s in states if not s.present]
        waiting = [s for s in states if s.waiting]
        if solid:
            if dangling:
                gone = {s.ref["uid"] for s in dangling}
                await self._strip_refs(rt, ns, meta["name"], gone)
            return
        if meta.get("deletionTimestamp"):
            return  # already on its way out
        policy = "Background"
        if waiting and any(s.ref.get("blockOwnerDeletion") for s in waiting):
            policy = "Foreground"  # the owner waits for us, so our own dependents go first
            await self._break_cycle(rt, obj)
        log.info("garbagecollector: deleting %s %s/%s (%s)", rt.plural, ns, meta["name"], policy)
        await self._delete(rt, ns, meta["name"], meta["uid"], policy)

    async def delete_dependents(self, rt: Resource, owner: Obj) -> float | None:
        meta = owner["metadata"]
        blocking = 0
        for drt, dep in self.dependents(meta["uid"]):
            dmeta = dep["metadata"]
            refs = [r for r in dmeta.get("ownerReferences") or [] if r.get("uid") == meta["uid"]]
            blocks = any(r.get("blockOwnerDeletion") for r in refs)
            if blocks and not dmeta.get("deletionTimestamp") and await self._break_cycle(drt, dep):
                blocks = False
            blocking += 1 if blocks else 0
            if dmeta.get("deletionTimestamp"):
                continue
            others = [r for r in dmeta.get("ownerReferences") or [] if r.get("uid") != meta["uid"]]
            others_present = [s for r in others if (s := await self.owner_state(r, dmeta.get("namespace", ""))).present
                              and not s.waiting]
            if others_present:
                # Another live owner keeps it: just drop our reference.
                await self._strip_refs(drt, dmeta.get("namespace", ""), dmeta["name"], {meta["uid"]})
                continue
            await self._delete(drt, dmeta.get("namespace", ""), dmeta["name"], dmeta["uid"],
                               "Foreground" if any(r.get("blockOwnerDeletion") for r in refs) else "Background")
        if blocking:
            return 1.0  # dependent deletions also enqueue us; this is the safety net
        await self._remove_finalizer(rt, owner, FOREGROUND)
        return None

    async def _break_cycle(self, rt: Resource, obj: Obj) -> bool:
        """Upstream's cycle breaker: an object about to be deleted in the foreground for an owner that
        waits on it, one of whose own dependents is already deleting in the foreground, would wait on
        that dependent while (through the cycle) it waits on us.  Its ownerReferences stop blocking
        their owners first, so the owners finish and the cycle unwinds.  True when it unblocked."""
        meta = obj["metadata"]
        if not any(r.get("blockOwnerDeletion") for r in meta.get("ownerReferences") or []):
            return False
        for _, dep in self.dependents(meta["uid"]):
            dmeta = dep["metadata"]
            if dmeta.get("deletionTimestamp") and FOREGROUND in (dmeta.get("finalizers") or []):
                log.info("garbagecollector: %s %s/%s is in an ownership cycle; unblocking its owners", rt.plural,
                         meta.get("namespace", ""), meta["name"])
                await self._unblock_refs(rt, meta.get("namespace", ""), meta["name"])
                return True
        return False

    async def _unblock_refs(self, rt: Resource, ns: str, name: str) -> None:
        def unblocked(refs: list[Obj]) -> list[Obj] | None:
            if not any(r.get("blockOwnerDeletion") for r in refs):
                return None
            return [{**r, "blockOwnerDeletion": False} if r.get("blockOwnerDeletion") else r for r in refs]
        await self._rewrite_refs(rt, ns, name, unblocked)

    async def orphan_dependents(self, rt: Resource, owner: Obj) -> None:
        uid = owner["metadata"]["uid"]
        for drt, dep in self.dependents(uid):
            dmeta = dep["metadata"]
            await self._strip_refs(drt, dmeta.get("namespace", ""), dmeta["name"], {uid})
        await self._remove_finalizer(rt, owner, ORPHAN)

    # --- writes -------------------------------------------------------------------------

    async def _delete(self, rt: Resource, ns: str, name: str, uid: str, policy: str) -> None:
        try:
            await self.client.delete(rt, name, namespace=ns or None, propagation_policy=policy,
                                     preconditions={"uid": uid})
        except ApiError as exc:
            if not (is_not_found(exc) or is_conflict(exc)):  # gone, or replaced by a namesake
                raise

    async def _strip_refs(self, rt: Resource, ns: str, name: str, uids: set[str]) -> None:
        """Remove ownerReferences by uid."""
        def stripped(refs: list[Obj]) -> list[Obj] | None:
            kept = [r for r in refs if r.get("uid") not in uids]
            return None if len(kept) == len(refs) else kept
        await self._rewrite_refs(rt, ns, name, stripped)

    async def _rewrite_refs(self, rt: Resource, ns: str, name: str,
                            edit: Callable[[list[Obj]], list[Obj] | None]) -> None:
        """Conditional read-modify-write of an object's ownerReferences; ``edit`` returns None for no change."""
        for _ in range(5):
            try:
                live = await self.client.get(rt, name, namespace=ns or None)
            except ApiError as exc:
                if is_not_found(exc):
                    return
                raise
            refs = edit(live["metadata"].get("ownerReferences") or [])
            if refs is None:
                return
            live["metadata"]["ownerReferences"] = refs
            try:
                await self.client.update(rt, live, namespace=ns or None)
                return
            except ApiError as exc:
                if is_not_found(exc):
                    return
                if not is_conflict(exc):
                    raise
        raise RuntimeError(f"could not update ownerReferences of {rt.plural} {ns}/{name}")

    async def _remove_finalizer(self, rt: Resource, obj: Obj, finalizer: str) -> None:
        ns, name = obj["metadata"].get("namespace", ""), obj["metadata"]["name"]
        for _ in range(5):
            try:
                live = await self.client.get(rt, name, namespace=ns or None)
            except ApiError as exc:
                if is_not_found(exc):
                    return
                raise
            if live["metadata"].get("uid") != obj["metadata"]["uid"]:
                return
            fins = live["metadata"].get("finalizers") or []
            if finalizer not in fins:
                return
            live = copy.deepcopy(live)
            live["metadata"]["finalizers"] = [f for f in fins if f != finalizer]
            try:
                await self.client.update(rt, live, namespace=ns or None)
                return
            except ApiError as exc:
                if is_not_found(exc):
                    return
                if not is_conflict(exc):
                    raise
        raise RuntimeError(f"could not remove finalizer {finalizer} from {rt.plural} {ns}/{name}")


def _interesting(obj: Obj) -> bool:
    meta = obj.get("metadata") or {}
    if meta.get("ownerReferences"):
        return True
    return bool(meta.get("deletionTimestamp")) and bool({FOREGROUND, ORPHAN} & set(meta.get("finalizers") or []))


def new(ctx: ControllerContext) -> GarbageCollector:
    return GarbageCollector(ctx)
