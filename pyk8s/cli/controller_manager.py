"""``pyk8s controller-manager``: run the controllers against an API server.

Flags follow kube-controller-manager: ``--controllers`` takes ``*``,
``name`` and ``-name`` items; ``--leader-elect`` (on by default, as upstream;
``--leader-elect=false`` turns it off) campaigns for the Lease
``kube-system/kube-controller-manager`` so only one instance acts.  Tuning
knobs the tests need (node monitor period and grace period, cluster CIDR,
GC threshold) are flags too; durations take Go syntax (``40s``) or plain
seconds.  The default not-ready/unreachable tolerations are the API
server's (``pyk8s server --default-*-toleration-seconds``), as upstream.
``--use-service-account-credentials`` (off by default, as upstream) runs each controller as its own
ServiceAccount in ``kube-system`` (``apiserver/authorization/identities.CONTROLLER_ACCOUNTS`` names
them): with the kubeconfig's credentials the manager makes the account if missing and asks the
TokenRequest API for an hour's token, renewed at 80 % of its life
(``controllers/serviceaccountclients.py``, the home the embedded controller manager uses too);
shared informers and the leader lease stay on the kubeconfig's credentials, and the tokens
controller keeps them, as upstream.  SIGTERM/SIGINT stop the controllers and exit 0; losing the leader lease
exits 1; a bad flag or an unreadable kubeconfig is one line on stderr and
exit 1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from typing import Any

from pyk8s.apiserver.authorization import identities
from pyk8s.cli import signals
from pyk8s.client.rest import Client
from pyk8s.controllers import serviceaccountclients
from pyk8s.controllers.manager import REGISTRY, ControllerManager, select_controllers
from pyk8s.daemons import election, identity

log = logging.getLogger("pyk8s.controller-manager")


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("controller-manager", help="run the controllers (kube-controller-manager)",
                              description="Run the pyk8s controllers against an API server.")
    p.add_argument("--kubeconfig", required=True, help="kubeconfig for reaching the API server")
    p.add_argument("--controllers", default="*",
                   help="comma-separated: '*' for the defaults, 'name' to enable, '-name' to disable; known: "
                        + ", ".join(sorted(REGISTRY)))
    election.add_flags(p, default=True)
    p.add_argument("--node-monitor-grace-period", type=election.parse_seconds, default=40.0, metavar="DURATION",
                   help="how long a node may go unheard before it is marked unhealthy (40s)")
    p.add_argument("--node-monitor-period", type=election.parse_seconds, default=5.0, metavar="DURATION",
                   help="how often node health is checked (5s)")
    p.add_argument("--cluster-cidr", default="10.244.0.0/16")
    p.add_argument("--node-cidr-mask-size", type=int, default=24)
    p.add_argument("--terminated-pod-gc-threshold", type=int, default=12500)
    p.add_argument("--cluster-signing-cert-file", default="", help="PEM CA certificate that signs approved CSRs")
    p.add_argument("--cluster-signing-key-file", default="", help="PEM private key of that CA")
    p.add_argument("--cluster-signing-duration", type=election.parse_seconds, default=365 * 24 * 3600.0,
                   metavar="DURATION", help="longest validity of a signed certificate (8760h)")
    p.add_argument("--load-balancer-ip-pool", type=lb_pool_arg, default="", metavar="POOL",
                   help="addresses for LoadBalancer Services: CIDRs, ranges A-B, addresses (default: node IPs)")
    p.add_argument("--service-account-private-key-file", default="", metavar="FILE",
                   help="PEM key that signs legacy ServiceAccount token Secrets (the tokens controller)")
    p.add_argument("--root-ca-file", default="", metavar="FILE",
                   help="CA put in token Secrets' ca.crt (default: the kubeconfig's CA)")
    p.add_argument("--use-service-account-credentials", action="store_true",
                   help="run each controller with a token for its own ServiceAccount in kube-system")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    p.set_defaults(func=main)


def options_from(args: argparse.Namespace) -> dict[str, Any]:
    return {"node_monitor_grace_period": args.node_monitor_grace_period,
            "node_monitor_period": args.node_monitor_period,
            "cluster_cidr": args.cluster_cidr, "node_cidr_mask_size": args.node_cidr_mask_size,
            "terminated_pod_gc_threshold": args.terminated_pod_gc_threshold,
            "cluster_signing_cert_file": args.cluster_signing_cert_file,
            "cluster_signing_key_file": args.cluster_signing_key_file,
            "cluster_signing_duration": args.cluster_signing_duration,
            "load_balancer_ip_pool": args.load_balancer_ip_pool,
            "service_account_private_key_file": args.service_account_private_key_file,
            "root_ca_file": args.root_ca_file}


def lb_pool_arg(text: str) -> str:
    from pyk8s.controllers.lbpool import AddressPool

    try:
        AddressPool.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def main(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        select_controllers(args.controllers.split(","))
        settings = election.from_args(args)
        client = Client.from_kubeconfig(args.kubeconfig, user_agent="pyk8s-controller-manager",
                                        field_manager="kube-controller-manager")
    except (ValueError, OSError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return asyncio.run(_run(client, args, settings))


async def _run(client: Client, args: argparse.Namespace, settings: election.LeaseSettings) -> int:
    client_for = None
    if args.use_service_account_credentials:
        async def client_for(controller: str) -> Client:
            return await service_account_client(client, args.kubeconfig, controller)
    manager = ControllerManager(client, controllers=args.controllers.split(","), leader_elect=settings.enabled,
                                options=options_from(args), lease_duration=settings.lease_duration,
                                renew_deadline=settings.renew_deadline, retry_period=settings.retry_period,
                                client_for=client_for)
    signals.cancel_on_signals()
    try:
        await manager.run()
    except asyncio.CancelledError:
        log.info("shutting down")
        return 0
    finally:
        with contextlib.suppress(Exception):
            await client.close()
    # Only leader election returns by itself: the lease was lost.  Exit non-zero so a
    # supervisor restarts us as a fresh candidate (upstream exits the same way).
    log.error("leaderelection lost")
    return 1


async def service_account_client(root: Client, kubeconfig: str, controller: str) -> Client:
    """``controller``'s own client: a ServiceAccount token made with ``root``; upstream's root-client
    controllers, and one pyk8s has no account for (logged), keep the kubeconfig's credentials."""
    account = identities.CONTROLLER_ACCOUNTS.get(controller)
    kwargs: dict[str, Any] = {"user_agent": f"pyk8s-controller-manager/{account or controller}",
                              "field_manager": "kube-controller-manager"}
    client: Client
    if account and controller not in identities.MANAGER_CONTROLLERS:
        client = await serviceaccountclients.open_client(root, account, **kwargs)
    else:
        if controller not in identities.MANAGER_CONTROLLERS:
            log.warning("controller %s has no ServiceAccount of its own; it runs with the kubeconfig's credentials",
                        controller)
        client = Client.from_kubeconfig(kubeconfig, **kwargs)
    identity.log_identity(f"controller-manager/{controller}", client.config)
    return client
