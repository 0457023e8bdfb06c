"""The kubelet's end of ``port-forward``: SPDY streams from kubectl, relayed to the runtime's streaming server.

kubectl 1.32 upgrades to WebSocket with the subprotocol
``SPDY/3.1+portforward.k8s.io`` and runs a SPDY/3.1 client inside the binary
messages.  Every local connection opens two streams with the headers
``streamType`` (``error`` or ``data``), ``port`` and ``requestID``.  For each
such pair this kubelet asks the runtime for a PortForward URL (CRI), opens a
SPDY connection to it (``portforward.k8s.io``) with the same two streams,
and copies bytes both ways; a FIN travels as a FIN, so half-closed
connections behave.  Whatever the runtime writes on its error stream (for a
closed port, containerd's "failed to connect to localhost:N inside
namespace ..." as upstream's kubelet relays it) goes to kubectl's error
stream.  The upgraded connection lives until kubectl closes it.  The same
streams over a raw ``Upgrade: SPDY/3.1`` (kubectl's fallback) are served
alike (``spdyupgrade``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from aiohttp import WSMsgType, web

from pyk8s.kubelet.runtime.cri import streaming_spdy as spdy
from pyk8s.kubelet.server import spdyupgrade
from pyk8s.kubelet.server.remotecommand import text, websocket_for
from pyk8s.kubelet.server.streamsource import StreamRefused

TUNNEL = "SPDY/3.1+portforward.k8s.io"
PORTFORWARD = "portforward.k8s.io"

Forwarder = Callable[[int], Awaitable[str]]  # port -> the runtime's streaming URL for it


async def serve(request: web.Request, url_for: Forwarder) -> web.StreamResponse:
    if spdyupgrade.is_spdy(request):
        return await _serve_spdy(request, url_for)
    ws = websocket_for(request, (TUNNEL,))
    if ws is None:
        return text(400, "Upgrade request required")
    await ws.prepare(request)
    session = spdy.Session(ws.send_bytes, client=False)
    pairs = asyncio.create_task(_accept(session, url_for))
    try:
        async for msg in ws:
            if msg.type == WSMsgType.BINARY:
                session.feed(msg.data)
    finally:
        session.feed_eof()
        pairs.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pairs
    return ws


async def _serve_spdy(request: web.Request, url_for: Forwarder) -> web.StreamResponse:
    if spdyupgrade.negotiate(request, (PORTFORWARD,)) is None:
        return text(400, f"unable to upgrade: unable to negotiate protocol: server supports [{PORTFORWARD}]")
    session, resp = await spdyupgrade.accept(request, PORTFORWARD)
    try:
        await _accept(session, url_for)
    finally:
        await session.close()
    return resp


async def _accept(session: spdy.Session, url_for: Forwarder) -> None:
    waiting: dict[str, dict[str, spdy.Stream]] = {}
    tasks: set[asyncio.Task[None]] = set()
    try:
        while (stream := await session.incoming.get()) is not None:
            kind, request_id = stream.headers.get("streamtype", ""), stream.headers.get("requestid", "")
            pair = waiting.setdefault(request_id, {})
            pair[kind] = stream
            if "error" in pair and "data" in pair:
                del waiting[request_id]
                task = asyncio.create_task(_forward(pair["error"], pair["data"], url_for))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
    finally:
        for task in tasks:
            task.cancel()


async def _forward(error: spdy.Stream, data: spdy.Stream, url_for: Forwarder) -> None:
    port_text = data.headers.get("port", "")
    try:
        port = int(port_text)
        if not 0 < port < 65536:
            raise ValueError
    except ValueError:
        return _fail(error, data, f'invalid port "{port_text}"')
    try:
        upstream, reader = await spdy.connect(await url_for(port), PORTFORWARD)
    except StreamRefused as exc:
        return _fail(error, data, exc.message)
    except (OSError, spdy.UpgradeError) as exc:
        return _fail(error, data, f"error connecting to the container runtime's streaming server: {exc}")
    headers = {"port": str(port), "requestid": data.headers.get("requestid", "")}
    remote_error = upstream.open_stream({"streamtype": "error", **headers})
    remote_data = upstream.open_stream({"streamtype": "data", **headers})
    sending = asyncio.create_task(spdy.pipe(data, remote_data))
    try:
        await asyncio.gather(spdy.pipe(remote_data, data), spdy.pipe(remote_error, error))
    finally:
        sending.cancel()
        await upstream.close()
        reader.cancel()


def _fail(error: spdy.Stream, data: spdy.Stream, message: str) -> None:
    error.write(message.encode())
    error.close()
    data.close()


