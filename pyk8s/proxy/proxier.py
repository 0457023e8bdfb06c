"""The proxy as a running component: informers -> change tracker -> bounded-frequency sync -> backend.

``Proxier(client, options).run()``:

1. reads its Node (``--hostname-override``) for the node IPs NodePorts use and,
   without ``--cluster-cidr``, the pod CIDR that tells pods from the outside
   world (waiting up to ``node_wait`` seconds for the kubelet to register it;
   then falls back to this namespace's addresses);
2. starts /healthz and /metrics;
3. watches Services and EndpointSlices (shared informers), folding each change
   into the ``ChangeTracker`` and asking the ``BoundedFrequencyRunner`` for a
   sync (at most one per ``min_sync_period``, a full one every ``sync_period``:
   every Service re-read from the caches, the rules brought in line with
   them, only the difference written);
4. on each sync: hands the service map to the backend, which rewrites every
   rule from scratch only on the first sync, after a failed one, and once
   per ``FULL_REWRITE_PERIOD`` (an hour, upstream's fullSyncPeriod: a full
   rewrite of 10,000 Services costs seconds of kernel time); the backend
   runs in a thread (it runs ``nft``/``iptables-restore``); then removes stale UDP conntrack entries, updates
   metrics, health and the healthCheckNodePort listeners.

``ready`` is set after the first successful sync.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass

from aiohttp import web

from pyk8s.client.errors import ApiError
from pyk8s.client.rest import Client, DynamicResource
from pyk8s.client.tools.informer import SharedInformerFactory
from pyk8s.proxy import backends, conntrack, healthcheck, nodeinfo
from pyk8s.proxy.changetracker import ChangeTracker
from pyk8s.proxy.interface import FULL_REWRITE_PERIOD, Provider, ProxyConfig, ServicePort, ServicePortName
from pyk8s.proxy.metrics import ProxyMetrics
from pyk8s.proxy.runner import BoundedFrequencyRunner

log = logging.getLogger(__name__)
SERVICES = DynamicResource("", "v1", "services", True, "Service")
SLICES = DynamicResource("discovery.k8s.io", "v1", "endpointslices", True, "EndpointSlice")
NODES = DynamicResource("", "v1", "nodes", False, "Node")


@dataclass(frozen=True, slots=True)
class ProxyOptions:
    hostname: str
    mode: str = backends.DEFAULT_MODE
    cluster_cidr: str = ""
    nodeport_addresses: tuple[str, ...] = ()
    healthz_bind_address: str = "0.0.0.0:10256"  # "" = off
    metrics_bind_address: str = "127.0.0.1:10249"  # "" = off
    min_sync_period: float = 1.0
    sync_period: float = 30.0
    node_wait: float = 30.0


class Proxier:
    def __init__(self, client: Client, options: ProxyOptions, *, provider: Provider | None = None) -> None:
        self.client, self.options = client, options
        self.provider = provider
        self.ready = asyncio.Event()
        self.tracker = ChangeTracker(options.hostname, on_change=self._changed)
        self.runner = BoundedFrequencyRunner(self._sync, min_interval=options.min_sync_period,
                                             max_interval=options.sync_period)
        self.health = healthcheck.ProxyHealth(timeout=2 * options.sync_period)
        self.metrics = ProxyMetrics(options.mode)
        self.service_health = healthcheck.ServiceHealthServers()
        self.cleaner = conntrack.ConntrackCleaner()
        self.synced: dict[ServicePortName, ServicePort] = {}
        self.config: ProxyConfig | None = None
        self._last_rewrite: float | None = None

    def _changed(self) -> None:
        self.health.queued()
        self.runner.request()

    async def _node(self) -> dict[str, object]:
        deadline = time.monotonic() + self.options.node_wait
        while True:
            try:
                return await self.client.get(NODES, self.options.hostname)
            except ApiError as exc:
                if time.monotonic() > deadline:
                    log.warning("node %s not found (%s): using this host's addresses", self.options.hostname, exc)
                    return {}
            await asyncio.sleep(1.0)

    async def configure(self) -> ProxyConfig:
        node = await self._node()
        ips = nodeinfo.node_ips(node) or tuple(a for a in nodeinfo.local_addresses() if not a.startswith("127."))
        cidr = self.options.cluster_cidr or nodeinfo.pod_cidr(node)
        if not cidr:
            log.warning("no --cluster-cidr and no pod CIDR on the node: traffic from outside the cluster to "
                        "ClusterIPs is not masqueraded")
        config = ProxyConfig(node_name=self.options.hostname, node_ips=ips, cluster_cidr=cidr,
                             nodeport_ips=nodeinfo.nodeport_ips(self.options.nodeport_addresses, ips))
        log.info("proxy mode %s on node %s (node IPs %s, cluster CIDR %s)", self.options.mode,
                 self.options.hostname, ",".join(ips) or "-", cidr or "-")
        return config

    async def run(self) -> None:
        self.config = await self.configure()
        if self.provider is None:
            self.provider = backends.new_provider(self.options.mode, self.config)
        nodeinfo.check_bridge_netfilter()
        factory = SharedInformerFactory(self.client)
        t = self.tracker
        factory.informer(SERVICES).add_event_handler(on_add=t.service_updated, on_update=t.service_updated,
                                                     on_delete=t.service_deleted)
        factory.informer(SLICES).add_event_handler(on_add=t.slice_updated, on_update=t.slice_updated,
                                                   on_delete=t.slice_deleted)
        servers: list[web.AppRunner] = []
        try:
            if self.options.healthz_bind_address:
                servers.append(await healthcheck.serve_health(self.health, self.options.healthz_bind_address))
            if self.options.metrics_bind_address:
                servers.append(await healthcheck.serve_metrics(self.metrics.render, self.options.metrics_bind_address))
            async with asyncio.TaskGroup() as tg:
                tg.create_task(factory.run())
                await factory.wait_for_cache_sync()
                tg.create_task(self.runner.run())
        finally:
            with contextlib.suppress(Exception):
                await self.service_health.close()
            for server in servers:
                with contextlib.suppress(Exception):
                    await server.cleanup()

    async def _sync(self, full: bool) -> None:
        assert self.provider is not None
        started = time.monotonic()
        pending = self.tracker.pending_since
        services, changed = self.tracker.snapshot(full=full)
        rewrite = self._last_rewrite is None or started - self._last_rewrite >= FULL_REWRITE_PERIOD
        try:
            rules = await asyncio.to_thread(self.provider.sync, services, None if rewrite else changed)
        except Exception:
            self.metrics.failures += 1
            raise
        done = time.monotonic()
        if rewrite:
            self._last_rewrite = started
        flushes = conntrack.stale_entries(self.synced, services)
        self.synced = dict(services)
        if flushes:
            await asyncio.to_thread(self.cleaner.run, flushes)
        if pending is not None:
            self.metrics.programming.observe(done - pending)
        self.metrics.synced(duration=done - started, full=full, rules=rules, services=len(services),
                            endpoints=sum(len(sp.endpoints) for sp in services.values()))
        self.health.updated()
        await self.service_health.sync({
            sp.health_check_node_port: (sp.name.namespace, sp.name.name, len(sp.local_endpoints()))
            for sp in services.values() if sp.health_check_node_port})
        log.debug("synced %d service ports (%s, %d rule lines) in %.3fs", len(services),
                  "full" if full else f"{len(changed)} changed", rules, done - started)
        self.ready.set()
