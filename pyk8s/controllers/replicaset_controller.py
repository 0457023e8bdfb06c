"""The ReplicaSet and ReplicationController controllers: ``replicaset.plan`` fed from informers.

One sync of ``namespace/name``: read the set and its namespace's pods from
the caches, ask ``replicaset.plan`` (claim, diff, status), then apply:
adoption/release patches, pod creations in slow-start batches, deletions in
parallel, and finally the status (``ReplicaFailure`` while creates or
deletes fail).  Expectations are recorded before the calls so a stale cache
never makes the set act twice; the pod handlers in ``workload.OwnedPods``
lower them as pods appear and vanish.

The ReplicationController is the same code over ``v1`` objects and
map selectors (``replicaset.REPLICATION_CONTROLLER``), as upstream runs it.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Mapping
from typing import Any

from pyk8s.client.errors import ApiError, is_conflict, is_not_found
from pyk8s.client.tools.controller import Controller
from pyk8s.client.tools.events import EventRecorder
from pyk8s.client.tools.informer import EventHandler
from pyk8s.client.tools.store import deletion_key, meta_key, split_key
from pyk8s.controllers import actions, podstate, podtemplate, replicaset, workload
from pyk8s.controllers.expectations import Expectations
from pyk8s.controllers.manager import ControllerContext

Obj = dict[str, Any]


class ReplicaSetController:
    def __init__(self, ctx: ControllerContext, kind: replicaset.Kind = replicaset.REPLICA_SET) -> None:
        self.client = ctx.client
        self.clock = ctx.clock
        self.kind = kind
        self.resource = workload.RESOURCES[kind.resource]
        name = "replicaset" if kind is replicaset.REPLICA_SET else "replicationmanager"
        self.sets = ctx.factory.informer(self.resource)
        self.pods = ctx.factory.informer(workload.PODS)
        self.expectations = Expectations()
        self.controller = Controller(name, self.sync, workers=int(ctx.option(f"{name}_workers", 5)),
                                     informers=[self.sets, self.pods], clock=ctx.clock)
        component = "replicaset-controller" if kind is replicaset.REPLICA_SET else "replication-controller"
        self.recorder = EventRecorder(ctx.client, component=component, clock=ctx.clock)
        self.sets.add_event_handler(EventHandler(
            on_add=self.controller.enqueue, on_update=lambda old, new: self.controller.enqueue(new),
            on_delete=self._set_deleted))
        owned = workload.OwnedPods(self.controller, self.sets, kind.kind, self.expectations,
                                   lambda owner, pod: replicaset.selector_matches(
                                       owner, pod["metadata"].get("labels"), kind))
        self.pods.add_event_handler(owned.handler())
        self.ready = self.controller.ready

    def _set_deleted(self, obj: Any) -> None:
        key = deletion_key(obj)
        self.expectations.forget(key)
        self.controller.queue.add(key)

    async def run(self) -> None:
        await workload.run_with_recorder(self.controller, self.recorder)

    def _related(self, rs: Obj, pods: list[Obj]) -> list[Obj]:
        """Active pods of the sets sharing ``rs``'s controller (for deletion ranking)."""
        ref = podtemplate.controller_of(rs)
        if ref is None:
            return []
        siblings = {s["metadata"]["uid"] for s in self.sets.lister.list(rs["metadata"].get("namespace", ""))
                    if (podtemplate.controller_of(s) or {}).get("uid") == ref.get("uid")}
        return [p for p in pods if podstate.is_active(p)
                and (podtemplate.controller_of(p) or {}).get("uid") in siblings]

    async def sync(self, key: str) -> float | None:
        ns, name = split_key(key)
        rs = self.sets.lister.get(name, ns)
        if rs is None:
            self.expectations.forget(key)
            return None
        now = self.clock.now()
        pods = self.pods.lister.list(ns)
        result = replicaset.plan(rs, pods, now, satisfied=self.expectations.satisfied(key, now),
                                 related=self._related(rs, pods), kind=self.kind)
        await self._patch_claims(result)
        error = await self._manage(key, rs, result)
        status = replicaset.calculate_status(rs, result.owned, now, diff=result.diff,
                                             manage_error=str(error) if error else None)
        await self._write_status(rs, status)
        if error is not None:
            raise error
        return result.requeue_after

    async def _patch_claims(self, result: replicaset.ReplicaSetPlan) -> None:
        for act in result.actions:
            if not isinstance(act, actions.Patch):
                continue
            try:
                await workload.execute(self.client, act)
            except ApiError as exc:
                if not is_not_found(exc):
                    raise
                # The pod went away before we could adopt it: not ours to count.
                result.owned = [p for p in result.owned if p["metadata"]["name"] != act.name]

    async def _manage(self, key: str, rs: Obj, result: replicaset.ReplicaSetPlan) -> BaseException | None:
        now = self.clock.now()
        if result.create and result.pod is not None:
            bodies = [copy.deepcopy(result.pod) for _ in range(result.create)]
            error = await workload.create_pods(
                self.client, bodies, key=key, expectations=self.expectations, now=now,
                on_created=lambda pod: self.recorder.event(rs, "Normal", "SuccessfulCreate",
                                                           f"Created pod: {pod['metadata']['name']}"))
            if error is not None:
                self.recorder.event(rs, "Warning", "FailedCreate", f"Error creating: {error}")
            return error
        if result.delete:
            self.expectations.expect_deletions(key, [meta_key(p) for p in result.delete], now)
            outcomes = await asyncio.gather(*(self._delete(key, rs, p) for p in result.delete))
            return next((e for e in outcomes if e is not None), None)
        return None

    async def _delete(self, key: str, rs: Obj, pod: Mapping[str, Any]) -> BaseException | None:
        act = actions.Delete("pods", pod["metadata"].get("namespace", ""), pod["metadata"]["name"],
                             uid=pod["metadata"].get("uid"))
        try:
            await workload.execute(self.client, act)
        except ApiError as exc:
            self.expectations.deletion_observed(key, meta_key(pod))
            if is_conflict(exc):  # UID precondition: a new pod took the name; nothing to delete
                return None
            self.recorder.event(rs, "Warning", "FailedDelete", f"Error deleting: {exc}")
            return exc
        self.recorder.event(rs, "Normal", "SuccessfulDelete", f"Deleted pod: {pod['metadata']['name']}")
        return None

    async def _write_status(self, rs: Obj, status: Obj) -> None:
        if status == (rs.get("status") or {}):
            return
        body = copy.deepcopy(rs)
        body["status"] = status
        try:
            await self.client.update(self.resource, body, namespace=rs["metadata"].get("namespace"),
                                     subresource="status")
        except ApiError as exc:
            if not is_not_found(exc):
                raise


def new(ctx: ControllerContext) -> ReplicaSetController:
    return ReplicaSetController(ctx)


def new_replication_manager(ctx: ControllerContext) -> ReplicaSetController:
    return ReplicaSetController(ctx, replicaset.REPLICATION_CONTROLLER)
