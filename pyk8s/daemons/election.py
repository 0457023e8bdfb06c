"""Leader-election settings shared by the scheduler and controller-manager daemons.

Upstream's ``--leader-elect*`` flags (``componentbaseconfig.LeaderElectionConfiguration``):
on by default, a 15 s lease renewed every 2 s that is given up when no renewal
succeeded for 10 s.  The holder identity is ``<hostname>_<uuid>`` as upstream
writes it, so ``kubectl get leases -n kube-system`` names the machine and
two candidates on one machine still differ.

``add_flags`` / ``from_args`` give ``pyk8s scheduler``, ``pyk8s
controller-manager`` and ``pyk8s server`` the same flags, spelled as
upstream's: ``--leader-elect`` takes an optional boolean (``--leader-elect``,
``--leader-elect=false``) and durations take Go syntax (``15s``) or plain
seconds.
"""

from __future__ import annotations

import argparse
import socket
import uuid
from dataclasses import dataclass

from pyk8s.machinery.duration import parse_duration

LEASE_NAMESPACE = "kube-system"
SCHEDULER_LEASE = "kube-scheduler"
CONTROLLER_MANAGER_LEASE = "kube-controller-manager"  # fixed in pyk8s.controllers.manager


@dataclass(frozen=True, slots=True)
class LeaseSettings:
    enabled: bool = True
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0
    resource_name: str = ""
    resource_namespace: str = LEASE_NAMESPACE

    def validate(self) -> None:
        """Upstream's rule, checked before anything starts: duration > deadline > 1.2 x retry."""
        if self.enabled and not self.lease_duration > self.renew_deadline > self.retry_period * 1.2:
            raise ValueError("leader election: need --leader-elect-lease-duration > --leader-elect-renew-deadline"
                             " > 1.2 x --leader-elect-retry-period")


def holder_identity() -> str:
    return f"{socket.gethostname()}_{uuid.uuid4()}"


def parse_bool(text: str) -> bool:
    """A flag boolean as pflag reads it (true/false, 1/0, t/f, any case)."""
    value = text.strip().lower()
    if value in ("1", "t", "true"):
        return True
    if value in ("0", "f", "false"):
        return False
    raise argparse.ArgumentTypeError(f"invalid boolean: {text!r}")


def parse_seconds(text: str) -> float:
    """Seconds from a Go duration (``15s``, ``1m30s``) or a plain number of seconds."""
    try:
        value = float(text)
    except ValueError:
        try:
            value = parse_duration(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"negative duration: {text!r}")
    return value


def add_flags(parser: argparse.ArgumentParser, *, default: bool = True, resource_name: str = "") -> None:
    d = LeaseSettings()
    parser.add_argument("--leader-elect", type=parse_bool, nargs="?", const=True, default=default, metavar="BOOL",
                        help="only act while holding the leader Lease, so replicas can run for HA "
                             f"(default {str(default).lower()})")
    parser.add_argument("--leader-elect-lease-duration", type=parse_seconds, default=d.lease_duration,
                        metavar="DURATION", help="how long a standby waits before taking an unrenewed lease (15s)")
    parser.add_argument("--leader-elect-renew-deadline", type=parse_seconds, default=d.renew_deadline,
                        metavar="DURATION", help="how long the leader retries renewing before it stops (10s)")
    parser.add_argument("--leader-elect-retry-period", type=parse_seconds, default=d.retry_period,
                        metavar="DURATION", help="how often to try to acquire or renew (2s)")
    if resource_name:
        parser.add_argument("--leader-elect-resource-name", default=resource_name,
                            help=f"name of the Lease (default {resource_name})")
        parser.add_argument("--leader-elect-resource-namespace", default=LEASE_NAMESPACE,
                            help=f"namespace of the Lease (default {LEASE_NAMESPACE})")


def from_args(args: argparse.Namespace) -> LeaseSettings:
    """The settings ``add_flags`` parsed; raises ValueError when they are inconsistent."""
    settings = LeaseSettings(enabled=bool(args.leader_elect), lease_duration=args.leader_elect_lease_duration,
                             renew_deadline=args.leader_elect_renew_deadline,
                             retry_period=args.leader_elect_retry_period,
                             resource_name=getattr(args, "leader_elect_resource_name", ""),
                             resource_namespace=getattr(args, "leader_elect_resource_namespace", LEASE_NAMESPACE))
    settings.validate()
    return settings
