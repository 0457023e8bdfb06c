"""How the API server reaches the cluster network: pod IPs for ``pods/proxy`` and ``services/proxy``.

Upstream's ``proxyTransport`` (the egress selector's ``cluster`` network): a
direct dial of the pod's address, TLS without verification for an ``https:``
target (kube-apiserver's pod proxy transport skips verification: pods have no
certificate it could check), and no client certificate.  Kubelets are reached
through ``kubeletclient.KubeletClient`` instead, with the kubelet-client one.

``address`` is the seam where a deployment (or a test, ``pyk8s.testing.egress``)
routes the cluster network elsewhere; the direct egress dials what it is given.
"""

from __future__ import annotations

import asyncio
import ssl
import urllib.parse

import aiohttp

CONNECT_TIMEOUT = 10


class ClusterEgress:
    def __init__(self) -> None:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        self.tls = ctx
        self._session: aiohttp.ClientSession | None = None

    def address(self, host: str, port: int) -> tuple[str, int]:
        """Where a connection to ``host:port`` of the cluster network is dialled."""
        return host, port

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(ssl=self.tls, limit=0)
            self._session = aiohttp.ClientSession(connector=connector, auto_decompress=False,
                                                  timeout=aiohttp.ClientTimeout(total=None,
                                                                                sock_connect=CONNECT_TIMEOUT))
        return self._session

    def dial_url(self, url: str) -> str:
        """``url`` with its host and port replaced by where ``address`` dials them."""
        parts = urllib.parse.urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        host, port = self.address(parts.hostname or "", port)
        shown = f"[{host}]" if ":" in host else host
        return urllib.parse.urlunsplit((parts.scheme, f"{shown}:{port}", parts.path, parts.query, ""))

    async def open_connection(self, url: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A raw connection (TLS for ``https``) for an upgraded stream, which aiohttp's client cannot pass on."""
        parts = urllib.parse.urlsplit(self.dial_url(url))
        tls = self.tls if parts.scheme == "https" else None
        return await asyncio.wait_for(asyncio.open_connection(parts.hostname, parts.port, ssl=tls,
                                                              server_hostname=(parts.hostname if tls else None)),
                                      CONNECT_TIMEOUT)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
