"""The controller manager: one process running many controllers (kube-controller-manager).

A ``ControllerManager`` builds one ``Client`` and one ``SharedInformerFactory``
shared by every controller it runs, so each resource is listed and watched
once.  Controllers are looked up by name in ``REGISTRY``: a factory taking a
``ControllerContext`` and returning something with ``async run()`` (usually a
``pyk8s.client.tools.controller.Controller`` wrapper).  Other packages plug in
with ``register("name", factory)``; factories are imported lazily from
``BUILTIN`` module paths so this module stays cheap to import.

``--controllers`` follows upstream: ``*`` means every controller enabled by
default, ``name`` enables one, ``-name`` disables one (``*,-podgc``).

With leader election the controllers only run while this process holds the
Lease ``kube-system/kube-controller-manager`` (identity ``<hostname>_<uuid>``);
losing it stops them (upstream exits; we return from ``run``).  ``ready`` is set
once every started controller has its caches synced (a standby never sets it).

``options`` (``ControllerContext.option``) carries tuning knobs by name:
``node_monitor_grace_period`` (40), ``node_monitor_period`` (5),
``default_toleration_seconds`` (300), ``cluster_cidr`` ("10.244.0.0/16"),
``node_cidr_mask_size`` (24), ``terminated_pod_gc_threshold`` (12500),
``podgc_period`` (20), ``namespace_recheck_seconds`` (2), ``job_backoff_base``
(10, seconds before the first Job retry, doubling after), ``<name>_workers``
(``replicaset``, ``deployment``, ``job``, ``cronjob``, ``ttl_after_finished``...),
``load_balancer_ip_pool`` ("": the nodes' InternalIPs).
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
import logging
import socket
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from pyk8s.client.rest import Client
from pyk8s.client.tools.informer import SharedInformerFactory
from pyk8s.client.tools.leaderelection import LeaderElector
from pyk8s.util.clock import REAL_CLOCK, Clock

log = logging.getLogger(__name__)

LEASE_NAMESPACE = "kube-system"
LEASE_NAME = "kube-controller-manager"


class Runnable(Protocol):
    async def run(self) -> None: ...


@dataclass
class ControllerContext:
    """What a controller factory gets: shared client, informers, clock and tuning options."""

    client: Client
    factory: SharedInformerFactory
    clock: Clock = REAL_CLOCK
    options: dict[str, Any] = field(default_factory=dict)

    def option(self, name: str, default: Any) -> Any:
        return self.options.get(name, default)


ControllerFactory = Callable[[ControllerContext], Runnable]


@dataclass
class Registration:
    factory: ControllerFactory | str  # a callable, or "module:attribute" imported on first use
    enabled_by_default: bool = True

    def resolve(self) -> ControllerFactory:
        if isinstance(self.factory, str):
            module, _, attr = self.factory.partition(":")
            self.factory = getattr(importlib.import_module(module), attr)
        assert callable(self.factory)
        return self.factory


# Upstream controller names; the factory is each module's ``new``.
BUILTIN = {
    "garbage-collector-controller": "pyk8s.controllers.garbagecollector:new",
    "namespace-controller": "pyk8s.controllers.namespace:new",
    "serviceaccount-controller": "pyk8s.controllers.serviceaccount:new",
    "serviceaccount-token-controller": "pyk8s.controllers.serviceaccounttoken:new",
    "root-ca-certificate-publisher-controller": "pyk8s.controllers.rootcacertpublisher:new",
    "endpoints-controller": "pyk8s.controllers.endpoints:new",
    "endpointslice-controller": "pyk8s.controllers.endpointslice:new",
    "endpointslice-mirroring-controller": "pyk8s.controllers.endpointslicemirroring:new",
    "node-lifecycle-controller": "pyk8s.controllers.nodelifecycle:new",
    "node-ipam-controller": "pyk8s.controllers.nodeipam:new",
    "pod-garbage-collector-controller": "pyk8s.controllers.podgc:new",
    "persistentvolume-binder-controller": "pyk8s.controllers.pvbinder:new",
    "persistentvolumeclaim-protection-controller": "pyk8s.controllers.volumeprotection:new_pvc_protection",
    "persistentvolume-protection-controller": "pyk8s.controllers.volumeprotection:new_pv_protection",
    "local-path-provisioner": "pyk8s.controllers.localpath:new",
    "ephemeral-volume-controller": "pyk8s.controllers.ephemeralvolume:new",
    "replicaset-controller": "pyk8s.controllers.replicaset_controller:new",
    "replicationcontroller-controller": "pyk8s.controllers.replicaset_controller:new_replication_manager",
    "deployment-controller": "pyk8s.controllers.deployment.controller:new",
    "statefulset-controller": "pyk8s.controllers.statefulset_controller:new",
    "daemonset-controller": "pyk8s.controllers.daemonset_controller:new",
    "job-controller": "pyk8s.controllers.job_controller:new",
    "cronjob-controller": "pyk8s.controllers.cronjob_controller:new",
    "ttl-after-finished-controller": "pyk8s.controllers.ttlafterfinished:new",
    "clusterrole-aggregation-controller": "pyk8s.controllers.clusterroleaggregation:new",
    "certificatesigningrequest-signing-controller": "pyk8s.controllers.csrsigning:new",
    "certificatesigningrequest-approving-controller": "pyk8s.controllers.csrapproving:new",
    "certificatesigningrequest-cleaner-controller": "pyk8s.controllers.csrcleaner:new",
    "service-lb-controller": "pyk8s.controllers.servicelb:new",
    "resourcequota-controller": "pyk8s.controllers.resourcequota:new",
    "disruption-controller": "pyk8s.controllers.disruption:new",
}

REGISTRY: dict[str, Registration] = {name: Registration(path) for name, path in BUILTIN.items()}


def register(name: str, factory: ControllerFactory | str, *, enabled_by_default: bool = True) -> None:
    """Add (or replace) a controller the manager can run."""
    REGISTRY[name] = Registration(factory, enabled_by_default)


def select_controllers(spec: Iterable[str], registry: dict[str, Registration] | None = None) -> list[str]:
    """Names enabled by a ``--controllers`` list (``*``, ``name``, ``-name``)."""
    reg = REGISTRY if registry is None else registry
    items = [s.strip() for s in spec if s.strip()] or ["*"]
    disabled = {s[1:] for s in items if s.startswith("-")}
    wanted = {s for s in items if not s.startswith("-") and s != "*"}
    unknown = (wanted | disabled) - set(reg)
    if unknown:
        raise ValueError(f"unknown controllers: {', '.join(sorted(unknown))}")
    star = "*" in items
    return [n for n, r in reg.items()
            if n not in disabled and (n in wanted or (star and r.enabled_by_default))]


def holder_identity() -> str:
    return f"{socket.gethostname()}_{uuid.uuid4()}"


class ControllerManager:
    def __init__(self, client: Client, *, controllers: Iterable[str] = ("*",), leader_elect: bool = False,
                 clock: Clock = REAL_CLOCK, options: dict[str, Any] | None = None,
                 lease_duration: float = 15.0, renew_deadline: float = 10.0, retry_period: float = 2.0,
                 client_for: Callable[[str], Awaitable[Client]] | None = None) -> None:
        self.client = client
        # Each controller's own client (upstream's --use-service-account-credentials); informers stay shared.
        self.client_for = client_for
        self.clock = clock
        self.names = select_controllers(controllers)
        self.leader_elect = leader_elect
        self.options = dict(options or {})
        self.identity = holder_identity()
        self.lease = (lease_duration, renew_deadline, retry_period)
        self.ready = asyncio.Event()
        self.running: dict[str, Runnable] = {}

    async def run(self) -> None:
        """Run until cancelled (or, with leader election, until the lease is lost)."""
        if not self.leader_elect:
            await self._run_controllers()
            return
        duration, deadline, retry = self.lease
        elector = LeaderElector(self.client, namespace=LEASE_NAMESPACE, name=LEASE_NAME, identity=self.identity,
                                on_started_leading=self._run_controllers, lease_duration=duration,
                                renew_deadline=deadline, retry_period=retry, release_on_cancel=True,
                                clock=self.clock)
        await elector.run()

    async def _run_controllers(self) -> None:
        factory = SharedInformerFactory(self.client, clock=self.clock)
        ctx = ControllerContext(self.client, factory, self.clock, self.options)
        own: dict[str, Client] = {}
        try:
            if self.client_for is not None:
                for name in self.names:
                    own[name] = await self.client_for(name)
            self.running = {name: REGISTRY[name].resolve()(dataclasses.replace(ctx, client=own[name]) if own
                                                           else ctx) for name in self.names}
            log.info("starting controllers: %s", ", ".join(self.running))
            async with asyncio.TaskGroup() as tg:
                tg.create_task(factory.run())
                for name, ctl in self.running.items():
                    tg.create_task(ctl.run(), name=name)
                tg.create_task(self._signal_ready(factory))
        finally:
            for client in own.values():
                await client.close()

    async def _signal_ready(self, factory: SharedInformerFactory) -> None:
        for ctl in self.running.values():
            ready = getattr(ctl, "ready", None)
            if isinstance(ready, asyncio.Event):
                await ready.wait()
        await factory.wait_for_cache_sync()
        self.ready.set()
