"""Evicting a pod (upstream's ``evictPod``), and the local-storage and node-pressure checks wired to the kubelet.

An evicted pod gets a Warning ``Evicted`` event with the message, its status
becomes Failed with reason ``Evicted`` and the message (written first, so
that no sync restarts what is about to be killed: a terminal pod is only
stopped), and its containers are killed with grace period 0.
"""

from __future__ import annotations

import logging
import pathlib
from collections.abc import Callable
from typing import Any

from pyk8s.api.core_v1.helpers.timestamps import format_time
from pyk8s.client.errors import ApiError, is_conflict
from pyk8s.client.tools.events import EventRecorder
from pyk8s.kubelet.eviction import observe
from pyk8s.kubelet.eviction import thresholds as th
from pyk8s.kubelet.eviction.localstorage import PERIOD, REASON, LocalStorageEviction
from pyk8s.kubelet.eviction.manager import ContainerUsage, EvictionManager, PodStats
from pyk8s.kubelet.gc import GarbageCollector
from pyk8s.kubelet.kuberuntime import labels
from pyk8s.kubelet.kuberuntime.manager import RuntimeManager
from pyk8s.kubelet.kuberuntime.sandbox import pod_logs_directory
from pyk8s.kubelet.runtime import interface as ri
from pyk8s.kubelet.status.manager import StatusManager
from pyk8s.util.clock import REAL_CLOCK, Clock

log = logging.getLogger(__name__)
Obj = dict[str, Any]


class PodEvictor:
    def __init__(self, manager: RuntimeManager, statuses: StatusManager, recorder: EventRecorder,
                 fresh: Callable[[Obj], Obj | None], clock: Clock = REAL_CLOCK) -> None:
        self.manager, self.statuses, self.recorder, self.fresh, self.clock = manager, statuses, recorder, fresh, clock

    async def __call__(self, pod: Obj, message: str, condition: Obj | None = None) -> None:
        self.recorder.event(_ref(pod), "Warning", REASON, message)
        await self._fail(pod, message, condition)
        await self.manager.kill_pod(pod, 0)

    async def _fail(self, pod: Obj, message: str, condition: Obj | None) -> None:
        for _ in range(3):
            status = {**(pod.get("status") or {}), "phase": "Failed", "reason": REASON, "message": message}
            target = pod
            if condition is not None:
                # Not one of the conditions the kubelet generates each sync: added to the pod's own, which stay.
                kept = [c for c in status.get("conditions") or () if c.get("type") != condition["type"]]
                stamped = {**condition, "lastProbeTime": None, "lastTransitionTime": format_time(self.clock.now())}
                target = {**pod, "status": {**(pod.get("status") or {}), "conditions": [*kept, stamped]}}
            try:
                await self.statuses.set_status(target, status, format_time(self.clock.now()))
                return
            except ApiError as exc:
                if not is_conflict(exc):
                    raise
            pod = self.fresh(pod) or pod  # the cache catches up with the newer pod; try with it
            await self.clock.sleep(0.2)
        log.warning("evicting pod %s: its status could not be written", _ref(pod)["name"])


def local_storage(pods: Callable[[], list[Obj]], runtime: ri.RuntimeService, manager: RuntimeManager,
                  statuses: StatusManager, recorder: EventRecorder, *, period: float = PERIOD,
                  clock: Clock = REAL_CLOCK) -> LocalStorageEviction:
    """The local-storage check over the kubelet's pods, volumes and logs."""

    def volume_dir(uid: str, name: str) -> pathlib.Path:
        return manager.volumes.volume_dir(uid, "empty-dir", name)

    def logs_dir(pod: Obj) -> pathlib.Path:
        return pathlib.Path(pod_logs_directory(manager.settings, pod))

    evictor = PodEvictor(manager, statuses, recorder, _fresh(pods), clock)
    return LocalStorageEviction(pods, runtime, volume_dir, logs_dir, evictor, period=period, clock=clock)


def node_pressure(config: th.EvictionConfig, pods: Callable[[], list[Obj]], runtime: ri.RuntimeService,
                  images: ri.ImageService, manager: RuntimeManager, statuses: StatusManager,
                  recorder: EventRecorder, gc: GarbageCollector, *, clock: Clock = REAL_CLOCK) -> EvictionManager:
    """The node-pressure eviction manager over the host's signals, the runtime's stats and the kubelet's GC."""

    async def stats() -> PodStats:
        containers = {c.id: c for c in await runtime.list_containers(ri.ContainerFilter(
            state=ri.ContainerState.RUNNING))}
        out: PodStats = {}
        for s in await runtime.list_container_stats():
            if (c := containers.get(s.id)) is not None:
                out.setdefault(c.labels.get(labels.POD_UID, ""), {})[c.metadata.name] = ContainerUsage(
                    memory=s.memory_working_set_bytes, disk=s.writable_layer_bytes or 0)
        return out

    async def reclaim() -> None:
        """Upstream's node-level reclaim for disk: dead containers, then every image no container uses."""
        await gc.collect_containers()
        in_use = {ref for c in await runtime.list_containers() for ref in (c.image_ref, c.image)}
        for image in await images.list_images():
            if image.pinned or image.id in in_use or set(image.repo_tags) & (in_use | set(gc.policy.keep_images)):
                continue
            try:
                await images.remove_image(image.id)
            except ri.RuntimeServiceError as exc:
                log.warning("eviction: removing unused image %s: %s", image.repo_tags or image.id, exc)

    def node_event(type_: str, reason: str, message: str) -> None:
        name = manager.settings.node_name
        recorder.event({"kind": "Node", "apiVersion": "v1", "name": name, "uid": name}, type_, reason, message)

    evictor = PodEvictor(manager, statuses, recorder, _fresh(pods), clock)
    return EvictionManager(config, lambda: observe.observe(manager.settings.root_dir, images), pods, stats,
                           evictor, reclaim, node_event, clock=clock)


def _fresh(pods: Callable[[], list[Obj]]) -> Callable[[Obj], Obj | None]:
    def fresh(pod: Obj) -> Obj | None:
        uid = (pod.get("metadata") or {}).get("uid")
        return next((p for p in pods() if (p.get("metadata") or {}).get("uid") == uid), None)
    return fresh


def _ref(pod: Obj) -> Obj:
    meta = pod.get("metadata") or {}
    return {"kind": "Pod", "apiVersion": "v1", "name": meta.get("name", ""), "namespace": meta.get("namespace", ""),
            "uid": meta.get("uid", ""), "resourceVersion": meta.get("resourceVersion", "")}
