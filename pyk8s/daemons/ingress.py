"""The ingress controller as a daemon: what ``pyk8s ingress`` and ``pyk8s server`` run.

``build(client, options)`` pairs the controller with an ``NginxProcess`` in
``options.data_dir`` (workers run as nobody when we are root).  Without an
nginx binary there is nothing to route with: the daemon says so once and
idles (``pyk8s server`` keeps running; ``pyk8s ingress`` exits 1 instead).

Inside ``pyk8s server`` it is the ``ingress`` component (``--disable
ingress`` or ``PYK8S_DISABLE=ingress`` leave it out), listening on every
address on ``--ingress-http-port``/``--ingress-https-port`` (80 and 443),
publishing the server's node InternalIP (the node is named after the host,
as the embedded kubelet names it) in each Ingress's status.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from dataclasses import dataclass
from pathlib import Path

from pyk8s.client.rest import Client
from pyk8s.ingress.controller import IngressController, IngressOptions
from pyk8s.ingress.nginx import NginxError, NginxProcess, find_nginx, worker_user

log = logging.getLogger("pyk8s.ingress")
COMPONENT = "ingress"


class Idle:
    """Stands in for a controller that cannot run here; says why once."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        self.ready = asyncio.Event()

    async def run(self) -> None:
        log.warning("ingress controller not started: %s", self.reason)
        await asyncio.Event().wait()


def build(client: Client, options: IngressOptions, *, nginx_binary: str = "") -> IngressController:
    """The controller with its nginx; raises NginxError when there is no nginx binary."""
    options.data_dir.mkdir(parents=True, exist_ok=True)
    user = worker_user()
    nginx = NginxProcess(options.data_dir, binary=nginx_binary, user=user)
    return IngressController(client, options, nginx, user=user)


@dataclass(frozen=True)
class EmbeddedIngress:
    """How ``pyk8s server`` runs it."""

    http_port: int = 80
    https_port: int = 443

    def options(self, data_dir: Path) -> IngressOptions:
        return IngressOptions(data_dir=data_dir / "ingress", http_port=self.http_port,
                              https_port=self.https_port, node_name=socket.gethostname().lower())

    def build(self, client: Client, data_dir: Path) -> IngressController | Idle:
        try:
            find_nginx()
        except NginxError as exc:
            return Idle(str(exc))
        return build(client, self.options(data_dir))

