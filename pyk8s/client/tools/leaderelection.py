"""Leader election on a coordination.k8s.io/v1 Lease (client-go's leaderelection).

Candidates share one Lease.  The holder renews ``spec.renewTime`` every
``retry_period``; the others poll.  A candidate takes the lease only when it is
free (no holder) or the holder has not renewed it for ``leaseDurationSeconds``
**as measured on the candidate's own clock** from when it last saw the lease
change (so clock skew between machines does not matter).  Every write carries
the lease's resourceVersion, so of two racing candidates exactly one wins; the
loser gets 409 and keeps polling.

``run()``:
1. acquire (poll every ``retry_period`` with jitter until the lease is won);
2. start ``on_started_leading()`` as a task;
3. renew; if no renewal succeeds within ``renew_deadline`` the candidate has
   lost: the leading task is cancelled, ``on_stopped_leading()`` is called and
   ``run()`` returns.  Cancelling ``run()`` does the same, and with
   ``release_on_cancel`` first clears the holder so a successor need not wait.

Defaults follow kube-controller-manager: lease 15 s, renew deadline 10 s,
retry 2 s.  Times written are MicroTime (``2006-01-02T15:04:05.000000Z``).
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any

from pyk8s.client.errors import ApiError, is_not_found
from pyk8s.client.rest import REQUEST_ERRORS, TRANSPORT_ERRORS, Client, DynamicResource
from pyk8s.util.clock import REAL_CLOCK, Clock

log = logging.getLogger(__name__)
Obj = dict[str, Any]

LEASES = DynamicResource("coordination.k8s.io", "v1", "leases", True, "Lease")
JITTER = 1.2


def micro_time(dt: datetime.datetime) -> str:
    return dt.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LeaderElector:
    def __init__(self, client: Client, *, namespace: str, name: str, identity: str,
                 on_started_leading: Callable[[], Awaitable[object]] | None = None,
                 on_stopped_leading: Callable[[], object] | None = None,
                 on_new_leader: Callable[[str], object] | None = None,
                 lease_duration: float = 15.0, renew_deadline: float = 10.0, retry_period: float = 2.0,
                 release_on_cancel: bool = False, clock: Clock = REAL_CLOCK) -> None:
        if not lease_duration > renew_deadline > retry_period * JITTER:
            raise ValueError("need lease_duration > renew_deadline > retry_period * 1.2")
        self.client = client
        self.namespace = namespace
        self.name = name
        self.identity = identity
        self.on_started_leading = on_started_leading
        self.on_stopped_leading = on_stopped_leading
        self.on_new_leader = on_new_leader
        self.lease_duration = lease_duration
        self.renew_deadline = renew_deadline
        self.retry_period = retry_period
        self.release_on_cancel = release_on_cancel
        self.clock = clock
        self._observed: Obj = {}
        self._observed_time = 0.0
        self._observed_rv = ""
        self._leading = False
        self._rng = random.Random()

    @property
    def leader(self) -> str:
        """The holder this candidate last observed ("" if none)."""
        return str(self._observed.get("holderIdentity") or "")

    def is_leader(self) -> bool:
        return self._leading

    # --- the loop ---------------------------------------------------------------------

    async def run(self) -> None:
        try:
            await self._acquire()
            self._leading = True
            log.info("%s became leader of %s/%s", self.identity, self.namespace, self.name)
            async with asyncio.TaskGroup() as tg:
                work: asyncio.Task[object] | None = None
                if self.on_started_leading is not None:
                    work = tg.create_task(_awaited(self.on_started_leading()))
                await self._renew_until_lost()
                if work is not None:
                    work.cancel()
        finally:
            if self._leading:
                self._leading = False
                if self.release_on_cancel:
                    await asyncio.shield(self._release())
                if self.on_stopped_leading is not None:
                    self.on_stopped_leading()

    async def _acquire(self) -> None:
        while not await self.try_acquire_or_renew():
            await self.clock.sleep(self.retry_period * (1 + JITTER * self._rng.random()))

    async def _renew_until_lost(self) -> None:
        while True:
            deadline = self.clock.monotonic() + self.renew_deadline
            while not await self.try_acquire_or_renew():
                if self.clock.monotonic() + self.retry_period > deadline:
                    log.warning("%s lost the lease %s/%s", self.identity, self.namespace, self.name)
                    return
                await self.clock.sleep(self.retry_period)
            await self.clock.sleep(self.retry_period)

    # --- one attempt ------------------------------------------------------------------

    async def try_acquire_or_renew(self) -> bool:
        """One get-then-create/update round; True if this candidate holds the lease afterwards."""
        now = self.clock.now()
        try:
            lease = await self.client.get(LEASES, self.name, namespace=self.namespace)
        except ApiError as exc:
            if not is_not_found(exc):
                log.warning("leader election: get lease: %s", exc)
                return False
            return await self._create(now)
        except TRANSPORT_ERRORS as exc:
            log.warning("leader election: get lease: %s", exc)
            return False
        spec = lease.get("spec") or {}
        self._observe(spec, str(lease["metadata"].get("resourceVersion", "")))
        holder = spec.get("holderIdentity") or ""
        duration = spec.get("leaseDurationSeconds") or self.lease_duration
        if holder and holder != self.identity and self._observed_time + duration > self.clock.monotonic():
            return False
        new_spec = dict(spec)
        new_spec.update(holderIdentity=self.identity, leaseDurationSeconds=int(self.lease_duration),
                        renewTime=micro_time(now))
        if holder != self.identity:
            new_spec["acquireTime"] = micro_time(now)
            # Every acquisition by a new holder is a transition, a released (empty) lease's too, as client-go
            # counts them; a holder re-acquiring its own lease after a restart is not.
            new_spec["leaseTransitions"] = int(spec.get("leaseTransitions") or 0) + 1
        lease["spec"] = new_spec
        try:
            updated = await self.client.update(LEASES, lease, namespace=self.namespace)
        except REQUEST_ERRORS as exc:
            log.info("leader election: update lease: %s", exc)
            return False
        self._observe(updated.get("spec") or {}, str(updated["metadata"].get("resourceVersion", "")))
        return True

    async def _create(self, now: datetime.datetime) -> bool:
        lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                 "metadata": {"name": self.name, "namespace": self.namespace},
                 "spec": {"holderIdentity": self.identity, "leaseDurationSeconds": int(self.lease_duration),
                          "acquireTime": micro_time(now), "renewTime": micro_time(now), "leaseTransitions": 0}}
        try:
            created = await self.client.create(LEASES, lease, namespace=self.namespace)
        except REQUEST_ERRORS as exc:
            log.info("leader election: create lease: %s", exc)
            return False
        self._observe(created.get("spec") or {}, str(created["metadata"].get("resourceVersion", "")))
        return True

    def _observe(self, spec: Obj, rv: str) -> None:
        if spec != self._observed or rv != self._observed_rv:
            changed_holder = spec.get("holderIdentity") != self._observed.get("holderIdentity")
            self._observed = dict(spec)
            self._observed_rv = rv
            self._observed_time = self.clock.monotonic()
            if changed_holder and self.on_new_leader is not None and spec.get("holderIdentity"):
                self.on_new_leader(str(spec["holderIdentity"]))

    async def _release(self) -> None:
        """Give the lease up so the next candidate need not wait for it to expire."""
        try:
            lease = await self.client.get(LEASES, self.name, namespace=self.namespace)
            spec = lease.get("spec") or {}
            if spec.get("holderIdentity") != self.identity:
                return
            now = micro_time(self.clock.now())
            lease["spec"] = {**spec, "holderIdentity": "", "leaseDurationSeconds": 1,
                             "renewTime": now, "acquireTime": now}
            await self.client.update(LEASES, lease, namespace=self.namespace)
        except REQUEST_ERRORS as exc:
            log.info("leader election: release lease: %s", exc)


async def _awaited(aw: Awaitable[object]) -> object:
    """A coroutine around any awaitable, so a TaskGroup can run it."""
    return await aw
