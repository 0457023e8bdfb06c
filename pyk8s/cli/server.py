"""``pyk8s server``: run the control plane in this process.

The API server, and beside it (``pyk8s.daemons.controlplane``) the
controller manager (``--controllers``) and the scheduler, both with leader
election on their ``kube-system`` Leases (``--leader-elect*``), plus
``--simulate-nodes N`` simulated nodes.  ``--disable controller-manager,
scheduler`` (or ``--disable-scheduler`` / ``--disable-controller-manager``,
as k3s spells them) leaves components out, e.g. to run them as separate
``pyk8s controller-manager`` / ``pyk8s scheduler`` processes.

Flags follow kube-apiserver's names where one exists.  Storage is SQLite in
the data directory unless ``--etcd-servers`` (or ``--storage etcd``) says
otherwise.  Once the server is ready, stdout tells the user how to reach it;
logs go to stderr.  SIGTERM and SIGINT cancel the assembly, which closes the
listeners and the storage before the process exits 0.  Mistakes in the
command line or environment (a busy port, an unwritable directory) are one
line on stderr and exit code 1, never a traceback; a data dir another
server holds is one of them, found before anything in it is touched.

At start the soft open-file limit is raised to the hard limit, as Go's
runtime does for kube-apiserver: every client connection is a descriptor,
and the common soft limit of 1,024 would let idle clients lock others out.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import logging
import os
import resource
import signal
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pyk8s.apiserver.admission import chain as admission_chain
from pyk8s.apiserver.authorization.union import parse_modes
from pyk8s.apiserver.config import ServerConfig
from pyk8s.cli import auditflags, authnflags, controller_manager
from pyk8s.cli.flagtypes import non_negative_int
from pyk8s.controllers.manager import select_controllers
from pyk8s.daemons import controlplane, election
from pyk8s.daemons import server as daemons_server
from pyk8s.machinery.duration import parse_duration
from pyk8s.storage import encryption
from pyk8s.util import gcpolicy

log = logging.getLogger("pyk8s.server")
#: Components to leave out, added to --disable (lets a test harness keep a bare API server).
DISABLE_ENV = "PYK8S_DISABLE"


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid port: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port out of range: {value}")
    return value


def _duration(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _min_revisions() -> int:
    """Revisions compaction always keeps; PYK8S_COMPACTION_MIN_REVISIONS lets tests compact everything."""
    text = os.environ.get("PYK8S_COMPACTION_MIN_REVISIONS", "")
    return int(text) if text.isdigit() else 1000


def _cidr(text: str) -> str:
    try:
        net = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid CIDR: {text!r}") from None
    if net.num_addresses < 4:
        raise argparse.ArgumentTypeError(f"service range too small: {text!r}")
    return str(net)


def _address(text: str) -> str:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid IP address: {text!r}") from None


def _admission_plugins(value: str) -> tuple[str, ...]:
    names = admission_chain.parse_names([value])
    for name in names:
        if name not in admission_chain.NAMES:
            raise argparse.ArgumentTypeError(f'plugin "{name}" is unknown (known: {", ".join(admission_chain.NAMES)})')
    return names


def _flat(values: list[tuple[str, ...]]) -> tuple[str, ...]:
    return tuple(n for names in values for n in names)


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("server", help="run the control plane (API server, controllers, scheduler)",
                              description="Run the pyk8s control plane in this process.")
    p.add_argument("--data-dir", required=True, type=Path, help="directory for certificates, kubeconfig and state")
    p.add_argument("--bind-address", default="127.0.0.1", type=_address, help="address to listen on")
    p.add_argument("--secure-port", default=6443, type=_port, help="HTTPS port (default 6443)")
    p.add_argument("--insecure-port", default=0, type=_port,
                   help="plain-HTTP port on 127.0.0.1 for debugging; requests act as the admin (default off)")
    p.add_argument("--storage", choices=("sqlite", "etcd"), default=None,
                   help="storage backend (default sqlite, or etcd when --etcd-servers is given)")
    p.add_argument("--etcd-servers", default="", help="etcd endpoints, e.g. http://127.0.0.1:2379")
    p.add_argument("--service-cluster-ip-range", default="10.96.0.0/12", type=_cidr)
    p.add_argument("--service-node-port-range", default="30000-32767")
    p.add_argument("--default-not-ready-toleration-seconds", type=non_negative_int, default=300, metavar="SECONDS",
                   help="tolerationSeconds of the not-ready:NoExecute toleration added to every new pod "
                        "that has none (default 300)")
    p.add_argument("--default-unreachable-toleration-seconds", type=non_negative_int, default=300, metavar="SECONDS",
                   help="tolerationSeconds of the unreachable:NoExecute toleration added to every new pod "
                        "that has none (default 300)")
    p.add_argument("--enable-admission-plugins", type=_admission_plugins, action="append", default=[],
                   metavar="NAMES", help="admission plugins to enable beside the default ones (comma-separated)")
    p.add_argument("--disable-admission-plugins", type=_admission_plugins, action="append", default=[],
                   metavar="NAMES", help="admission plugins to disable, even default ones (comma-separated)")
    p.add_argument("--admission-control-config-file", default="", metavar="FILE",
                   help="AdmissionConfiguration file (PodSecurity's defaults and exemptions)")
    p.add_argument("--max-requests-inflight", type=non_negative_int, default=400, metavar="N",
                   help="most non-mutating requests in flight at once; more get 429 (0 = unlimited; default 400)")
    p.add_argument("--authorization-mode", type=_authorization_modes, default="Node,RBAC", metavar="MODES",
                   help="ordered authorizers: Node, RBAC, AlwaysAllow, AlwaysDeny (default Node,RBAC)")
    p.add_argument("--max-mutating-requests-inflight", type=non_negative_int, default=200, metavar="N",
                   help="most mutating requests in flight at once; more get 429 (0 = unlimited; default 200)")
    p.add_argument("--disable", action="append", default=[], metavar="COMPONENTS",
                   help="comma-separated components not to run, repeatable: "
                        f"{', '.join(controlplane.COMPONENTS)} (${DISABLE_ENV} adds to it)")
    p.add_argument("--disable-controller-manager", action="store_true", help="same as --disable controller-manager")
    p.add_argument("--disable-scheduler", action="store_true", help="same as --disable scheduler")
    p.add_argument("--controllers", default="*",
                   help="controllers the embedded controller manager runs: '*', 'name', '-name' (default '*')")
    election.add_flags(p, default=True)
    p.add_argument("--load-balancer-ip-pool", type=controller_manager.lb_pool_arg, default="", metavar="POOL",
                   help="addresses for LoadBalancer Services: CIDRs, ranges A-B, addresses (default: node IPs)")
    p.add_argument("--ingress-http-port", type=_port, default=80, metavar="PORT",
                   help="port the embedded ingress controller's nginx serves HTTP on (default 80)")
    p.add_argument("--ingress-https-port", type=_port, default=443, metavar="PORT",
                   help="port the embedded ingress controller's nginx serves HTTPS on (default 443)")
    p.add_argument("--simulate-nodes", type=non_negative_int, default=0, metavar="N",
                   help="also run N simulated (kwok-style) nodes sim-0..sim-N-1 in this process (default 0)")
    p.add_argument("--encryption-provider-config", default=None, metavar="FILE",
                   help="an apiserver.config.k8s.io/v1 EncryptionConfiguration: how Secrets (and other listed "
                        "resources) are encrypted at rest")
    p.add_argument("--cluster-signing-duration", default="8760h", type=_duration, metavar="DURATION",
                   help="longest validity of a certificate signed for a CSR (default 8760h, one year)")
    p.add_argument("--etcd-compaction-interval", default="5m", type=_duration,
                   help="how often old storage history is compacted, as a Go duration (0 disables; default 5m)")
    authnflags.add_flags(p)
    auditflags.add_flags(p)
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    p.set_defaults(func=run)


def storage_url(args: argparse.Namespace) -> str:
    kind = args.storage or ("etcd" if args.etcd_servers else "sqlite")
    if kind == "etcd":
        return args.etcd_servers or "http://127.0.0.1:2379"
    return f"sqlite://{(args.data_dir / 'state.db').resolve()}"


def disabled(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> frozenset[str]:
    """Components left out: every --disable list, the two --disable-X flags and $PYK8S_DISABLE."""
    env = os.environ if environ is None else environ
    items = [*args.disable, env.get(DISABLE_ENV, "")]
    names = {c.strip() for item in items for c in item.split(",") if c.strip()}
    if args.disable_controller_manager:
        names.add(controlplane.CONTROLLER_MANAGER)
    if args.disable_scheduler:
        names.add(controlplane.SCHEDULER)
    return frozenset(names)


def control_plane(args: argparse.Namespace) -> controlplane.ControlPlaneOptions:
    """What the embedded components run with; raises ValueError for bad --controllers or lease timings."""
    controllers = tuple(args.controllers.split(","))
    select_controllers(controllers)
    return controlplane.ControlPlaneOptions(controllers=controllers, election=election.from_args(args),
                                            simulate_nodes=args.simulate_nodes,
                                            ingress_ports=(args.ingress_http_port, args.ingress_https_port),
                                            controller_options={"load_balancer_ip_pool": args.load_balancer_ip_pool,
                                                                **signing_options(args)})


def signing_options(args: argparse.Namespace) -> dict[str, Any]:
    """The embedded controller manager signs CSRs with the cluster CA in the data dir."""
    pki_dir = args.data_dir.resolve() / "pki"
    return {"cluster_signing_cert_file": str(pki_dir / "ca.crt"), "cluster_signing_key_file": str(pki_dir / "ca.key"),
            "cluster_signing_duration": args.cluster_signing_duration}


def _authorization_modes(value: str | tuple[str, ...]) -> tuple[str, ...]:
    if isinstance(value, tuple):
        return value
    try:
        return parse_modes([value])
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def options(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> daemons_server.ServerOptions:
    config = ServerConfig(data_dir=args.data_dir.resolve(), bind_address=args.bind_address,
                          secure_port=args.secure_port, insecure_port=args.insecure_port,
                          service_cluster_ip_range=args.service_cluster_ip_range,
                          max_requests_inflight=args.max_requests_inflight,
                          max_mutating_requests_inflight=args.max_mutating_requests_inflight,
                          authorization_modes=_authorization_modes(args.authorization_mode),
                          **authnflags.config_kwargs(args), **auditflags.config_kwargs(args))
    disable = disabled(args, environ)
    unknown = disable - set(controlplane.COMPONENTS)
    if unknown:
        log.warning("--disable: ignoring unknown components %s (known: %s)", ", ".join(sorted(unknown)),
                    ", ".join(controlplane.COMPONENTS))
    admission_chain.enabled_names(_flat(args.enable_admission_plugins),  # overlaps fail here, as upstream
                                  _flat(args.disable_admission_plugins))
    if args.encryption_provider_config:
        encryption.load_config(args.encryption_provider_config)  # a bad file fails here, before anything starts
    if args.admission_control_config_file:
        from pyk8s.apiserver.admission.podsecurity import config as podsecurity_config

        podsecurity_config.load(args.admission_control_config_file)  # likewise
    return daemons_server.ServerOptions(config=config, storage_url=storage_url(args),
                                        encryption_provider_config=args.encryption_provider_config,
                                        node_port_range=args.service_node_port_range, disable=disable,
                                        not_ready_toleration_seconds=args.default_not_ready_toleration_seconds,
                                        unreachable_toleration_seconds=args.default_unreachable_toleration_seconds,
                                        enable_admission_plugins=_flat(args.enable_admission_plugins),
                                        disable_admission_plugins=_flat(args.disable_admission_plugins),
                                        admission_control_config_file=args.admission_control_config_file,
                                        compaction_interval=args.etcd_compaction_interval,
                                        compaction_min_revisions=_min_revisions(),
                                        extra=controlplane.components(control_plane(args)))


def _usage(config: ServerConfig) -> str:
    return (f"pyk8s server is running at {config.url}\n"
            "To use it:\n"
            f"  export KUBECONFIG={config.kubeconfig_path}\n"
            "  kubectl get namespaces\n")


async def _serve(opts: daemons_server.ServerOptions) -> None:
    assembly = daemons_server.ServerAssembly(opts)
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, task.cancel if task else lambda: None)
    runner = asyncio.create_task(assembly.run(), name="server")
    try:
        ready = asyncio.create_task(assembly.ready.wait())
        done, _ = await asyncio.wait({runner, ready}, return_when=asyncio.FIRST_COMPLETED)
        if ready in done:
            gcpolicy.settle_after_startup()  # this process only (not in-process test servers)
            sys.stdout.write(_usage(opts.config))
            sys.stdout.flush()
        else:
            ready.cancel()
        await runner
    except asyncio.CancelledError:
        log.info("shutting down")
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runner
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, BaseExceptionGroup):
        return "; ".join(_describe(e) for e in exc.exceptions)
    if isinstance(exc, OSError) and exc.errno == 98:
        return f"cannot listen: {exc.strerror}"
    return str(exc) or type(exc).__name__


def raise_open_file_limit() -> int:
    """Soft RLIMIT_NOFILE up to the hard limit; returns the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or soft < hard):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            return hard
        except (ValueError, OSError):  # an infinite hard limit can exceed the kernel's nr_open
            pass
    return soft


def run(args: argparse.Namespace) -> int:
    raise_open_file_limit()
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        opts = options(args)
    except ValueError as exc:
        print(f"pyk8s server: {exc}", file=sys.stderr)
        return 1
    try:
        opts.config.data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(f"pyk8s server: cannot use data dir {args.data_dir}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    import uvloop

    try:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(_serve(opts))
    except (OSError, ValueError) as exc:
        print(f"pyk8s server: {_describe(exc)}", file=sys.stderr)
        return 1
    except BaseExceptionGroup as group:
        _, rest = group.split((OSError, ValueError))
        if rest is not None:
            raise
        print(f"pyk8s server: {_describe(group)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0
