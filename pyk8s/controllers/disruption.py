"""The disruption controller: keeps every PodDisruptionBudget's status true.

As upstream's ``pkg/controller/disruption``.  For a budget, the pods of its namespace that its
selector selects are counted:

* ``expectedPods`` and ``desiredHealthy``: with ``maxUnavailable``, or a percentage
  ``minAvailable``, from the scale of the pods' controllers (a Deployment through its ReplicaSet,
  a ReplicaSet, a ReplicationController, a StatefulSet; each counted once): ``desiredHealthy =
  expected - maxUnavailable`` (a percentage rounded up) or ``ceil(minAvailable% * expected)``; a
  pod with no such controller is a sync failure (``found no controllers for pod "x"``: condition
  ``DisruptionAllowed`` False, reason ``SyncFailed``, no disruptions).  With an integer
  ``minAvailable``: ``expectedPods`` is the number of pods and ``desiredHealthy`` the number.
* ``currentHealthy``: pods Ready and not being deleted, leaving out those the eviction subresource
  recorded in ``disruptedPods`` a moment ago (an entry lasts until its pod is deleted or for two
  minutes, after which the controller drops it, as upstream's DeletionTimeout).
* ``disruptionsAllowed = currentHealthy - desiredHealthy`` (never below 0, and 0 while no pod is
  expected), ``observedGeneration``, and the ``DisruptionAllowed`` condition (``SufficientPods`` /
  ``InsufficientPods``).

``plan`` decides from listed objects (and names the events upstream records: ``NoPods``,
``NoControllerRef`` / ``NoControllers`` with ``CalculateExpectedPodCountFailed``); the controller
class wires informers, records the events and writes the status only when it changed.
"""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass
from typing import Any

from pyk8s.api import kinds, policy_v1
from pyk8s.api.core_v1.helpers import podready, timestamps
from pyk8s.client.errors import ApiError, is_conflict, is_not_found
from pyk8s.client.rest import DynamicResource
from pyk8s.client.tools.controller import Controller
from pyk8s.client.tools.events import EventRecorder
from pyk8s.client.tools.informer import EventHandler, SharedInformer
from pyk8s.client.tools.store import split_key
from pyk8s.controllers import workload
from pyk8s.controllers.manager import ControllerContext

Obj = dict[str, Any]
PDBS = DynamicResource("policy", "v1", "poddisruptionbudgets", True, "PodDisruptionBudget")
DELETION_TIMEOUT = 120.0


class SyncFailed(Exception):
    """The budget cannot be evaluated (its message becomes the SyncFailed condition's)."""


@dataclass(frozen=True, slots=True)
class Workloads:
    """The namespace's scalable controllers, by uid."""

    by_uid: dict[str, Obj]

    def scale_of(self, pod: Obj) -> tuple[str, int]:
        """(controller uid, replicas) for the pod's managing controller; SyncFailed if none."""
        name = pod["metadata"]["name"]
        ref = next((r for r in (pod["metadata"].get("ownerReferences") or []) if r.get("controller")), None)
        if ref is None:
            raise SyncFailed(f'found no controller ref for pod "{name}"')
        owner = self.by_uid.get(ref.get("uid", ""))
        if owner is not None and ref.get("kind") == "ReplicaSet":
            parent = next((r for r in (owner["metadata"].get("ownerReferences") or [])
                           if r.get("controller") and r.get("kind") == "Deployment"), None)
            if parent is not None and parent.get("uid") in self.by_uid:
                owner = self.by_uid[parent["uid"]]
        if owner is None or ref.get("kind") not in ("ReplicaSet", "ReplicationController", "StatefulSet"):
            raise SyncFailed(f'found no controllers for pod "{name}"')
        replicas = (owner.get("spec") or {}).get("replicas")
        return owner["metadata"]["uid"], 1 if replicas is None else int(replicas)


def _scaled(value: Any, total: int) -> int:
    """GetScaledValueFromIntOrPercent, rounding up."""
    number = kinds.int_or_percent_value(value) or 0
    if isinstance(value, str):
        return math.ceil(number * total / 100)
    return number


def expected_and_desired(pdb: Obj, pods: list[Obj], workloads: Workloads) -> tuple[int, int]:
    spec = pdb.get("spec") or {}
    low, high = spec.get("minAvailable"), spec.get("maxUnavailable")
    if high is not None or isinstance(low, str):
        scales = dict(workloads.scale_of(p) for p in pods)
        expected = sum(scales.values())
        if high is not None:
            return expected, max(expected - _scaled(high, expected), 0)
        return expected, _scaled(low, expected)
    if low is not None:
        return len(pods), int(kinds.int_or_percent_value(low) or 0)
    return 0, 0


Event = tuple[str, str, str]  # type, reason, message


def plan(pdb: Obj, pods: list[Obj], workloads: Workloads, now: datetime.datetime,
         events: list[Event] | None = None) -> tuple[Obj, float | None]:
    """The budget's status, and when to look again (a disrupted-pod entry expiring); the events
    upstream's controller records go to ``events``."""
    events = [] if events is None else events
    mine = [p for p in pods if policy_v1.selects(pdb, p)]
    if not mine:
        events.append(("Normal", "NoPods", "No matching pods found"))
    status: Obj = {"observedGeneration": int(pdb["metadata"].get("generation") or 0),
                   "conditions": list((pdb.get("status") or {}).get("conditions") or [])}
    stamp = timestamps.format_time(now)
    try:
        expected, desired = expected_and_desired(pdb, mine, workloads)
    except SyncFailed as exc:
        reason = "NoControllerRef" if "controller ref" in str(exc) else "NoControllers"
        events.append(("Warning", reason, str(exc)))
        events.append(("Warning", "CalculateExpectedPodCountFailed",
                       f"Failed to calculate the number of expected pods: {exc}"))
        status.update(disruptionsAllowed=0, currentHealthy=0, desiredHealthy=0, expectedPods=0)
        policy_v1.set_disruption_condition(status, stamp, reason=policy_v1.SYNC_FAILED, message=str(exc))
        return status, None
    disrupted, recheck = _disrupted(pdb, mine, now)
    healthy = sum(1 for p in mine if podready.is_pod_ready(p) and not p["metadata"].get("deletionTimestamp")
                  and p["metadata"]["name"] not in disrupted)
    allowed = healthy - desired if expected > 0 and healthy > desired else 0
    status.update(disruptionsAllowed=allowed, currentHealthy=healthy, desiredHealthy=desired, expectedPods=expected)
    if disrupted:
        status["disruptedPods"] = disrupted
    policy_v1.set_disruption_condition(status, stamp)
    return status, recheck


def _disrupted(pdb: Obj, pods: list[Obj], now: datetime.datetime) -> tuple[dict[str, str], float | None]:
    """Entries still pending: the pod exists, is not being deleted, and the entry is under two minutes old."""
    by_name = {p["metadata"]["name"]: p for p in pods}
    kept: dict[str, str] = {}
    recheck: float | None = None
    for name, when in ((pdb.get("status") or {}).get("disruptedPods") or {}).items():
        pod, at = by_name.get(name), timestamps.parse_time(when)
        if pod is None or pod["metadata"].get("deletionTimestamp") or at is None:
            continue
        left = DELETION_TIMEOUT - (now - at).total_seconds()
        if left > 0:
            kept[name] = when
            recheck = left if recheck is None else min(recheck, left)
    return kept, recheck


WORKLOADS = (workload.REPLICA_SETS, workload.DEPLOYMENTS, workload.REPLICATION_CONTROLLERS, workload.STATEFUL_SETS)


class DisruptionController:
    def __init__(self, ctx: ControllerContext) -> None:
        self.client = ctx.client
        self.clock = ctx.clock
        self.pdbs = ctx.factory.informer(PDBS)
        self.pods = ctx.factory.informer(workload.PODS)
        self.workloads: list[SharedInformer] = [ctx.factory.informer(rt) for rt in WORKLOADS]
        self.controller = Controller("disruption", self.sync, workers=int(ctx.option("disruption_workers", 2)),
                                     informers=[self.pdbs, self.pods, *self.workloads], clock=ctx.clock)
        self.pdbs.add_event_handler(self.controller.handler())
        for informer in [self.pods, *self.workloads]:
            informer.add_event_handler(EventHandler(on_add=self._namespace_changed,
                                                    on_update=lambda old, new: self._namespace_changed(new),
                                                    on_delete=self._namespace_changed))
        self.recorder = EventRecorder(ctx.client, component="controllermanager", clock=ctx.clock)
        self.ready = self.controller.ready

    def _namespace_changed(self, obj: Any) -> None:
        obj = obj if isinstance(obj, dict) else getattr(obj, "obj", {})
        namespace = (obj.get("metadata") or {}).get("namespace")
        if namespace:
            for pdb in self.pdbs.lister.list(namespace):
                self.controller.enqueue(pdb)

    async def run(self) -> None:
        await workload.run_with_recorder(self.controller, self.recorder)

    async def sync(self, key: str) -> float | None:
        ns, name = split_key(key)
        pdb = self.pdbs.lister.get(name, ns)
        if pdb is None:
            return None
        owners = {o["metadata"]["uid"]: o for informer in self.workloads for o in informer.lister.list(ns)}
        events: list[Event] = []
        status, recheck = plan(pdb, self.pods.lister.list(ns), Workloads(owners), self.clock.now(), events)
        if status == (pdb.get("status") or {}):
            return recheck
        # Recorded when the status changes, not on every sync: upstream's recorder would drop the
        # repeats with its spam filter, which this one does not have.
        for kind, reason, message in events:
            self.recorder.event(pdb, kind, reason, message)
        try:
            await self.client.update_status(PDBS, {**pdb, "status": status}, namespace=ns)
        except ApiError as exc:
            if is_not_found(exc):
                return None
            if not is_conflict(exc):
                raise
            return 0.2  # an eviction spent the budget meanwhile: recount from the newer object
        return recheck


def new(ctx: ControllerContext) -> DisruptionController:
    return DisruptionController(ctx)
