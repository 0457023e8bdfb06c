"""``pyk8s network-policy``: enforce NetworkPolicies for one node's pods with nftables, as its own process.

    pyk8s network-policy --kubeconfig K --node-name N
    pyk8s network-policy --cleanup

A kubelet with containerd already runs this agent beside itself (see
``pyk8s.daemons.kubelet``); this command is for running it alone, say on a
node whose kubelet is not pyk8s's.  It must run in the node's network
namespace and keeps one table there, ``inet pyk8s-netpol``; ``--cleanup``
deletes that table and exits.  SIGTERM/SIGINT stop it and leave the table in
place (pods stay protected), as a restarting network agent should.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import socket
import sys
from typing import Any

from pyk8s.cli import signals


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("network-policy", help="enforce NetworkPolicies for this node's pods (nftables)",
                              description="Keep this node's nftables table in line with the cluster's NetworkPolicies.")
    p.add_argument("--kubeconfig", default="", help="kubeconfig to reach the API server (required unless --cleanup)")
    p.add_argument("--node-name", default="", help="the Node whose pods to protect (default: the host name)")
    p.add_argument("--cleanup", action="store_true", help="delete the nftables table this agent installs, then exit")
    p.add_argument("-v", "--verbose", action="store_true", help="log at debug level")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    from pyk8s.networkpolicy.agent import NftError, nft_apply, nft_available
    from pyk8s.networkpolicy.nftables import delete_script

    if not nft_available():
        print("error: nft (the nftables tool) is not installed", file=sys.stderr)
        return 1
    if args.cleanup:
        try:
            asyncio.run(nft_apply(delete_script()))
        except NftError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        return 0
    if not args.kubeconfig:
        print("error: --kubeconfig is required", file=sys.stderr)
        return 2
    asyncio.run(_main(args))
    return 0


async def _main(args: argparse.Namespace) -> None:
    from pyk8s.client.rest import Client
    from pyk8s.networkpolicy.agent import NetworkPolicyAgent

    node = args.node_name or socket.gethostname().lower()
    client = Client.from_kubeconfig(args.kubeconfig, user_agent=f"pyk8s-network-policy ({node})")
    signals.cancel_on_signals()
    try:
        await NetworkPolicyAgent(client, node).run()
    except asyncio.CancelledError:
        pass
    finally:
        with contextlib.suppress(Exception):
            await client.close()
