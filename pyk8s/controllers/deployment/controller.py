"""The Deployment controller's wiring: ``sync.plan`` fed from informers, its actions applied.

Informers: deployments, replicasets and pods.  ReplicaSet events reach the
owning Deployment (or, for orphans, every Deployment whose selector matches,
so it can adopt them) through ``workload.OwnedPods``, which works for any
owned kind.  Pod deletions enqueue the Deployment owning the pod's
ReplicaSet: a Recreate rollout waits for old pods to be gone.

Applying a plan, in its order: ReplicaSet creates, updates and deletes, the
revision annotation patch, then the status.  The status PUT carries the
resourceVersion returned by the annotation patch when there was one, so
our own patch does not make it conflict.  A create that fails with
AlreadyExists is either our own set (a stale cache: nothing to do) or a
hash collision, which bumps ``status.collisionCount`` so the next sync
picks another name, as upstream does.
"""

from __future__ import annotations

import copy
from typing import Any

from pyk8s.client.errors import ApiError, is_already_exists, is_not_found
from pyk8s.client.tools.controller import Controller
from pyk8s.client.tools.events import EventRecorder
from pyk8s.client.tools.informer import EventHandler
from pyk8s.client.tools.store import DeletedFinalStateUnknown, split_key
from pyk8s.controllers import actions, workload
from pyk8s.controllers.deployment import sync
from pyk8s.controllers.expectations import Expectations
from pyk8s.controllers.manager import ControllerContext
from pyk8s.machinery import labels

Obj = dict[str, Any]


def _selects(d: Obj, obj: Obj) -> bool:
    selector = (d.get("spec") or {}).get("selector") or {}
    if not selector.get("matchLabels") and not selector.get("matchExpressions"):
        return False
    return labels.matches_label_selector(selector, obj["metadata"].get("labels") or {})


class DeploymentController:
    def __init__(self, ctx: ControllerContext) -> None:
        self.client = ctx.client
        self.clock = ctx.clock
        self.deployments = ctx.factory.informer(workload.DEPLOYMENTS)
        self.replicasets = ctx.factory.informer(workload.REPLICA_SETS)
        self.pods = ctx.factory.informer(workload.PODS)
        self.controller = Controller("deployment", self.sync, workers=int(ctx.option("deployment_workers", 5)),
                                     informers=[self.deployments, self.replicasets, self.pods], clock=ctx.clock)
        self.recorder = EventRecorder(ctx.client, component="deployment-controller", clock=ctx.clock)
        self.deployments.add_event_handler(self.controller.handler())
        owned_sets = workload.OwnedPods(self.controller, self.deployments, "Deployment", Expectations(), _selects)
        self.replicasets.add_event_handler(owned_sets.handler())
        self.pods.add_event_handler(EventHandler(on_delete=self._pod_deleted))
        self.ready = self.controller.ready

    async def run(self) -> None:
        await workload.run_with_recorder(self.controller, self.recorder)

    def _pod_deleted(self, obj: Obj | DeletedFinalStateUnknown) -> None:
        pod = obj.obj if isinstance(obj, DeletedFinalStateUnknown) else obj
        rs_key = workload.controller_key(pod, "ReplicaSet")
        if rs_key is None:
            return
        ns, name = split_key(rs_key)
        rs = self.replicasets.lister.get(name, ns)
        key = workload.controller_key(rs, "Deployment") if rs is not None else None
        if key is not None:
            self.controller.queue.add(key)

    async def sync(self, key: str) -> float | None:
        ns, name = split_key(key)
        d = self.deployments.lister.get(name, ns)
        if d is None:
            return None
        now = self.clock.now()
        result = sync.plan(d, self.replicasets.lister.list(ns), self.pods.lister.list(ns), now)
        workload.record(self.recorder, d, result.events)
        latest_rv = d["metadata"].get("resourceVersion")
        for act in result.actions:
            if isinstance(act, actions.Create) and act.resource == "replicasets":
                if not await self._create_set(d, act):
                    return None
            elif isinstance(act, actions.Update) and act.resource == "deployments":
                body = copy.deepcopy(act.body)
                body["metadata"]["resourceVersion"] = latest_rv
                await self._write_status(body)
            else:
                out = await workload.execute(self.client, act)
                if isinstance(act, actions.Patch) and act.resource == "deployments" and out:
                    latest_rv = out["metadata"].get("resourceVersion")
        return result.requeue_after

    async def _create_set(self, d: Obj, act: actions.Create) -> bool:
        """Create the new ReplicaSet; False when this sync must stop here (status already written)."""
        try:
            await workload.execute(self.client, act)
            return True
        except ApiError as exc:
            name = act.body["metadata"]["name"]
            if is_already_exists(exc):
                existing = await self.client.get(workload.REPLICA_SETS, name, namespace=act.namespace)
                status = sync.collision_status(d, existing)
                if status is None:
                    return True
                await self._write_status({**copy.deepcopy(d), "status": status})
                return False
            status, event = sync.create_failed_status(d, name, str(exc), self.clock.now())
            workload.record(self.recorder, d, [event])
            await self._write_status({**copy.deepcopy(d), "status": status})
            raise

    async def _write_status(self, body: Obj) -> None:
        try:
            await self.client.update(workload.DEPLOYMENTS, body, namespace=body["metadata"].get("namespace"),
                                     subresource="status")
        except ApiError as exc:
            if not is_not_found(exc):
                raise


def new(ctx: ControllerContext) -> DeploymentController:
    return DeploymentController(ctx)



