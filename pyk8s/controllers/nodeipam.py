"""Node IPAM controller: a pod CIDR for every node (range allocator).

Each node gets one block (``/24`` by default) of the cluster CIDR
(``10.244.0.0/16`` by default) in ``spec.podCIDR`` and ``spec.podCIDRs``.
The set of used blocks is *derived from the node cache* on every sync (plus
blocks this process assigned that the cache has not shown yet), so it is
rebuilt at start and a deleted node's block is free again as soon as its
delete is seen.  Blocks are handed out lowest first.  A node whose podCIDR
lies outside the cluster CIDR is left alone.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Any

from pyk8s.client.errors import ApiError, is_not_found
from pyk8s.client.rest import DynamicResource
from pyk8s.client.tools.controller import Controller
from pyk8s.client.tools.store import DeletedFinalStateUnknown, deletion_key
from pyk8s.controllers.manager import ControllerContext

log = logging.getLogger(__name__)
Obj = dict[str, Any]
NODES = DynamicResource("", "v1", "nodes", False, "Node")
DEFAULT_CLUSTER_CIDR = "10.244.0.0/16"
DEFAULT_MASK = 24


class CIDRAllocator:
    """Lowest-free-block allocation inside one IPv4 network."""

    def __init__(self, cluster_cidr: str = DEFAULT_CLUSTER_CIDR, mask: int = DEFAULT_MASK) -> None:
        self.network = ipaddress.IPv4Network(cluster_cidr)
        if mask < self.network.prefixlen:
            raise ValueError(f"node CIDR mask /{mask} is larger than the cluster CIDR {cluster_cidr}")
        self.mask = mask

    def contains(self, cidr: str) -> bool:
        try:
            net = ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            return False
        return isinstance(net, ipaddress.IPv4Network) and net.subnet_of(self.network)

    def next_free(self, used: set[str]) -> str | None:
        for block in self.network.subnets(new_prefix=self.mask):
            if str(block) not in used:
                return str(block)
        return None


class NodeIpamController:
    def __init__(self, ctx: ControllerContext) -> None:
        self.client = ctx.client
        self.allocator = CIDRAllocator(str(ctx.option("cluster_cidr", DEFAULT_CLUSTER_CIDR)),
                                       int(ctx.option("node_cidr_mask_size", DEFAULT_MASK)))
        self.nodes = ctx.factory.informer(NODES)
        # node name -> block we assigned, until the cache shows it.
        self.assigned: dict[str, str] = {}
        # One worker: allocation decisions must not race each other.
        self.controller = Controller("nodeipam", self.sync, informers=[self.nodes], clock=ctx.clock, workers=1)
        self.nodes.add_event_handler(on_add=self.controller.enqueue, on_delete=self._deleted)
        self.ready = self.controller.ready

    def _deleted(self, obj: Obj | DeletedFinalStateUnknown) -> None:
        self.assigned.pop(deletion_key(obj), None)

    async def run(self) -> None:
        await self.controller.run()

    def used(self) -> set[str]:
        used = set(self.assigned.values())
        for node in self.nodes.lister.list():
            spec = node.get("spec") or {}
            used.update(spec.get("podCIDRs") or ([spec["podCIDR"]] if spec.get("podCIDR") else []))
        return used

    async def sync(self, key: str) -> None:
        node = self.nodes.lister.get(key)
        if node is None:
            self.assigned.pop(key, None)
            return
        if (node.get("spec") or {}).get("podCIDR"):
            self.assigned.pop(key, None)
            return
        cidr = self.assigned.get(key) or self.allocator.next_free(self.used())
        if cidr is None:
            log.warning("nodeipam: no free pod CIDR left for node %s", key)
            raise RuntimeError("CIDR range full")
        self.assigned[key] = cidr
        try:
            await self.client.patch(NODES, key, {"spec": {"podCIDR": cidr, "podCIDRs": [cidr]}}, patch_type="merge")
        except ApiError as exc:
            if is_not_found(exc):
                self.assigned.pop(key, None)
                return
            raise
        log.info("nodeipam: node %s gets pod CIDR %s", key, cidr)


def new(ctx: ControllerContext) -> NodeIpamController:
    return NodeIpamController(ctx)
