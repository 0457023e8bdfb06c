"""Garbage collection of dead containers and unused images (upstream's container and image GC).

Containers, every minute (``CONTAINER_GC_PERIOD``), with upstream's default
policy (``MinAge`` 0, ``MaxPerPodContainer`` 1, ``MaxContainers`` unlimited):
of each pod's container name, every exited instance but the newest is
removed — the newest stays for ``kubectl logs --previous`` and ``lastState``;
a running instance is never touched.  Sandboxes that are not ready and hold no
container any more are removed too, except the newest of each pod (it carries
the pod's IP history until the pod is deleted, which ``remove_pod`` handles).

Images, every five minutes (``IMAGE_GC_PERIOD``): when the image
filesystem is fuller than ``high`` percent (85), images no container uses
(running or not) are removed, largest first, until usage is below ``low``
percent (80), as upstream's ImageGCHighThresholdPercent / Low do (upstream
removes least recently used first; the runtime does not report use times, so
size decides here).  The sandbox image is never removed.
"""

from __future__ import annotations

import logging
import os
from collections import defaultdict
from dataclasses import dataclass

from pyk8s.kubelet.kuberuntime import labels
from pyk8s.kubelet.runtime import interface as ri
from pyk8s.util.clock import REAL_CLOCK, Clock

log = logging.getLogger(__name__)

CONTAINER_GC_PERIOD = 60.0
IMAGE_GC_PERIOD = 300.0


@dataclass
class GCPolicy:
    high_percent: int = 85
    low_percent: int = 80
    keep_images: tuple[str, ...] = ()  # e.g. the sandbox (pause) image


class GarbageCollector:
    def __init__(self, runtime: ri.RuntimeService, images: ri.ImageService, *, policy: GCPolicy | None = None,
                 clock: Clock = REAL_CLOCK) -> None:
        self.runtime, self.images, self.clock = runtime, images, clock
        self.policy = policy or GCPolicy()

    async def run(self) -> None:
        since_images = IMAGE_GC_PERIOD
        while True:
            await self.clock.sleep(CONTAINER_GC_PERIOD)
            try:
                await self.collect_containers()
                since_images += CONTAINER_GC_PERIOD
                if since_images >= IMAGE_GC_PERIOD:
                    since_images = 0
                    await self.collect_images()
            except ri.RuntimeServiceError as exc:
                log.warning("garbage collection: %s", exc)

    async def collect_containers(self) -> list[str]:
        """Remove every exited instance but the newest per pod and container name; returns the removed IDs."""
        by_name: dict[tuple[str, str], list[ri.Container]] = defaultdict(list)
        for container in await self.runtime.list_containers():
            uid = container.labels.get(labels.POD_UID, "")
            if uid:
                by_name[(uid, container.metadata.name)].append(container)
        removed = []
        for instances in by_name.values():
            dead = sorted((c for c in instances if c.state == ri.ContainerState.EXITED),
                          key=lambda c: c.created_at, reverse=True)
            for container in dead[1:]:
                try:
                    await self.runtime.remove_container(container.id)
                    removed.append(container.id)
                except ri.NotFoundError:
                    pass
        removed += await self._collect_sandboxes()
        return removed

    async def _collect_sandboxes(self) -> list[str]:
        in_use = {c.pod_sandbox_id for c in await self.runtime.list_containers()}
        by_pod: dict[str, list[ri.PodSandbox]] = defaultdict(list)
        for sandbox in await self.runtime.list_pod_sandbox():
            by_pod[sandbox.metadata.uid].append(sandbox)
        removed = []
        for sandboxes in by_pod.values():
            ordered = sorted(sandboxes, key=lambda s: s.created_at, reverse=True)
            for sandbox in ordered[1:]:
                if sandbox.state != ri.SandboxState.READY and sandbox.id not in in_use:
                    try:
                        await self.runtime.remove_pod_sandbox(sandbox.id)
                        removed.append(sandbox.id)
                    except ri.NotFoundError:
                        pass
        return removed

    async def collect_images(self) -> list[str]:
        """Remove unused images, largest first, while the image filesystem is above the high threshold."""
        usage = await self._usage_percent()
        if usage is None or usage < self.policy.high_percent:
            return []
        containers = await self.runtime.list_containers()
        used = {c.image_ref for c in containers} | {c.image for c in containers}
        candidates = [img for img in await self.images.list_images()
                      if img.id not in used and not (set(img.repo_tags) & (used | set(self.policy.keep_images)))
                      and not img.pinned]
        removed = []
        for image in sorted(candidates, key=lambda i: -i.size):
            if usage < self.policy.low_percent:
                break
            try:
                await self.images.remove_image(image.id)
            except ri.RuntimeServiceError as exc:
                log.warning("image GC: removing %s: %s", image.repo_tags or image.id, exc)
                continue
            removed.append(image.id)
            usage = await self._usage_percent() or 0
        if removed:
            log.info("image GC freed %d images (image filesystem now at %d%%)", len(removed), usage)
        return removed

    async def _usage_percent(self) -> int | None:
        for fs in await self.images.image_fs_info():
            if fs.mountpoint:
                return filesystem_usage_percent(fs.mountpoint)
        return None


def filesystem_usage_percent(path: str) -> int | None:
    """How full the filesystem holding ``path`` is, as ``df`` counts it; None if there is no such path."""
    try:
        st = os.statvfs(path)
    except OSError:
        return None
    total = st.f_blocks * st.f_frsize
    return int(100 * (total - st.f_bavail * st.f_frsize) / total) if total else None
