"""Pod garbage collector: removes pods nobody else will.

Every ``period`` seconds (20 upstream) one sync:

* terminated pods (phase Succeeded or Failed) beyond ``threshold`` (12500)
  are deleted, oldest first (by creationTimestamp);
* pods bound to a node that no longer exists are force-deleted (grace 0).
  The cache can lag a freshly registered node, so the node's absence is
  confirmed with a live GET first;
* terminating pods that were never scheduled are force-deleted: no kubelet
  will ever finish them.
"""

from __future__ import annotations

import logging
from typing import Any

from pyk8s.client.errors import ApiError, is_not_found
from pyk8s.client.rest import DynamicResource
from pyk8s.client.tools.controller import Controller
from pyk8s.controllers.manager import ControllerContext

log = logging.getLogger(__name__)
Obj = dict[str, Any]
PODS = DynamicResource("", "v1", "pods", True, "Pod")
NODES = DynamicResource("", "v1", "nodes", False, "Node")
KEY = "podgc"
DEFAULT_THRESHOLD = 12500
DEFAULT_PERIOD = 20.0


class PodGCController:
    def __init__(self, ctx: ControllerContext) -> None:
        self.client = ctx.client
        self.threshold = int(ctx.option("terminated_pod_gc_threshold", DEFAULT_THRESHOLD))
        self.period = float(ctx.option("podgc_period", DEFAULT_PERIOD))
        self.pods = ctx.factory.informer(PODS)
        self.nodes = ctx.factory.informer(NODES)
        self.controller = Controller("podgc", self.sync, informers=[self.pods, self.nodes], clock=ctx.clock)
        self.ready = self.controller.ready

    async def run(self) -> None:
        self.controller.queue.add(KEY)
        await self.controller.run()

    async def sync(self, key: str) -> float:
        pods = self.pods.lister.list()
        await self.gc_terminated(pods)
        await self.gc_orphaned(pods)
        await self.gc_unscheduled_terminating(pods)
        return self.period

    async def gc_terminated(self, pods: list[Obj]) -> None:
        if self.threshold <= 0:
            return
        done = [p for p in pods if (p.get("status") or {}).get("phase") in ("Succeeded", "Failed")
                and not p["metadata"].get("deletionTimestamp")]
        excess = len(done) - self.threshold
        if excess <= 0:
            return
        done.sort(key=lambda p: (p["metadata"].get("creationTimestamp") or "", p["metadata"]["name"]))
        for pod in done[:excess]:
            await self._delete(pod, None)

    async def gc_orphaned(self, pods: list[Obj]) -> None:
        known = {n["metadata"]["name"] for n in self.nodes.lister.list()}
        missing: dict[str, bool] = {}
        for pod in pods:
            node = (pod.get("spec") or {}).get("nodeName")
            if not node or node in known:
                continue
            if node not in missing:
                missing[node] = await self._node_gone(node)
            if missing[node]:
                log.info("podgc: force-deleting orphaned pod %s/%s (node %s is gone)",
                         pod["metadata"].get("namespace"), pod["metadata"]["name"], node)
                await self._delete(pod, 0)

    async def gc_unscheduled_terminating(self, pods: list[Obj]) -> None:
        for pod in pods:
            if pod["metadata"].get("deletionTimestamp") and not (pod.get("spec") or {}).get("nodeName"):
                await self._delete(pod, 0)

    async def _node_gone(self, name: str) -> bool:
        try:
            await self.client.get(NODES, name)
        except ApiError as exc:
            if is_not_found(exc):
                return True
            raise
        return False

    async def _delete(self, pod: Obj, grace: int | None) -> None:
        meta = pod["metadata"]
        try:
            await self.client.delete(PODS, meta["name"], namespace=meta.get("namespace"),
                                     grace_period_seconds=grace, preconditions={"uid": meta["uid"]})
        except ApiError as exc:
            if not is_not_found(exc) and exc.code != 409:
                raise


def new(ctx: ControllerContext) -> PodGCController:
    return PodGCController(ctx)
