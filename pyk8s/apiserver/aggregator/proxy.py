"""Passing a request for an aggregated group-version to its extension server, as kube-aggregator does.

The client's credentials stay here: ``Authorization`` and ``Impersonate-*`` are dropped, and the user this
server authenticated (after impersonation) travels as ``X-Remote-User``, ``X-Remote-Group`` (one header per
group) and ``X-Remote-Extra-<key>`` (key URL-escaped), which the extension server trusts because the
connection presents the front-proxy client certificate.  Bodies stream both ways (watches flush every chunk);
upgrade requests (exec-style streams, WebSockets) are spliced as the kubelet proxy splices them.  A backend
that cannot be reached is 503 ``error trying to reach service: ...`` as upstream's responder writes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import urllib.parse

import aiohttp
from aiohttp import web
from multidict import CIMultiDict

from pyk8s.apiserver.authentication.user import USER_KEY, UserInfo
from pyk8s.apiserver.endpoints import upgradeproxy
from pyk8s.apiserver.webhooks.client import go_error
from pyk8s.apiserver.webhooks.resolve import Target

HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
              "transfer-encoding", "upgrade", "host", "content-length"}
STRIPPED_PREFIXES = ("impersonate-", "x-remote-")


def user_headers(user: UserInfo | None) -> list[tuple[str, str]]:
    if user is None:
        return []
    out = [("X-Remote-User", user.username)]
    out += [("X-Remote-Group", g) for g in user.groups]
    for key, values in sorted(user.extra.items()):
        out += [(f"X-Remote-Extra-{urllib.parse.quote(key, safe='')}", v) for v in values]
    return out


def forwarded_headers(request: web.Request) -> CIMultiDict[str]:
    headers: CIMultiDict[str] = CIMultiDict()
    for name, value in request.headers.items():
        low = name.lower()
        if low in HOP_BY_HOP or low == "authorization" or low.startswith(STRIPPED_PREFIXES):
            continue
        headers.add(name, value)
    for name, value in user_headers(request.get(USER_KEY)):
        headers.add(name, value)
    return headers


def unavailable(message: str) -> web.Response:
    return web.Response(status=503, text=message + "\n", content_type="text/plain")


async def forward(request: web.Request, session: aiohttp.ClientSession, target: Target) -> web.StreamResponse:
    host = f"[{target.host}]" if ":" in target.host else target.host
    url = f"https://{host}:{target.port}{request.raw_path}"
    headers = forwarded_headers(request)
    data = request.content if request.body_exists else None
    try:
        upstream = await session.request(request.method, url, headers=headers, data=data,
                                         server_hostname=target.server_name, allow_redirects=False)
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        return unavailable(f"error trying to reach service: {go_error(exc, target.host, target.port)}")
    try:
        resp = web.StreamResponse(status=upstream.status, reason=upstream.reason)
        for name, value in upstream.headers.items():
            if name.lower() not in HOP_BY_HOP:
                resp.headers.add(name, value)
        await resp.prepare(request)
        with contextlib.suppress(aiohttp.ClientPayloadError, ConnectionError, asyncio.CancelledError):
            async for chunk in upstream.content.iter_any():
                await resp.write(chunk)
        await resp.write_eof()
        return resp
    finally:
        upstream.release()


async def upgrade(request: web.Request, ctx: ssl.SSLContext, target: Target) -> web.StreamResponse:
    """An upgrade request: a raw TLS connection, the request head with the user headers, then spliced bytes."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(
            target.host, target.port, ssl=ctx, server_hostname=target.server_name), 10)
    except (OSError, TimeoutError) as exc:
        return unavailable(f"error trying to reach service: {go_error(exc, target.host, target.port)}")
    lines = [f"{request.method} {request.raw_path} HTTP/1.1", f"Host: {target.server_name}"]
    lines += [f"{name}: {value}" for name in upgradeproxy.FORWARDED for value in request.headers.getall(name, [])]
    lines += [f"{name}: {value}" for name, value in user_headers(request.get(USER_KEY))]
    if request.method != "GET":
        lines.append("Content-Length: 0")
    try:
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
        status, reason, headers = upgradeproxy._parse_head(head)
        if status != 101:
            body = await upgradeproxy._error_body(reader, headers)
            writer.close()
            content_type = next((v for k, v in headers if k.lower() == "content-type"), "text/plain")
            return web.Response(status=status, body=body, headers={"Content-Type": content_type})
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ValueError) as exc:
        writer.close()
        return unavailable(f"error trying to reach service: {exc}")
    return await upgradeproxy._splice(request, reader, writer, reason, headers)
