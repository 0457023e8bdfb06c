"""The kube-scheduler daemon: ``KubeScheduler`` behind leader election.

``SchedulerDaemon.run()`` campaigns for the Lease ``kube-system/kube-scheduler``
(unless leader election is off) and, while it holds it, runs a fresh
``KubeScheduler`` (its own informers, queue and cache: a new leader must not
trust what an earlier term assumed).  Cancelling ``run()`` stops the
scheduler and gives the lease up at once, so a standby takes over within one
retry period instead of a lease duration.  Losing the lease stops the
scheduler and ``run()`` returns: the caller decides whether that ends the
process (``pyk8s scheduler``, as upstream) or campaigns again (``pyk8s
server``).  ``ready`` is set while this instance schedules with synced
caches; a standby never sets it.
"""

from __future__ import annotations

import asyncio
import logging

from pyk8s.client.rest import Client
from pyk8s.client.tools.leaderelection import LeaderElector
from pyk8s.daemons.election import SCHEDULER_LEASE, LeaseSettings, holder_identity
from pyk8s.scheduler.scheduler import DEFAULT_SCHEDULER_NAME, KubeScheduler
from pyk8s.util.clock import REAL_CLOCK, Clock

log = logging.getLogger("pyk8s.scheduler")

LEASE_NAME = SCHEDULER_LEASE


class SchedulerDaemon:
    name = "scheduler"

    def __init__(self, client: Client, *, election: LeaseSettings | None = None,
                 scheduler_name: str = DEFAULT_SCHEDULER_NAME, percentage_of_nodes_to_score: int = 0,
                 identity: str | None = None, clock: Clock = REAL_CLOCK) -> None:
        self.client = client
        self.election = election if election is not None else LeaseSettings()
        self.election.validate()
        self.scheduler_name = scheduler_name
        self.percentage_of_nodes_to_score = percentage_of_nodes_to_score
        self.identity = identity or holder_identity()
        self.clock = clock
        self.ready = asyncio.Event()
        self.scheduler: KubeScheduler | None = None
        self.elector: LeaderElector | None = None

    @property
    def lease_name(self) -> str:
        return self.election.resource_name or LEASE_NAME

    async def run(self) -> None:
        """Schedule until cancelled; with leader election, return once the lease is lost."""
        s = self.election
        if not s.enabled:
            await self._schedule()
            return
        self.elector = LeaderElector(self.client, namespace=s.resource_namespace, name=self.lease_name,
                                     identity=self.identity, on_started_leading=self._schedule,
                                     lease_duration=s.lease_duration, renew_deadline=s.renew_deadline,
                                     retry_period=s.retry_period, release_on_cancel=True, clock=self.clock)
        log.info("attempting to acquire leader lease %s/%s as %s", s.resource_namespace, self.lease_name,
                 self.identity)
        await self.elector.run()

    async def _schedule(self) -> None:
        scheduler = KubeScheduler(self.client, scheduler_name=self.scheduler_name, clock=self.clock,
                                  percentage_of_nodes_to_score=self.percentage_of_nodes_to_score)
        self.scheduler = scheduler
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(scheduler.run(), name="kube-scheduler")
                await scheduler.ready.wait()
                self.ready.set()
                log.info("scheduler %s: caches synced, scheduling", self.scheduler_name)
        finally:
            self.ready.clear()
