"""The kube-scheduler process: informers in, bindings, events and conditions out.

Thin wiring around the in-memory core:

* one pod informer (phase not Succeeded/Failed, as upstream) split by
  handlers: assigned pods feed the ``Cache``; unassigned pods whose
  ``schedulerName`` is ours (and that carry no scheduling gates and are not
  terminating) feed the ``SchedulingQueue``;
* node, PVC, PV, StorageClass and Namespace informers feed the cache, the
  VolumeBinding lister and InterPodAffinity's namespace selector;
* every change is also a ``ClusterEvent`` that may wake unschedulable pods.

The loop pops a pod, runs the synchronous scheduling cycle, assumes it and
starts the binding cycle as a task of its TaskGroup, so the next pod is
scheduled while the binding POST is in flight.  Success emits ``Scheduled``;
failure emits ``FailedScheduling`` with upstream's message, sets
``PodScheduled=False`` (``Unschedulable``, or ``SchedulerError`` for errors)
through a status patch and requeues the pod.

When DefaultPreemption finds victims, the cycle nominates the pod to their
node at once (so the next cycles keep off the room being freed) and the
follow-up first evicts the victims (``_ApiEvictor``: DisruptionTarget
condition, delete, ``Preempted`` event), then writes the condition together
with ``status.nominatedNodeName``.  The pod waits among the unschedulable
ones until the victims' deletion events move it back.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Protocol

from pyk8s.api.core_v1.helpers.timestamps import format_time
from pyk8s.client.errors import is_not_found
from pyk8s.client.rest import Client
from pyk8s.client.tools.events import EventRecorder
from pyk8s.client.tools.informer import SharedInformerFactory
from pyk8s.client.tools.store import DeletedFinalStateUnknown
from pyk8s.scheduler.cache import Cache
from pyk8s.scheduler.framework import interface as fw
from pyk8s.scheduler.framework.runtime import Framework
from pyk8s.scheduler.nominator import Nominator, nominated_node_name
from pyk8s.scheduler.plugins import default_plugins
from pyk8s.scheduler.plugins.defaultpreemption import REASON_PREEMPTION_BY_SCHEDULER
from pyk8s.scheduler.plugins.volumebinding_api import ApiVolumeBinder
from pyk8s.scheduler.podinfo import pod_key
from pyk8s.scheduler.queue import QueuedPod, SchedulingQueue
from pyk8s.scheduler.schedule_one import CycleOutcome, FitError, Scheduler
from pyk8s.util.clock import REAL_CLOCK, Clock

log = logging.getLogger(__name__)
Obj = dict[str, Any]
DEFAULT_SCHEDULER_NAME = "default-scheduler"

PODS = Client.resource("", "v1", "pods", namespaced=True)
NODES = Client.resource("", "v1", "nodes", namespaced=False)
PVCS = Client.resource("", "v1", "persistentvolumeclaims", namespaced=True)
PVS = Client.resource("", "v1", "persistentvolumes", namespaced=False)
STORAGE_CLASSES = Client.resource("storage.k8s.io", "v1", "storageclasses", namespaced=False)
NAMESPACES = Client.resource("", "v1", "namespaces", namespaced=False)
PDBS = Client.resource("policy", "v1", "poddisruptionbudgets", namespaced=True)


class Recorder(Protocol):
    def event(self, obj: Obj, type_: str, reason: str, message: str) -> None: ...


class _ApiBinder:
    def __init__(self, client: Client) -> None:
        self._client = client

    async def bind(self, pod: Obj, node_name: str) -> None:
        meta = pod["metadata"]
        await self._client.bind(meta.get("namespace") or "default", meta["name"], node_name)


def _now(clock: Clock) -> str:
    return format_time(clock.now())


class _ApiEvictor:
    """Preemption's API calls, as upstream's ``PreemptPod`` and ``clearNominatedNodeName``."""

    def __init__(self, client: Client, recorder: Recorder, clock: Clock) -> None:
        self._client = client
        self._recorder = recorder
        self._clock = clock

    async def preempt(self, preemptor: Obj, victim: Obj, node_name: str) -> None:
        meta = victim.get("metadata") or {}
        name, namespace = meta.get("name", ""), meta.get("namespace") or "default"
        scheduler_name = (preemptor.get("spec") or {}).get("schedulerName") or DEFAULT_SCHEDULER_NAME
        condition = {
            "type": "DisruptionTarget", "status": "True", "reason": REASON_PREEMPTION_BY_SCHEDULER,
            "message": f"{scheduler_name}: preempting to accommodate a higher priority pod",
            "lastProbeTime": None, "lastTransitionTime": _now(self._clock),
        }
        present = any(
            c.get("type") == "DisruptionTarget" and c.get("status") == "True"
            and c.get("reason") == condition["reason"] and c.get("message") == condition["message"]
            for c in (victim.get("status") or {}).get("conditions") or ()
        )
        try:
            if not present:
                await self._client.patch(PODS, name, {"status": {"conditions": [condition]}}, namespace=namespace, subresource="status")
            await self._client.delete(PODS, name, namespace=namespace)
        except Exception as e:
            if is_not_found(e):
                return  # the victim is already gone
            raise
        uid = (preemptor.get("metadata") or {}).get("uid", "")
        self._recorder.event(victim, "Normal", "Preempted", f"Preempted by pod {uid} on node {node_name}")

    async def clear_nominated_node_name(self, pod: Obj) -> None:
        meta = pod.get("metadata") or {}
        await self._client.patch(PODS, meta.get("name", ""), {"status": {"nominatedNodeName": None}},
                                 namespace=meta.get("namespace") or "default", subresource="status")


class _InformerVolumes:
    """VolumeBinding's lister over the PVC/PV/StorageClass informers."""

    def __init__(self, factory: SharedInformerFactory) -> None:
        self._pvcs = factory.lister(PVCS)
        self._pvs = factory.lister(PVS)
        self._classes = factory.lister(STORAGE_CLASSES)

    def get_pvc(self, namespace: str, name: str) -> Obj | None:
        return self._pvcs.get(name, namespace)

    def get_pv(self, name: str) -> Obj | None:
        return self._pvs.get(name)

    def get_storage_class(self, name: str) -> Obj | None:
        return self._classes.get(name)


def _unwrap(obj: Obj | DeletedFinalStateUnknown) -> Obj:
    return obj.obj if isinstance(obj, DeletedFinalStateUnknown) else obj


def _node_update_action(old: Obj, new: Obj) -> fw.ActionType:
    action = fw.ActionType(0)
    om, nm = old.get("metadata") or {}, new.get("metadata") or {}
    os_, ns = old.get("spec") or {}, new.get("spec") or {}
    ost, nst = old.get("status") or {}, new.get("status") or {}
    if om.get("labels") != nm.get("labels"):
        action |= fw.ActionType.UPDATE_NODE_LABEL
    if os_.get("taints") != ns.get("taints") or os_.get("unschedulable") != ns.get("unschedulable"):
        action |= fw.ActionType.UPDATE_NODE_TAINT
    if ost.get("allocatable") != nst.get("allocatable"):
        action |= fw.ActionType.UPDATE_NODE_ALLOCATABLE
    if [(c.get("type"), c.get("status")) for c in ost.get("conditions") or ()] != [
        (c.get("type"), c.get("status")) for c in nst.get("conditions") or ()
    ]:
        action |= fw.ActionType.UPDATE_NODE_CONDITION
    if om.get("annotations") != nm.get("annotations"):
        action |= fw.ActionType.UPDATE_NODE_ANNOTATION
    return action


class KubeScheduler:
    def __init__(
        self,
        client: Client,
        *,
        scheduler_name: str = DEFAULT_SCHEDULER_NAME,
        clock: Clock = REAL_CLOCK,
        factory: SharedInformerFactory | None = None,
        recorder: Recorder | None = None,
        percentage_of_nodes_to_score: int = 0,
    ) -> None:
        self.client = client
        self.name = scheduler_name
        self.clock = clock
        self.factory = factory or SharedInformerFactory(client, clock=clock)
        self.recorder: Recorder = recorder or EventRecorder(client, component=scheduler_name, clock=clock)
        self.cache = Cache(clock=clock)
        ns_lister = self.factory.lister(NAMESPACES)
        volumes = _InformerVolumes(self.factory)
        plugins = default_plugins(
            _ApiBinder(client),
            volume_lister=volumes,
            volume_binder=ApiVolumeBinder(client, volumes, self.factory.lister(PVS).list, clock=clock),
            namespace_labels=lambda ns: ((ns_lister.get(ns) or {}).get("metadata") or {}).get("labels"),
            evictor=_ApiEvictor(client, self.recorder, clock),
            pdb_lister=self.factory.lister(PDBS).list,
        )
        self.nominator = Nominator()
        self.framework = Framework(plugins, profile_name=scheduler_name, nominator=self.nominator)
        self.algorithm = Scheduler(self.framework, self.cache, percentage_of_nodes_to_score=percentage_of_nodes_to_score)
        self.queue = SchedulingQueue(clock=clock, events=self.framework.events_to_register(), nominator=self.nominator)
        self.ready = asyncio.Event()
        self._register_handlers()

    # -- informer handlers -----------------------------------------------------------
    def _register_handlers(self) -> None:
        pods = self.factory.informer(PODS, field_selector="status.phase!=Succeeded,status.phase!=Failed")
        pods.add_event_handler(on_add=self.on_pod_add, on_update=self.on_pod_update, on_delete=self.on_pod_delete)
        nodes = self.factory.informer(NODES)
        nodes.add_event_handler(on_add=self.on_node_add, on_update=self.on_node_update, on_delete=self.on_node_delete)
        for rt, resource in (
            (PVCS, fw.EventResource.PERSISTENT_VOLUME_CLAIM),
            (PVS, fw.EventResource.PERSISTENT_VOLUME),
            (STORAGE_CLASSES, fw.EventResource.STORAGE_CLASS),
        ):
            self.factory.informer(rt).add_event_handler(
                on_add=functools.partial(self._moved_by, resource, fw.ActionType.ADD),
                on_update=functools.partial(self._moved_by, resource, fw.ActionType.UPDATE_OTHER),
            )
        self.factory.informer(NAMESPACES)

    def _moved_by(self, resource: fw.EventResource, action: fw.ActionType, *_objs: object) -> None:
        """An informer handler (its objects are ignored): the event may make unschedulable pods schedulable."""
        self._move(resource, action)

    def _move(self, resource: fw.EventResource, action: fw.ActionType) -> None:
        if action:
            self.queue.move_all_to_active_or_backoff(fw.ClusterEvent(resource, action))

    def responsible_for(self, pod: Obj) -> bool:
        spec = pod.get("spec") or {}
        return (
            not spec.get("nodeName")
            and (spec.get("schedulerName") or DEFAULT_SCHEDULER_NAME) == self.name
            and not spec.get("schedulingGates")
            and not (pod.get("metadata") or {}).get("deletionTimestamp")
        )

    @staticmethod
    def _assigned(pod: Obj) -> bool:
        return bool((pod.get("spec") or {}).get("nodeName"))

    def on_pod_add(self, pod: Obj) -> None:
        if self._assigned(pod):
            self.cache.add_pod(pod)
            self.queue.done(pod_key(pod))
            self._move(fw.EventResource.ASSIGNED_POD, fw.ActionType.ADD)
        elif self.responsible_for(pod):
            self.queue.add(pod)

    def on_pod_update(self, old: Obj, new: Obj) -> None:
        if self._assigned(new):
            self.cache.update_pod(new)
            self.queue.done(pod_key(new))
            action = fw.ActionType.ADD if not self._assigned(old) else fw.ActionType(0)
            if (old.get("metadata") or {}).get("labels") != (new.get("metadata") or {}).get("labels"):
                action |= fw.ActionType.UPDATE_POD_LABEL
            self._move(fw.EventResource.ASSIGNED_POD, action)
        elif self.responsible_for(new):
            if old.get("spec") != new.get("spec") or (old.get("metadata") or {}).get("labels") != (new.get("metadata") or {}).get("labels"):
                self.queue.update(new)
            else:
                self.queue.update_status(new)  # e.g. status.nominatedNodeName
        else:
            self.queue.delete(new)

    def on_pod_delete(self, obj: Obj | DeletedFinalStateUnknown) -> None:
        pod = _unwrap(obj)
        if self._assigned(pod):
            self.cache.remove_pod(pod)
            self._move(fw.EventResource.ASSIGNED_POD, fw.ActionType.DELETE)
        else:
            self.queue.delete(pod)

    def on_node_add(self, node: Obj) -> None:
        self.cache.add_node(node)
        self._move(fw.EventResource.NODE, fw.ActionType.ADD)

    def on_node_update(self, old: Obj, new: Obj) -> None:
        self.cache.update_node(new)
        self._move(fw.EventResource.NODE, _node_update_action(old, new))

    def on_node_delete(self, obj: Obj | DeletedFinalStateUnknown) -> None:
        node = _unwrap(obj)
        self.cache.remove_node((node.get("metadata") or {}).get("name", ""))

    # -- the loop ------------------------------------------------------------------------
    async def run(self) -> None:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self.factory.run())
            if isinstance(self.recorder, EventRecorder):
                tg.create_task(self.recorder.run())
            tg.create_task(self.queue.run())
            await self.factory.wait_for_cache_sync()
            self.ready.set()
            while True:
                qp = await self.queue.pop()
                follow_up = self.schedule_next(qp)
                if follow_up is not None:
                    tg.create_task(follow_up)
                # pop() does not suspend while pods are queued: yield once per
                # cycle so binding POSTs, informer events and the event
                # recorder run alongside (upstream runs them in other
                # goroutines), instead of after the whole backlog.
                await asyncio.sleep(0)

    def schedule_next(self, qp: QueuedPod) -> Coroutine[Any, Any, None] | None:
        """Run the scheduling cycle for ``qp``.

        Returns the follow-up to run concurrently (the binding cycle, or the
        PodScheduled condition write after a failure), or None.
        """
        cycle = self.queue.scheduling_cycle
        pod = qp.pod
        state = fw.CycleState(qp.info)
        result = self.algorithm.schedule_pod(state, pod)
        if isinstance(result, FitError):
            message = result.message()
            qp.unschedulable_plugins = set(result.unschedulable_plugins)
            outcome = CycleOutcome(pod, None, fw.Status(fw.Code.UNSCHEDULABLE, [message]), message, qp.unschedulable_plugins)
            pf = result.post_filter_result
            if pf is not None and pf.nominated_node_name is not None:
                # Nominate now, so that the next cycles already keep off the room being freed.
                self.nominator.add(qp.info, pf.nominated_node_name)
                outcome.nominated_node_name = pf.nominated_node_name
                if pf.prepare is not None:
                    return self._preempt_then_fail(qp, cycle, outcome, pf.prepare)
            return self._failed(qp, cycle, outcome)
        assumed = self.algorithm.assume(state, pod, result.node_name)
        if isinstance(assumed, CycleOutcome):
            return self._failed(qp, cycle, assumed)
        return self._bind(qp, cycle, state, assumed, result.node_name)

    async def _bind(self, qp: QueuedPod, cycle: int, state: fw.CycleState, assumed: Obj, node_name: str) -> None:
        outcome = await self.algorithm.bind(state, assumed, node_name)
        if outcome.scheduled:
            self.queue.done(qp.key)
            meta = assumed.get("metadata") or {}
            self.recorder.event(
                assumed, "Normal", "Scheduled", f"Successfully assigned {meta.get('namespace')}/{meta.get('name')} to {node_name}"
            )
            return
        follow_up = self._failed(qp, cycle, outcome)
        if follow_up is not None:
            await follow_up

    async def _preempt_then_fail(
        self, qp: QueuedPod, cycle: int, outcome: CycleOutcome, prepare: Callable[[], Awaitable[None]]
    ) -> None:
        """Evict the victims, then report the failure with the nomination (upstream's order)."""
        pod = qp.pod
        try:
            await prepare()
        except Exception as e:  # noqa: BLE001 - a failed eviction must not stop scheduling
            meta = pod.get("metadata") or {}
            log.warning("preemption for %s/%s failed: %s", meta.get("namespace"), meta.get("name"), e)
            if self.nominator.node_of(qp.key) == outcome.nominated_node_name:
                self.nominator.delete(qp.key)
            outcome.nominated_node_name = None
            outcome.status = fw.Status.error(str(e) or type(e).__name__)
        follow_up = self._failed(qp, cycle, outcome)
        if follow_up is not None:
            await follow_up

    def _failed(self, qp: QueuedPod, cycle: int, outcome: CycleOutcome) -> Coroutine[Any, Any, None] | None:
        """Event and requeue now; returns the condition write (None when it is already set)."""
        error = outcome.status is not None and outcome.status.code == fw.Code.ERROR
        reason = "SchedulerError" if error else "Unschedulable"
        self.recorder.event(qp.pod, "Warning", "FailedScheduling", outcome.message)
        self.queue.add_unschedulable(qp, cycle, error=error)
        nominated = outcome.nominated_node_name
        if nominated is not None and nominated == nominated_node_name(qp.pod):
            nominated = None  # already written
        if nominated is None:
            for c in (qp.pod.get("status") or {}).get("conditions") or ():
                if c.get("type") == "PodScheduled" and c.get("status") == "False" and c.get("reason") == reason and c.get("message") == outcome.message:
                    return None  # unchanged: spare the API server a write
        return self._set_condition(qp.pod, reason, outcome.message, nominated)

    async def _set_condition(self, pod: Obj, reason: str, message: str, nominated: str | None = None) -> None:
        now = _now(self.clock)
        meta = pod.get("metadata") or {}
        patch: Obj = {"status": {"conditions": [{
            "type": "PodScheduled", "status": "False", "reason": reason, "message": message,
            "lastProbeTime": None, "lastTransitionTime": now,
        }]}}
        if nominated is not None:
            patch["status"]["nominatedNodeName"] = nominated or None
        try:
            await self.client.patch(PODS, meta["name"], patch, namespace=meta.get("namespace") or "default", subresource="status")
        except Exception as e:  # noqa: BLE001 - a failed condition write must not stop scheduling
            log.warning("updating PodScheduled of %s/%s failed: %s", meta.get("namespace"), meta.get("name"), e)
