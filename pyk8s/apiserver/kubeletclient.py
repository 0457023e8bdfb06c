"""How the API server reaches kubelets (upstream's ``--kubelet-client-certificate`` and friends).

A node's kubelet is at its ``InternalIP`` (then ``Hostname``, then
``ExternalIP``, upstream's default preference) on
``status.daemonEndpoints.kubeletEndpoint.Port``.  The API server presents
its kubelet-client certificate.  Given ``certificate_authority`` (upstream's
``--kubelet-certificate-authority``; ``pyk8s server`` passes the cluster CA,
which signs kubelets' serving certificates through their CSRs) it verifies
the kubelet's certificate against it and the address it dialled, and a
kubelet that presents any other certificate is refused with Go's wording
(``tls: failed to verify certificate: x509: certificate signed by unknown
authority``); without one, as kube-apiserver without the flag, it trusts any.

``cluster`` is the other way out of the API server, to pod IPs (``egress``):
the proxy subresources of pods and Services use it.
"""

from __future__ import annotations

import asyncio
import ssl
import urllib.parse
from collections.abc import Mapping
from typing import Any

import aiohttp

from pyk8s.apiserver.egress import ClusterEgress
from pyk8s.apiserver.webhooks.client import go_error
from pyk8s.machinery.errors import StatusError
from pyk8s.util.pki import KeyPair

ADDRESS_PREFERENCE = ("InternalIP", "Hostname", "ExternalIP")


def kubelet_location(node: Mapping[str, Any]) -> str:
    """``https://host:port`` of the node's kubelet, or a 503 Status saying why there is none."""
    name = (node.get("metadata") or {}).get("name", "")
    status = node.get("status") or {}
    port = ((status.get("daemonEndpoints") or {}).get("kubeletEndpoint") or {}).get("Port")
    by_type = {a.get("type"): a.get("address") for a in status.get("addresses") or []}
    host = next((by_type[t] for t in ADDRESS_PREFERENCE if by_type.get(t)), "")
    if not host or not port:
        raise StatusError(503, "ServiceUnavailable", f'no kubelet endpoint is known for node "{name}"')
    shown = f"[{host}]" if ":" in host else host
    return f"https://{shown}:{port}"


def request_error(method: str, url: str, exc: BaseException) -> StatusError:
    """A failed request to a kubelet as kube-apiserver reports it: Go's ``url.Error`` in a 500 Status."""
    parts = urllib.parse.urlsplit(url)
    detail = go_error(exc, parts.hostname or "", parts.port or 10250, parts.hostname)
    return StatusError(500, "InternalError", f'{method.capitalize()} "{url}": {detail}')


class KubeletClient:
    def __init__(self, client_cert: KeyPair, certificate_authority: bytes | None = None) -> None:
        ctx = ssl.create_default_context()
        if certificate_authority:
            ctx = ssl.create_default_context(cadata=certificate_authority.decode())
        else:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        ctx.load_cert_chain(str(client_cert.cert_path), str(client_cert.key_path))
        self._ssl = ctx
        self._session: aiohttp.ClientSession | None = None
        self.cluster = ClusterEgress()

    def dial_url(self, url: str) -> str:
        return url

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(ssl=self._ssl, limit=0)
            self._session = aiohttp.ClientSession(connector=connector, auto_decompress=False,
                                                  timeout=aiohttp.ClientTimeout(total=None, sock_connect=10))
        return self._session

    async def open_connection(self, url: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A raw TLS connection to the kubelet at ``url`` (for upgraded streams, which aiohttp's client cannot pass on)."""
        parts = urllib.parse.urlsplit(url)
        host, port = parts.hostname or "", parts.port or 10250
        try:
            return await asyncio.wait_for(asyncio.open_connection(host, port, ssl=self._ssl, server_hostname=host), 10)
        except ssl.SSLCertVerificationError as exc:
            # Callers say "error dialing backend: <this>", as kube-apiserver does with Go's TLS error.
            raise ConnectionError(go_error(exc, host, port, host)) from exc

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
        await self.cluster.close()
