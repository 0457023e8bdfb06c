"""The cluster DNS daemon: informers, the resolver, the UDP/TCP server and the ``kube-dns`` registration.

``DNSDaemon.run()`` starts shared informers on Services, EndpointSlices and
Namespaces (every change bumps the view's generation: the answer cache
flushes and the SOA serial moves), waits for them to sync (a DNS server that
answered NXDOMAIN from an empty cache would be lying), binds its listeners,
then registers itself behind ``kube-system/kube-dns`` and sets ``ready``.
Cancelling it withdraws its EndpointSlice and closes the sockets.

``DNSOptions.forward``: ``None`` (the default) forwards names outside the
cluster to the usable resolvers of ``resolv_conf`` and turns forwarding off
when there are none; ``False`` never forwards (tests: no query may leave the
machine); ``True`` insists and fails without an upstream.

``pyk8s server`` embeds it as the ``dns`` component (``embedded_options``):
it listens on the API server's address when that is a specific, non-loopback
one (a test's node link), else on the node IP the kubelet would report, and
the Service gets the 10th address of the service range, as kubeadm gives it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import ipaddress
import logging
from dataclasses import dataclass

from pyk8s.client.rest import Client, DynamicResource
from pyk8s.client.tools.informer import Obj, SharedInformer, SharedInformerFactory
from pyk8s.client.tools.store import DeletedFinalStateUnknown
from pyk8s.controllers.nodeipam import DEFAULT_CLUSTER_CIDR
from pyk8s.dns import kubedns
from pyk8s.dns.cluster import ClusterView
from pyk8s.dns.forward import DEFAULT_RESOLV_CONF, Forwarder, upstreams
from pyk8s.dns.metrics import MetricsServer
from pyk8s.dns.resolver import DEFAULT_TTL, Resolver
from pyk8s.dns.server import DNSServer

log = logging.getLogger("pyk8s.dns")
NAMESPACES = DynamicResource("", "v1", "namespaces", False, "Namespace")
DEFAULT_CLUSTER_DNS = "10.96.0.10"
#: Loopback, the pod network (the controller manager's default cluster CIDR) and the link-local
#: node links tests and one-machine clusters use; the server's own addresses are added.
DEFAULT_RECURSION_FROM = ("127.0.0.0/8", "::1/128", DEFAULT_CLUSTER_CIDR, "169.254.0.0/16", "fe80::/10")


@dataclass(frozen=True, slots=True)
class DNSOptions:
    #: Empty: this node's IP, looked up when the daemon starts (``default_bind_address``).
    bind_address: str = "127.0.0.1"
    port: int = 53
    #: The address the kube-dns EndpointSlice names (default: ``bind_address``; required when that is 0.0.0.0).
    advertise_address: str = ""
    cluster_domain: str = "cluster.local"
    cluster_dns_ip: str = DEFAULT_CLUSTER_DNS
    ttl: int = DEFAULT_TTL
    pods: str = "insecure"
    forward: bool | None = None
    resolv_conf: str = DEFAULT_RESOLV_CONF
    register: bool = True
    #: Prometheus metrics on ``bind_address:metrics_port`` (None: off; 0 picks a port).
    metrics_port: int | None = kubedns.METRICS_PORT
    #: Who may have outside names forwarded (CIDRs); the cluster's own addresses by default, so a
    #: server on a node IP is no open resolver for its LAN.  ``("0.0.0.0/0", "::/0")``: anyone.
    recursion_from: tuple[str, ...] = ()

    def recursion_networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        own = [a for a in (self.bind_address, self.advertise_address) if a]
        cidrs = self.recursion_from or (*DEFAULT_RECURSION_FROM, *own)
        return [ipaddress.ip_network(c, strict=False) for c in cidrs]

    def endpoint_address(self) -> str:
        address = self.advertise_address or self.bind_address
        if ipaddress.ip_address(address).is_unspecified:
            raise ValueError(f"listening on {address}: give the address clients reach (--advertise-address)")
        return address


def tenth_address(service_cidr: str) -> str:
    """kubeadm's cluster DNS address: the 10th of the service range (10.96.0.10 in 10.96.0.0/12)."""
    return str(ipaddress.ip_network(service_cidr, strict=False).network_address + 10)


def default_bind_address() -> str:
    """This node's IP, as the kubelet reports it (the first global IPv4 address, else loopback)."""
    from pyk8s.kubelet.node import host_ip

    return host_ip()


def embedded_options(api_bind_address: str, service_cidr: str) -> DNSOptions:
    """The ``dns`` component of ``pyk8s server``: the API server's address if it is a specific non-loopback
    one (pods reach the control plane there), else the node IP; the Service at the range's 10th address."""
    ip = ipaddress.ip_address(api_bind_address)
    bind = api_bind_address if not (ip.is_loopback or ip.is_unspecified) else ""
    return DNSOptions(bind_address=bind, cluster_dns_ip=tenth_address(service_cidr))


def make_forwarder(opts: DNSOptions) -> Forwarder | None:
    if opts.forward is False:
        return None
    servers = upstreams(opts.resolv_conf, own=frozenset({opts.bind_address, opts.advertise_address,
                                                          opts.cluster_dns_ip}))
    if not servers:
        if opts.forward:
            raise ValueError(f"forwarding asked for, but {opts.resolv_conf} names no usable (non-loopback) server")
        log.warning("no usable upstream resolver in %s: names outside the cluster get REFUSED", opts.resolv_conf)
        return None
    return Forwarder(servers)


class DNSDaemon:
    name = "dns"

    def __init__(self, client: Client, opts: DNSOptions) -> None:
        self.client, self.opts = client, opts
        self.ready = asyncio.Event()
        self.resolver: Resolver | None = None
        self.server: DNSServer | None = None
        self.registration: kubedns.KubeDNSRegistration | None = None
        self.metrics: MetricsServer | None = None

    async def settle_address(self) -> DNSOptions:
        """The options with an empty bind address replaced by the node IP (``ip addr`` runs in a thread)."""
        if self.opts.bind_address:
            return self.opts
        return dataclasses.replace(self.opts, bind_address=await asyncio.to_thread(default_bind_address))

    async def run(self) -> None:
        opts = self.opts = await self.settle_address()
        address = opts.endpoint_address() if opts.register else opts.bind_address
        forwarder = make_forwarder(opts)
        factory = SharedInformerFactory(self.client)
        services = factory.informer(kubedns.SERVICES)
        slices = factory.informer(kubedns.SLICES)
        namespaces = factory.informer(NAMESPACES)
        view = ClusterView(services.store, slices.store, namespaces.store)
        for informer in (services, slices, namespaces):
            informer.add_event_handler(on_add=view.changed, on_update=view.changed, on_delete=view.changed)
        self.resolver = Resolver(view, zone=opts.cluster_domain, ttl=opts.ttl, pods=opts.pods,
                                 dns_ip=opts.cluster_dns_ip)
        self.server = DNSServer(self.resolver, address=opts.bind_address, port=opts.port, forwarder=forwarder,
                                recursion_from=opts.recursion_networks())
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(factory.run(), name="dns-informers")
                await factory.wait_for_cache_sync()
                tg.create_task(self.server.run(), name="dns-server")
                await self.server.ready.wait()
                metrics_port = None
                if opts.metrics_port is not None:
                    self.metrics = MetricsServer(self.server.metrics, address=opts.bind_address, port=opts.metrics_port)
                    tg.create_task(self.metrics.run(), name="dns-metrics")
                    await self.metrics.ready.wait()
                    metrics_port = self.metrics.bound_port
                if opts.register:
                    self.registration = kubedns.KubeDNSRegistration(
                        self.client, cluster_ip=opts.cluster_dns_ip, address=address, port=self.server.bound_port,
                        metrics_port=metrics_port)
                    self._watch_registration(services, slices)
                    tg.create_task(self.registration.run(), name="kube-dns-registration")
                self.ready.set()
        finally:
            self.ready.clear()
            if self.registration is not None:
                with contextlib.suppress(Exception):
                    await self.registration.withdraw()

    def _watch_registration(self, *informers: SharedInformer) -> None:
        reg = self.registration
        assert reg is not None

        def deleted(obj: Obj | DeletedFinalStateUnknown) -> None:
            reg.observe(obj.obj if isinstance(obj, DeletedFinalStateUnknown) else obj, deleted=True)

        for informer in informers:
            informer.add_event_handler(on_add=reg.observe, on_update=lambda _old, new: reg.observe(new),
                                       on_delete=deleted)
