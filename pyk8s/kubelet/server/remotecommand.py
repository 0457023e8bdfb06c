"""The kubelet's end of ``exec`` and ``attach``: a WebSocket client on one side, the runtime on the other.

Design (why the kubelet terminates the client's protocol): kubectl 1.32
speaks WebSocket ``v5.channel.k8s.io`` (the official Python client
``v4.channel.k8s.io``), and only v5 can say "stdin is finished" (the message
``[255, 0]``).  containerd's CRI streaming server predates v5, and its
WebSocket protocols cannot half-close stdin, so a WebSocket pass-through
would leave ``kubectl cp`` into a pod and ``exec -i < file`` hanging.  The
API server therefore passes the client's upgraded connection through to
this kubelet unchanged, and the kubelet relays it onto a SPDY/3.1
connection to the runtime's streaming URL, where stdin EOF is a FIN on the
stdin stream (what upstream's kubelet gets from the API server's v5→SPDY
translation).

Channels (v4 and v5 alike): 0 stdin, 1 stdout, 2 stderr, 3 error (one
``metav1.Status`` JSON: Success, or NonZeroExitCode with the exit code),
4 resize (``{"Width":..,"Height":..}``); v5 adds 255 = close ``[255, ch]``.
The session ends after the runtime has closed: every byte of output is sent
before the status on channel 3, then a normal close.

kubectl's fallback, a raw ``Upgrade: SPDY/3.1`` (``spdyupgrade``), brings
its own streams (``streamType`` error, stdin, stdout, stderr, resize); each
is joined to the runtime's stream of the same type.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from dataclasses import dataclass

from aiohttp import WSMsgType, web

from pyk8s.kubelet.runtime.cri import streaming_spdy as spdy
from pyk8s.kubelet.server import spdyupgrade

V5, V4 = "v5.channel.k8s.io", "v4.channel.k8s.io"
PROTOCOLS = (V5, V4)
STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255


@dataclass
class Options:
    stdin: bool
    stdout: bool
    stderr: bool
    tty: bool


def _on(query: Mapping[str, str], name: str) -> bool:
    return query.get(name, "").lower() in ("1", "true")


def parse_options(query: Mapping[str, str]) -> Options:
    """Upstream kubelet's parameters (``input``, ``output``, ``error``, ``tty``); a TTY has no separate stderr."""
    opts = Options(_on(query, "input"), _on(query, "output"), _on(query, "error"), _on(query, "tty"))
    if opts.tty:
        opts.stderr = False
    if not (opts.stdin or opts.stdout or opts.stderr):
        raise ValueError("you must specify at least 1 of stdin, stdout, stderr")
    return opts


def websocket_for(request: web.Request, protocols: tuple[str, ...]) -> web.WebSocketResponse | None:
    """A WebSocket response if the request is an upgrade offering one of ``protocols``, else None."""
    ws = web.WebSocketResponse(protocols=protocols, max_msg_size=0, compress=False)
    check = ws.can_prepare(request)
    return ws if check.ok and check.protocol in protocols else None


def text(code: int, message: str) -> web.Response:
    return web.Response(status=code, text=message, content_type="text/plain")


async def serve(request: web.Request, url: str, opts: Options) -> web.StreamResponse:
    """Relay one exec/attach session between the upgraded client and the runtime's streaming ``url``."""
    if spdyupgrade.is_spdy(request):
        return await _serve_spdy(request, url, opts)
    ws = websocket_for(request, PROTOCOLS)
    if ws is None:
        return text(400, "Upgrade request required")
    try:
        session, reader = await spdy.connect(url, V4)
    except (OSError, spdy.UpgradeError) as exc:
        return text(500, f"error connecting to the container runtime's streaming server: {exc}")
    try:
        await ws.prepare(request)
        await _relay(ws, session, opts)
    finally:
        await session.close()
        reader.cancel()
    return ws


async def _relay(ws: web.WebSocketResponse, session: spdy.Session, opts: Options) -> None:
    error = session.open_stream({"streamtype": "error"})
    stdin = session.open_stream({"streamtype": "stdin"}) if opts.stdin else None
    outputs = [(session.open_stream({"streamtype": name}), channel)
               for name, channel, wanted in (("stdout", STDOUT, opts.stdout), ("stderr", STDERR, opts.stderr))
               if wanted]
    resize = session.open_stream({"streamtype": "resize"}) if opts.tty else None
    client = asyncio.create_task(_from_client(ws, session, stdin, resize))
    try:
        pumps = [asyncio.create_task(_to_client(ws, stream, channel)) for stream, channel in outputs]
        status = await error.read_all()
        await asyncio.gather(*pumps, return_exceptions=True)
        if status and not ws.closed:
            await ws.send_bytes(bytes([ERROR]) + status)
    finally:
        client.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await client
        await ws.close()


async def _to_client(ws: web.WebSocketResponse, stream: spdy.Stream, channel: int) -> None:
    while data := await stream.read():
        if ws.closed:
            return
        await ws.send_bytes(bytes([channel]) + data)


async def _from_client(ws: web.WebSocketResponse, session: spdy.Session, stdin: spdy.Stream | None,
                       resize: spdy.Stream | None) -> None:
    v5 = ws.ws_protocol == V5
    async for msg in ws:
        if msg.type != WSMsgType.BINARY or not msg.data:
            continue
        channel, data = msg.data[0], msg.data[1:]
        if channel == STDIN and stdin is not None and not stdin.local_closed:
            stdin.write(data)
        elif channel == RESIZE and resize is not None:
            resize.write(data)
        elif channel == CLOSE and v5 and data[:1] == bytes([STDIN]) and stdin is not None:
            stdin.close()
    # The client went away: end the runtime side too (the command keeps running, as upstream).
    await session.close()


# ---------------------------------------------------------------- the raw SPDY fallback

STREAM_WAIT = 30.0  # upstream's streamCreationTimeout


async def _serve_spdy(request: web.Request, url: str, opts: Options) -> web.StreamResponse:
    protocol = spdyupgrade.negotiate(request, PROTOCOLS)  # over SPDY v5 is v4: only WebSocket needed CLOSE
    if protocol is None:
        return text(400, f"unable to upgrade: unable to negotiate protocol: server supports [{', '.join(PROTOCOLS)}]")
    try:
        runtime, reader = await spdy.connect(url, V4)
    except (OSError, spdy.UpgradeError) as exc:
        return text(500, f"error connecting to the container runtime's streaming server: {exc}")
    client, resp = await spdyupgrade.accept(request, protocol)
    try:
        wanted = ["error", *(n for n, on in (("stdin", opts.stdin), ("stdout", opts.stdout),
                                               ("stderr", opts.stderr), ("resize", opts.tty)) if on)]
        theirs = await _client_streams(client, set(wanted))
        if theirs is not None:
            ours = {name: runtime.open_stream({"streamtype": name}) for name in wanted}
            await _join(theirs, ours)
    finally:
        await client.close()
        await runtime.close()
        reader.cancel()
    return resp


async def _client_streams(client: spdy.Session, wanted: set[str]) -> dict[str, spdy.Stream] | None:
    streams: dict[str, spdy.Stream] = {}
    try:
        async with asyncio.timeout(STREAM_WAIT):
            while wanted - streams.keys():
                stream = await client.incoming.get()
                if stream is None:
                    return None
                streams[stream.headers.get("streamtype", "")] = stream
    except TimeoutError:
        return None
    return streams


async def _join(theirs: dict[str, spdy.Stream], ours: dict[str, spdy.Stream]) -> None:
    inputs = [asyncio.create_task(spdy.pipe(theirs[n], ours[n])) for n in ("stdin", "resize") if n in ours]
    try:
        await asyncio.gather(*(spdy.pipe(ours[n], theirs[n]) for n in ("stdout", "stderr") if n in ours))
        await spdy.pipe(ours["error"], theirs["error"])
    finally:
        for task in inputs:
            task.cancel()
