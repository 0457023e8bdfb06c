"""Node lifecycle controller: notices dead kubelets, taints their nodes, evicts pods.

Health: a node's heartbeat is its Lease in ``kube-node-lease`` (``renewTime``)
or its Ready condition's ``lastHeartbeatTime``.  Like upstream, we do not
compare those timestamps with our clock (skew); we remember *when we saw
them change* on our monotonic clock.  A node not heard from for
``grace_period`` (node-monitor-grace-period, 40 s) gets every status
condition set to ``Unknown`` (reason ``NodeStatusUnknown``, "Kubelet stopped
posting node status.") and its pods' Ready condition set to False.

Taints follow the conditions, as upstream's two tainting passes: NoSchedule for
Ready False -> ``node.kubernetes.io/not-ready``, Ready Unknown ->
``node.kubernetes.io/unreachable``, MemoryPressure, DiskPressure, PIDPressure
and NetworkUnavailable True -> ``node.kubernetes.io/memory-pressure``,
``disk-pressure``, ``pid-pressure``, ``network-unavailable``, and
``spec.unschedulable`` -> ``node.kubernetes.io/unschedulable``; NoExecute for
the two Ready ones only.  A taint the controller adds carries ``timeAdded``;
one no condition calls for any more is removed (so the ``not-ready`` taint the
TaintNodesByCondition admission puts on every new Node goes once it is Ready),
and taints of other keys or effects are left alone.

Eviction (the NoExecute taint manager): a pod on a node with NoExecute taints
is deleted once the shortest toleration it has for them runs out, counted
from the taint's ``timeAdded``: no matching toleration -> at once (for the
two taints above, ``default_toleration_seconds``, 300 s, as the
DefaultTolerationSeconds admission would add, or
``default_unreachable_toleration_seconds`` for the unreachable one), several
matching -> the shortest ``tolerationSeconds`` among them, only unset ones ->
never.  As upstream's taint eviction controller, an evicted pod first gets a
``TaintManagerEviction`` event and the ``DisruptionTarget`` condition (reason
``DeletionByTaintManager``), then is deleted.

Work is keyed by node name; ``sync`` returns the delay to the next deadline
(grace expiry or an eviction), so nothing polls faster than needed.
"""

from __future__ import annotations

import asyncio
import copy
import datetime
import logging
from dataclasses import dataclass
from typing import Any

from pyk8s.api.core_v1.helpers import podready
from pyk8s.api.core_v1.helpers.timestamps import format_time, parse_time
from pyk8s.api.core_v1.helpers.tolerations import tolerates
from pyk8s.client.errors import ApiError, is_conflict, is_not_found
from pyk8s.client.rest import DynamicResource
from pyk8s.client.tools.controller import Controller
from pyk8s.client.tools.events import EventRecorder
from pyk8s.client.tools.store import DeletedFinalStateUnknown, by_node_name
from pyk8s.controllers.manager import ControllerContext

log = logging.getLogger(__name__)
Obj = dict[str, Any]
NODES = DynamicResource("", "v1", "nodes", False, "Node")
PODS = DynamicResource("", "v1", "pods", True, "Pod")
LEASES = DynamicResource("coordination.k8s.io", "v1", "leases", True, "Lease")
LEASE_NAMESPACE = "kube-node-lease"
NODE_INDEX = "nodelifecycle-node"

NOT_READY = "node.kubernetes.io/not-ready"
UNREACHABLE = "node.kubernetes.io/unreachable"
UNSCHEDULABLE = "node.kubernetes.io/unschedulable"
MANAGED_TAINTS = (NOT_READY, UNREACHABLE)
#: condition type -> {status: NoSchedule taint key} (upstream's nodeConditionToTaintKeyStatusMap).
CONDITION_TAINTS: dict[str, dict[str, str]] = {
    "Ready": {"False": NOT_READY, "Unknown": UNREACHABLE},
    "MemoryPressure": {"True": "node.kubernetes.io/memory-pressure"},
    "DiskPressure": {"True": "node.kubernetes.io/disk-pressure"},
    "NetworkUnavailable": {"True": "node.kubernetes.io/network-unavailable"},
    "PIDPressure": {"True": "node.kubernetes.io/pid-pressure"},
}
NO_SCHEDULE_KEYS = frozenset({UNSCHEDULABLE, *(k for m in CONDITION_TAINTS.values() for k in m.values())})
DEFAULT_GRACE = 40.0
DEFAULT_TOLERATION = 300.0
MONITOR_PERIOD = 5.0
STOPPED_MESSAGE = "Kubelet stopped posting node status."
NEVER_MESSAGE = "Kubelet never posted node status."
DEFAULT_CONDITIONS = ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure")


def ready_status(node: Obj) -> str:
    for cond in (node.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return str(cond.get("status") or "Unknown")
    return "Unknown"


def no_schedule_keys(node: Obj) -> list[str]:
    """The NoSchedule taint keys the node's conditions and ``spec.unschedulable`` call for."""
    keys: list[str] = []
    for cond in (node.get("status") or {}).get("conditions") or []:
        key = CONDITION_TAINTS.get(str(cond.get("type")), {}).get(str(cond.get("status"))) \
            if isinstance(cond, dict) else None
        if key is not None:
            keys.append(key)
    if (node.get("spec") or {}).get("unschedulable"):
        keys.append(UNSCHEDULABLE)
    return keys


def desired_taints(node: Obj, now: datetime.datetime) -> list[Obj]:
    """The node's taints with the controller's NoSchedule and NoExecute ones as its conditions want them
    (other taints kept in place; a new one carries ``timeAdded``, as upstream's SwapNodeControllerTaint)."""
    no_execute = {"False": NOT_READY, "Unknown": UNREACHABLE}.get(ready_status(node))
    wanted = {(key, "NoSchedule") for key in no_schedule_keys(node)}
    if no_execute is not None:
        wanted.add((no_execute, "NoExecute"))

    def managed(t: Obj) -> bool:
        return (t.get("effect") == "NoSchedule" and t.get("key") in NO_SCHEDULE_KEYS) or \
            (t.get("effect") == "NoExecute" and t.get("key") in MANAGED_TAINTS)

    current = list((node.get("spec") or {}).get("taints") or [])
    out = [t for t in current if not managed(t) or (t.get("key"), t.get("effect")) in wanted]
    have = {(t.get("key"), t.get("effect")) for t in out}
    stamp = format_time(now)
    out += [{"key": key, "effect": effect, "timeAdded": stamp}
            for key, effect in sorted(wanted - have, key=lambda w: (w[1] != "NoSchedule", w[0]))]
    return out


def eviction_time(pod: Obj, taints: list[Obj], default_seconds: float,
                  unreachable_seconds: float | None = None) -> datetime.datetime | None:
    """When the pod must go because of NoExecute taints (None: never).

    ``default_seconds`` (and ``unreachable_seconds`` for the unreachable taint, when given) apply to
    the two node-health taints when the pod has no toleration for them at all."""
    tolerations = (pod.get("spec") or {}).get("tolerations") or []
    when: datetime.datetime | None = None
    for taint in taints:
        if taint.get("effect") != "NoExecute":
            continue
        added = parse_time(taint.get("timeAdded")) or datetime.datetime.min.replace(tzinfo=datetime.UTC)
        matching = [t for t in tolerations if tolerates(t, taint)]
        bounded = [t for t in matching if t.get("tolerationSeconds") is not None]
        if not matching:
            seconds: float | None = 0.0
            if taint.get("key") == UNREACHABLE and unreachable_seconds is not None:
                seconds = unreachable_seconds
            elif taint.get("key") in MANAGED_TAINTS:
                seconds = default_seconds
        elif not bounded:  # as upstream: forever only when no matching toleration has a limit
            seconds = None
        else:
            seconds = float(min(max(int(t["tolerationSeconds"]), 0) for t in bounded))
        if seconds is None:
            continue
        due = added + datetime.timedelta(seconds=seconds)
        when = due if when is None or due < when else when
    return when


@dataclass
class Health:
    signature: tuple[str, str]
    probed: float  # monotonic time the signature last changed


class NodeLifecycleController:
    def __init__(self, ctx: ControllerContext) -> None:
        self.client = ctx.client
        self.clock = ctx.clock
        self.grace = float(ctx.option("node_monitor_grace_period", DEFAULT_GRACE))
        self.default_toleration = float(ctx.option("default_toleration_seconds", DEFAULT_TOLERATION))
        self.unreachable_toleration = float(ctx.option("default_unreachable_toleration_seconds",
                                                       self.default_toleration))
        self.recorder = EventRecorder(ctx.client, component="taint-eviction-controller", clock=ctx.clock)
        self.node_recorder = EventRecorder(ctx.client, component="node-controller", clock=ctx.clock)
        self.period = float(ctx.option("node_monitor_period", MONITOR_PERIOD))
        self.nodes = ctx.factory.informer(NODES)
        self.leases = ctx.factory.informer(LEASES, namespace=LEASE_NAMESPACE)
        self.pods = ctx.factory.informer(PODS, indexers={NODE_INDEX: by_node_name})
        self.health: dict[str, Health] = {}
        self.controller = Controller("nodelifecycle", self.sync, informers=[self.nodes, self.leases, self.pods],
                                     clock=ctx.clock, workers=int(ctx.option("nodelifecycle_workers", 2)))
        q = self.controller.queue
        self.nodes.add_event_handler(self.controller.handler())
        self.leases.add_event_handler(on_add=lambda o: q.add(o["metadata"]["name"]),
                                      on_update=lambda o, n: q.add(n["metadata"]["name"]))
        self.pods.add_event_handler(on_add=self._pod_changed, on_update=lambda o, n: self._pod_changed(n))
        self.ready = self.controller.ready

    def _pod_changed(self, pod: Obj | DeletedFinalStateUnknown) -> None:
        if isinstance(pod, dict):
            node = (pod.get("spec") or {}).get("nodeName")
            if node:
                self.controller.queue.add(node)

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self.recorder.run())
            tg.create_task(self.node_recorder.run())
            tg.create_task(self.controller.run())

    # --- health -------------------------------------------------------------------------

    def observe(self, node: Obj) -> float:
        """Seconds since this node's heartbeat last changed (as seen by us)."""
        name = node["metadata"]["name"]
        lease = self.leases.lister.get(name, LEASE_NAMESPACE)
        renew = str(((lease or {}).get("spec") or {}).get("renewTime") or "")
        beat = ""
        for cond in (node.get("status") or {}).get("conditions") or []:
            if cond.get("type") == "Ready":
                beat = str(cond.get("lastHeartbeatTime") or "")
        now = self.clock.monotonic()
        seen = self.health.get(name)
        if seen is None or seen.signature != (renew, beat):
            seen = self.health[name] = Health((renew, beat), now)
        return now - seen.probed

    async def sync(self, key: str) -> float | None:
        node = self.nodes.lister.get(key)
        if node is None:
            self.health.pop(key, None)
            return None
        silent = self.observe(node)
        if silent >= self.grace and ready_status(node) != "Unknown":
            node = await self.mark_unknown(node)
            if node is None:
                return None
            await self.mark_pods_not_ready(key)
        node = await self.update_taints(node)
        if node is None:
            return None
        delays = [self.grace - silent if silent < self.grace else self.period]
        next_eviction = await self.evict_pods(node)
        if next_eviction is not None:
            delays.append(next_eviction)
        return max(min(delays), 0.05)

    async def mark_unknown(self, node: Obj) -> Obj | None:
        body = copy.deepcopy(node)
        now = format_time(self.clock.now())
        conds = (body.setdefault("status", {})).setdefault("conditions", [])
        present = {c.get("type") for c in conds}
        for cond in conds:
            if cond.get("status") != "Unknown":
                cond.update(status="Unknown", reason="NodeStatusUnknown", message=STOPPED_MESSAGE,
                            lastTransitionTime=now)
        for ctype in DEFAULT_CONDITIONS:
            if ctype not in present:
                conds.append({"type": ctype, "status": "Unknown", "reason": "NodeStatusNeverUpdated",
                              "message": NEVER_MESSAGE, "lastHeartbeatTime": now, "lastTransitionTime": now})
        name = node["metadata"]["name"]
        log.info("nodelifecycle: node %s stopped posting status", name)
        written = await self._write(body, status=True)
        if written is not None:
            # As upstream: the Node reference's uid is the node's name.
            self.node_recorder.event({"apiVersion": "v1", "kind": "Node", "name": name, "uid": name},
                                     "Normal", "NodeNotReady", f"Node {name} status is now: NodeNotReady")
        return written

    async def update_taints(self, node: Obj) -> Obj | None:
        want = desired_taints(node, self.clock.now())
        if want == list((node.get("spec") or {}).get("taints") or []):
            return node
        body = copy.deepcopy(node)
        body.setdefault("spec", {})["taints"] = want
        if not want:
            body["spec"].pop("taints")
        return await self._write(body, status=False)

    async def _write(self, body: Obj, *, status: bool) -> Obj | None:
        try:
            if status:
                return await self.client.update_status(NODES, body)
            return await self.client.update(NODES, body)
        except ApiError as exc:
            if is_not_found(exc):
                return None
            if is_conflict(exc):
                raise RuntimeError("node changed under us; retrying") from exc
            raise

    async def mark_pods_not_ready(self, node_name: str) -> None:
        now = format_time(self.clock.now())
        for pod in self.pods.store.by_index(NODE_INDEX, node_name):
            if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
                continue
            ready = podready.get_condition(pod, podready.POD_READY)
            if ready is None or ready.get("status") == "False":
                continue
            body = copy.deepcopy(pod)
            for cond in body["status"]["conditions"]:
                if cond.get("type") == "Ready":
                    cond.update(status="False", lastTransitionTime=now)
            try:
                await self.client.update_status(PODS, body)
            except ApiError as exc:
                if not (is_not_found(exc) or is_conflict(exc)):
                    raise
                continue
            self.node_recorder.event(pod, "Warning", "NodeNotReady", "Node is not ready")

    async def evict_pods(self, node: Obj) -> float | None:
        """Delete pods whose tolerations ran out; seconds until the next one is due."""
        taints = [t for t in (node.get("spec") or {}).get("taints") or [] if t.get("effect") == "NoExecute"]
        if not taints:
            return None
        now = self.clock.now()
        soonest: float | None = None
        for pod in self.pods.store.by_index(NODE_INDEX, node["metadata"]["name"]):
            meta = pod["metadata"]
            if meta.get("deletionTimestamp"):
                continue
            due = eviction_time(pod, taints, self.default_toleration, self.unreachable_toleration)
            if due is None:
                continue
            left = (due - now).total_seconds()
            if left > 0:
                soonest = left if soonest is None else min(soonest, left)
                continue
            log.info("nodelifecycle: evicting pod %s/%s from node %s", meta.get("namespace"), meta["name"],
                     node["metadata"]["name"])
            await self.evict(pod)
        return soonest

    async def evict(self, pod: Obj) -> None:
        """As upstream's taint eviction controller: an event, the DisruptionTarget condition, the delete."""
        meta = pod["metadata"]
        name, namespace = meta["name"], meta.get("namespace")
        self.recorder.event({"apiVersion": "v1", "kind": "Pod", "name": name, "namespace": namespace},
                            "Normal", "TaintManagerEviction", f"Marking for deletion Pod {namespace}/{name}")
        conds = (pod.get("status") or {}).get("conditions") or []
        if not any(c.get("type") == "DisruptionTarget" and c.get("status") == "True" for c in conds):
            condition = {"type": "DisruptionTarget", "status": "True", "reason": "DeletionByTaintManager",
                         "message": "Taint manager: deleting due to NoExecute taint",
                         "lastTransitionTime": format_time(self.clock.now())}
            try:
                await self.client.patch(PODS, name, {"status": {"conditions": [condition]}}, namespace=namespace,
                                        subresource="status")
            except ApiError as exc:
                if is_not_found(exc):
                    return
                raise
        try:
            await self.client.delete(PODS, name, namespace=namespace, preconditions={"uid": meta["uid"]})
        except ApiError as exc:
            if not (is_not_found(exc) or exc.code == 409):
                raise


def new(ctx: ControllerContext) -> NodeLifecycleController:
    return NodeLifecycleController(ctx)
