"""The DaemonSet controller: ``daemonset.plan`` fed from informers.

One sync of ``namespace/name`` reads the set, every node and the
namespace's pods from the caches, then:

1. history: ``daemonset.history`` creates (or renumbers) the
   ControllerRevision of the current template and, once expectations are
   satisfied, trims old ones.  A name taken by a revision with other data is
   a hash collision: ``status.collisionCount`` is bumped and the sync retried,
   as upstream's ``snapshot`` does.
2. ``daemonset.plan``: adoption/release patches, deletions, then creations
   (slow-start batches through ``workload.create_pods``).  Deletions go first
   so that when the creations are observed on the pod watch, the deletions
   made before them have been observed too (one ordered stream); the
   expectations record therefore only needs to track the creations in a sync
   that does both.
3. the status, written even when a create or delete failed.

Node events enqueue the sets whose verdict for that node changed
(``should_run`` before and after), every set on node deletion, and on node
addition the sets that should run there; heartbeats change no verdict and
cost nothing.  Pods are created pinned to their node by required node
affinity (``matchFields metadata.name``) and bound by the scheduler.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Mapping
from typing import Any

from pyk8s.client.errors import ApiError, is_already_exists, is_conflict, is_not_found
from pyk8s.client.tools.controller import Controller
from pyk8s.client.tools.events import EventRecorder
from pyk8s.client.tools.informer import EventHandler
from pyk8s.client.tools.store import DeletedFinalStateUnknown, deletion_key, meta_key, split_key
from pyk8s.controllers import actions, daemonset, workload
from pyk8s.controllers.expectations import Expectations
from pyk8s.controllers.manager import ControllerContext
from pyk8s.machinery import labels

Obj = dict[str, Any]


class DaemonSetController:
    def __init__(self, ctx: ControllerContext) -> None:
        self.client = ctx.client
        self.clock = ctx.clock
        self.sets = ctx.factory.informer(workload.DAEMON_SETS)
        self.pods = ctx.factory.informer(workload.PODS)
        self.nodes = ctx.factory.informer(workload.NODES)
        self.revisions = ctx.factory.informer(workload.CONTROLLER_REVISIONS)
        self.expectations = Expectations()
        self._specs: dict[tuple[str, Any], Obj] = {}
        self.controller = Controller("daemonset", self.sync, workers=int(ctx.option("daemonset_workers", 2)),
                                     informers=[self.sets, self.pods, self.nodes, self.revisions], clock=ctx.clock)
        self.recorder = EventRecorder(ctx.client, component="daemonset-controller", clock=ctx.clock)
        self.sets.add_event_handler(EventHandler(
            on_add=self.controller.enqueue, on_update=lambda old, new: self.controller.enqueue(new),
            on_delete=self._set_deleted))
        owned = workload.OwnedPods(self.controller, self.sets, "DaemonSet", self.expectations, _selects)
        self.pods.add_event_handler(owned.handler())
        self.nodes.add_event_handler(EventHandler(on_add=self._node_added, on_update=self._node_updated,
                                                  on_delete=self._node_deleted))
        self.ready = self.controller.ready

    # --- handlers ---------------------------------------------------------------------

    def _set_deleted(self, obj: Any) -> None:
        key = deletion_key(obj)
        self.expectations.forget(key)
        self.controller.queue.add(key)

    def _judged_spec(self, ds: Obj) -> Obj:
        """``daemonset.judged_spec``, kept per template generation: node heartbeats are frequent."""
        key = (ds["metadata"].get("uid", ""), ds["metadata"].get("generation"))
        spec = self._specs.get(key)
        if spec is None:
            if len(self._specs) > 4 * len(self.sets.lister.list()) + 16:
                self._specs.clear()  # old generations and deleted sets
            spec = self._specs[key] = daemonset.judged_spec(ds)
        return spec

    def _node_added(self, node: Obj) -> None:
        for ds in self.sets.lister.list():
            if daemonset.should_run(ds, node, self._judged_spec(ds))[0]:
                self.controller.queue.add(meta_key(ds))

    def _node_updated(self, old: Obj, new: Obj) -> None:
        if old["metadata"].get("resourceVersion") == new["metadata"].get("resourceVersion"):
            return
        for ds in self.sets.lister.list():
            spec = self._judged_spec(ds)
            if daemonset.should_run(ds, old, spec) != daemonset.should_run(ds, new, spec):
                self.controller.queue.add(meta_key(ds))

    def _node_deleted(self, obj: Obj | DeletedFinalStateUnknown) -> None:
        # Pods pinned to a node that is gone must go (the plan deletes them).
        for ds in self.sets.lister.list():
            self.controller.queue.add(meta_key(ds))

    async def run(self) -> None:
        await workload.run_with_recorder(self.controller, self.recorder)

    # --- sync -------------------------------------------------------------------------

    async def sync(self, key: str) -> float | None:
        ns, name = split_key(key)
        ds = self.sets.lister.get(name, ns)
        if ds is None:
            self.expectations.forget(key)
            return None
        if ds["metadata"].get("deletionTimestamp"):
            return None  # upstream leaves a set being deleted alone (the garbage collector takes its pods)
        now = self.clock.now()
        pods = self.pods.lister.list(ns)
        satisfied = self.expectations.satisfied(key, now)
        await self._history(ds, daemonset.history(ds, self.revisions.lister.list(ns), pods, cleanup=satisfied))
        result = daemonset.plan(ds, self.nodes.lister.list(), pods, now, satisfied=satisfied)
        status_update = None
        for act in result.actions:
            if isinstance(act, actions.Patch):
                await workload.execute(self.client, act)  # a failed adoption retries the whole sync
            elif isinstance(act, actions.Update) and act.resource == "daemonsets":
                status_update = act
        workload.record(self.recorder, ds, result.events)
        error = await self._manage(key, ds, result)
        if status_update is not None:
            await self._write_status(status_update, raise_errors=error is None)
        if error is not None:
            raise error
        return result.requeue_after

    async def _history(self, ds: Obj, hist: daemonset.History) -> None:
        for act in hist.actions:
            try:
                await workload.execute(self.client, act)
            except ApiError as exc:
                if not (isinstance(act, actions.Create) and is_already_exists(exc)):
                    raise
                await self._name_taken(ds, act.body, exc)

    async def _name_taken(self, ds: Obj, wanted: Obj, exc: ApiError) -> None:
        """``snapshot``'s AlreadyExists branch: ours (a stale cache) or a hash collision."""
        existing = await self.client.get(workload.CONTROLLER_REVISIONS, wanted["metadata"]["name"],
                                         namespace=ds["metadata"].get("namespace"))
        ref = (existing.get("metadata", {}).get("ownerReferences") or [{}])[0]
        if existing.get("data") == wanted.get("data") and ref.get("uid") == ds["metadata"].get("uid"):
            return
        fresh = await self.client.get(workload.DAEMON_SETS, ds["metadata"]["name"],
                                      namespace=ds["metadata"].get("namespace"))
        status = fresh.setdefault("status", {})
        if status.get("collisionCount") != (ds.get("status") or {}).get("collisionCount"):
            raise exc  # our count was stale: retry with the current one before bumping again
        status["collisionCount"] = int(status.get("collisionCount") or 0) + 1
        await self.client.update(workload.DAEMON_SETS, fresh, namespace=ds["metadata"].get("namespace"),
                                 subresource="status")
        raise exc

    async def _manage(self, key: str, ds: Obj, result: daemonset.DaemonSetPlan) -> BaseException | None:
        now = self.clock.now()
        error: BaseException | None = None
        if result.delete:
            self.expectations.expect_deletions(key, [meta_key(p) for p in result.delete], now)
            outcomes = await asyncio.gather(*(self._delete(key, ds, p) for p in result.delete))
            error = next((e for e in outcomes if e is not None), None)
        if result.create:
            created_error = await workload.create_pods(
                self.client, [copy.deepcopy(b) for b in result.create], key=key, expectations=self.expectations,
                now=now, on_created=lambda pod: self.recorder.event(ds, "Normal", "SuccessfulCreate",
                                                                    f"Created pod: {pod['metadata']['name']}"))
            if created_error is not None:
                self.recorder.event(ds, "Warning", "FailedCreate", f"Error creating: {created_error}")
                error = error or created_error
        return error

    async def _delete(self, key: str, ds: Obj, pod: Mapping[str, Any]) -> BaseException | None:
        act = actions.Delete("pods", pod["metadata"].get("namespace", ""), pod["metadata"]["name"],
                             uid=pod["metadata"].get("uid"))
        try:
            await workload.execute(self.client, act)
        except ApiError as exc:
            self.expectations.deletion_observed(key, meta_key(pod))
            if is_conflict(exc):  # UID precondition: the name now belongs to another pod
                return None
            self.recorder.event(ds, "Warning", "FailedDelete", f"Error deleting: {exc}")
            return exc
        self.recorder.event(ds, "Normal", "SuccessfulDelete", f"Deleted pod: {pod['metadata']['name']}")
        return None

    async def _write_status(self, act: actions.Update, *, raise_errors: bool) -> None:
        try:
            await workload.execute(self.client, act)
        except ApiError as exc:
            if raise_errors and not is_not_found(exc):
                raise


def _selects(ds: Obj, pod: Obj) -> bool:
    return labels.matches_label_selector(ds.get("spec", {}).get("selector"),
                                         pod.get("metadata", {}).get("labels") or {})


def new(ctx: ControllerContext) -> DaemonSetController:
    return DaemonSetController(ctx)
