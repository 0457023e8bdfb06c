"""The pod lifecycle event generator: relist the runtime every second (upstream's generic PLEG).

Each relist lists sandboxes and containers, groups them by the pod UID label
the kubelet put on them, and compares each pod's fingerprint (every sandbox
and container ID with its state) with the previous relist's.  A pod whose
fingerprint changed — a container started, exited, or vanished, say one
killed from outside — is handed to ``on_change(uid)``, which queues its sync.
UIDs present in the runtime are also what housekeeping uses to find pods the
API no longer has (``pod_uids``).

A pod sync reads the runtime itself after acting, so a relist would mostly
repeat what the sync already saw and reported (its own sandbox and container
starts).  Hence: while a pod's sync runs (``busy(uid)``), its changes are not
reported and its previous fingerprint is kept, so they are reported after the
sync unless the sync ended with a view that needs nothing more, which it hands
to ``observed(status)`` as the pod's new fingerprint.  A change is thus never
lost, only not reported twice.  (Upstream's pod worker waits for the relist's
cache instead of reading the runtime itself.)

``healthy()`` is upstream's PLEG health: false once no relist completed for
three minutes (the node then reports NotReady).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from pyk8s.kubelet.kuberuntime import labels
from pyk8s.kubelet.kuberuntime.podstatus import PodStatus
from pyk8s.kubelet.runtime import interface as ri
from pyk8s.util.clock import REAL_CLOCK, Clock

log = logging.getLogger(__name__)

RELIST_PERIOD = 1.0
RELIST_THRESHOLD = 180.0
Fingerprint = frozenset[tuple[str, str]]


class PLEG:
    def __init__(self, runtime: ri.RuntimeService, on_change: Callable[[str], None], *,
                 clock: Clock = REAL_CLOCK, period: float = RELIST_PERIOD,
                 busy: Callable[[str], bool] = lambda _uid: False) -> None:
        self.runtime, self.on_change, self.clock, self.period = runtime, on_change, clock, period
        self.busy = busy
        self._seen: dict[str, Fingerprint] = {}
        self._last_relist = clock.monotonic()

    @property
    def pod_uids(self) -> set[str]:
        return set(self._seen)

    def healthy(self) -> bool:
        return self.clock.monotonic() - self._last_relist < RELIST_THRESHOLD

    async def run(self) -> None:
        while True:
            try:
                await self.relist()
            except ri.RuntimeServiceError as exc:
                log.warning("PLEG relist failed: %s", exc)
            await self.clock.sleep(self.period)

    def observed(self, status: PodStatus) -> None:
        """``status`` is the pod's current runtime state, already acted on (see the module docstring)."""
        items = [(s.id, str(s.state)) for s in status.sandboxes] + [(c.id, str(c.state)) for c in status.containers]
        if items:
            self._seen[status.uid] = frozenset(items)
        else:
            self._seen.pop(status.uid, None)

    async def relist(self) -> None:
        sandboxes = await self.runtime.list_pod_sandbox()
        containers = await self.runtime.list_containers()
        current: dict[str, set[tuple[str, str]]] = {}
        for sandbox in sandboxes:
            uid = sandbox.labels.get(labels.POD_UID, "")
            if uid:
                current.setdefault(uid, set()).add((sandbox.id, str(sandbox.state)))
        for container in containers:
            uid = container.labels.get(labels.POD_UID, "")
            if uid:
                current.setdefault(uid, set()).add((container.id, str(container.state)))
        fingerprints = {uid: frozenset(items) for uid, items in current.items()}
        changed = []
        for uid in fingerprints.keys() | self._seen.keys():
            if fingerprints.get(uid) == self._seen.get(uid):
                continue
            if not self.busy(uid):
                changed.append(uid)
            elif uid in self._seen:
                fingerprints[uid] = self._seen[uid]
            else:
                del fingerprints[uid]
        self._seen = fingerprints
        self._last_relist = self.clock.monotonic()
        for uid in changed:
            self.on_change(uid)
