"""The legacy raw ``Upgrade: SPDY/3.1`` on the kubelet's own port: what kubectl falls back to.

kubectl tries WebSocket first and repeats a refused attempt as ``POST`` with
``Connection: Upgrade``, ``Upgrade: SPDY/3.1`` and the protocols it speaks in
``X-Stream-Protocol-Version`` (remote command: ``v5.channel.k8s.io`` ...
``channel.k8s.io``; port-forward: ``portforward.k8s.io``).  The kubelet
answers ``101`` naming the protocol it picked, and from then on the
connection is SPDY frames.  The session is the same ``Session`` the
WebSocket tunnel uses; only its transport differs.

aiohttp has no public way to take over a connection: the client's later
bytes are received through the hook its own WebSocket server uses
(``RequestHandler.set_parser``), installed before the ``101`` goes out so
no frame can reach the HTTP parser; aiohttp's version is pinned by
requirements.txt.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

from aiohttp import web

from pyk8s.kubelet.runtime.cri import streaming_spdy as spdy

HIGH_WATER = 4 * 1024 * 1024


def is_spdy(request: web.Request) -> bool:
    tokens = {t.strip().lower() for t in request.headers.get("Connection", "").split(",")}
    return "upgrade" in tokens and request.headers.get("Upgrade", "").lower() == "spdy/3.1"


def negotiate(request: web.Request, supported: Sequence[str]) -> str | None:
    """The first protocol the client offers that we speak (upstream's ``httpstream.Handshake``)."""
    offered = [p.strip() for h in request.headers.getall("X-Stream-Protocol-Version", []) for p in h.split(",")]
    return next((p for p in offered if p in supported), None)


class _Upgraded(web.StreamResponse):
    async def write_eof(self, data: bytes = b"") -> None:
        return None


class _Frames:
    """aiohttp's payload-parser hook: every byte after the request head goes to the session."""

    def __init__(self, session: spdy.Session) -> None:
        self.session = session

    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        self.session.feed(data)
        return False, b""

    def feed_eof(self) -> None:
        self.session.feed_eof()


async def accept(request: web.Request, protocol: str) -> tuple[spdy.Session, web.StreamResponse]:
    """Answer 101 with ``protocol`` and return the server session on this connection."""
    transport, handler = request.transport, request.protocol
    assert transport is not None

    async def send(frame: bytes) -> None:
        if transport.is_closing():
            raise ConnectionError("client connection closed")
        transport.write(frame)
        if transport.get_write_buffer_size() > HIGH_WATER:
            with contextlib.suppress(ConnectionError, OSError):
                await handler._drain_helper()

    session = spdy.Session(send, client=False)
    handler.set_parser(_Frames(session))  # type: ignore[arg-type]  # duck-typed like aiohttp's WebSocketReader
    resp = _Upgraded(status=101, reason="Switching Protocols",
                     headers={"Connection": "Upgrade", "Upgrade": "SPDY/3.1", "X-Stream-Protocol-Version": protocol})
    resp.force_close()
    await resp.prepare(request)
    return session, resp
