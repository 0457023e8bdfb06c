"""The StatefulSet controller: ``statefulset.plan`` fed from informers.

One sync of ``namespace/name`` reads the set and its namespace's pods,
ControllerRevisions and PersistentVolumeClaims from the caches, asks
``statefulset.plan`` and applies its actions in order.  The plan already
decides the pacing (OrderedReady: one pod per sync, the next only once the
previous is Running and Ready; Parallel: all at once), so the wiring stays
sequential and stops at the first failure; the status the plan computed is
still written (as upstream does), then the error requeues the key with
back-off.  No expectations: like upstream, a stale cache shows up as an
AlreadyExists on a create, which fails the sync and retries it.

Events follow ``StatefulPodControl``: ``SuccessfulCreate`` "create Pod web-0
in StatefulSet web successful", "create Claim www-web-0 Pod web-0 in
StatefulSet web success", ``SuccessfulDelete``/``SuccessfulUpdate`` alike,
``Failed<Verb>`` with "... failed error: <err>" on errors.  A claim that
already exists is not an error (its creation raced our cache).

A revision name taken by other data is a hash collision:
``status.collisionCount`` is bumped and the sync retried.
"""

from __future__ import annotations

from typing import Any

from pyk8s.client.errors import ApiError, is_already_exists, is_not_found
from pyk8s.client.tools.controller import Controller
from pyk8s.client.tools.events import EventRecorder
from pyk8s.client.tools.informer import EventHandler
from pyk8s.client.tools.store import DeletedFinalStateUnknown, meta_key, split_key
from pyk8s.controllers import actions, podtemplate, statefulset, workload
from pyk8s.controllers.expectations import Expectations
from pyk8s.controllers.manager import ControllerContext
from pyk8s.machinery import labels

Obj = dict[str, Any]


class StatefulSetController:
    def __init__(self, ctx: ControllerContext) -> None:
        self.client = ctx.client
        self.clock = ctx.clock
        self.sets = ctx.factory.informer(workload.STATEFUL_SETS)
        self.pods = ctx.factory.informer(workload.PODS)
        self.revisions = ctx.factory.informer(workload.CONTROLLER_REVISIONS)
        self.claims = ctx.factory.informer(workload.PVCS)
        self.controller = Controller("statefulset", self.sync, workers=int(ctx.option("statefulset_workers", 5)),
                                     informers=[self.sets, self.pods, self.revisions, self.claims], clock=ctx.clock)
        self.recorder = EventRecorder(ctx.client, component="statefulset-controller", clock=ctx.clock)
        self.sets.add_event_handler(self.controller.handler())
        # Upstream keeps no expectations for StatefulSets; OwnedPods wants a record to lower.
        owned = workload.OwnedPods(self.controller, self.sets, "StatefulSet", Expectations(), _selects)
        self.pods.add_event_handler(owned.handler())
        # A sync that waits for a stale claim to go away resumes when it is gone.
        self.claims.add_event_handler(EventHandler(on_delete=self._claim_deleted))
        self.ready = self.controller.ready

    def _claim_deleted(self, obj: Obj | DeletedFinalStateUnknown) -> None:
        claim = obj.obj if isinstance(obj, DeletedFinalStateUnknown) else obj
        if not isinstance(claim, dict) or "metadata" not in claim:
            return
        name = claim["metadata"].get("name", "")
        for sts in self.sets.lister.list(claim["metadata"].get("namespace", "")):
            if f"-{sts['metadata']['name']}-" in name:
                self.controller.queue.add(meta_key(sts))

    async def run(self) -> None:
        await workload.run_with_recorder(self.controller, self.recorder)

    async def sync(self, key: str) -> float | None:
        ns, name = split_key(key)
        sts = self.sets.lister.get(name, ns)
        if sts is None:
            return None
        result = statefulset.plan(sts, self.pods.lister.list(ns), self.revisions.lister.list(ns),
                                  self.claims.lister.list(ns), self.clock.now())
        status = next((a for a in result.actions if isinstance(a, actions.Update) and a.resource == "statefulsets"),
                      None)
        error = await _Apply(self, sts).run([a for a in result.actions if a is not status])
        if status is not None:
            try:
                await workload.execute(self.client, status)
            except ApiError as exc:
                if error is None and not is_not_found(exc):
                    raise
        if error is not None:
            raise error
        return result.requeue_after


class _Apply:
    """Applies one plan's actions in order, recording upstream's events; stops at the first failure."""

    def __init__(self, ctl: StatefulSetController, sts: Obj) -> None:
        self.ctl, self.sts = ctl, sts
        self.set_name = sts["metadata"]["name"]
        self.claims: list[Obj] = []  # claims created for the pod that comes next

    def event(self, verb: str, pod: str, error: BaseException | None) -> None:
        if error is None:
            self.ctl.recorder.event(self.sts, "Normal", f"Successful{verb.title()}",
                                    f"{verb} Pod {pod} in StatefulSet {self.set_name} successful")
        else:
            self.ctl.recorder.event(self.sts, "Warning", f"Failed{verb.title()}",
                                    f"{verb} Pod {pod} in StatefulSet {self.set_name} failed error: {error}")

    def claim_event(self, claim: str, pod: str, error: BaseException | None) -> None:
        if error is None:
            self.ctl.recorder.event(self.sts, "Normal", "SuccessfulCreate",
                                    f"create Claim {claim} Pod {pod} in StatefulSet {self.set_name} success")
        else:
            self.ctl.recorder.event(
                self.sts, "Warning", "FailedCreate",
                f"create Claim {claim} for Pod {pod} in StatefulSet {self.set_name} failed error: {error}")

    async def run(self, planned: list[actions.Action]) -> BaseException | None:
        for index, act in enumerate(planned):
            try:
                await self.one(act, planned[index + 1:])
            except ApiError as exc:
                return exc
        return None

    async def one(self, act: actions.Action, rest: list[actions.Action]) -> None:
        if act.resource == "persistentvolumeclaims" and isinstance(act, actions.Create):
            await self.create_claim(act, rest)
        elif act.resource == "pods" and not isinstance(act, actions.Patch):
            await self.pod_action(act)
        elif act.resource == "controllerrevisions" and isinstance(act, actions.Create):
            await self.create_revision(act)
        else:
            await workload.execute(self.ctl.client, act)

    async def create_claim(self, act: actions.Create, rest: list[actions.Action]) -> None:
        # The plan puts a pod's claims right before the pod.
        pod = next((a.body["metadata"]["name"] for a in rest
                    if isinstance(a, actions.Create) and a.resource == "pods"), "")
        claim = act.body["metadata"]["name"]
        try:
            await workload.execute(self.ctl.client, act)
        except ApiError as exc:
            if is_already_exists(exc):
                return
            self.claim_event(claim, pod, exc)
            self.event("create", pod, exc)
            raise
        self.claim_event(claim, pod, None)

    async def pod_action(self, act: actions.Action) -> None:
        verb = {actions.Create: "create", actions.Update: "update", actions.Delete: "delete"}[type(act)]
        pod = act.name if isinstance(act, actions.Delete) else act.body["metadata"]["name"]  # type: ignore[union-attr]
        try:
            await workload.execute(self.ctl.client, act)
        except ApiError as exc:
            if not (verb == "create" and is_already_exists(exc)):  # upstream sinks this one silently
                self.event(verb, pod, exc)
            raise
        self.event(verb, pod, None)

    async def create_revision(self, act: actions.Create) -> None:
        try:
            await workload.execute(self.ctl.client, act)
        except ApiError as exc:
            if not is_already_exists(exc):
                raise
            ns = self.sts["metadata"].get("namespace")
            existing = await self.ctl.client.get(workload.CONTROLLER_REVISIONS, act.body["metadata"]["name"],
                                                 namespace=ns)
            if existing.get("data") == act.body.get("data") and podtemplate.is_controlled_by(
                    existing, self.sts):
                return  # ours, not yet in the cache
            fresh = await self.ctl.client.get(workload.STATEFUL_SETS, self.set_name, namespace=ns)
            status = fresh.setdefault("status", {})
            if status.get("collisionCount") != (self.sts.get("status") or {}).get("collisionCount"):
                raise  # our count was stale: retry with the current one before bumping again
            status["collisionCount"] = int(status.get("collisionCount") or 0) + 1
            await self.ctl.client.update(workload.STATEFUL_SETS, fresh, namespace=ns, subresource="status")
            raise


def _selects(sts: Obj, pod: Obj) -> bool:
    return statefulset.ordinal_of(pod)[0] == sts["metadata"]["name"] and labels.matches_label_selector(
        sts.get("spec", {}).get("selector"), pod.get("metadata", {}).get("labels") or {})


def new(ctx: ControllerContext) -> StatefulSetController:
    return StatefulSetController(ctx)
