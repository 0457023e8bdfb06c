"""Heartbeats of simulated nodes: the kubelet's Lease and node status, batched.

The rules are the real kubelet's (``pyk8s.kubelet.nodelease``: the Lease
renewed every 10 s; ``pyk8s.kubelet.nodestatus``: status computed every
10 s, written on change or every 5 min).  What is simulated-specific is the
scale: each runs as one ``Cadence`` (a heap of due times and one loop), so
thousands of nodes cost two tasks.  ``stop(name)`` takes a node out of both
(the node lifecycle controller then sees its lease expire);
``report_now(name)`` forgets what was written so the next status (at once)
is a fresh write, with transitions starting now.

Each node writes with its own client when ``client_of`` gives one per node (each simulated node as
``system:node:<name>``, as a real kubelet); nodes sharing a client share one lease and status writer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from pyk8s.api.core_v1.helpers.timestamps import format_time
from pyk8s.client.rest import Client
from pyk8s.kubelet import nodelease, nodestatus
from pyk8s.kubelet.simulated.cadence import Cadence
from pyk8s.kubelet.simulated.nodes import NodeTemplate, SimNode, describe
from pyk8s.util.clock import REAL_CLOCK, Clock

Obj = dict[str, Any]


class Heartbeats:
    """Lease renewals and node status reports for every running simulated node."""

    def __init__(self, client: Client, nodes: dict[str, SimNode], template: NodeTemplate, *,
                 clock: Clock = REAL_CLOCK, lease_interval: float = nodelease.RENEW_INTERVAL,
                 status_interval: float = nodestatus.REPORT_INTERVAL, concurrency: int = 32,
                 on_node: Callable[[SimNode, Obj], None] | None = None,
                 client_of: Callable[[str], Client] | None = None) -> None:
        self.nodes = nodes
        self.template = template
        self.clock = clock
        self.on_node = on_node
        self.client_of = client_of or (lambda name: client)
        # One writer per distinct client (their state is kept by node name).
        self._leases: dict[int, nodelease.NodeLeases] = {}
        self._reporters: dict[int, nodestatus.NodeStatusReporter] = {}
        self._status_interval = status_interval
        self.lease_cadence = Cadence("lease", self.renew_lease, interval=lease_interval, clock=clock,
                                     concurrency=concurrency)
        update = min(nodestatus.UPDATE_INTERVAL, status_interval)
        self.status_cadence = Cadence("node-status", self.update_status, interval=update, clock=clock,
                                      concurrency=concurrency)

    def leases(self, name: str) -> nodelease.NodeLeases:
        client = self.client_of(name)
        if id(client) not in self._leases:
            self._leases[id(client)] = nodelease.NodeLeases(client, clock=self.clock)
        return self._leases[id(client)]

    def reporter(self, name: str) -> nodestatus.NodeStatusReporter:
        client = self.client_of(name)
        if id(client) not in self._reporters:
            self._reporters[id(client)] = nodestatus.NodeStatusReporter(client, clock=self.clock,
                                                                       report_interval=self._status_interval)
        return self._reporters[id(client)]

    # --- membership -------------------------------------------------------------------

    def start(self, names: list[str], *, spread: bool = True) -> None:
        """Begin heartbeats for ``names``: the first lease at once (or spread), status after one interval."""
        if spread:
            self.lease_cadence.add_spread(names)
        else:
            for name in names:
                self.lease_cadence.add(name)
        for name in names:
            self.status_cadence.add(name, self.status_cadence.interval)

    def stop(self, name: str) -> None:
        self.lease_cadence.remove(name)
        self.status_cadence.remove(name)

    def report_now(self, name: str) -> None:
        self.reporter(name).forget(name)
        self.status_cadence.schedule(name, 0.0)

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self.lease_cadence.run())
            tg.create_task(self.status_cadence.run())

    # --- one node ---------------------------------------------------------------------

    def status(self, node: SimNode) -> Obj:
        """The node's status now (a simulated node is always healthy while it runs)."""
        previous = (self.reporter(node.name).last_status(node.name) or {}).get("conditions")
        conditions = nodestatus.node_conditions(nodestatus.NodeHealth(), previous, format_time(self.clock.now()))
        return nodestatus.node_status(describe(node, self.template), conditions)

    async def renew_lease(self, name: str) -> None:
        node = self.nodes[name]
        await self.leases(name).renew(name, node.uid)

    async def update_status(self, name: str) -> None:
        node = self.nodes[name]
        updated = await self.reporter(name).report(name, self.status(node))
        if updated is not None and self.on_node is not None:
            self.on_node(node, updated)
