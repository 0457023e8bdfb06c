"""``SimulatedAgent``: N simulated nodes in one process.

Assembly: register the Nodes (``pyk8s.kubelet.nodestatus.register``, with
bounded concurrency; an existing Node of the same name is taken over), then
run together ``Heartbeats`` (leases + node status), one shared pod informer
indexed by ``spec.nodeName`` and the ``PodSimulator`` controller.  ``stop_node`` /
``start_node`` simulate a kubelet dying and coming back.

    agent = SimulatedAgent(client, count=100, template=NodeTemplate(roles=("worker",)))
    await agent.run()   # until cancelled

``client_for_node(name)``, when given, makes each node's own client (``pyk8s server --simulate-nodes``
gives each node ``system:node:<name>`` credentials, as a real kubelet has): registration, lease, node
status and pod status are written with it; the shared pod informer reads with ``client``.  Without it
every node uses ``client`` (``pyk8s agent --kubeconfig K``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from pyk8s.client.rest import PODS, Client
from pyk8s.client.tools.informer import SharedInformerFactory
from pyk8s.client.tools.store import by_node_name
from pyk8s.kubelet import nodelease, nodestatus
from pyk8s.kubelet.simulated.heartbeats import Heartbeats
from pyk8s.kubelet.simulated.nodes import NodeTemplate, SimNode, describe, node_ip
from pyk8s.kubelet.simulated.pods import NODE_INDEX, PodSimulator
from pyk8s.util.clock import REAL_CLOCK, Clock

log = logging.getLogger(__name__)
Obj = dict[str, Any]
# Pod workers shared by all simulated nodes.  Each sync is mostly one status PUT waiting
# on the API server, so throughput is workers / latency: under a 1,000-pod rollout the
# server answers in 10-30 ms, and 8 workers capped the agent near 400 pods/s (32: the
# 1,000-pod reference of benchmarks/deployment_bench.py went from about 2.0 s to 1.5 s).
POD_WORKERS = 32


class SimulatedAgent:
    def __init__(self, client: Client, *, count: int, template: NodeTemplate | None = None,
                 prefix: str = "sim-", clock: Clock = REAL_CLOCK, workers: int = POD_WORKERS, deletion_cap: float = 1.0,
                 concurrency: int = 32, lease_interval: float | None = None,
                 status_interval: float | None = None,
                 client_for_node: Callable[[str], Client] | None = None) -> None:
        self.client = client
        self.template = template or NodeTemplate()
        self.clock = clock
        self.concurrency = concurrency
        self.nodes: dict[str, SimNode] = {
            f"{prefix}{i}": SimNode(name=f"{prefix}{i}", index=i, ip=node_ip(i)) for i in range(count)}
        intervals: dict[str, float] = {}
        if lease_interval is not None:
            intervals["lease_interval"] = lease_interval
        if status_interval is not None:
            intervals["status_interval"] = status_interval
        self.node_clients = {name: client_for_node(name) for name in self.nodes} if client_for_node else {}
        self.heartbeats = Heartbeats(client, self.nodes, self.template, clock=clock, concurrency=concurrency,
                                     on_node=self._observe_node, client_of=self.client_of, **intervals)
        self.factory = SharedInformerFactory(client, clock=clock)
        self.pod_informer = self.factory.informer(PODS, indexers={NODE_INDEX: by_node_name})
        self.pods = PodSimulator(client, self.pod_informer, self.nodes, clock=clock, workers=workers,
                                 deletion_cap=deletion_cap, client_of=self.client_of)
        self.registered = asyncio.Event()

    def client_of(self, name: str) -> Client:
        """The client node ``name`` writes with."""
        return self.node_clients.get(name, self.client)

    # --- failure simulation ------------------------------------------------------------

    def stop_node(self, name: str) -> None:
        """Stop a node's kubelet: no more lease renewals, status reports or pod work."""
        node = self.nodes[name]
        node.stopped = True
        self.heartbeats.stop(name)

    def start_node(self, name: str) -> None:
        """Bring a stopped node back: renew at once, report Ready, resync its pods."""
        node = self.nodes[name]
        if not node.stopped:
            return
        node.stopped = False
        self.heartbeats.start([name], spread=False)
        self.heartbeats.report_now(name)
        self.pods.resync_node(name)

    # --- registration ------------------------------------------------------------------

    async def register_all(self) -> None:
        """Register every node; like the kubelet, keep retrying while the API server is unreachable."""
        await nodestatus.register_retrying("kube-node-lease namespace",
                                           lambda: nodelease.ensure_namespace(self.client), clock=self.clock)
        limit = asyncio.Semaphore(self.concurrency)

        async def one(node: SimNode) -> None:
            async with limit:
                await nodestatus.register_retrying(node.name, lambda: self.register(node), clock=self.clock)

        await asyncio.gather(*(one(n) for n in self.nodes.values()))
        self.registered.set()

    async def register(self, node: SimNode) -> None:
        status = self.heartbeats.status(node)
        body = nodestatus.node_object(describe(node, self.template), status["conditions"])
        stored = await nodestatus.register(self.client_of(node.name), body)
        self._observe_node(node, stored)
        self.heartbeats.reporter(node.name).written(node.name, stored.get("status") or {})
        # The kubelet creates its Lease right after registering; renewals are then spread by the cadence.
        await self.heartbeats.renew_lease(node.name)

    def _observe_node(self, node: SimNode, obj: Obj) -> None:
        node.uid = (obj.get("metadata") or {}).get("uid") or node.uid
        node.pod_cidr = (obj.get("spec") or {}).get("podCIDR") or node.pod_cidr

    # --- run ---------------------------------------------------------------------------

    async def run(self) -> None:
        """Register every node, then heartbeat and simulate pods until cancelled (the nodes' own clients
        are closed then)."""
        try:
            await self.register_all()
            self.heartbeats.start([n.name for n in self.nodes.values() if not n.stopped])
            log.info("simulating %d nodes", len(self.nodes))
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self.factory.run())
                tg.create_task(self.heartbeats.run())
                tg.create_task(self.pods.run())
        finally:
            for client in self.node_clients.values():
                if client is not self.client:
                    await client.close()
