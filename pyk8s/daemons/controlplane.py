"""The control plane inside ``pyk8s server``: controller manager, scheduler, simulated nodes.

``components(opts)`` returns factories for ``ServerOptions.extra``; the
assembly calls them once the API server listens.  Each component reaches the
API server exactly as the standalone commands do: through its own ``Client``
over the server's HTTPS port, with the kubeconfig of its own identity the server
wrote (``authorization/identities.py``: the scheduler, the controller manager and
each controller, each simulated node as ``system:node:<name>``; never the admin's),
so ``pyk8s server`` and ``pyk8s controller-manager``/``pyk8s scheduler`` processes
behave the same and may be mixed.  Each logs the user its credentials name
(``identity.py``).  Clients are made when a component starts, never for a disabled one.

Leader election is on by default, as upstream: the controller manager holds
``kube-system/kube-controller-manager`` and the scheduler
``kube-system/kube-scheduler``, so two servers on one storage (or a server
beside standalone replicas) never act twice.  A standalone daemon exits when
it loses its lease; in the server that would take the API server down with
it, so an in-process component campaigns again instead, from scratch (fresh
informers and caches), after ``restart_delay``; a component that fails is
logged and rebuilt the same way (backing off up to 30 s).

Names for ``pyk8s server --disable``: ``controller-manager``,
``scheduler`` and ``kubelet`` (``COMPONENTS``); the kubelet makes this
machine a node (its pods keep running when the server stops).  ``--simulate-nodes N`` adds
``simulated-nodes``: N kwok-style nodes played by ``SimulatedAgent``.
``dns`` is the cluster DNS server behind ``kube-system/kube-dns`` (``pyk8s.daemons.dns``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from pyk8s.apiserver.authorization import identities
from pyk8s.client.rest import Client
from pyk8s.controllers import serviceaccountclients
from pyk8s.daemons import identity
from pyk8s.daemons.component import Component
from pyk8s.daemons.election import LeaseSettings
from pyk8s.daemons.server import ServerAssembly
from pyk8s.util import pki

log = logging.getLogger("pyk8s.controlplane")

CONTROLLER_MANAGER = "controller-manager"
SCHEDULER = "scheduler"
SIMULATED_NODES = "simulated-nodes"
SIMULATED_PREFIX = "sim-"
KUBELET = "kubelet"
PROXY = "proxy"  # the service proxy; runs only beside the kubelet (pyk8s.daemons.proxy)
DNS = "dns"  # cluster DNS behind kube-system/kube-dns (pyk8s.daemons.dns)
INGRESS = "ingress"  # the ingress controller and its nginx (pyk8s.daemons.ingress)
#: What ``--disable`` may name.
COMPONENTS = (CONTROLLER_MANAGER, SCHEDULER, KUBELET, PROXY, DNS, INGRESS)
CONTROL_PLANE_ROLE = "node-role.kubernetes.io/control-plane"
MAX_RESTART_DELAY = 30.0


class Runnable(Protocol):
    async def run(self) -> None: ...


@dataclass(frozen=True, slots=True)
class ControlPlaneOptions:
    controllers: tuple[str, ...] = ("*",)
    election: LeaseSettings = LeaseSettings()
    #: ``ControllerContext.option`` knobs (``node_monitor_grace_period``...).
    controller_options: Mapping[str, Any] = field(default_factory=dict)
    simulate_nodes: int = 0
    restart_delay: float = 1.0
    #: The embedded ingress controller's HTTP and HTTPS ports.
    ingress_ports: tuple[int, int] = (80, 443)


class ClientComponent:
    """A component with its own client to the API server, built from its kubeconfig.

    ``build(client)`` makes the worker; its ``ready`` (or ``registered``)
    event is mirrored into ``self.ready``.  When the worker returns by itself
    (a lost lease), ``campaign_again`` builds a new one.  A worker that fails
    is logged and rebuilt after a growing delay: in one process with the API
    server, a crashed controller must not stop the server (a standalone daemon
    would be restarted by its supervisor instead).
    """

    def __init__(self, name: str, *, kubeconfig: Path, build: Callable[[Client], Runnable], user_agent: str,
                 field_manager: str = "", max_connections: int = 100, campaign_again: bool = True,
                 restart_delay: float = 1.0) -> None:
        self.name = name
        self.kubeconfig = kubeconfig
        self.build = build
        self.client_args: dict[str, Any] = {"user_agent": user_agent, "field_manager": field_manager,
                                            "max_connections": max_connections}
        self.campaign_again = campaign_again
        self.restart_delay = restart_delay
        self.ready = asyncio.Event()
        self.worker: Runnable | None = None

    async def run(self) -> None:
        client = Client.from_kubeconfig(str(self.kubeconfig), **self.client_args)
        identity.log_identity(self.name, client.config)
        delay = self.restart_delay
        try:
            while True:
                try:
                    self.worker = self.build(client)
                    await self._run_worker(self.worker)
                except Exception:  # noqa: BLE001 - a broken component must not take the API server down
                    log.exception("%s failed; restarting it in %.0fs", self.name, delay)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, MAX_RESTART_DELAY)
                    continue
                if not self.campaign_again:
                    return
                log.warning("%s: leader lease lost; campaigning again", self.name)
                delay = self.restart_delay
                await asyncio.sleep(delay)
        finally:
            self.ready.clear()
            await client.close()

    async def _run_worker(self, worker: Runnable) -> None:
        async with asyncio.TaskGroup() as tg:
            mirror = tg.create_task(self._mirror_ready(worker))
            try:
                await worker.run()
            finally:
                mirror.cancel()
                self.ready.clear()

    async def _mirror_ready(self, worker: Runnable) -> None:
        event = getattr(worker, "ready", None) or getattr(worker, "registered", None)
        if isinstance(event, asyncio.Event):
            await event.wait()
            self.ready.set()
            log.info("%s ready", self.name)


def controller_manager(assembly: ServerAssembly, opts: ControlPlaneOptions) -> ClientComponent:
    from pyk8s.controllers.manager import ControllerManager

    s = opts.election

    data_dir = assembly.opts.config.data_dir

    own = identities.kubeconfig_path(data_dir, identities.CONTROLLER_MANAGER)

    async def client_for(root: Client, controller: str) -> Client:
        """Each controller as its own ServiceAccount (upstream's --use-service-account-credentials): a
        certificate for the account, or a TokenRequest token (made with ``root``, the manager's client)
        where the user name is too long for a certificate; upstream's root-client controllers as the
        manager; one pyk8s has no account for keeps the admin's credentials, and says so."""
        account = identities.CONTROLLER_ACCOUNTS.get(controller)
        args: dict[str, Any] = {"user_agent": f"pyk8s-controller-manager/{controller}",
                                "field_manager": "kube-controller-manager"}
        client: Client
        if controller in identities.MANAGER_CONTROLLERS:
            client = Client.from_kubeconfig(str(own), **args)
        elif account and not identities.has_certificate(account):
            client = await serviceaccountclients.open_client(root, account, **args)
        elif account and identities.controller_kubeconfig_path(data_dir, account).exists():
            client = Client.from_kubeconfig(str(identities.controller_kubeconfig_path(data_dir, account)), **args)
        else:
            log.warning("controller %s has no identity of its own; it runs with the admin's", controller)
            client = Client.from_kubeconfig(str(assembly.opts.config.kubeconfig_path), **args)
        identity.log_identity(f"{CONTROLLER_MANAGER}/{controller}", client.config)
        return client

    def build(client: Client) -> Runnable:
        # The tokens controller signs legacy token Secrets with the API server's key (kubeadm's sa.key).
        options = {"service_account_private_key_file": str(assembly.opts.config.service_account_key_path),
                   **opts.controller_options}
        return ControllerManager(client, controllers=opts.controllers, leader_elect=s.enabled,
                                 options=options, lease_duration=s.lease_duration,
                                 renew_deadline=s.renew_deadline, retry_period=s.retry_period,
                                 client_for=lambda controller: client_for(client, controller))

    return ClientComponent(CONTROLLER_MANAGER, kubeconfig=own, build=build,
                           user_agent="pyk8s-controller-manager", field_manager="kube-controller-manager",
                           restart_delay=opts.restart_delay)


def scheduler(assembly: ServerAssembly, opts: ControlPlaneOptions) -> ClientComponent:
    def build(client: Client) -> Runnable:
        from pyk8s.daemons.scheduler import SchedulerDaemon

        return SchedulerDaemon(client, election=opts.election)

    own = identities.kubeconfig_path(assembly.opts.config.data_dir, identities.SCHEDULER)
    return ClientComponent(SCHEDULER, kubeconfig=own, build=build,
                           user_agent="pyk8s-scheduler", field_manager="kube-scheduler",
                           restart_delay=opts.restart_delay)


def simulated_nodes(assembly: ServerAssembly, opts: ControlPlaneOptions) -> ClientComponent:
    """N simulated nodes, each with its own ``system:node:<name>`` certificate as a real kubelet (the first
    node's client also reads the pods for all of them: a node may list and watch pods)."""
    config = assembly.opts.config
    names = [f"{SIMULATED_PREFIX}{i}" for i in range(opts.simulate_nodes)]

    def kubeconfig(node: str) -> Path:
        path = identities.simulated_node_kubeconfig_path(config.data_dir, node)
        if not path.exists():  # issued at first start, reused after (the certificate's key is 0600)
            ca = pki.load_or_create_ca(config.pki_dir / "ca.crt", config.pki_dir / "ca.key")
            identities.ensure_node_kubeconfig(path, config.pki_dir / "nodes", config.url, ca, node)
        return path

    def node_client(node: str) -> Client:
        client = Client.from_kubeconfig(str(kubeconfig(node)), user_agent=f"pyk8s-agent/simulated ({node})",
                                        max_connections=4)
        identity.log_identity(f"{SIMULATED_NODES}/{node}", client.config)
        return client

    def build(client: Client) -> Runnable:
        from pyk8s.kubelet.simulated.agent import SimulatedAgent

        return SimulatedAgent(client, count=opts.simulate_nodes, prefix=SIMULATED_PREFIX, client_for_node=node_client)

    first = kubeconfig(names[0]) if names else config.kubeconfig_path
    # The agent runs until cancelled; if it ever returns, that is the end of it.
    return ClientComponent(SIMULATED_NODES, kubeconfig=first, build=build,
                           user_agent="pyk8s-agent/simulated", max_connections=64, campaign_again=False)


class EmbeddedKubelet:
    """The server's own node: its container runtime started, then the kubelet run (``registered`` once the
    Node is in the API)."""

    def __init__(self, client: Client, config: Any) -> None:
        self.client, self.config = client, config
        self.registered = asyncio.Event()

    async def run(self) -> None:
        from pyk8s.daemons.kubelet import build_node

        node = await build_node(self.client, self.config)
        async with asyncio.TaskGroup() as tg:
            tg.create_task(node.run())
            await node.kubelet.node.registered.wait()
            self.registered.set()


def kubelet(assembly: ServerAssembly, opts: ControlPlaneOptions) -> ClientComponent:
    """A kubelet for this machine, named after the host and labelled as the control plane's node."""
    import socket

    from pyk8s.kubelet.kubelet import KubeletConfig

    def build(client: Client) -> Runnable:
        config = KubeletConfig(node_name=socket.gethostname().lower(), root_dir=assembly.opts.config.data_dir / "kubelet",
                               labels={CONTROL_PLANE_ROLE: ""})
        return EmbeddedKubelet(client, config)

    own = identities.kubeconfig_path(assembly.opts.config.data_dir, identities.KUBELET)
    return ClientComponent(KUBELET, kubeconfig=own, build=build,
                           user_agent="kubelet/v1.32.0", campaign_again=False, restart_delay=opts.restart_delay)


def _proxy(assembly: ServerAssembly, opts: ControlPlaneOptions) -> Component:
    from pyk8s.daemons import proxy

    return proxy.component(assembly, dict(opts.controller_options), opts.restart_delay)  # type: ignore[no-any-return]


def dns(assembly: ServerAssembly, opts: ControlPlaneOptions) -> ClientComponent:
    from pyk8s.daemons.dns import DNSDaemon, embedded_options

    config = assembly.opts.config
    dns_opts = embedded_options(config.bind_address, config.service_cluster_ip_range)
    own = identities.kubeconfig_path(config.data_dir, identities.DNS)  # ServiceAccount kube-system/coredns
    return ClientComponent(DNS, kubeconfig=own, build=lambda client: DNSDaemon(client, dns_opts),
                           user_agent="pyk8s-dns", field_manager="pyk8s-dns", restart_delay=opts.restart_delay)


def ingress(assembly: ServerAssembly, opts: ControlPlaneOptions) -> ClientComponent:
    from pyk8s.daemons.ingress import EmbeddedIngress

    embedded, config = EmbeddedIngress(*opts.ingress_ports), assembly.opts.config
    own = identities.kubeconfig_path(config.data_dir, identities.INGRESS)  # kube-system/pyk8s-ingress
    return ClientComponent(INGRESS, kubeconfig=own,
                           build=lambda client: embedded.build(client, config.data_dir), user_agent="pyk8s-ingress",
                           field_manager="pyk8s-ingress", restart_delay=opts.restart_delay)


def components(opts: ControlPlaneOptions) -> list[Callable[[ServerAssembly], Component]]:
    """Factories for ``ServerOptions.extra``, in start order."""
    makers: list[Callable[[ServerAssembly], Component]] = [
        lambda a: controller_manager(a, opts),
        lambda a: scheduler(a, opts),
        lambda a: kubelet(a, opts),
        lambda a: _proxy(a, opts),
        lambda a: dns(a, opts),
        lambda a: ingress(a, opts),
    ]
    if opts.simulate_nodes > 0:
        makers.append(lambda a: simulated_nodes(a, opts))
    return makers
