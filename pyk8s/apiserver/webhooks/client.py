"""Calling a webhook: POST an AdmissionReview over HTTPS, verified with the caBundle, within the timeout.

Connections are pooled per CA bundle (one aiohttp session each).  Failures read as Go's client words
them inside upstream's ``failed to call webhook: Post "<url>?timeout=10s": ...``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import ssl
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import aiohttp

from pyk8s.apiserver.webhooks.resolve import ResolveError, resolve
from pyk8s.apiserver.webhooks.review import CallError

if TYPE_CHECKING:
    from pyk8s.apiserver.registry import Registry

Obj = dict[str, Any]


def ca_bundle(value: Any) -> bytes | None:
    """The PEM of a caBundle field (base64 in JSON; already bytes when decoded from protobuf)."""
    if not value:
        return None
    if isinstance(value, bytes):
        return value
    try:
        return base64.b64decode(str(value), validate=False)
    except (binascii.Error, ValueError):
        return None


def ssl_context(ca: bytes | None, *, insecure: bool = False) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    if insecure:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    elif ca:
        ctx = ssl.create_default_context(cadata=ca.decode(errors="replace"))
    return ctx


def go_error(exc: BaseException, host: str, port: int, server_name: str | None = None) -> str:
    """How Go's HTTP client describes a failed request (``server_name``: the name TLS verified)."""
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        return "context deadline exceeded"
    if isinstance(exc, aiohttp.ClientConnectorCertificateError) or isinstance(exc, ssl.SSLCertVerificationError):
        cert = getattr(exc, "certificate_error", exc)
        if "hostname" in str(cert).lower() or "match" in str(cert).lower():
            return f"tls: failed to verify certificate: x509: certificate is not valid for {server_name or host}"
        return "tls: failed to verify certificate: x509: certificate signed by unknown authority"
    if isinstance(exc, aiohttp.ClientConnectorError):
        os_err = exc.os_error
        if isinstance(os_err, ConnectionRefusedError):
            return f"dial tcp {host}:{port}: connect: connection refused"
        return f"dial tcp {host}:{port}: {os_err.strerror or os_err}".lower() if os_err else str(exc)
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "EOF"
    return str(exc) or type(exc).__name__


class Client:
    """One pool of HTTPS sessions, keyed by CA bundle."""

    def __init__(self) -> None:
        self._sessions: dict[tuple[int, bytes | None, bool], aiohttp.ClientSession] = {}

    def session(self, ca: bytes | None, *, insecure: bool = False,
                cert: tuple[str, str] | None = None) -> aiohttp.ClientSession:
        key = (id(asyncio.get_running_loop()), ca, insecure)
        sess = self._sessions.get(key)
        if sess is None or sess.closed:
            ctx = ssl_context(ca, insecure=insecure)
            if cert is not None:
                ctx.load_cert_chain(*cert)
            sess = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ctx, limit=0, ttl_dns_cache=10),
                                         auto_decompress=False)
            self._sessions[key] = sess
        return sess

    async def close(self) -> None:
        for sess in self._sessions.values():
            await sess.close()
        self._sessions.clear()

    async def post_review(self, registry: Registry, hook: Obj, body: bytes) -> bytes:
        """The webhook's raw answer; CallError for anything but a 200 with a body."""
        name = str(hook.get("name") or "")
        cc = hook.get("clientConfig") or {}
        timeout = hook.get("timeoutSeconds") or 10
        url, shown, server_name, host, port = await self._where(registry, name, cc, timeout)
        try:
            async with asyncio.timeout(timeout):
                sess = self.session(ca_bundle(cc.get("caBundle")))
                async with sess.post(url, data=body, server_hostname=server_name,
                                     headers={"Content-Type": "application/json",
                                              "Accept": "application/json, */*"}) as resp:
                    raw = await resp.read()
        except CallError:
            raise
        except (aiohttp.ClientError, OSError, TimeoutError, ssl.SSLError) as exc:
            reason = go_error(exc, host, port, server_name)
            raise CallError(name, f"failed to call webhook: Post \"{shown}\": {reason}") from None
        if resp.status != 200:
            text = raw.decode(errors="replace").strip()
            raise CallError(name, f"failed to call webhook: an error on the server (\"{text}\") has prevented "
                                  f"the request from succeeding")
        return raw

    async def _where(self, registry: Registry, name: str, cc: Obj,
                     seconds: int) -> tuple[str, str, str | None, str, int]:
        """(URL dialled, URL shown in errors, TLS server name, host, port)."""
        query = f"?timeout={seconds}s"
        if cc.get("url"):
            url = str(cc["url"])
            parts = urlsplit(url)
            sep = "&" if parts.query else ""
            shown = url + (sep + query[1:] if sep else query)
            return shown, shown, None, parts.hostname or "", parts.port or 443
        svc = cc.get("service") or {}
        port = int(svc.get("port") or 443)
        path = str(svc.get("path") or "")
        shown = f"https://{svc.get('name')}.{svc.get('namespace')}.svc:{port}{path}{query}"
        try:
            target = await resolve(registry, str(svc.get("namespace") or ""), str(svc.get("name") or ""), port)
        except ResolveError as exc:
            raise CallError(name, f"failed to call webhook: Post \"{shown}\": {exc}") from None
        host = f"[{target.host}]" if ":" in target.host else target.host
        return f"https://{host}:{target.port}{path}{query}", shown, target.server_name, target.host, target.port
