"""Garbage collection of dead containers and unused images (upstream's container and image GC).

Both run at start and then periodically, as upstream's ``wait.Until`` loops:
containers every minute (``CONTAINER_GC_PERIOD``), images every five
(``IMAGE_GC_PERIOD``).  The policy is upstream's flags (``GCPolicy``):

Containers: ``--maximum-dead-containers-per-container`` (default 1) exited
instances are kept per pod and container name, newest first — the newest
stays for ``kubectl logs --previous`` and ``lastState``; a negative value
keeps all.  ``--maximum-dead-containers`` (default -1, no limit) then caps
the dead containers of the node, oldest removed first.  A running instance
is never touched.  Sandboxes that are not ready and hold no container any
more are removed too, except the newest of each pod (it carries the pod's
IP history until the pod is deleted, which ``remove_pod`` handles).

Images: when the image filesystem is fuller than ``--image-gc-high-threshold``
percent (85), images no container uses (running or exited) are removed,
least recently used first, until usage is below ``--image-gc-low-threshold``
(80).  An image first seen less than ``--minimum-image-ttl-duration`` ago
(2m) stays: it may have just been pulled for a container about to start.
Use times are what this kubelet saw (an image counts as used at each pass
that finds a container on it), so they start over when the kubelet
restarts, as upstream's in-memory records do.  The sandbox image is never
removed.
"""

from __future__ import annotations

import logging
import os
import time
from collections import defaultdict
from dataclasses import dataclass, field

from pyk8s.kubelet.images import catalog
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
    max_per_pod_container: int = 1
    max_containers: int = -1
    min_image_age: float = 120.0
    keep_images: tuple[str, ...] = (catalog.PAUSE_REF,)  # the sandbox (pause) image


def policy_errors(policy: GCPolicy) -> list[str]:
    """What upstream's kubelet config validation says about the GC settings."""
    errors = []
    for value, name, flag in ((policy.high_percent, "imageGCHighThresholdPercent", "--image-gc-high-threshold"),
                              (policy.low_percent, "imageGCLowThresholdPercent", "--image-gc-low-threshold")):
        if not 0 <= value <= 100:
            errors.append(f"invalid configuration: {name} ({flag}) {value} must be between 0 and 100, inclusive")
    if policy.low_percent >= policy.high_percent:
        errors.append(f"invalid configuration: imageGCLowThresholdPercent (--image-gc-low-threshold) "
                      f"{policy.low_percent} must be less than imageGCHighThresholdPercent "
                      f"(--image-gc-high-threshold) {policy.high_percent}")
    return errors


@dataclass
class ImageRecord:
    first_detected: float
    last_used: float = 0.0


@dataclass
class GarbageCollector:
    runtime: ri.RuntimeService
    images: ri.ImageService
    policy: GCPolicy = field(default_factory=GCPolicy)
    clock: Clock = REAL_CLOCK
    records: dict[str, ImageRecord] = field(default_factory=dict)

    async def run(self) -> None:
        since_images = IMAGE_GC_PERIOD
        while True:
            try:
                await self.collect_containers()
                if since_images >= IMAGE_GC_PERIOD:
                    since_images = 0
                    await self.collect_images()
            except ri.RuntimeServiceError as exc:
                log.warning("garbage collection: %s", exc)
            await self.clock.sleep(CONTAINER_GC_PERIOD)
            since_images += CONTAINER_GC_PERIOD

    async def collect_containers(self) -> list[str]:
        """Remove dead containers beyond the policy's limits; returns the removed IDs."""
        by_name: dict[tuple[str, str], list[ri.Container]] = defaultdict(list)
        for container in await self.runtime.list_containers():
            uid = container.labels.get(labels.POD_UID, "")
            if uid and container.state == ri.ContainerState.EXITED:
                by_name[(uid, container.metadata.name)].append(container)
        doomed: list[ri.Container] = []
        kept: list[ri.Container] = []
        for instances in by_name.values():
            dead = sorted(instances, key=lambda c: c.created_at, reverse=True)
            limit = len(dead) if self.policy.max_per_pod_container < 0 else self.policy.max_per_pod_container
            kept += dead[:limit]
            doomed += dead[limit:]
        if 0 <= self.policy.max_containers < len(kept):
            kept.sort(key=lambda c: c.created_at, reverse=True)
            doomed += kept[self.policy.max_containers:]
        removed = []
        for container in doomed:
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

    async def _detect(self, now: float) -> tuple[list[ri.Image], set[str]]:
        """The images, which of them containers use (by ID, tag or reference), and their use records updated."""
        containers = await self.runtime.list_containers()
        used = {c.image_ref for c in containers} | {c.image for c in containers}
        images = await self.images.list_images()
        for image in images:
            record = self.records.setdefault(image.id, ImageRecord(first_detected=now))
            if image.id in used or set(image.repo_tags) & used:
                record.last_used = now
        for gone in set(self.records) - {i.id for i in images}:
            del self.records[gone]
        return images, used

    async def collect_images(self) -> list[str]:
        """Remove unused images, least recently used first, while the image filesystem is above the high threshold."""
        now = time.time()
        images, used = await self._detect(now)
        usage = await self._usage_percent()
        if usage is None or usage < self.policy.high_percent:
            return []
        keep = used | set(self.policy.keep_images)
        candidates = [img for img in images if img.id not in used and not set(img.repo_tags) & keep
                      and not img.pinned and now - self.records[img.id].first_detected >= self.policy.min_image_age]
        candidates.sort(key=lambda i: (self.records[i.id].last_used, self.records[i.id].first_detected))
        removed = []
        for image in candidates:
            if usage < self.policy.low_percent:
                break
            try:
                await self.images.remove_image(image.id)
            except ri.RuntimeServiceError as exc:
                log.warning("image GC: removing %s: %s", image.repo_tags or image.id, exc)
                continue
            removed.append(image.id)
            self.records.pop(image.id, None)
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
