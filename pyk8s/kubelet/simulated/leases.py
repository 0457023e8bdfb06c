"""Heartbeats of simulated nodes: Leases every 10 s, Node status every ~60 s.

As the kubelet does: each node owns the Lease ``kube-node-lease/<node>``
(holderIdentity = node name, leaseDurationSeconds 40, owned by the Node) and
renews ``spec.renewTime`` every 10 s with a PUT of the last Lease it wrote
(a 409 re-reads it, a 404 re-creates it).  Node status (the conditions'
lastHeartbeatTime) is reported every 60 s, and at once when asked
(``report_now``: a node resumed after ``stop``).

Both run as one ``Cadence`` each: a heap of due times and one loop, so
thousands of nodes cost two tasks.  ``stop(name)`` takes a node out of both
(the node lifecycle controller then sees its lease expire).
"""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import Callable
from typing import Any

from pyk8s.client.errors import ApiError
from pyk8s.client.rest import Client
from pyk8s.kubelet.simulated.cadence import Cadence
from pyk8s.kubelet.simulated.nodes import NodeTemplate, SimNode, node_conditions
from pyk8s.util.clock import REAL_CLOCK, Clock

Obj = dict[str, Any]

LEASE_NAMESPACE = "kube-node-lease"
LEASE_DURATION_SECONDS = 40
LEASE_RENEW_INTERVAL = 10.0
NODE_STATUS_INTERVAL = 60.0

LEASES = Client.resource("coordination.k8s.io", "v1", "leases", namespaced=True)
NODES = Client.resource("", "v1", "nodes", namespaced=False)


def micro_time(t: datetime.datetime) -> str:
    """A MicroTime as the API writes it: ``2026-01-01T00:00:00.000000Z``."""
    return t.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def lease_object(node: SimNode, now: datetime.datetime) -> Obj:
    meta: Obj = {"name": node.name, "namespace": LEASE_NAMESPACE}
    if node.uid:
        meta["ownerReferences"] = [{"apiVersion": "v1", "kind": "Node", "name": node.name, "uid": node.uid}]
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": meta,
            "spec": {"holderIdentity": node.name, "leaseDurationSeconds": LEASE_DURATION_SECONDS,
                     "renewTime": micro_time(now)}}


class Heartbeats:
    """Lease renewals and node status reports for every running simulated node."""

    def __init__(self, client: Client, nodes: dict[str, SimNode], template: NodeTemplate, *,
                 clock: Clock = REAL_CLOCK, lease_interval: float = LEASE_RENEW_INTERVAL,
                 status_interval: float = NODE_STATUS_INTERVAL, concurrency: int = 32,
                 on_node: Callable[[SimNode, Obj], None] | None = None) -> None:
        self.client = client
        self.nodes = nodes
        self.template = template
        self.clock = clock
        self.on_node = on_node
        self.leases: dict[str, Obj] = {}  # the last Lease written per node (its resourceVersion)
        self.lease_cadence = Cadence("lease", self.renew_lease, interval=lease_interval, clock=clock,
                                     concurrency=concurrency)
        self.status_cadence = Cadence("node-status", self.report_status, interval=status_interval, clock=clock,
                                      concurrency=concurrency)

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
        self.status_cadence.schedule(name, 0.0)

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self.lease_cadence.run())
            tg.create_task(self.status_cadence.run())

    # --- one node ---------------------------------------------------------------------

    async def renew_lease(self, name: str) -> None:
        node = self.nodes[name]
        now = self.clock.now()
        cached = self.leases.get(name)
        if cached is None:
            await self._create_or_get(node, now)
            return
        lease = {**cached, "spec": {**cached.get("spec", {}), "holderIdentity": node.name,
                                    "leaseDurationSeconds": LEASE_DURATION_SECONDS, "renewTime": micro_time(now)}}
        try:
            self.leases[name] = await self.client.update(LEASES, lease, namespace=LEASE_NAMESPACE)
        except ApiError as exc:
            if exc.code == 404:
                self.leases.pop(name, None)
                await self._create_or_get(node, now)
            elif exc.code == 409:
                # Someone else wrote it (or our copy is stale): re-read, renew on the next try.
                self.leases[name] = await self.client.get(LEASES, name, namespace=LEASE_NAMESPACE)
                raise
            else:
                raise

    async def _create_or_get(self, node: SimNode, now: datetime.datetime) -> None:
        try:
            self.leases[node.name] = await self.client.create(LEASES, lease_object(node, now),
                                                              namespace=LEASE_NAMESPACE)
        except ApiError as exc:
            if exc.code != 409:
                raise
            current = await self.client.get(LEASES, node.name, namespace=LEASE_NAMESPACE)
            self.leases[node.name] = current
            await self.renew_lease(node.name)

    async def report_status(self, name: str) -> None:
        node = self.nodes[name]
        patch = {"status": {"conditions": node_conditions(node, self.clock.now())}}
        updated = await self.client.patch(NODES, name, patch, patch_type="merge", subresource="status")
        if self.on_node is not None:
            self.on_node(node, updated)
