"""The per-node NetworkPolicy agent: watch policies, pods and namespaces; keep the nftables table current.

Level-triggered: any change marks the state dirty; the loop recomputes every
local pod's rules from the informers' caches and, when the rendered table
differs from what it last installed, replaces it with one ``nft -f``
transaction.  Changes are applied at most once per ``min_interval`` and the
table is re-installed every ``resync_period`` even with no change (someone
may have flushed it).  It runs in the node's network namespace and touches
only its own table; ``cleanup()`` removes it.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import Awaitable, Callable

from pyk8s.client.errors import ApiError
from pyk8s.client.rest import Client
from pyk8s.client.tools.informer import EventHandler, SharedInformerFactory
from pyk8s.networkpolicy import model, nftables

log = logging.getLogger(__name__)

PODS = Client.resource("", "v1", "pods", namespaced=True)
NAMESPACES = Client.resource("", "v1", "namespaces", namespaced=False)
NETWORK_POLICIES = Client.resource("networking.k8s.io", "v1", "networkpolicies", namespaced=True)

Apply = Callable[[str], Awaitable[None]]


class NftError(RuntimeError):
    pass


async def nft_apply(script: str) -> None:
    """Runs ``nft -f -`` with ``script`` on stdin (in this process's network namespace)."""
    proc = await asyncio.create_subprocess_exec("nft", "-f", "-", stdin=asyncio.subprocess.PIPE,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _, err = await proc.communicate(script.encode())
    if proc.returncode != 0:
        raise NftError(f"nft -f failed ({proc.returncode}): {err.decode(errors='replace').strip()}")


def nft_available() -> bool:
    return shutil.which("nft") is not None


class NetworkPolicyAgent:
    def __init__(self, client: Client, node_name: str, *, apply: Apply = nft_apply, table: str = nftables.TABLE,
                 min_interval: float = 1.0, resync_period: float = 30.0) -> None:
        self.client, self.node_name, self.apply, self.table = client, node_name, apply, table
        self.min_interval, self.resync_period = min_interval, resync_period
        self.factory = SharedInformerFactory(client)
        self.pods = self.factory.informer(PODS)
        self.namespaces = self.factory.informer(NAMESPACES)
        self.policies = self.factory.informer(NETWORK_POLICIES)
        self._dirty = asyncio.Event()
        self.installed: str | None = None
        handler = EventHandler(on_add=lambda _o: self._dirty.set(), on_update=lambda _o, _n: self._dirty.set(),
                               on_delete=lambda _o: self._dirty.set())
        for informer in (self.pods, self.namespaces, self.policies):
            informer.add_event_handler(handler)

    def desired(self) -> str:
        pods = [p for p in (model.pod_from_object(o) for o in self.pods.store.list()) if p is not None]
        namespaces = {ns["metadata"]["name"]: dict(ns["metadata"].get("labels") or {})
                      for ns in self.namespaces.store.list()}
        rules = model.compute(self.policies.store.list(), pods, namespaces, self.node_name)
        return nftables.render(rules, table=self.table)

    async def sync(self, *, force: bool = False) -> None:
        script = self.desired()
        if script == self.installed and not force:
            return
        await self.apply(script)
        if script != self.installed:
            log.info("network policy table %s updated (%d lines)", self.table, script.count("\n"))
        self.installed = script

    async def allowed(self) -> bool:
        """Whether our credentials may read what policies need; a node's own identity (the Node authorizer's
        system:node:<name>) may not list NetworkPolicies or Namespaces, and then we say so once and stop rather
        than retry forever: enforcing then needs ``pyk8s network-policy`` with credentials that may."""
        for rt in (NETWORK_POLICIES, NAMESPACES, PODS):
            try:
                await self.client.list(rt, limit=1)
            except ApiError as exc:
                if exc.code in (401, 403):
                    log.error("NetworkPolicies are NOT enforced on node %s: cannot list %s: %s", self.node_name,
                              rt.plural, exc.message)
                    return False
                raise
        return True

    async def run(self) -> None:
        if not await self.allowed():
            return
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self.factory.run())
            await self.factory.wait_for_cache_sync()
            await self._loop()

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        last_full = loop.time()
        while True:
            self._dirty.clear()
            force = loop.time() - last_full >= self.resync_period
            try:
                await self.sync(force=force)
                if force:
                    last_full = loop.time()
            except (NftError, OSError) as exc:
                log.error("network policies not applied: %s", exc)
                self.installed = None
            await asyncio.sleep(self.min_interval)
            try:
                await asyncio.wait_for(self._dirty.wait(), max(0.0, self.resync_period - self.min_interval))
            except TimeoutError:
                pass

    async def cleanup(self) -> None:
        await self.apply(nftables.delete_script(table=self.table))
        self.installed = None
