"""Local ephemeral storage limits, enforced as upstream's eviction manager does (``localStorageEviction``).

Every ``period`` seconds (upstream's eviction monitoring interval, 10 s) each
active pod on the node is measured and checked, in upstream's order; the
first limit exceeded evicts the pod:

1. an ``emptyDir`` whose usage is above its ``sizeLimit``:
   ``Usage of EmptyDir volume "v" exceeds the limit "2Mi". ``;
2. the pod's ephemeral storage (every container's writable layer and logs,
   plus its disk emptyDirs) above the sum of its containers'
   ``ephemeral-storage`` limits:
   ``Pod ephemeral local storage usage exceeds the total limit of containers 8Mi. ``;
3. a container's writable layer and logs above its own limit:
   ``Container c exceeded its local ephemeral storage limit "4Mi". ``.

Eviction (upstream's ``evictPod``): a Warning ``Evicted`` event with the
message on the pod, its status Failed with reason ``Evicted`` and that
message, and its containers killed at once (grace period 0).  Critical pods
(priority at or above system-cluster-critical, or static pods) are never
evicted.  Usage is measured as ``du`` does (allocated blocks, not crossing
into other filesystems), off the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import os
import pathlib
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pyk8s.api.core_v1.helpers import resources
from pyk8s.kubelet.kuberuntime import labels
from pyk8s.kubelet.runtime import interface as ri
from pyk8s.machinery import quantity
from pyk8s.util.clock import REAL_CLOCK, Clock

log = logging.getLogger(__name__)
Obj = dict[str, Any]

PERIOD = 10.0
REASON = "Evicted"
EMPTY_DIR_MESSAGE = 'Usage of EmptyDir volume "{}" exceeds the limit "{}". '
POD_MESSAGE = "Pod ephemeral local storage usage exceeds the total limit of containers {}. "
CONTAINER_MESSAGE = 'Container {} exceeded its local ephemeral storage limit "{}". '
EPHEMERAL_STORAGE = "ephemeral-storage"
# Upstream's IsCriticalPod: static and mirror pods, and priority >= SystemCriticalPriority (2 * 10^9).
SYSTEM_CRITICAL_PRIORITY = 2_000_000_000
CONFIG_SOURCE = "kubernetes.io/config.source"
CONFIG_MIRROR = "kubernetes.io/config.mirror"


@dataclass
class PodUsage:
    """Bytes a pod uses on the node's disk."""

    volumes: dict[str, int] = field(default_factory=dict)  # emptyDir name -> bytes
    rootfs: dict[str, int] = field(default_factory=dict)  # container name -> writable layer bytes
    logs: dict[str, int] = field(default_factory=dict)  # container name -> log bytes

    def container(self, name: str) -> int:
        return self.rootfs.get(name, 0) + self.logs.get(name, 0)

    def total(self, disk_volumes: Iterable[str]) -> int:
        names = set(self.rootfs) | set(self.logs)
        return sum(self.container(n) for n in names) + sum(self.volumes.get(v, 0) for v in disk_volumes)


def _limit(value: object) -> quantity.Quantity | None:
    parsed = resources.parse_quantity(value)
    return parsed if parsed is not None and parsed.value > 0 else None


def _volumes(pod: Mapping[str, Any]) -> list[Obj]:
    return list((pod.get("spec") or {}).get("volumes") or ())


def violation(pod: Mapping[str, Any], usage: PodUsage) -> str | None:
    """The eviction message for the first limit ``pod`` exceeds, or None."""
    for volume in _volumes(pod):
        source = volume.get("emptyDir")
        if source is None or (size := _limit(source.get("sizeLimit"))) is None:
            continue
        used = usage.volumes.get(volume.get("name", ""))
        if used is not None and used > size.value:
            return EMPTY_DIR_MESSAGE.format(volume.get("name", ""), size)
    pod_limit = resources.pod_quantities(pod, "limits").get(EPHEMERAL_STORAGE)
    if pod_limit is not None:
        disk = [v.get("name", "") for v in _volumes(pod)
                if v.get("emptyDir") is not None and (v["emptyDir"].get("medium") or "") == ""]
        if usage.total(disk) > pod_limit.value:
            return POD_MESSAGE.format(pod_limit)
    for c in (pod.get("spec") or {}).get("containers") or ():
        limit = _limit(((c.get("resources") or {}).get("limits") or {}).get(EPHEMERAL_STORAGE))
        if limit is not None and usage.container(c.get("name", "")) > limit.value:
            return CONTAINER_MESSAGE.format(c.get("name", ""), limit)
    return None


def is_critical(pod: Mapping[str, Any]) -> bool:
    annotations = (pod.get("metadata") or {}).get("annotations") or {}
    if annotations.get(CONFIG_MIRROR) or annotations.get(CONFIG_SOURCE, "api") != "api":
        return True
    priority = (pod.get("spec") or {}).get("priority")
    return priority is not None and int(priority) >= SYSTEM_CRITICAL_PRIORITY


def disk_usage(path: pathlib.Path) -> int:
    """Bytes allocated under ``path`` (``du -x``): blocks, hard links once, other filesystems skipped."""
    try:
        root = os.lstat(path)
    except OSError:
        return 0
    seen: set[tuple[int, int]] = set()
    total = root.st_blocks * 512
    for dirpath, dirnames, filenames in os.walk(path):
        keep = []
        for name in dirnames + filenames:
            try:
                st = os.lstat(os.path.join(dirpath, name))
            except OSError:
                continue
            if st.st_dev != root.st_dev or (st.st_ino, st.st_dev) in seen:
                continue
            if st.st_nlink > 1:
                seen.add((st.st_ino, st.st_dev))
            total += st.st_blocks * 512
            if name in dirnames:
                keep.append(name)
        dirnames[:] = keep
    return total


Evict = Callable[[Obj, str], Awaitable[None]]


class LocalStorageEviction:
    """Measures the node's active pods every ``period`` seconds and evicts those above a limit."""

    def __init__(self, pods: Callable[[], list[Obj]], runtime: ri.RuntimeService,
                 volume_dir: Callable[[str, str], pathlib.Path], logs_dir: Callable[[Obj], pathlib.Path],
                 evict: Evict, *, period: float = PERIOD, clock: Clock = REAL_CLOCK) -> None:
        self.pods, self.runtime, self.evict = pods, runtime, evict
        self.volume_dir, self.logs_dir = volume_dir, logs_dir
        self.period, self.clock = period, clock
        self.evicted: set[str] = set()  # pod UIDs evicted by this kubelet, never twice

    async def run(self) -> None:
        while True:
            await self.clock.sleep(self.period)
            try:
                await self.check()
            except (ri.RuntimeServiceError, OSError) as exc:
                log.warning("local storage eviction check failed: %s", exc)

    async def check(self) -> list[str]:
        """One round: returns the UIDs evicted."""
        candidates = [p for p in self.pods() if _limited(p) and _active(p) and not is_critical(p)
                      and _uid(p) not in self.evicted]
        if not candidates:
            return []
        containers = {c.id: c for c in await self.runtime.list_containers(ri.ContainerFilter(
            state=ri.ContainerState.RUNNING))}
        stats = [(s, containers[s.id]) for s in await self.runtime.list_container_stats() if s.id in containers]
        out = []
        for pod in candidates:
            usage = await asyncio.to_thread(self._measure, pod, stats)
            message = violation(pod, usage)
            if message is None:
                continue
            self.evicted.add(_uid(pod))
            meta = pod.get("metadata") or {}
            log.info("evicting pod %s/%s: %s", meta.get("namespace", ""), meta.get("name", ""), message)
            await self.evict(pod, message)
            out.append(_uid(pod))
        return out

    def _measure(self, pod: Obj, stats: list[tuple[ri.ContainerStats, ri.Container]]) -> PodUsage:
        uid = _uid(pod)
        usage = PodUsage()
        for volume in _volumes(pod):
            if volume.get("emptyDir") is not None:
                usage.volumes[volume.get("name", "")] = disk_usage(self.volume_dir(uid, volume.get("name", "")))
        for s, c in stats:
            if c.labels.get(labels.POD_UID) == uid and s.writable_layer_bytes is not None:
                name = c.metadata.name
                usage.rootfs[name] = max(usage.rootfs.get(name, 0), s.writable_layer_bytes)
        logs = self.logs_dir(pod)
        for c in (pod.get("spec") or {}).get("containers") or ():
            usage.logs[c.get("name", "")] = disk_usage(logs / c.get("name", ""))
        return usage


def _uid(pod: Mapping[str, Any]) -> str:
    return str((pod.get("metadata") or {}).get("uid", ""))


def _active(pod: Mapping[str, Any]) -> bool:
    return ((pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
            and not (pod.get("metadata") or {}).get("deletionTimestamp"))


def _limited(pod: Mapping[str, Any]) -> bool:
    """Whether the pod declares any limit this check enforces (others are never measured)."""
    spec = pod.get("spec") or {}
    if any((v.get("emptyDir") or {}).get("sizeLimit") for v in spec.get("volumes") or ()):
        return True
    return any(((c.get("resources") or {}).get("limits") or {}).get(EPHEMERAL_STORAGE)
               for c in [*(spec.get("containers") or ()), *(spec.get("initContainers") or ())])
