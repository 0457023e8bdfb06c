"""``pyk8s dns``: run the cluster DNS server alone against an API server (what CoreDNS does upstream).

    pyk8s dns --kubeconfig K [--bind-address IP] [--port 53] [--no-forward]

It answers for ``--cluster-domain`` (and the reverse zones) from informers,
forwards other names to the non-loopback resolvers of ``--resolv-conf``
(``--no-forward``: never; the default turns forwarding off when there is no
usable resolver), and registers itself behind ``kube-system/kube-dns``
(``--cluster-dns-ip``, default 10.96.0.10) unless ``--no-register``.
``pyk8s server`` runs the same daemon as its ``dns`` component; run this one
with ``pyk8s server --disable dns``.  SIGTERM/SIGINT withdraw the endpoint
and exit 0; a bad flag or a port that cannot be bound is one line on stderr
and exit 1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import logging
import sys
from typing import TYPE_CHECKING, Any

from pyk8s.cli import signals

if TYPE_CHECKING:
    from pyk8s.daemons.dns import DNSDaemon

log = logging.getLogger("pyk8s.dns")


def _address(text: str) -> str:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid IP address: {text!r}") from None


def _port(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"invalid port: {text!r}")
    return int(text)


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("dns", help="run the cluster DNS server (CoreDNS's kubernetes plugin)",
                              description="Serve cluster DNS from the API server's Services and EndpointSlices.")
    p.add_argument("--kubeconfig", required=True, help="kubeconfig for reaching the API server")
    p.add_argument("--bind-address", type=_address, default=None,
                   help="address to listen on (default: this node's IP, as the kubelet reports it)")
    p.add_argument("--port", type=_port, default=53, help="UDP and TCP port (default 53; 0 picks a free one)")
    p.add_argument("--advertise-address", type=_address, default=None,
                   help="address the kube-dns endpoint names (default: --bind-address)")
    p.add_argument("--cluster-domain", default="cluster.local", help="the cluster's DNS domain")
    p.add_argument("--cluster-dns-ip", type=_address, default="10.96.0.10",
                   help="clusterIP of the kube-dns Service (default 10.96.0.10)")
    p.add_argument("--ttl", type=int, default=30, help="TTL of answers and of negative caching (5-3600, default 30)")
    p.add_argument("--pods", choices=("insecure", "disabled"), default="insecure",
                   help="a-b-c-d.<ns>.pod.<domain> records (default insecure, as kubeadm's Corefile)")
    p.add_argument("--forward", action=argparse.BooleanOptionalAction, default=None,
                   help="forward names outside the cluster to --resolv-conf's servers "
                        "(default: when it names a non-loopback one)")
    p.add_argument("--metrics-port", type=_port, default=9153,
                   help="Prometheus metrics port on --bind-address (0 turns them off; default 9153)")
    p.add_argument("--recursion-from", default="", metavar="CIDRS",
                   help="comma-separated networks whose clients may have outside names forwarded (default: "
                        "loopback, the pod network 10.244.0.0/16, link-local and this server's addresses; "
                        "0.0.0.0/0,::/0 for anyone)")
    p.add_argument("--resolv-conf", default="/etc/resolv.conf", help="upstream resolvers (loopback ones are skipped)")
    p.add_argument("--register", action=argparse.BooleanOptionalAction, default=True,
                   help="keep the kube-system/kube-dns Service and an EndpointSlice pointing here (default on)")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    import uvloop

    from pyk8s.client.rest import Client
    from pyk8s.daemons.dns import DNSDaemon, DNSOptions, default_bind_address
    from pyk8s.dns.resolver import Resolver

    try:
        opts = DNSOptions(bind_address=args.bind_address or default_bind_address(), port=args.port,
                          advertise_address=args.advertise_address or "", cluster_domain=args.cluster_domain,
                          cluster_dns_ip=args.cluster_dns_ip, ttl=args.ttl, pods=args.pods, forward=args.forward,
                          resolv_conf=args.resolv_conf, register=args.register,
                          metrics_port=args.metrics_port or None,
                          recursion_from=tuple(c.strip() for c in args.recursion_from.split(",") if c.strip()))
        opts.recursion_networks()
        if opts.register:
            opts.endpoint_address()
        Resolver.check(ttl=opts.ttl, pods=opts.pods)
        client = Client.from_kubeconfig(args.kubeconfig, user_agent="pyk8s-dns", field_manager="pyk8s-dns")
    except (ValueError, OSError, KeyError) as exc:
        print(f"pyk8s dns: {exc}", file=sys.stderr)
        return 1
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(_run(DNSDaemon(client, opts)))


async def _run(daemon: DNSDaemon) -> int:
    signals.cancel_on_signals()
    try:
        await daemon.run()
    except asyncio.CancelledError:
        log.info("shutting down")
        return 0
    except (OSError, ValueError, BaseExceptionGroup) as exc:
        print(f"pyk8s dns: {_describe(exc)}", file=sys.stderr)
        return 1
    finally:
        with contextlib.suppress(Exception):
            await daemon.client.close()
    return 0


def _describe(exc: BaseException) -> str:
    if isinstance(exc, BaseExceptionGroup):
        if any(not isinstance(e, (OSError, ValueError, BaseExceptionGroup)) for e in exc.exceptions):
            raise exc
        return "; ".join(_describe(e) for e in exc.exceptions)
    if isinstance(exc, OSError) and exc.strerror:
        return f"cannot listen: {exc.strerror}"
    return str(exc)
