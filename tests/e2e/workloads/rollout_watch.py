"""A background watch of one app's ReplicaSets and pods, checking rollout bounds at every event.

kubectl shows the end state; the bounds of a rolling update (``maxSurge``,
``maxUnavailable``) must hold at each step, so this thread watches both
resources through the project's client and, after every event, records the
totals the bounds are about: ReplicaSet ``spec.replicas`` summed, pods not
terminating, and those of them that are Ready.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from dataclasses import dataclass
from typing import Any

from pyk8s.client.kubeconfig import ClientConfig
from pyk8s.client.rest import Client, DynamicResource

PODS = DynamicResource("", "v1", "pods", True, "Pod")
RS = DynamicResource("apps", "v1", "replicasets", True, "ReplicaSet")


@dataclass(frozen=True)
class Sample:
    rs_spec_total: int
    pods: int
    ready: int


def _ready(pod: dict[str, Any]) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


class RolloutWatch(threading.Thread):
    def __init__(self, config: ClientConfig, namespace: str, selector: str) -> None:
        super().__init__(daemon=True)
        self.config, self.namespace, self.selector = config, namespace, selector
        self.samples: list[Sample] = []
        self.started = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self.pods: dict[str, dict[str, Any]] = {}
        self.sets: dict[str, dict[str, Any]] = {}

    def run(self) -> None:
        asyncio.run(self._main())

    def stop(self) -> list[Sample]:
        if self._loop is not None and self._task is not None:
            self._loop.call_soon_threadsafe(self._task.cancel)
        self.join(10)
        return self.samples

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        async with Client(self.config) as client:
            with contextlib.suppress(asyncio.CancelledError):
                pods = await client.list(PODS, namespace=self.namespace, label_selector=self.selector)
                sets = await client.list(RS, namespace=self.namespace, label_selector=self.selector)
                self.pods = {p["metadata"]["name"]: p for p in pods["items"]}
                self.sets = {s["metadata"]["name"]: s for s in sets["items"]}
                self._sample()
                async with asyncio.TaskGroup() as tg:
                    tg.create_task(self._watch(client, PODS, self.pods, pods["metadata"]["resourceVersion"]))
                    tg.create_task(self._watch(client, RS, self.sets, sets["metadata"]["resourceVersion"]))
                    self.started.set()

    async def _watch(self, client: Client, rt: DynamicResource, into: dict[str, Any], rv: str) -> None:
        async for kind, obj in client.watch(rt, namespace=self.namespace, label_selector=self.selector,
                                            resource_version=rv):
            if kind == "DELETED":
                into.pop(obj["metadata"]["name"], None)
            elif kind in ("ADDED", "MODIFIED"):
                into[obj["metadata"]["name"]] = obj
            self._sample()

    def _sample(self) -> None:
        live = [p for p in self.pods.values() if not p["metadata"].get("deletionTimestamp")]
        self.samples.append(Sample(sum(int(s["spec"].get("replicas") or 0) for s in self.sets.values()),
                                   len(live), sum(1 for p in live if _ready(p))))
