"""``pyk8s kubelet``: run a kubelet (and its container runtime) as its own process.

    pyk8s kubelet --kubeconfig K [--node-name N] [--pod-cidr C] [--root-dir D]
                  [--cluster-dns IP] [--cluster-domain cluster.local]
                  [--image-gc-high-threshold 85] [--image-gc-low-threshold 80]
                  [--minimum-image-ttl-duration 2m0s] [--maximum-dead-containers-per-container 1]
                  [--maximum-dead-containers -1]
                  [--eviction-hard memory.available<100Mi,...] [--eviction-soft S --eviction-soft-grace-period G]
                  [--eviction-minimum-reclaim R] [--eviction-pressure-transition-period 5m0s]
                  [--sync-frequency 1m0s] [--file-check-frequency 20s]
    pyk8s kubelet --reset [--root-dir D]

The node is named after the host unless ``--node-name`` says otherwise.  As
root with containerd installed, pods run as real containers in pyk8s's
managed containerd; otherwise as plain processes, which the kubelet announces
as not isolated.  SIGTERM/SIGINT stop the kubelet; its pods keep running and a
restarted kubelet adopts them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import pathlib
import socket
import sys
from typing import Any

from pyk8s.cli import signals


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("kubelet", help="run a kubelet: pods bound to this node run as containers",
                              description="Run a kubelet and its container runtime on this machine.")
    p.add_argument("--kubeconfig", default="", help="kubeconfig to reach the API server (required)")
    p.add_argument("--node-name", default="", help="the Node's name (default: the host name)")
    p.add_argument("--pod-cidr", default="", help="pod CIDR for this node's CNI bridge (default: from node IPAM)")
    p.add_argument("--root-dir", type=pathlib.Path, default=pathlib.Path("/var/lib/pyk8s/kubelet"),
                   help="where the kubelet and its runtime keep their state")
    p.add_argument("--pod-manifest-path", default="", help="directory of static pod manifests (run as mirror pods)")
    p.add_argument("--cluster-dns", default="10.96.0.10", help="comma-separated DNS server IPs for pods")
    p.add_argument("--cluster-domain", default="cluster.local", help="the cluster's DNS domain")
    p.add_argument("--resolv-conf", default="/etc/resolv.conf",
                   help="resolver configuration for pods with dnsPolicy Default (empty: none)")
    p.add_argument("--node-ip", default="", help="the node's InternalIP (default: the host's first global IPv4)")
    p.add_argument("--registry-port", type=int, default=5000,
                   help="port on 127.0.0.1 of the node's local image registry (default 5000)")
    p.add_argument("--process-runtime", action="store_true",
                   help="run pods as plain processes even where containerd is available (no isolation)")
    p.add_argument("--reset", action="store_true",
                   help="remove every pod, the managed containerd, mounts and the CNI bridge of this node, then exit")
    p.add_argument("--image-gc-high-threshold", type=int, default=85,
                   help="image filesystem usage percent above which unused images are removed (default 85)")
    p.add_argument("--image-gc-low-threshold", type=int, default=80,
                   help="image filesystem usage percent image garbage collection frees down to (default 80)")
    p.add_argument("--minimum-image-ttl-duration", default="2m0s",
                   help="minimum age of an unused image before it is garbage collected (default 2m0s)")
    p.add_argument("--maximum-dead-containers-per-container", type=int, default=1,
                   help="dead instances kept per container (default 1; negative: no limit)")
    p.add_argument("--maximum-dead-containers", type=int, default=-1,
                   help="dead containers kept on the node in all (default -1: no limit)")
    p.add_argument("--allowed-unsafe-sysctls", default="",
                   help="comma-separated unsafe sysctls or prefixes (kernel.msg*) pods may set; namespaced ones only")
    p.add_argument("--eviction-hard", default=None,
                   help="hard eviction thresholds, e.g. memory.available<1Gi (default memory.available<100Mi,"
                        "nodefs.available<10%%,imagefs.available<15%%,nodefs.inodesFree<5%%; naming any replaces all)")
    p.add_argument("--eviction-soft", default="", help="soft eviction thresholds, e.g. memory.available<1.5Gi")
    p.add_argument("--eviction-soft-grace-period", default="",
                   help="grace period per soft threshold, e.g. memory.available=1m30s")
    p.add_argument("--eviction-minimum-reclaim", default="",
                   help="minimum reclaim per signal once a threshold is met, e.g. memory.available=0Mi")
    p.add_argument("--eviction-pressure-transition-period", default="5m0s",
                   help="how long a pressure condition stays after its threshold cleared (default 5m0s)")
    p.add_argument("--sync-frequency", default="1m0s",
                   help="max period between synchronizing running containers and config (default 1m0s)")
    p.add_argument("--file-check-frequency", default="20s",
                   help="duration between checking config files for new data (default 20s)")
    p.add_argument("-v", "--verbose", action="store_true", help="log at debug level")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    if not args.kubeconfig and not args.reset:
        print("error: --kubeconfig is required", file=sys.stderr)
        return 2
    if args.reset:
        from pyk8s.daemons.kubelet import reset_node

        for line in asyncio.run(reset_node(args.root_dir.resolve())):
            print(line)
        return 0
    from pyk8s.kubelet import sysctl

    try:
        args.gc_policy = gc_policy(args)
        args.eviction = eviction_config(args)
        args.sync_frequency = positive_duration(args.sync_frequency, "--sync-frequency")
        args.file_check_frequency = positive_duration(args.file_check_frequency, "--file-check-frequency")
        args.allowed_unsafe_sysctls = sysctl.validate_patterns(args.allowed_unsafe_sysctls.split(","))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    args.root_dir = args.root_dir.resolve()
    args.pod_manifest_path = pathlib.Path(args.pod_manifest_path).resolve() if args.pod_manifest_path else None
    try:
        asyncio.run(_main(args))
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def gc_policy(args: argparse.Namespace) -> Any:
    """The garbage collection flags as a GCPolicy; ValueError with upstream's wording when they are invalid."""
    from pyk8s.kubelet.gc import GCPolicy, policy_errors
    from pyk8s.machinery.duration import parse_duration

    try:
        min_age = parse_duration(args.minimum_image_ttl_duration)
    except ValueError:
        raise ValueError(f"invalid argument {args.minimum_image_ttl_duration!r} for "
                         "\"--minimum-image-ttl-duration\" flag: time: invalid duration") from None
    policy = GCPolicy(high_percent=args.image_gc_high_threshold, low_percent=args.image_gc_low_threshold,
                      min_image_age=min_age, max_per_pod_container=args.maximum_dead_containers_per_container,
                      max_containers=args.maximum_dead_containers)
    errors = policy_errors(policy)
    if errors:
        raise ValueError(", ".join(errors))
    return policy


def positive_duration(text: str, flag: str) -> float:
    """A period flag's seconds; ValueError when it is not a duration or not above zero (a zero period would spin)."""
    from pyk8s.machinery.duration import parse_duration

    try:
        seconds = parse_duration(text)
    except ValueError:
        raise ValueError(f"invalid argument {text!r} for \"{flag}\" flag: time: invalid duration") from None
    if seconds <= 0:
        raise ValueError(f"invalid argument {text!r} for \"{flag}\" flag: must be greater than zero")
    return seconds


def eviction_config(args: argparse.Namespace) -> Any:
    """The ``--eviction-*`` flags as an EvictionConfig; ValueError when they are invalid."""
    from pyk8s.kubelet.eviction import thresholds
    from pyk8s.machinery.duration import parse_duration

    hard = thresholds.DEFAULT_HARD if args.eviction_hard is None else args.eviction_hard
    try:
        period = parse_duration(args.eviction_pressure_transition_period)
    except ValueError:
        raise ValueError(f"invalid argument {args.eviction_pressure_transition_period!r} for "
                         "\"--eviction-pressure-transition-period\" flag: time: invalid duration") from None
    return thresholds.EvictionConfig(
        thresholds=thresholds.parse_config(hard, args.eviction_soft, args.eviction_soft_grace_period,
                                           args.eviction_minimum_reclaim),
        pressure_transition_period=period)


async def _main(args: argparse.Namespace) -> None:
    # Imported here: the node stack is only needed when the command runs.
    from pyk8s.client.rest import Client
    from pyk8s.daemons.kubelet import build_node
    from pyk8s.kubelet import memory
    from pyk8s.kubelet.kubelet import API_CONNECTIONS, KubeletConfig

    memory.limit_arenas()  # before the gRPC and executor threads start

    config = KubeletConfig(node_name=args.node_name or socket.gethostname().lower(), root_dir=args.root_dir,
                           cluster_dns=[ip.strip() for ip in args.cluster_dns.split(",") if ip.strip()],
                           cluster_domain=args.cluster_domain, address=args.node_ip, resolv_conf=args.resolv_conf,
                           pod_manifest_path=args.pod_manifest_path, gc=args.gc_policy,
                           allowed_unsafe_sysctls=tuple(args.allowed_unsafe_sysctls), eviction=args.eviction,
                           sync_frequency=args.sync_frequency, file_check_frequency=args.file_check_frequency)
    client = Client.from_kubeconfig(args.kubeconfig, user_agent=f"kubelet/v1.32.0 ({config.node_name})",
                                    max_connections=API_CONNECTIONS)
    signals.cancel_on_signals()
    try:
        node = await build_node(client, config, pod_cidr=args.pod_cidr, force_process=args.process_runtime,
                                registry_port=args.registry_port)
        await node.run()
    except asyncio.CancelledError:
        pass
    finally:
        with contextlib.suppress(Exception):
            await client.close()
