"""Passing an upgraded connection through to a kubelet, as upstream's ``UpgradeAwareHandler`` does.

The API server does not speak the streaming protocols itself: it sends the
client's request (method, path, and the upgrade headers: ``Upgrade``,
``Connection``, ``Sec-WebSocket-*``, ``X-Stream-Protocol-Version``) to the
kubelet over TLS with its kubelet-client certificate and reads the answer.

* Not ``101``: the kubelet's status and body are passed on as they are, so
  kubectl shows the kubelet's words (``unable to upgrade connection:
  container not found ("app")``).
* ``101``: the answer's head goes to the client and from then on bytes are
  copied both ways until either side closes.  WebSocket (v5/v4 channels,
  SPDY-in-WebSocket port-forward) and raw SPDY upgrades are all the same
  bytes here.  WebSocket compression is not offered to the kubelet, so
  frames need no rewriting.

aiohttp has no public way to take over a connection; this uses the same
hook its own WebSocket server uses (``RequestHandler.set_parser`` receives
every later byte), pinned by requirements.txt's aiohttp version.
"""

from __future__ import annotations

import asyncio
import contextlib
import urllib.parse
from typing import Any, Protocol

from aiohttp import web

from pyk8s.machinery.errors import StatusError

FORWARDED = ("Upgrade", "Connection", "Sec-WebSocket-Key", "Sec-WebSocket-Version", "Sec-WebSocket-Protocol",
             "X-Stream-Protocol-Version", "Origin")
DROPPED = {"content-length", "transfer-encoding", "date", "server", "keep-alive"}
MAX_ERROR_BODY = 64 * 1024
HIGH_WATER = 4 * 1024 * 1024


def is_upgrade(request: web.Request) -> bool:
    tokens = {t.strip().lower() for t in request.headers.get("Connection", "").split(",")}
    return "upgrade" in tokens and bool(request.headers.get("Upgrade"))


class _Upgraded(web.StreamResponse):
    """The relayed 101: no body of its own, nothing written at the end (the copied bytes are the body)."""

    async def write_eof(self, data: bytes = b"") -> None:
        return None


class _ClientBytes:
    """Receives the client's bytes after the upgrade (aiohttp's payload-parser hook) and writes them to the kubelet."""

    def __init__(self, request: web.Request, kubelet: asyncio.StreamWriter) -> None:
        self.request, self.kubelet = request, kubelet
        self.closed = asyncio.Event()

    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        if not self.kubelet.is_closing():
            self.kubelet.write(data)
            if self.kubelet.transport.get_write_buffer_size() > HIGH_WATER and self.request.transport is not None:
                self.request.transport.pause_reading()
                asyncio.get_running_loop().create_task(self._resume())
        return False, b""

    async def _resume(self) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            await self.kubelet.drain()
        if self.request.transport is not None and not self.request.transport.is_closing():
            self.request.transport.resume_reading()

    def feed_eof(self) -> None:
        self.closed.set()
        self.kubelet.close()


class Dialer(Protocol):
    async def open_connection(self, url: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]: ...


async def proxy(request: web.Request, kubelets: Dialer, url: str,
                headers: list[tuple[str, str]] | None = None) -> web.StreamResponse:
    """Relay the upgrade request to ``url``: with the upgrade headers only (the kubelet's streams), or with
    ``headers`` (the proxy subresources pass on every end-to-end header)."""
    try:
        reader, writer = await kubelets.open_connection(url)
    except (OSError, TimeoutError) as exc:
        raise StatusError(500, "InternalError", f"error dialing backend: {exc}") from exc
    try:
        writer.write(_request_head(request, url, headers))
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
        status, reason, headers = _parse_head(head)
        if status != 101:
            body = await _error_body(reader, headers)
            writer.close()
            content_type = next((v for k, v in headers if k.lower() == "content-type"), "text/plain")
            return web.Response(status=status, body=body, headers={"Content-Type": content_type})
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ValueError) as exc:
        writer.close()
        raise StatusError(500, "InternalError", f"error proxying to the kubelet: {exc}") from exc
    return await _splice(request, reader, writer, reason, headers)


def _request_head(request: web.Request, url: str, headers: list[tuple[str, str]] | None) -> bytes:
    parts = urllib.parse.urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    lines = [f"{request.method} {target} HTTP/1.1"]
    if headers is None:
        lines.append(f"Host: {parts.netloc}")
        lines += [f"{name}: {value}" for name in FORWARDED for value in request.headers.getall(name, [])]
    else:
        lines += [f"{name}: {value}" for name, value in headers]
    if request.method != "GET":
        lines.append("Content-Length: 0")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _parse_head(head: bytes) -> tuple[int, str, list[tuple[str, str]]]:
    first, *rest = head.decode("latin-1").rstrip("\r\n").split("\r\n")
    _, code, *reason = first.split(" ", 2)
    headers = []
    for line in rest:
        name, _, value = line.partition(":")
        headers.append((name.strip(), value.strip()))
    return int(code), (reason[0] if reason else ""), headers


async def _error_body(reader: asyncio.StreamReader, headers: list[tuple[str, str]]) -> bytes:
    length = next((int(v) for k, v in headers if k.lower() == "content-length"), None)
    with contextlib.suppress(asyncio.IncompleteReadError, TimeoutError):
        if length is not None:
            return await asyncio.wait_for(reader.readexactly(min(length, MAX_ERROR_BODY)), 10)
        return await asyncio.wait_for(reader.read(MAX_ERROR_BODY), 10)
    return b""


async def _splice(request: web.Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, reason: str,
                  headers: list[tuple[str, str]]) -> web.StreamResponse:
    resp = _Upgraded(status=101, reason=reason or "Switching Protocols")
    for name, value in headers:
        if name.lower() not in DROPPED:
            resp.headers.add(name, value)
    resp.force_close()
    transport, protocol = request.transport, request.protocol
    assert transport is not None
    client = _ClientBytes(request, writer)
    # Before the 101 goes out: a SPDY upgrade is not one aiohttp knows, and its first frame must not reach
    # the HTTP parser.
    protocol.set_parser(client)  # type: ignore[arg-type]  # duck-typed like aiohttp's WebSocketReader
    await resp.prepare(request)
    try:
        while not client.closed.is_set() and (chunk := await reader.read(65536)):
            if transport.is_closing():
                break
            transport.write(chunk)
            if transport.get_write_buffer_size() > HIGH_WATER:
                await _drain(protocol)
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()
        transport.close()
    return resp


async def _drain(protocol: Any) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        await protocol._drain_helper()
