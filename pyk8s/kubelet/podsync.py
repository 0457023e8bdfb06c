"""One pod's sync: the pod worker's body (upstream ``syncPod`` / ``syncTerminatingPod``).

``PodSyncer.sync(key)`` is level-triggered: it reads the pod from the
informer's cache and the runtime's view of it, converges, and reports.

* The pod is gone from the API: kill whatever still runs for it and remove
  its containers, sandboxes and directories.
* A deletion is pending (``deletionTimestamp``): kill within the pod's
  deletion grace period (preStop, SIGTERM, SIGKILL), then, once nothing runs,
  confirm the deletion (DELETE with grace 0 and a UID precondition).
* The pod reached Succeeded or Failed: nothing restarts; what still runs
  (sidecars) is stopped.
* ``activeDeadlineSeconds`` passed since ``startTime``: kill, and the pod
  ends Failed with reason DeadlineExceeded.
* Otherwise: ``RuntimeManager.sync_pod``; its events are recorded, its start
  failures kept in the ``ReasonCache``; then the runtime's view goes to the
  probes and, as ``v1.PodStatus``, to the status manager (a write only when
  it changed).  When that view leaves nothing to do, it also goes to
  ``observed`` (the PLEG), so that the relist does not queue the pod again
  for the start this sync made and reported.

``needs_sync(pod)`` says whether an informer update is worth a sync: not the
echo of the kubelet's own status write (upstream's pod config calls a
status-only change a reconcile and does not sync), except a terminal phase,
whose echo stops what still runs.

The return value is when to sync again without any event: soon after a
failure (back-offs are rechecked), rarely otherwise (the PLEG and the
informer bring changes as they happen).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pyk8s.api.core_v1.helpers.timestamps import format_time, parse_time
from pyk8s.client.tools.events import EventRecorder
from pyk8s.client.tools.lister import Lister
from pyk8s.kubelet import apistatus, apparmor, sysctl
from pyk8s.kubelet.kuberuntime import podactions
from pyk8s.kubelet.kuberuntime.manager import RuntimeManager
from pyk8s.kubelet.kuberuntime.podstatus import PodStatus
from pyk8s.kubelet.kuberuntime.results import Event, SyncResult
from pyk8s.kubelet.mirrorpods import MirrorPods
from pyk8s.kubelet.prober.manager import ProbeManager
from pyk8s.kubelet.prober.worker import ContainerView
from pyk8s.kubelet.runtime import interface as ri
from pyk8s.kubelet.status.manager import StatusManager
from pyk8s.util.clock import REAL_CLOCK, Clock

log = logging.getLogger(__name__)
Obj = dict[str, Any]

RESYNC = 60.0  # upstream's syncFrequency
RETRY = 2.0  # after a failed step: back-offs and missing objects are rechecked this often
TERMINAL = ("Succeeded", "Failed")
DEADLINE_MESSAGE = "Pod was active on the node longer than the specified deadline"


@dataclass
class PodSyncer:
    pods: Lister
    runtime: ri.RuntimeService
    manager: RuntimeManager
    probes: ProbeManager
    statuses: StatusManager
    recorder: EventRecorder
    runtime_name: str
    host_ip: str
    clock: Clock = REAL_CLOCK
    mirrors: MirrorPods | None = None  # static pods and their mirrors; None: no manifest directory
    observed: Callable[[PodStatus], None] | None = None  # a settled pod's runtime state (``PLEG.observed``)
    allowed_unsafe_sysctls: tuple[str, ...] = ()
    admit: Callable[[Obj], sysctl.Rejection | None] = lambda _pod: None  # node-pressure eviction's admit handler
    resync: float = RESYNC  # --sync-frequency: a settled pod is synced again this often

    def __post_init__(self) -> None:
        self.reasons = apistatus.ReasonCache()
        self.known: dict[str, Obj] = {}  # key -> the pod as last synced
        self.syncing: set[str] = set()  # UIDs whose sync runs now (the PLEG holds their changes back meanwhile)
        self.uid_keys: dict[str, str] = {}

    def key_for_uid(self, uid: str) -> str | None:
        return self.uid_keys.get(uid)

    def needs_sync(self, pod: Obj) -> bool:
        """False for the informer's echo of this kubelet's own status write (see the module docstring)."""
        return (pod.get("status") or {}).get("phase") in TERMINAL or not self.statuses.own_write(pod)

    async def sync(self, key: str) -> float | None:
        namespace, _, name = key.rpartition("/")
        pod = self.pods.get(name, namespace=namespace)
        if self.mirrors is not None:
            pod = await self.mirrors.reconcile(key, pod)
        uid = _uid(pod) if pod is not None else ""
        self.syncing.add(uid)
        try:
            return await self._sync(key, pod)
        finally:
            self.syncing.discard(uid)

    async def _sync(self, key: str, pod: Obj | None) -> float | None:
        last = self.known.get(key)
        if last is not None and (pod is None or _uid(pod) != _uid(last)):
            await self.forget(last)
        if pod is None:
            return None
        self.known[key], self.uid_keys[_uid(pod)] = pod, key
        self.probes.add_pod(pod)
        meta = pod.get("metadata") or {}
        if meta.get("deletionTimestamp"):
            return await self._terminate(pod, meta.get("deletionGracePeriodSeconds"))
        if (rejection := sysctl.admit(pod, self.allowed_unsafe_sysctls) or apparmor.admit(pod)
                or self.admit(pod)) is not None:
            return await self._reject(pod, rejection)
        if (pod.get("status") or {}).get("phase") in TERMINAL:
            return await self._stop_terminal(pod)
        if self._past_deadline(pod):
            return await self._end_at_deadline(pod)
        result = await self.manager.sync_pod(pod)
        self._record(pod, result)
        self.reasons.update(_uid(pod), result)
        status = await self.manager.get_pod_status(_uid(pod), *_name_ns(pod))
        await self._report(pod, status=status)
        if self.observed is not None and podactions.compute_pod_actions(pod, status, self.probes).idle:
            self.observed(status)
        return min(self.resync if result.ok else RETRY, self._until_deadline(pod))

    async def forget(self, pod: Obj) -> None:
        """The pod is gone from the API (or replaced by a new one of its name): clear it from the node."""
        uid = _uid(pod)
        await self.manager.kill_pod(pod, 0)
        await self.manager.remove_pod(uid)
        self.probes.remove_pod(uid)
        self.reasons.forget(uid)
        self.statuses.forget(uid)
        self.uid_keys.pop(uid, None)
        self.known.pop(_key(pod), None)

    async def _terminate(self, pod: Obj, grace: int | None) -> float | None:
        self._record(pod, await self.manager.kill_pod(pod, grace))
        status = await self.manager.get_pod_status(_uid(pod), *_name_ns(pod))
        await self._report(pod, status=status)
        if status.running():
            return 1.0
        await self.statuses.confirm_deletion(pod)
        return None

    async def _reject(self, pod: Obj, rejection: sysctl.Rejection) -> float | None:
        """Admission refused the pod (upstream ``rejectPod``): Failed with the reason, nothing ever started."""
        if (pod.get("status") or {}).get("reason") != rejection.reason:
            self.recorder.event(_ref(pod), "Warning", rejection.reason, rejection.message)
        await self.statuses.set_status(self._status_target(pod), sysctl.rejected_status(pod, rejection),
                                       format_time(self.clock.now()))
        return None

    async def _stop_terminal(self, pod: Obj) -> float | None:
        status = await self.manager.get_pod_status(_uid(pod), *_name_ns(pod))
        if status.running() or any(s.state == ri.SandboxState.READY for s in status.sandboxes):
            self._record(pod, await self.manager.kill_pod(pod, None, status))
        await self._report(pod, terminal=True)
        return None

    def _past_deadline(self, pod: Obj) -> bool:
        return self._until_deadline(pod) <= 0

    def _until_deadline(self, pod: Obj) -> float:
        """Seconds left of ``activeDeadlineSeconds`` (infinite without one): the worker wakes when it passes,
        as upstream's active-deadline handler asks for a sync, not at the next periodic resync."""
        deadline = (pod.get("spec") or {}).get("activeDeadlineSeconds")
        # startTime is the kubelet's own first report; before it, the pod has just started here.
        started = parse_time((pod.get("status") or {}).get("startTime")) or self.clock.now()
        if deadline is None:
            return float("inf")
        return int(deadline) - (self.clock.now() - started).total_seconds()

    async def _end_at_deadline(self, pod: Obj) -> float | None:
        self.recorder.event(_ref(pod), "Normal", "DeadlineExceeded", DEADLINE_MESSAGE)
        self._record(pod, await self.manager.kill_pod(pod, None))
        await self._report(pod, terminal=True)
        return None

    async def _report(self, pod: Obj, *, status: PodStatus | None = None, terminal: bool = False) -> None:
        if status is None:
            status = await self.manager.get_pod_status(_uid(pod), *_name_ns(pod))
        self._observe(pod, status)
        generated = self._api_status(pod, status, terminal=terminal)
        await self.statuses.set_status(self._status_target(pod), generated, format_time(self.clock.now()))

    def _status_target(self, pod: Obj) -> Obj:
        """The API object whose status shows ``pod``: itself, or a static pod's mirror."""
        if self.mirrors is None or not self.mirrors.is_static(pod):
            return pod
        return self.mirrors.mirror(pod) or pod

    def _api_status(self, pod: Obj, status: PodStatus, *, terminal: bool) -> Obj:
        current = pod.get("status") or {}
        start = current.get("startTime") or format_time(self.clock.now())
        generated = apistatus.pod_status(pod, status, reasons=self.reasons, probes=self.probes,
                                         runtime_name=self.runtime_name, host_ip=self.host_ip, start_time=start,
                                         terminal=terminal)
        # Every status written after the deadline says so (upstream's sync handlers rule on each status),
        # not only the first: a later report of the stopped pod would otherwise drop the reason.
        ended = current.get("reason") == "DeadlineExceeded" or (
            current.get("phase") not in TERMINAL and self._past_deadline(pod))
        if ended:
            generated.update(phase="Failed", reason="DeadlineExceeded", message=DEADLINE_MESSAGE)
        return generated

    def _observe(self, pod: Obj, status: PodStatus) -> None:
        """Tell the probe workers what each container looks like now."""
        meta = pod.get("metadata") or {}
        ip = status.ips[0] if status.ips else self.host_ip
        terminal = (pod.get("status") or {}).get("phase") in TERMINAL
        for instance in status.containers:
            if status.find(instance.name) is not instance:
                continue  # only the newest instance of each container is probed
            running = instance.state == ri.ContainerState.RUNNING
            view = ContainerView(instance.id, running, instance.started_at / 1e9 if running else 0.0, ip,
                                 pod_terminal=terminal, pod_deleting=bool(meta.get("deletionTimestamp")))
            self.probes.observe(_uid(pod), instance.name, view)

    def _record(self, pod: Obj, result: SyncResult) -> None:
        for event in result.events:
            self.recorder.event(_ref(pod, event), event.type, event.reason, event.message)
        if result.sync_error:
            log.warning("sync of pod %s failed: %s", _key(pod), result.sync_error)


def _uid(pod: Mapping[str, Any]) -> str:
    return str((pod.get("metadata") or {}).get("uid", ""))


def _name_ns(pod: Mapping[str, Any]) -> tuple[str, str]:
    meta = pod.get("metadata") or {}
    return str(meta.get("name", "")), str(meta.get("namespace", ""))


def _key(pod: Mapping[str, Any]) -> str:
    name, namespace = _name_ns(pod)
    return f"{namespace}/{name}" if namespace else name


def _ref(pod: Mapping[str, Any], event: Event | None = None) -> Obj:
    meta = pod.get("metadata") or {}
    ref: Obj = {"kind": "Pod", "apiVersion": "v1", "name": meta.get("name", ""),
                "namespace": meta.get("namespace", ""), "uid": meta.get("uid", ""),
                "resourceVersion": meta.get("resourceVersion", "")}
    if event is not None and event.field_path:
        ref["fieldPath"] = event.field_path
    return ref

