"""``pyk8s scheduler``: run the scheduler alone against an API server (kube-scheduler).

``pyk8s scheduler --kubeconfig K`` binds pending pods whose ``schedulerName``
is ``default-scheduler``.  As upstream, leader election is on by default:
replicas campaign for the Lease ``kube-system/kube-scheduler`` and only the
holder schedules (``--leader-elect=false`` turns that off).  SIGTERM/SIGINT
stop it, give the lease up and exit 0; losing the lease exits 1 so a
supervisor restarts a fresh candidate (upstream does the same); a bad flag or
an unreadable kubeconfig is one line on stderr and exit 1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from typing import TYPE_CHECKING, Any

from pyk8s.cli import signals
from pyk8s.daemons import election

if TYPE_CHECKING:
    from pyk8s.daemons.scheduler import SchedulerDaemon

log = logging.getLogger("pyk8s.scheduler")


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("scheduler", help="run the scheduler (kube-scheduler)",
                              description="Run the pyk8s scheduler against an API server.")
    p.add_argument("--kubeconfig", required=True, help="kubeconfig for reaching the API server")
    election.add_flags(p, default=True, resource_name=election.SCHEDULER_LEASE)
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Imported here: every ``pyk8s`` command builds this parser; only this one needs the scheduler.
    import uvloop

    from pyk8s.client.rest import Client
    from pyk8s.daemons.scheduler import SchedulerDaemon

    try:
        settings = election.from_args(args)
        client = Client.from_kubeconfig(args.kubeconfig, user_agent="pyk8s-scheduler", field_manager="kube-scheduler")
    except (ValueError, OSError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(_run(SchedulerDaemon(client, election=settings)))


async def _run(daemon: SchedulerDaemon) -> int:
    signals.cancel_on_signals()
    try:
        await daemon.run()
    except asyncio.CancelledError:
        log.info("shutting down")
        return 0
    finally:
        with contextlib.suppress(Exception):
            await daemon.client.close()
    log.error("leaderelection lost")
    return 1
