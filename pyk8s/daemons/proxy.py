"""The service proxy as the single binary runs it: ``pyk8s proxy`` and the one inside ``pyk8s server``.

``pyk8s server`` runs a proxy beside its embedded kubelet: the proxy belongs
to the node, so it runs only when the kubelet does (``--disable kubelet`` or
``$PYK8S_DISABLE=kubelet`` leave it out too, which keeps test harnesses from
ever programming the machine's own namespace), and ``--disable proxy``
leaves out the proxy alone.  It uses the kubelet's node name (the host name)
and the controller manager's cluster CIDR.

``pyk8s kubelet`` does not embed one: run ``pyk8s proxy`` beside each
kubelet (in the same network namespace), as upstream runs kube-proxy as its
own DaemonSet/process; ``pyk8s.testing.proxy`` does so for tests.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any

from pyk8s.apiserver.authorization import identities
from pyk8s.client.rest import Client
from pyk8s.controllers.nodeipam import DEFAULT_CLUSTER_CIDR
from pyk8s.proxy.proxier import Proxier, ProxyOptions

log = logging.getLogger(__name__)
PROXY = "proxy"
KUBELET = "kubelet"


class _Skipped:
    """Stands for a proxy that does not run (no kubelet on this machine): it is done at once."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.ready = asyncio.Event()

    async def run(self) -> None:
        log.info("service proxy not started: this server runs no kubelet")


def embedded_options(controller_options: dict[str, Any]) -> ProxyOptions:
    return ProxyOptions(hostname=socket.gethostname().lower(),
                        cluster_cidr=str(controller_options.get("cluster_cidr") or DEFAULT_CLUSTER_CIDR))


def component(assembly: Any, controller_options: dict[str, Any], restart_delay: float = 1.0) -> Any:
    """The ``proxy`` component of ``pyk8s server`` (a ``ClientComponent``, or a no-op without a kubelet)."""
    from pyk8s.daemons.controlplane import ClientComponent

    if KUBELET in assembly.opts.disable:
        return _Skipped(PROXY)
    options = embedded_options(controller_options)

    def build(client: Client) -> Proxier:
        return Proxier(client, options)

    config = assembly.opts.config
    own = identities.kubeconfig_path(config.data_dir, identities.KUBE_PROXY)  # system:kube-proxy
    return ClientComponent(PROXY, kubeconfig=own, build=build,
                           user_agent=f"kube-proxy/v1.32.0 ({options.hostname})", campaign_again=False,
                           restart_delay=restart_delay)
