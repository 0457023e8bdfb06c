"""``pyk8s server``: storage, registry, bootstrap and the API server in one process.

Start-up order: open the storage, build the registry over it, start
listening (so ``/readyz`` can already say "not yet"), run bootstrap (default
namespaces, the ``kubernetes`` Service...), wait for the registry's watch
caches, then mark ready.  Later issues add controllers, the scheduler and
the kubelet as further components in the same TaskGroup; ``--disable``
names the ones to leave out.

Every piece the registry team provides is looked up by name and used when
present, so this assembly works with whatever part of the registry exists.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pyk8s.api  # noqa: F401  (importing it fills the scheme)
from pyk8s.apiserver.config import ServerConfig
from pyk8s.apiserver.endpoints.system import Readiness
from pyk8s.apiserver.server import APIServer, prepare_credentials
from pyk8s.daemons.component import Component
from pyk8s.machinery.scheme import SCHEME
from pyk8s.storage import open_storage
from pyk8s.storage.compactor import Compactor

log = logging.getLogger("pyk8s.server")

READY_CHECKS = ("storage", "bootstrap", "caches")


@dataclass(slots=True)
class ServerOptions:
    config: ServerConfig
    storage_url: str
    node_port_range: str = "30000-32767"
    disable: frozenset[str] = frozenset()
    # kube-apiserver's --etcd-compaction-interval: every interval, history older than one
    # interval is compacted away, but never the newest ``compaction_min_revisions``. 0 = off.
    compaction_interval: float = 300.0
    compaction_min_revisions: int = 1000
    # Extra components (controllers, scheduler, kubelet...), built once the API server listens.
    extra: list[Callable[[ServerAssembly], Component]] = field(default_factory=list)


def _build_registry(storage: Any, opts: ServerOptions) -> Any:
    try:
        from pyk8s.apiserver import registry as registry_pkg
    except ImportError:  # pragma: no cover - the package always exists; its builder may not yet
        return None
    build = getattr(registry_pkg, "build_registry", None)
    if build is None:
        log.warning("no registry available yet: resources will answer 503")
        return None

    kwargs: dict[str, Any] = {}
    params = inspect.signature(build).parameters
    if "service_cidr" in params:
        kwargs["service_cidr"] = opts.config.service_cluster_ip_range
    if "node_port_range" in params:
        kwargs["node_port_range"] = opts.node_port_range
    return build(SCHEME, storage, **kwargs)


async def _maybe_await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


class ServerAssembly:
    name = "server"

    def __init__(self, opts: ServerOptions) -> None:
        self.opts = opts
        self.readiness = Readiness(READY_CHECKS)
        self.ready = asyncio.Event()
        self.storage: Any = None
        self.registry: Any = None
        self.apiserver: APIServer | None = None

    async def run(self) -> None:
        config = self.opts.config
        credentials = await asyncio.to_thread(prepare_credentials, config)
        self.storage = open_storage(self.opts.storage_url)
        await self.storage.start()
        try:
            self.readiness.mark("storage")
            self.registry = _build_registry(self.storage, self.opts)
            self.apiserver = APIServer(config, registry=self.registry, readiness=self.readiness,
                                       credentials=credentials)
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self.apiserver.run(), name="apiserver")
                await self.apiserver.started.wait()
                await self._start_registry(tg)
                if self.opts.compaction_interval > 0:
                    compactor = Compactor(self.storage, retention=self.opts.compaction_interval,
                                          interval=self.opts.compaction_interval,
                                          min_revisions=self.opts.compaction_min_revisions)
                    tg.create_task(compactor.run(), name="compactor")
                await self._bootstrap()
                for make in self.opts.extra:
                    component = make(self)
                    if component.name not in self.opts.disable:
                        tg.create_task(component.run(), name=component.name)
                self.ready.set()
                log.info("pyk8s server ready at %s", config.url)
        finally:
            with contextlib.suppress(Exception):
                await self._stop_registry()
            await self.storage.close()

    async def _start_registry(self, tg: asyncio.TaskGroup) -> None:
        """Start the registry's background work (watch caches) if it has any, and wait until it is ready.

        Accepted shapes: ``async run()`` (long-running, owned by the TaskGroup) with a
        ``ready`` event or ``async wait_ready()``; or a one-shot ``async start()``.
        """
        reg = self.registry
        if reg is not None:
            if callable(getattr(reg, "run", None)):
                tg.create_task(reg.run(), name="registry")
            elif callable(getattr(reg, "start", None)):
                await _maybe_await(reg.start())
            if callable(getattr(reg, "wait_ready", None)):
                await reg.wait_ready()
            elif isinstance(getattr(reg, "ready", None), asyncio.Event):
                await reg.ready.wait()
        self.readiness.mark("caches")

    async def _stop_registry(self) -> None:
        fn = getattr(self.registry, "close", None) or getattr(self.registry, "stop", None)
        if fn is not None:
            await _maybe_await(fn())

    async def _bootstrap(self) -> None:
        if self.registry is not None:
            try:
                from pyk8s.apiserver import bootstrap as boot
            except ImportError:
                boot = None  # type: ignore[assignment]
            fn = getattr(boot, "bootstrap", None) if boot is not None else None
            if fn is not None:
                await fn(self.registry, api_address=self.opts.config.advertised_host,
                         api_port=self.opts.config.secure_port)
        self.readiness.mark("bootstrap")
