"""``pyk8s server``: storage, registry, bootstrap and the API server in one process.

Start-up order: lock the data directory (``server.lock``: a second server
on the same directory fails there, before it rewrites the kubeconfig or
touches anything else), open the storage, build the registry over it, start
listening (so ``/readyz`` can already say "not yet"), run bootstrap (default
namespaces, the ``kubernetes`` Service...), start the extra components
(``ServerOptions.extra``: the controller manager, the scheduler, simulated
nodes, see ``controlplane.py``), then mark ready (the registry's watch caches
start on first use).  Storage compaction runs beside them.  ``--disable``
names components to leave out.  Shutdown runs the other way: components
first, while the API server still answers them, then the listeners, then
the storage.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pyk8s.api  # noqa: F401  (importing it fills the scheme)
from pyk8s.apiserver import bootstrap
from pyk8s.apiserver.config import ServerConfig
from pyk8s.apiserver.endpoints.system import Readiness
from pyk8s.apiserver.registry import Registry, build_registry
from pyk8s.apiserver.server import APIServer, prepare_credentials
from pyk8s.daemons.component import Component
from pyk8s.machinery.scheme import SCHEME
from pyk8s.storage import encryption, open_storage
from pyk8s.storage.compactor import Compactor
from pyk8s.util import pki

log = logging.getLogger("pyk8s.server")

READY_CHECKS = ("storage", "bootstrap", "caches")
LOCK_FILE = "server.lock"


class DataDirInUse(OSError):
    """Another server holds the data directory."""


def lock_data_dir(data_dir: os.PathLike[str] | str) -> int:
    """Hold an exclusive flock on ``DATA_DIR/server.lock`` (the kernel drops it when the process dies).

    Returns the descriptor to close on shutdown; raises ``DataDirInUse`` naming the holder's pid.
    """
    path = os.path.join(data_dir, LOCK_FILE)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 32).decode(errors="replace").strip()
        os.close(fd)
        by = f" (pid {holder})" if holder.isdigit() else ""
        raise DataDirInUse(f"data dir {data_dir} is in use by another pyk8s server{by}") from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


@dataclass(slots=True)
class ServerOptions:
    config: ServerConfig
    storage_url: str
    # kube-apiserver's --encryption-provider-config: an EncryptionConfiguration file (None: plaintext).
    encryption_provider_config: str | None = None
    node_port_range: str = "30000-32767"
    # kube-apiserver's --default-not-ready-toleration-seconds / --default-unreachable-toleration-seconds.
    not_ready_toleration_seconds: int = 300
    unreachable_toleration_seconds: int = 300
    # kube-apiserver's --enable-admission-plugins / --disable-admission-plugins.
    enable_admission_plugins: tuple[str, ...] = ()
    disable_admission_plugins: tuple[str, ...] = ()
    admission_control_config_file: str = ""  # kube-apiserver's --admission-control-config-file
    disable: frozenset[str] = frozenset()
    # kube-apiserver's --etcd-compaction-interval: every interval, history older than one
    # interval is compacted away, but never the newest ``compaction_min_revisions``. 0 = off.
    compaction_interval: float = 300.0
    compaction_min_revisions: int = 1000
    # Extra components (controllers, scheduler, kubelet...), built once the API server listens.
    extra: list[Callable[[ServerAssembly], Component]] = field(default_factory=list)


class ServerAssembly:
    name = "server"

    def __init__(self, opts: ServerOptions) -> None:
        self.opts = opts
        self.readiness = Readiness(READY_CHECKS)
        self.ready = asyncio.Event()
        self.storage: Any = None
        self.registry: Registry | None = None
        self.apiserver: APIServer | None = None
        self.components: list[Component] = []

    async def run(self) -> None:
        config = self.opts.config
        pki.private_dir(config.data_dir)  # keys, tokens and the database: the owner's only
        lock = lock_data_dir(config.data_dir)
        try:
            await self._run_locked(config)
        finally:
            with contextlib.suppress(OSError):
                os.close(lock)

    async def _run_locked(self, config: ServerConfig) -> None:
        credentials = await asyncio.to_thread(prepare_credentials, config)
        self.storage = encryption.wrap(open_storage(self.opts.storage_url), self.opts.encryption_provider_config)
        await self.storage.start()
        try:
            self.readiness.mark("storage")
            self.registry = build_registry(SCHEME, self.storage,
                                           service_cidr=self.opts.config.service_cluster_ip_range,
                                           node_port_range=self.opts.node_port_range,
                                           not_ready_toleration_seconds=self.opts.not_ready_toleration_seconds,
                                           unreachable_toleration_seconds=self.opts.unreachable_toleration_seconds,
                                           enable_admission_plugins=self.opts.enable_admission_plugins,
                                           disable_admission_plugins=self.opts.disable_admission_plugins,
                                           admission_control_config_file=self.opts.admission_control_config_file)
            self.apiserver = APIServer(config, registry=self.registry, readiness=self.readiness,
                                       credentials=credentials)
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self.apiserver.run(), name="apiserver")
                await self.apiserver.started.wait()
                self.readiness.mark("caches")  # watch caches start on first use
                if self.opts.compaction_interval > 0:
                    compactor = Compactor(self.storage, retention=self.opts.compaction_interval,
                                          interval=self.opts.compaction_interval,
                                          min_revisions=self.opts.compaction_min_revisions)
                    tg.create_task(compactor.run(), name="compactor")
                await self._bootstrap()
                await self._run_components()
        finally:
            if self.registry is not None:
                await self.registry.close()
            await self.storage.close()

    async def _run_components(self) -> None:
        """Start the extra components, mark ready, then wait: they stop before the API server does.

        Cancellation reaches this inner group first, so the components finish
        their shutdown (a leader gives its Lease up over the API) while the
        listeners still serve; only then does the outer group stop the API server.
        """
        async with asyncio.TaskGroup() as tg:
            for make in self.opts.extra:
                component = make(self)
                if component.name in self.opts.disable:
                    continue
                self.components.append(component)
                tg.create_task(component.run(), name=component.name)
            self.ready.set()
            log.info("pyk8s server ready at %s", self.opts.config.url)
            await asyncio.Event().wait()

    async def _bootstrap(self) -> None:
        assert self.registry is not None  # made before the listeners start
        await bootstrap.bootstrap(self.registry, api_address=self.opts.config.advertised_host,
                                  api_port=self.opts.config.secure_port)
        self.readiness.mark("bootstrap")
