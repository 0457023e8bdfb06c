"""host-gw routes: reach every other node's pod CIDR through that node's InternalIP.

Flannel's host-gw backend, in a small level-triggered loop: the desired
state is "for each other Node with ``spec.podCIDR`` and an InternalIP on a
directly connected network, ``<podCIDR> via <InternalIP>``"; every pass reads
the routes it owns (tagged with its own route protocol, ``PROTO``) from this
network namespace and adds, replaces or deletes until they match.  A node
whose IP is not on-link gets no route (a gateway we cannot reach directly
would need the machine's own routing, which this loop never touches).  Node
watch events wake the loop; it also runs every ``period`` seconds.  Pod to
pod across nodes is plain routing, so source IPs are kept.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import subprocess
from collections.abc import Callable, Iterable
from typing import Any

import orjson

from pyk8s.client.rest import Client
from pyk8s.client.tools.informer import EventHandler, SharedInformerFactory

log = logging.getLogger(__name__)

NODES = Client.resource("", "v1", "nodes", namespaced=False)
PROTO = 231  # our mark on the routes we own (rtnetlink protocol; free in iproute2's rt_protos)

Obj = dict[str, Any]
Run = Callable[[list[str]], str]


def _run_ip(args: list[str]) -> str:
    return subprocess.run(["ip", *args], check=True, capture_output=True, text=True).stdout


def internal_ip(node: Obj) -> str:
    for address in (node.get("status") or {}).get("addresses") or []:
        if address.get("type") == "InternalIP" and address.get("address"):
            return str(address["address"])
    return ""


def desired_routes(nodes: Iterable[Obj], self_name: str) -> dict[str, str]:
    """``{pod CIDR: next hop}`` for every other node that has both (IPv4 only, as the CNI config)."""
    routes: dict[str, str] = {}
    for node in nodes:
        if node["metadata"]["name"] == self_name:
            continue
        cidr, gateway = (node.get("spec") or {}).get("podCIDR", ""), internal_ip(node)
        if not cidr or not gateway:
            continue
        try:
            net, gw = ipaddress.ip_network(cidr, strict=False), ipaddress.ip_address(gateway)
        except ValueError:
            continue
        if net.version == 4 and gw.version == 4:
            routes[str(net)] = str(gw)
    return routes


class RouteTable:
    """The routes of this network namespace that carry ``PROTO``; nothing else is read or changed."""

    def __init__(self, run: Run = _run_ip) -> None:
        self.run = run

    def current(self) -> dict[str, str]:
        out = self.run(["-j", "-4", "route", "show", "proto", str(PROTO)])
        return {r["dst"]: r.get("gateway", "") for r in orjson.loads(out or "[]") if r.get("dst")}

    def on_link(self, gateway: str) -> bool:
        """Whether ``gateway`` is on a directly connected network (no gateway of its own)."""
        try:
            out = self.run(["-j", "-4", "route", "get", gateway])
        except subprocess.CalledProcessError:
            return False
        found = orjson.loads(out or "[]")
        return bool(found) and "gateway" not in found[0] and found[0].get("type", "unicast") == "unicast"

    def sync(self, desired: dict[str, str]) -> list[str]:
        """Makes our routes equal ``desired`` (skipping unreachable next hops); returns what changed."""
        current, changes = self.current(), []
        for dst, gateway in sorted(desired.items()):
            if current.get(dst) == gateway:
                continue
            if not self.on_link(gateway):
                log.warning("no route to pod CIDR %s: next hop %s is not on a directly connected network", dst, gateway)
                continue
            self.run(["route", "replace", dst, "via", gateway, "proto", str(PROTO)])
            changes.append(f"{dst} via {gateway}")
        for dst in sorted(set(current) - set(desired)):
            self.run(["route", "delete", dst, "proto", str(PROTO)])
            changes.append(f"{dst} removed")
        return changes


class RouteSync:
    """Keeps the host-gw routes of this namespace in line with the Nodes the API server holds."""

    def __init__(self, client: Client, node_name: str, *, table: RouteTable | None = None,
                 period: float = 10.0) -> None:
        self.node_name, self.period = node_name, period
        self.table = table or RouteTable()
        self.factory = SharedInformerFactory(client)
        self.nodes = self.factory.informer(NODES)
        self._dirty = asyncio.Event()
        self.nodes.add_event_handler(EventHandler(on_add=lambda _o: self._dirty.set(),
                                                  on_update=lambda _o, _n: self._dirty.set(),
                                                  on_delete=lambda _o: self._dirty.set()))

    async def sync(self) -> list[str]:
        desired = desired_routes(self.nodes.store.list(), self.node_name)
        changes = await asyncio.to_thread(self.table.sync, desired)
        for change in changes:
            log.info("pod route %s", change)
        return changes

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self.factory.run())
            await self.nodes.wait_for_sync()
            while True:
                self._dirty.clear()
                try:
                    await self.sync()
                except (subprocess.CalledProcessError, OSError, ValueError) as exc:
                    log.error("pod routes not synced: %s", exc)
                try:
                    await asyncio.wait_for(self._dirty.wait(), self.period)
                except TimeoutError:
                    pass

    def cleanup(self) -> list[str]:
        return self.table.sync({})
