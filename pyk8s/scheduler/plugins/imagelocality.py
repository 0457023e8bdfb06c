"""ImageLocality: prefer nodes that already hold the pod's images, weighted by how widely spread they are.

Each image present on the node counts its size times the fraction of nodes
holding it (so one node with a rare image does not attract everything);
the sum is clamped to [23MiB, 1000MiB x containers] and mapped to 0..100.
"""

from __future__ import annotations

from pyk8s.scheduler.cache import NodeInfo, normalized_image_name
from pyk8s.scheduler.framework import interface as fw

NAME = "ImageLocality"
_MB = 1024 * 1024
MIN_THRESHOLD = 23 * _MB
MAX_CONTAINER_THRESHOLD = 1000 * _MB


class ImageLocality:
    name = NAME

    def pre_score(self, state: fw.CycleState, pod: fw.Pod, nodes: list[NodeInfo]) -> fw.Status | None:
        spec = pod.get("spec") or {}
        containers = (spec.get("initContainers") or []) + (spec.get("containers") or [])
        images = [normalized_image_name(c["image"]) for c in containers if c.get("image")]
        if not images:
            return fw.Status.skip()
        snap = state.snapshot
        if snap is not None and not any(image in snap.image_nodes for image in images):
            return fw.Status.skip()  # no node holds any of them: every score would be 0
        state.write(NAME, (images, len(containers)))
        return None

    def score(self, state: fw.CycleState, pod: fw.Pod, node_info: NodeInfo) -> int:
        if not node_info.images:
            return 0
        images, containers = state.read(NAME)
        snap = state.snapshot
        total_nodes = len(snap.node_infos) if snap is not None and snap.node_infos else 1
        total = 0.0
        for image in images:
            size = node_info.images.get(image)
            if size is None:
                continue
            spread = (snap.image_nodes.get(image, 1) if snap is not None else 1) / total_nodes
            total += size * spread
        high = MAX_CONTAINER_THRESHOLD * containers
        clamped = min(max(total, MIN_THRESHOLD), high)
        return int(fw.MAX_NODE_SCORE * (clamped - MIN_THRESHOLD) / (high - MIN_THRESHOLD))
