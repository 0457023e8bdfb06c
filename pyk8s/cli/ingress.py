"""``pyk8s ingress``: run the ingress controller (and the nginx it owns) against an API server.

Run it where the traffic should arrive (a node, or a node's network
namespace): nginx proxies straight to pod IPs, so it must reach them.
``--http-port``/``--https-port`` (80, 443) and ``--bind-address``
(repeatable; every address by default) say where nginx listens;
``--publish-address`` (repeatable) is what Ingress statuses show, else the
load-balancer IPs of ``--publish-service`` (a LoadBalancer Service the
controller keeps, with this nginx as its endpoints), else the InternalIPs of
``--node-name``, else the specific bind addresses.  nginx's
files (configuration, certificates, logs, temp files) live in
``--data-dir``.  SIGTERM/SIGINT stop nginx gracefully and exit 0; no nginx
binary, or a bad flag, is one line on stderr and exit 1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import logging
import sys
from pathlib import Path
from typing import Any

from pyk8s.cli import signals
from pyk8s.client.rest import Client
from pyk8s.daemons import ingress as ingress_daemon
from pyk8s.ingress.controller import CLASS_NAME, IngressOptions
from pyk8s.ingress.nginx import NginxError

log = logging.getLogger("pyk8s.ingress")


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid port: {text!r}") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port out of range: {value}")
    return value


def _address(text: str) -> str:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid IP address: {text!r}") from None


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("ingress", help="run the ingress controller (nginx routing Ingress objects)",
                              description="Serve Ingresses of class pyk8s with an nginx this process owns.")
    p.add_argument("--kubeconfig", required=True, help="kubeconfig for reaching the API server")
    p.add_argument("--data-dir", type=Path, default=Path.home() / ".pyk8s" / "ingress",
                   help="nginx's configuration, certificates and logs (default ~/.pyk8s/ingress)")
    p.add_argument("--http-port", type=_port, default=80, help="HTTP port (default 80)")
    p.add_argument("--https-port", type=_port, default=443, help="HTTPS port (default 443)")
    p.add_argument("--bind-address", type=_address, action="append", default=[], metavar="IP",
                   help="address to listen on, repeatable (default: every address)")
    p.add_argument("--publish-address", type=_address, action="append", default=[], metavar="IP",
                   help="address written to Ingress statuses, repeatable (default: the node's InternalIPs)")
    p.add_argument("--publish-service", default="kube-system/pyk8s-ingress", metavar="NAMESPACE/NAME",
                   help="LoadBalancer Service kept for the controller (its endpoints: this nginx), whose address "
                        "Ingress statuses show once it has one ('' for none; default kube-system/pyk8s-ingress)")
    p.add_argument("--node-name", default="", help="the node this runs on (its InternalIPs are published)")
    p.add_argument("--ingress-class", default=CLASS_NAME, help=f"the IngressClass to create and serve ({CLASS_NAME})")
    p.add_argument("--nginx", default="", metavar="PATH", help="the nginx binary (default: nginx on PATH)")
    p.add_argument("--worker-processes", default="auto", help="nginx worker_processes (default auto)")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    p.set_defaults(func=main)


def options_from(args: argparse.Namespace) -> IngressOptions:
    return IngressOptions(data_dir=args.data_dir.resolve(), class_name=args.ingress_class, http_port=args.http_port,
                          https_port=args.https_port, bind_addresses=tuple(args.bind_address),
                          publish_addresses=tuple(args.publish_address), node_name=args.node_name,
                          worker_processes=args.worker_processes, publish_service=args.publish_service)


def main(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        client = Client.from_kubeconfig(args.kubeconfig, user_agent="pyk8s-ingress", field_manager="pyk8s-ingress")
        controller = ingress_daemon.build(client, options_from(args), nginx_binary=args.nginx)
    except (NginxError, ValueError, OSError, KeyError) as exc:
        print(f"pyk8s ingress: {exc}", file=sys.stderr)
        return 1
    return asyncio.run(_run(client, controller))


async def _run(client: Client, controller: Any) -> int:
    signals.cancel_on_signals()
    try:
        await controller.run()
    except asyncio.CancelledError:
        log.info("shutting down")
    finally:
        with contextlib.suppress(Exception):
            await client.close()
    return 0
