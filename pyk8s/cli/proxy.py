"""``pyk8s proxy``: the service proxy (kube-proxy) for this node, as its own process.

    pyk8s proxy --kubeconfig K [--hostname-override N] [--proxy-mode nftables|iptables]
                [--cluster-cidr C] [--nodeport-addresses CIDRS|primary]
                [--healthz-bind-address 0.0.0.0:10256] [--metrics-bind-address 127.0.0.1:10249]
    pyk8s proxy --cleanup

Flags are kube-proxy's.  ``nftables`` is the default mode; ``ipvs`` is
refused with the reason (this kernel has no IP Virtual Server).  Run it in
the node's network namespace, beside the kubelet.  ``--cleanup`` removes what
either mode installed (the ``ip kube-proxy`` table; the KUBE-* chains and
jumps) and exits.  SIGTERM/SIGINT stop it and leave the rules in place, as
upstream does, so traffic keeps flowing across a restart.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import logging
import socket
import sys
from typing import Any

from pyk8s.cli import signals
from pyk8s.machinery.duration import parse_duration


def _duration(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _cidr_or_empty(text: str) -> str:
    if not text:
        return ""
    try:
        return str(ipaddress.ip_network(text, strict=False))
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid CIDR: {text!r}") from None


def _nodeport_addresses(text: str) -> tuple[str, ...]:
    items = tuple(i.strip() for i in text.split(",") if i.strip())
    for item in items:
        if item != "primary":
            _cidr_or_empty(item)
    return items


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("proxy", help="run the service proxy (kube-proxy) for this node",
                              description="Program Services into this node's packet rules (kube-proxy).")
    p.add_argument("--kubeconfig", default="", help="kubeconfig to reach the API server (required)")
    p.add_argument("--hostname-override", default="", help="this node's name (default: the host name)")
    p.add_argument("--proxy-mode", default="nftables", help="nftables (default) or iptables; ipvs is not available")
    p.add_argument("--cluster-cidr", default="", type=_cidr_or_empty,
                   help="the pods' CIDR: traffic from outside it to Services is masqueraded "
                        "(default: the node's pod CIDR)")
    p.add_argument("--nodeport-addresses", default=(), type=_nodeport_addresses,
                   help="comma-separated CIDRs (or 'primary') NodePorts answer on (default: all local addresses "
                        "in iptables mode, the node IPs in nftables mode)")
    p.add_argument("--healthz-bind-address", default="0.0.0.0:10256", help="ip:port of /healthz ('' = off)")
    p.add_argument("--metrics-bind-address", default="127.0.0.1:10249", help="ip:port of /metrics ('' = off)")
    p.add_argument("--sync-period", default="30s", type=_duration, help="full resync period (default 30s)")
    p.add_argument("--min-sync-period", default="1s", type=_duration, help="least time between syncs (default 1s)")
    p.add_argument("--cleanup", action="store_true", help="remove every rule the proxy installed, then exit")
    p.add_argument("-v", "--verbose", action="store_true", help="log at debug level")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pyk8s.proxy import backends
    from pyk8s.proxy.interface import ProxyError

    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    if args.cleanup:
        try:
            for item in backends.cleanup_all():
                print(f"removed {item}")
        except ProxyError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        return 0
    if args.proxy_mode not in ("nftables", "iptables"):
        try:
            backends.new_provider(args.proxy_mode, _config())
        except ProxyError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    if not args.kubeconfig:
        print("error: --kubeconfig is required", file=sys.stderr)
        return 2
    try:
        asyncio.run(_main(args))
    except (OSError, ProxyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def _config() -> Any:
    from pyk8s.proxy.interface import ProxyConfig

    return ProxyConfig(node_name="")


async def _main(args: argparse.Namespace) -> None:
    from pyk8s.client.rest import Client
    from pyk8s.proxy.proxier import Proxier, ProxyOptions

    options = ProxyOptions(hostname=args.hostname_override or socket.gethostname().lower(), mode=args.proxy_mode,
                           cluster_cidr=args.cluster_cidr, nodeport_addresses=args.nodeport_addresses,
                           healthz_bind_address=args.healthz_bind_address,
                           metrics_bind_address=args.metrics_bind_address,
                           min_sync_period=args.min_sync_period, sync_period=args.sync_period)
    client = Client.from_kubeconfig(args.kubeconfig, user_agent=f"kube-proxy/v1.32.0 ({options.hostname})")
    signals.cancel_on_signals()
    try:
        await Proxier(client, options).run()
    except asyncio.CancelledError:
        pass
    finally:
        with contextlib.suppress(Exception):
            await client.close()
