"""The proxy subresources' HTTP side: one client request passed on to a location, as upstream's
``UpgradeAwareHandler`` does it for ``pods/proxy``, ``services/proxy`` and ``nodes/proxy``.

* Every method; the path after ``/proxy`` and the query string go on as they
  came; a request to the bare ``.../proxy`` with GET or HEAD is redirected
  (301) to ``.../proxy/``, as upstream answers it.
* Headers go on except the hop-by-hop ones and the client's credentials
  (upstream's authentication filter drops ``Authorization``, the impersonation
  filter ``Impersonate-*``); ``X-Forwarded-For`` names the client.  Bodies
  stream both ways, unchanged (no decompression on the way).
* A ``Location`` the backend redirects to on its own host is rewritten under
  the proxy path, so a client following it stays behind the proxy, and so are
  the links of HTML pages (``proxyhtml``; such a page is read whole first).
* Upgrade requests (WebSocket and the like) are spliced (``upgradeproxy``).
* A backend that cannot be reached: 503 ``error trying to reach service:
  dial tcp ...`` as upstream's proxy transport words it.
"""

from __future__ import annotations

import asyncio
import contextlib
import urllib.parse
import zlib
from typing import Protocol

import aiohttp
from aiohttp import web
from multidict import CIMultiDict

from pyk8s.apiserver.endpoints import proxyhtml, upgradeproxy
from pyk8s.apiserver.registry.core.proxylocation import Location
from pyk8s.apiserver.webhooks.client import go_error
from pyk8s.machinery.errors import StatusError

HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection", "te",
              "trailer", "transfer-encoding", "upgrade", "content-length"}
CREDENTIALS = ("authorization",)
CREDENTIAL_PREFIXES = ("impersonate-",)


class Transport(Protocol):
    """The way out to a location (``KubeletClient`` for kubelets, ``egress.ClusterEgress`` for pods)."""

    def session(self) -> aiohttp.ClientSession: ...

    def dial_url(self, url: str) -> str: ...

    async def open_connection(self, url: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]: ...


def proxy_prefix(request: web.Request, name: str) -> tuple[str, str]:
    """(the raw request path up to ``.../{name}/proxy``, the raw path after it)."""
    raw = request.raw_path.split("?", 1)[0]
    for marker in (f"/{name}/proxy", f"/{urllib.parse.quote(name, safe='')}/proxy"):
        at = raw.find(marker + "/")
        if at < 0 and raw.endswith(marker):
            at = len(raw) - len(marker)
        if at >= 0:
            return raw[:at + len(marker)], raw[at + len(marker):]
    raise StatusError(404, "NotFound", "the proxy path could not be read")


def _request_headers(request: web.Request) -> CIMultiDict[str]:
    headers: CIMultiDict[str] = CIMultiDict()
    for name, value in request.headers.items():
        low = name.lower()
        if low in HOP_BY_HOP or low in CREDENTIALS or low.startswith(CREDENTIAL_PREFIXES):
            continue
        headers.add(name, value)
    peer = request.remote or ""
    if peer:
        prior = headers.get("X-Forwarded-For")
        headers["X-Forwarded-For"] = f"{prior}, {peer}" if prior else peer
    return headers


async def _rewritten_page(request: web.Request, upstream: aiohttp.ClientResponse, location: Location,
                          prefix: str) -> bytes | None:
    """The whole HTML page with its links under the proxy (None: an encoding this cannot undo, streamed as is)."""
    encoding = upstream.headers.get("Content-Encoding", "").strip().lower()
    if encoding not in ("", "identity", "gzip", "deflate"):
        return None
    body = await upstream.read()
    try:
        plain = proxyhtml.decode(body, encoding)
    except (OSError, EOFError, zlib.error):
        return body  # not what it claims to be: passed on untouched, as read
    assert plain is not None
    hosts = (location.url.split("//", 1)[1], location.host, request.host)
    page = proxyhtml.rewrite_page(plain, upstream.charset or "utf-8", prefix, hosts)
    return proxyhtml.encode(page, encoding) if page != plain else body


def _rewrite_location(value: str, location: Location, prefix: str) -> str:
    """A redirect to the backend's own host (or a bare path) stays behind the proxy."""
    parts = urllib.parse.urlsplit(value)
    if parts.netloc and parts.hostname != location.host:
        return value
    if not parts.path.startswith("/") or parts.path.startswith(prefix + "/"):
        return value
    return urllib.parse.urlunsplit(("", "", prefix + parts.path, parts.query, parts.fragment))


async def forward(request: web.Request, location: Location, name: str, transport: Transport) -> web.StreamResponse:
    prefix, path = proxy_prefix(request, name)
    if not path and request.method in ("GET", "HEAD"):
        query = f"?{request.query_string}" if request.query_string else ""
        target = prefix + "/" + query
        body = f'<a href="{target}">Moved Permanently</a>.\n\n' if request.method == "GET" else ""
        return web.Response(status=301, headers={"Location": target}, text=body or None,
                            content_type="text/html" if body else None)
    url = location.url + (path or "/") + (f"?{request.query_string}" if request.query_string else "")
    headers = _request_headers(request)
    if upgradeproxy.is_upgrade(request):
        upgrade = [(k, v) for k, v in request.headers.items() if k.lower() in ("connection", "upgrade")]
        return await upgradeproxy.proxy(request, transport, url, list(headers.items()) + upgrade)
    data = request.content if request.body_exists else None
    if data is not None and request.content_length is not None:
        headers["Content-Length"] = str(request.content_length)
    try:
        upstream = await transport.session().request(
            request.method, transport.dial_url(url), headers=headers, data=data, allow_redirects=False,
            skip_auto_headers=("Accept-Encoding", "User-Agent", "Content-Type"))
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        raise StatusError(503, "ServiceUnavailable",
                          f"error trying to reach service: {go_error(exc, location.host, location.port)}") from exc
    try:
        return await _relay(request, upstream, location, prefix)
    finally:
        upstream.release()


async def _relay(request: web.Request, upstream: aiohttp.ClientResponse, location: Location,
                 prefix: str) -> web.StreamResponse:
    resp = web.StreamResponse(status=upstream.status, reason=upstream.reason)
    for key, value in upstream.headers.items():
        low = key.lower()
        if low in HOP_BY_HOP and low != "content-length":
            continue
        resp.headers.add(key, _rewrite_location(value, location, prefix) if low == "location" else value)
    if upstream.content_type == "text/html" and request.method != "HEAD" and upstream.status not in (204, 304):
        page = await _rewritten_page(request, upstream, location, prefix)
        if page is not None:
            resp.headers["Content-Length"] = str(len(page))
            await resp.prepare(request)
            await resp.write(page)
            await resp.write_eof()
            return resp
    await resp.prepare(request)
    with contextlib.suppress(aiohttp.ClientPayloadError, ConnectionError):
        async for chunk in upstream.content.iter_any():
            await resp.write(chunk)
    await resp.write_eof()
    return resp
