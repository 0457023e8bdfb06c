"""``pyk8s agent``: a node agent; for now the simulated kind (``--simulate N``).

``pyk8s agent --kubeconfig K --simulate N`` registers N kwok-style nodes
(``sim-0`` ... by default) with the given capacity, labels, roles and taints,
keeps their leases fresh and runs pods bound to them (see
``pyk8s.kubelet.simulated``).  SIGTERM/SIGINT stop it cleanly (exit 0); the
Nodes stay registered, as a stopped kubelet's would.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from typing import Any

from pyk8s.cli import signals
from pyk8s.kubelet.simulated.nodes import NodeTemplate, parse_labels, parse_taints


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("agent", help="run a node agent (simulated nodes with --simulate N)",
                              description="Run a node agent. With --simulate N: N simulated (kwok-style) nodes.")
    p.add_argument("--kubeconfig", required=True, help="kubeconfig to reach the API server")
    p.add_argument("--simulate", type=int, metavar="N", required=True, help="number of simulated nodes")
    p.add_argument("--node-name-prefix", default="sim-", help="node names are PREFIX0, PREFIX1, ... (default sim-)")
    p.add_argument("--cpu", default="4", help="cpu capacity per node (default 4)")
    p.add_argument("--memory", default="8Gi", help="memory capacity per node (default 8Gi)")
    p.add_argument("--pods", type=int, default=110, help="pod capacity per node (default 110)")
    p.add_argument("--labels", default="", help="extra node labels k=v,...")
    p.add_argument("--roles", default="", help="node roles, e.g. worker (labels node-role.kubernetes.io/<role>)")
    p.add_argument("--taints", default="", help="node taints k=v:NoSchedule,...")
    p.add_argument("--deletion-grace-cap", type=float, default=1.0,
                   help="confirm pod deletions after at most this many seconds (default 1)")
    p.add_argument("-v", "--verbose", action="store_true", help="log at debug level")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    if args.simulate < 1:
        print("error: --simulate must be at least 1", file=sys.stderr)
        return 1
    try:
        template = NodeTemplate(cpu=args.cpu, memory=args.memory, pods=args.pods, labels=parse_labels(args.labels),
                                taints=parse_taints(args.taints),
                                roles=tuple(r.strip() for r in args.roles.split(",") if r.strip()))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        asyncio.run(_main(args, template))
    except (OSError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


async def _main(args: argparse.Namespace, template: NodeTemplate) -> None:
    # Imported here: the client stack is only needed when the command runs.
    from pyk8s.client.rest import Client
    from pyk8s.kubelet.simulated.agent import SimulatedAgent

    client = Client.from_kubeconfig(args.kubeconfig, user_agent="pyk8s-agent/simulated",
                                    max_connections=64)
    agent = SimulatedAgent(client, count=args.simulate, template=template, prefix=args.node_name_prefix,
                           deletion_cap=args.deletion_grace_cap)
    signals.cancel_on_signals()
    try:
        await agent.run()
    except asyncio.CancelledError:
        pass
    finally:
        with contextlib.suppress(Exception):
            await client.close()
