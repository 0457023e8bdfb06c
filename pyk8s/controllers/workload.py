"""Wiring shared by the workload controllers (ReplicaSet, Deployment, StatefulSet, DaemonSet, Job, CronJob).

Each workload module keeps a pure ``plan`` (what to do, given cached state)
and a small controller class that feeds it from informers and applies what
it returns.  This module holds the pieces those classes share:

* ``RESOURCES``: the plural names plans use in ``actions`` mapped to client
  resources, so one ``execute`` serves every plan.
* ``execute``: one action through the client.  Deleting something already
  gone is success (level-triggered: the goal is reached); other errors
  propagate so the key is retried with back-off.
* ``create_pods``: pod creations in slow-start batches with expectations
  raised first and lowered for the calls skipped after a failure, as
  upstream's ``slowStartBatch`` callers do.
* ``OwnedPods``: the pod informer handlers every owner-of-pods controller
  needs: the controllerRef's owner is enqueued (and its expectations
  lowered) on add and delete; orphans enqueue every owner whose selector
  matches them, so they can be adopted.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from pyk8s.client.errors import ApiError, is_not_found
from pyk8s.client.rest import Client, DynamicResource
from pyk8s.client.tools.controller import Controller
from pyk8s.client.tools.events import EventRecorder
from pyk8s.client.tools.informer import EventHandler, SharedInformer
from pyk8s.client.tools.store import DeletedFinalStateUnknown, meta_key
from pyk8s.controllers import actions, podtemplate, replicaset
from pyk8s.controllers.expectations import Expectations

log = logging.getLogger(__name__)
Obj = dict[str, Any]

PODS = DynamicResource("", "v1", "pods", True, "Pod")
PVCS = DynamicResource("", "v1", "persistentvolumeclaims", True, "PersistentVolumeClaim")
NODES = DynamicResource("", "v1", "nodes", False, "Node")
REPLICATION_CONTROLLERS = DynamicResource("", "v1", "replicationcontrollers", True, "ReplicationController")
REPLICA_SETS = DynamicResource("apps", "v1", "replicasets", True, "ReplicaSet")
DEPLOYMENTS = DynamicResource("apps", "v1", "deployments", True, "Deployment")
STATEFUL_SETS = DynamicResource("apps", "v1", "statefulsets", True, "StatefulSet")
DAEMON_SETS = DynamicResource("apps", "v1", "daemonsets", True, "DaemonSet")
CONTROLLER_REVISIONS = DynamicResource("apps", "v1", "controllerrevisions", True, "ControllerRevision")
JOBS = DynamicResource("batch", "v1", "jobs", True, "Job")
CRON_JOBS = DynamicResource("batch", "v1", "cronjobs", True, "CronJob")

RESOURCES: dict[str, DynamicResource] = {rt.plural: rt for rt in (
    PODS, PVCS, NODES, REPLICATION_CONTROLLERS, REPLICA_SETS, DEPLOYMENTS, STATEFUL_SETS, DAEMON_SETS,
    CONTROLLER_REVISIONS, JOBS, CRON_JOBS)}

_PATCH_TYPES = {actions.STRATEGIC_MERGE: "strategic", actions.MERGE: "merge"}


async def execute(client: Client, act: actions.Action) -> Obj | None:
    """Apply one planned action; a delete of something already gone counts as done."""
    rt = RESOURCES[act.resource]
    if isinstance(act, actions.Create):
        return await client.create(rt, act.body, namespace=act.namespace)
    if isinstance(act, actions.Update):
        return await client.update(rt, act.body, namespace=act.namespace, subresource=act.subresource)
    if isinstance(act, actions.Patch):
        return await client.patch(rt, act.name, act.patch, namespace=act.namespace,
                                  patch_type=_PATCH_TYPES[act.patch_type],  # type: ignore[arg-type]
                                  subresource=act.subresource)
    try:
        return await client.delete(rt, act.name, namespace=act.namespace,
                                   preconditions={"uid": act.uid} if act.uid else None,
                                   propagation_policy=act.propagation_policy)
    except ApiError as exc:
        if is_not_found(exc):
            return None
        raise


async def execute_all(client: Client, planned: Iterable[actions.Action]) -> None:
    for act in planned:
        await execute(client, act)


def record(recorder: EventRecorder, obj: Obj, events: Iterable[actions.Event]) -> None:
    for ev in events:
        recorder.event(obj, ev.type, ev.reason, ev.message)


async def create_pods(client: Client, bodies: Sequence[Obj], *, key: str, expectations: Expectations,
                      now: datetime, on_created: Callable[[Obj], None] | None = None) -> BaseException | None:
    """Create ``bodies`` in slow-start batches; returns the first error (None if all were made).

    Expectations are raised for all of them before the first call and
    lowered for every creation that did not happen, so a failed batch does
    not leave the controller waiting for pods that will never appear.
    """
    if not bodies:
        return None
    expectations.expect_creations(key, len(bodies), now)
    pending = list(bodies)

    async def one() -> None:
        body = pending.pop(0)
        try:
            created = await client.create(PODS, body, namespace=body["metadata"].get("namespace"))
        except BaseException:
            expectations.creation_observed(key)
            raise
        if on_created is not None:
            on_created(created)

    made, error = await replicaset.slow_start(len(bodies), one)
    skipped = len(bodies) - made - (1 if error else 0)
    if skipped > 0:
        expectations.lower(key, adds=skipped)
    if error is not None:
        log.info("creating pods for %s failed after %d: %s", key, made, error)
    return error


def controller_key(obj: Obj, kind: str) -> str | None:
    """``namespace/name`` of the object's controller when it is of ``kind``."""
    ref = podtemplate.controller_of(obj)
    if not ref or ref.get("kind") != kind:
        return None
    return f"{obj['metadata'].get('namespace', '')}/{ref.get('name', '')}"


class OwnedPods:
    """Informer handlers for a controller of ``kind`` owning pods (or other objects, e.g. ReplicaSets).

    ``selects(owner, pod)`` decides whether an orphan pod could be adopted by
    ``owner``.
    """

    def __init__(self, controller: Controller, owners: SharedInformer, kind: str, expectations: Expectations,
                 selects: Callable[[Obj, Obj], bool]) -> None:
        self.controller = controller
        self.owners = owners
        self.kind = kind
        self.expectations = expectations
        self.selects = selects

    def handler(self) -> EventHandler:
        return EventHandler(on_add=self.on_add, on_update=self.on_update, on_delete=self.on_delete)

    def _orphan_owners(self, pod: Obj) -> list[str]:
        ns = pod["metadata"].get("namespace", "")
        return [meta_key(o) for o in self.owners.lister.list(ns) if self.selects(o, pod)]

    def on_add(self, pod: Obj) -> None:
        if pod["metadata"].get("deletionTimestamp"):
            self.on_delete(pod)
            return
        key = controller_key(pod, self.kind)
        if key is not None:
            self.expectations.creation_observed(key)
            self.controller.queue.add(key)
        elif podtemplate.controller_of(pod) is None:
            for owner in self._orphan_owners(pod):
                self.controller.queue.add(owner)

    def on_update(self, old: Obj, new: Obj) -> None:
        if old["metadata"].get("resourceVersion") == new["metadata"].get("resourceVersion"):
            return  # a resync: nothing changed
        if new["metadata"].get("deletionTimestamp") and not old["metadata"].get("deletionTimestamp"):
            # Graceful deletion started: count it as the deletion the owner waits for.
            self.on_delete(new)
            return
        old_key, new_key = controller_key(old, self.kind), controller_key(new, self.kind)
        if old_key is not None and old_key != new_key:
            self.controller.queue.add(old_key)
        if new_key is not None:
            self.controller.queue.add(new_key)
        elif podtemplate.controller_of(new) is None:
            labels_changed = old["metadata"].get("labels") != new["metadata"].get("labels")
            if labels_changed or old_key is not None:
                for owner in self._orphan_owners(new):
                    self.controller.queue.add(owner)

    def on_delete(self, obj: Obj | DeletedFinalStateUnknown) -> None:
        pod = obj.obj if isinstance(obj, DeletedFinalStateUnknown) else obj
        if not isinstance(pod, dict) or "metadata" not in pod:
            return
        key = controller_key(pod, self.kind)
        if key is not None:
            self.expectations.deletion_observed(key, meta_key(pod))
            self.controller.queue.add(key)


async def run_with_recorder(controller: Controller, recorder: EventRecorder) -> None:
    """Run a controller and its event recorder together until cancelled."""
    async with asyncio.TaskGroup() as tg:
        tg.create_task(recorder.run())
        tg.create_task(controller.run())
