"""The scheduling queue: active, backoff and unschedulable pods.

* **active**: a heap ordered by priority (higher first), then by the time
  the pod was queued; ``pop`` waits on it.
* **backoff**: pods that failed, waiting ``initial * 2^(attempts-1)``
  seconds (1s..10s by default, as upstream) before they return to active.
* **unschedulable**: pods rejected by plugins; they leave only when a
  cluster event one of those plugins registered for arrives
  (``move_all_to_active_or_backoff``), or after ``max_unschedulable``
  seconds (5 minutes) as a safety net.

A failed pod whose cycle started before a move request goes to backoff
instead of parking in unschedulable, so an event that raced with its cycle
is not lost (upstream's ``moveRequestCycle``).  Time comes from an injected
``Clock``; ``flush`` does the timed moves and ``run`` calls it every second.

As upstream's PriorityQueue, the queue keeps the ``Nominator`` up to date
from the pods it is given (``status.nominatedNodeName``); a pod leaves it when
it is bound or deleted.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field

from pyk8s.scheduler.framework import interface as fw
from pyk8s.scheduler.nominator import Nominator
from pyk8s.scheduler.podinfo import PodInfo, pod_key
from pyk8s.util.clock import REAL_CLOCK, Clock

DEFAULT_INITIAL_BACKOFF = 1.0
DEFAULT_MAX_BACKOFF = 10.0
DEFAULT_MAX_UNSCHEDULABLE = 300.0


@dataclass(slots=True)
class QueuedPod:
    info: PodInfo
    timestamp: float  # when (monotonic) it was last added to the queue
    attempts: int = 0
    unschedulable_plugins: set[str] = field(default_factory=set)
    initial_attempt: float = 0.0
    last_failure: float = 0.0

    @property
    def pod(self) -> fw.Pod:
        return self.info.pod

    @property
    def key(self) -> str:
        return self.info.key


class SchedulingQueue:
    def __init__(
        self,
        *,
        clock: Clock = REAL_CLOCK,
        events: Mapping[str, list[fw.ClusterEvent]] | None = None,
        initial_backoff: float = DEFAULT_INITIAL_BACKOFF,
        max_backoff: float = DEFAULT_MAX_BACKOFF,
        max_unschedulable: float = DEFAULT_MAX_UNSCHEDULABLE,
        nominator: Nominator | None = None,
    ) -> None:
        self._clock = clock
        self.nominator = nominator if nominator is not None else Nominator()
        self._events = dict(events or {})
        self._initial = initial_backoff
        self._max = max_backoff
        self._max_unschedulable = max_unschedulable
        self._seq = itertools.count()
        self._active: list[tuple[int, float, int, str]] = []
        self._backoff: list[tuple[float, int, str]] = []
        self._pods: dict[str, QueuedPod] = {}
        self._where: dict[str, str] = {}  # key -> "active" | "backoff" | "unschedulable" | "in-flight"
        self._unschedulable: dict[str, QueuedPod] = {}
        self.scheduling_cycle = 0
        self._move_request_cycle = -1
        self._wakeup = asyncio.Event()
        self._closed = False

    # -- adding -----------------------------------------------------------------
    def add(self, pod: fw.Pod) -> None:
        """A new unscheduled pod (or one whose spec changed): straight to active."""
        key = pod_key(pod)
        now = self._clock.monotonic()
        qp = self._pods.get(key)
        if qp is None:
            qp = QueuedPod(PodInfo.of(pod), now, initial_attempt=now)
            self.nominator.add(qp.info)
        else:
            old = qp.info.pod
            qp.info = PodInfo.of(pod)
            self.nominator.update(old, qp.info)
        self._remove_from_current(key)
        self._pods[key] = qp
        self._push_active(qp)

    def update(self, pod: fw.Pod) -> None:
        """An unscheduled pod changed: refresh it, and give a parked one another chance."""
        key = pod_key(pod)
        qp = self._pods.get(key)
        if qp is None:
            self.add(pod)
            return
        old = qp.info.pod
        qp.info = PodInfo.of(pod)
        self.nominator.update(old, qp.info)
        where = self._where.get(key)
        if where == "unschedulable":
            del self._unschedulable[key]
            self._requeue(qp)
        elif where == "active":
            self._push_active(qp)  # priority may have changed; the old heap entry is skipped

    def update_status(self, pod: fw.Pod) -> None:
        """A status-only change of a queued pod: keep its newest dict (and nomination), no requeue."""
        qp = self._pods.get(pod_key(pod))
        if qp is None:
            return
        old = qp.info.pod
        qp.info.pod = pod  # the digest does not read the status
        self.nominator.update(old, qp.info)

    def _push_active(self, qp: QueuedPod) -> None:
        heapq.heappush(self._active, (-qp.info.priority, qp.timestamp, next(self._seq), qp.key))
        self._where[qp.key] = "active"
        self._wakeup.set()

    def _push_backoff(self, qp: QueuedPod) -> None:
        heapq.heappush(self._backoff, (self.backoff_expiry(qp), next(self._seq), qp.key))
        self._where[qp.key] = "backoff"

    def _remove_from_current(self, key: str) -> None:
        # Heap entries are dropped lazily: a stale entry's key no longer maps to that place.
        self._where.pop(key, None)
        self._unschedulable.pop(key, None)

    def backoff_duration(self, qp: QueuedPod) -> float:
        if qp.attempts <= 0:
            return 0.0
        return min(self._initial * 2 ** (qp.attempts - 1), self._max)

    def backoff_expiry(self, qp: QueuedPod) -> float:
        return qp.last_failure + self.backoff_duration(qp)

    def _backing_off(self, qp: QueuedPod) -> bool:
        return self.backoff_expiry(qp) > self._clock.monotonic()

    # -- popping ------------------------------------------------------------------
    def pop_nowait(self) -> QueuedPod | None:
        while self._active:
            _, _, _, key = heapq.heappop(self._active)
            if self._where.get(key) != "active":
                continue
            qp = self._pods[key]
            self._where[key] = "in-flight"
            qp.attempts += 1
            self.scheduling_cycle += 1
            return qp
        return None

    async def pop(self) -> QueuedPod:
        while True:
            qp = self.pop_nowait()
            if qp is not None:
                return qp
            if self._closed:
                raise asyncio.CancelledError
            self._wakeup.clear()
            await self._wakeup.wait()

    def close(self) -> None:
        self._closed = True
        self._wakeup.set()

    # -- after a cycle --------------------------------------------------------------
    def add_unschedulable(self, qp: QueuedPod, pod_cycle: int, *, error: bool = False) -> None:
        """Requeue a pod whose cycle ``pod_cycle`` failed (plugins in ``qp.unschedulable_plugins``)."""
        if self._where.get(qp.key) != "in-flight":
            return  # deleted or re-added while it was being scheduled
        now = self._clock.monotonic()
        qp.last_failure = now
        qp.timestamp = now
        if error or self._move_request_cycle >= pod_cycle:
            self._push_backoff(qp)
        else:
            self._unschedulable[qp.key] = qp
            self._where[qp.key] = "unschedulable"

    def done(self, key: str) -> None:
        """The pod was bound: forget it."""
        self._pods.pop(key, None)
        self._remove_from_current(key)
        if self.nominator:
            self.nominator.delete(key)

    def delete(self, pod: fw.Pod) -> None:
        self.done(pod_key(pod))

    # -- moving -------------------------------------------------------------------------
    def move_all_to_active_or_backoff(self, event: fw.ClusterEvent) -> int:
        """Wake unschedulable pods that ``event`` may help; returns how many moved."""
        moved = 0
        for key, qp in list(self._unschedulable.items()):
            if self._may_help(qp, event):
                del self._unschedulable[key]
                self._requeue(qp)
                moved += 1
        self._move_request_cycle = self.scheduling_cycle
        return moved

    def _may_help(self, qp: QueuedPod, event: fw.ClusterEvent) -> bool:
        if event.resource == fw.EventResource.WILDCARD or not qp.unschedulable_plugins:
            return True
        for plugin in qp.unschedulable_plugins:
            for registered in self._events.get(plugin, ()):
                if registered.matches(event):
                    return True
        return False

    def _requeue(self, qp: QueuedPod) -> None:
        if self._backing_off(qp):
            self._push_backoff(qp)
        else:
            self._push_active(qp)

    def flush(self) -> None:
        """Move pods whose backoff ended to active, and long-unschedulable pods back in."""
        now = self._clock.monotonic()
        while self._backoff and self._backoff[0][0] <= now:
            _, _, key = heapq.heappop(self._backoff)
            if self._where.get(key) == "backoff":
                self._push_active(self._pods[key])
        for key, qp in list(self._unschedulable.items()):
            if now - qp.timestamp > self._max_unschedulable:
                del self._unschedulable[key]
                self._requeue(qp)

    async def run(self) -> None:
        while not self._closed:
            await self._clock.sleep(1.0)
            self.flush()

    # -- introspection ---------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        out = {"active": 0, "backoff": 0, "unschedulable": 0, "in-flight": 0}
        for where in self._where.values():
            out[where] += 1
        return out
