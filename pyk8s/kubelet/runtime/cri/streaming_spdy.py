"""SPDY/3.1 framing and sessions, the subset Kubernetes streaming uses.

Three uses share this module:

* the kubelet's client to the runtime's CRI streaming server (containerd's
  exec/attach/port-forward URLs): SPDY is the protocol there that can
  half-close a stream, which is how stdin EOF reaches the process
  (``kubectl cp`` into a pod, ``exec -i < file``);
* the kubelet's server side of ``kubectl port-forward``, whose SPDY frames
  arrive tunnelled in WebSocket binary messages
  (``SPDY/3.1+portforward.k8s.io``);
* the legacy raw ``Upgrade: SPDY/3.1`` connection.

As in moby/spdystream (the Go library behind Kubernetes' SPDY) only
SYN_STREAM, SYN_REPLY, RST_STREAM, DATA, PING, GOAWAY and HEADERS matter:
SETTINGS and WINDOW_UPDATE are read and ignored (no flow control).  Header
blocks are zlib streams, one per direction per connection, primed with the
SPDY/3 dictionary and flushed with Z_SYNC_FLUSH after every block.

A ``Session`` is transport-neutral: bytes come in through ``feed()`` and go
out through the ``send`` coroutine it was given, in order, from one writer
task (header compression depends on that order).
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
import urllib.parse
import zlib
from collections.abc import Awaitable, Callable

from pyk8s.kubelet.runtime.cri.streaming import _connect_in_netns

VERSION = 3
SYN_STREAM, SYN_REPLY, RST_STREAM, SETTINGS, PING, GOAWAY, HEADERS, WINDOW_UPDATE = 1, 2, 3, 4, 6, 7, 8, 9
FLAG_FIN = 0x01
RST_CANCEL = 5
MAX_DATA = 32 * 1024


def _dictionary() -> bytes:
    """The SPDY/3 header dictionary (SPDY/3 draft, section 2.6.10.1): length-prefixed words, then a tail."""
    words = (
        "options head post put delete trace accept accept-charset accept-encoding accept-language accept-ranges "
        "age allow authorization cache-control connection content-base content-encoding content-language "
        "content-length content-location content-md5 content-range content-type date etag expect expires from "
        "host if-match if-modified-since if-none-match if-range if-unmodified-since last-modified location "
        "max-forwards pragma proxy-authenticate proxy-authorization range referer retry-after server te trailer "
        "transfer-encoding upgrade user-agent vary via warning www-authenticate method get status"
    ).split()
    words += ["200 OK", "version", "HTTP/1.1", "url", "public", "set-cookie", "keep-alive", "origin"]
    tail = (
        "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505"
        "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized"
        "403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable"
        "Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT"
        "chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,"
        "text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0."
    )
    return b"".join(struct.pack(">I", len(w)) + w.encode() for w in words) + tail.encode()


DICTIONARY = _dictionary()


def encode_headers(headers: dict[str, str]) -> bytes:
    out = [struct.pack(">I", len(headers))]
    for name, value in headers.items():
        n, v = name.lower().encode(), value.encode()
        out += [struct.pack(">I", len(n)), n, struct.pack(">I", len(v)), v]
    return b"".join(out)


def decode_headers(block: bytes) -> dict[str, str]:
    (count,), pos, headers = struct.unpack_from(">I", block), 4, {}
    for _ in range(count):
        (n,) = struct.unpack_from(">I", block, pos)
        name = block[pos + 4:pos + 4 + n].decode().lower()
        pos += 4 + n
        (n,) = struct.unpack_from(">I", block, pos)
        headers[name] = block[pos + 4:pos + 4 + n].decode().split("\0")[0]
        pos += 4 + n
    return headers


def control_frame(kind: int, flags: int, payload: bytes) -> bytes:
    return struct.pack(">HHI", 0x8000 | VERSION, kind, (flags << 24) | len(payload)) + payload


def data_frame(stream_id: int, flags: int, data: bytes) -> bytes:
    return struct.pack(">II", stream_id & 0x7FFFFFFF, (flags << 24) | len(data)) + data


class Stream:
    """One SPDY stream: ``read()`` gives b"" at the peer's FIN (or a reset), ``write``/``close`` half-close ours."""

    def __init__(self, session: Session, stream_id: int, headers: dict[str, str]) -> None:
        self.session, self.id, self.headers = session, stream_id, headers
        self._incoming: asyncio.Queue[bytes] = asyncio.Queue()
        self.remote_closed = False
        self.local_closed = False
        self.replied = asyncio.Event()

    async def read(self) -> bytes:
        return await self._incoming.get()

    async def read_all(self) -> bytes:
        chunks = []
        while chunk := await self.read():
            chunks.append(chunk)
        return b"".join(chunks)

    def write(self, data: bytes) -> None:
        for i in range(0, len(data), MAX_DATA):
            self.session.enqueue(data_frame(self.id, 0, data[i:i + MAX_DATA]))

    def close(self) -> None:
        if not self.local_closed:
            self.local_closed = True
            self.session.enqueue(data_frame(self.id, FLAG_FIN, b""))

    def reset(self) -> None:
        self.local_closed = True
        self.session.enqueue(control_frame(RST_STREAM, 0, struct.pack(">II", self.id, RST_CANCEL)))
        self._end()

    def _deliver(self, data: bytes, fin: bool) -> None:
        if data and not self.remote_closed:
            self._incoming.put_nowait(data)
        if fin:
            self._end()

    def _end(self) -> None:
        if not self.remote_closed:
            self.remote_closed = True
            self._incoming.put_nowait(b"")


class Session:
    """A SPDY/3.1 connection over any byte transport; ``client`` picks odd stream ids, else even."""

    def __init__(self, send: Callable[[bytes], Awaitable[None]], *, client: bool) -> None:
        self._send = send
        self._client = client
        self._next_id = 1 if client else 2
        self._deflate = zlib.compressobj(zdict=DICTIONARY)
        self._inflate = zlib.decompressobj(zdict=DICTIONARY)
        self._buffer = bytearray()
        self._out: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.streams: dict[int, Stream] = {}
        self.incoming: asyncio.Queue[Stream | None] = asyncio.Queue()
        self.closed = asyncio.Event()
        self._writer = asyncio.get_running_loop().create_task(self._write_loop())

    # ---------------------------------------------------------------- sending
    def enqueue(self, frame: bytes) -> None:
        if not self.closed.is_set():
            self._out.put_nowait(frame)

    async def _write_loop(self) -> None:
        try:
            while (frame := await self._out.get()) is not None:
                await self._send(frame)
        except (ConnectionError, OSError, RuntimeError):
            pass
        finally:
            self._close_streams()

    def _block(self, headers: dict[str, str]) -> bytes:
        return self._deflate.compress(encode_headers(headers)) + self._deflate.flush(zlib.Z_SYNC_FLUSH)

    def open_stream(self, headers: dict[str, str]) -> Stream:
        stream = Stream(self, self._next_id, headers)
        self._next_id += 2
        self.streams[stream.id] = stream
        self.enqueue(control_frame(SYN_STREAM, 0, struct.pack(">IIBB", stream.id, 0, 0, 0) + self._block(headers)))
        return stream

    async def close(self) -> None:
        if not self.closed.is_set():
            self._out.put_nowait(None)
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(asyncio.shield(self._writer), 5)
            self._writer.cancel()
        self._close_streams()

    def _close_streams(self) -> None:
        if self.closed.is_set():
            return
        self.closed.set()
        for stream in list(self.streams.values()):
            stream._end()
        self.incoming.put_nowait(None)

    def feed_eof(self) -> None:
        self._out.put_nowait(None)
        self._close_streams()

    # ---------------------------------------------------------------- receiving
    def feed(self, data: bytes) -> None:
        """Bytes from the transport; complete frames are dispatched at once."""
        self._buffer += data
        while len(self._buffer) >= 8:
            (length,) = struct.unpack_from(">I", self._buffer, 4)
            length &= 0xFFFFFF
            if len(self._buffer) < 8 + length:
                return
            head, payload = bytes(self._buffer[:8]), bytes(self._buffer[8:8 + length])
            del self._buffer[:8 + length]
            self._dispatch(head, payload)

    def _dispatch(self, head: bytes, payload: bytes) -> None:
        word, flags = struct.unpack_from(">I", head)[0], head[4]
        if not word & 0x80000000:
            stream = self.streams.get(word & 0x7FFFFFFF)
            if stream is not None:
                stream._deliver(payload, bool(flags & FLAG_FIN))
            return
        kind = word & 0xFFFF
        if kind == SYN_STREAM:
            self._on_syn_stream(flags, payload)
        elif kind in (SYN_REPLY, HEADERS):
            (sid,) = struct.unpack_from(">I", payload)
            self._inflate.decompress(payload[4:])  # keeps the header stream in step; the values are unused
            stream = self.streams.get(sid & 0x7FFFFFFF)
            if stream is not None:
                stream.replied.set()
                if flags & FLAG_FIN:
                    stream._end()
        elif kind == RST_STREAM:
            (sid,) = struct.unpack_from(">I", payload)
            stream = self.streams.pop(sid & 0x7FFFFFFF, None)
            if stream is not None:
                stream.local_closed = True
                stream._end()
        elif kind == PING:
            (ping_id,) = struct.unpack_from(">I", payload)
            if (ping_id % 2 == 1) != self._client:  # the peer's ping: echo it
                self.enqueue(control_frame(PING, 0, payload))
        elif kind == GOAWAY:
            self._close_streams()

    def _on_syn_stream(self, flags: int, payload: bytes) -> None:
        (sid,) = struct.unpack_from(">I", payload)
        sid &= 0x7FFFFFFF
        headers = decode_headers(self._inflate.decompress(payload[10:]))
        stream = Stream(self, sid, headers)
        self.streams[sid] = stream
        self.enqueue(control_frame(SYN_REPLY, 0, struct.pack(">I", sid) + self._block({})))
        stream.replied.set()
        if flags & FLAG_FIN:
            stream._end()
        self.incoming.put_nowait(stream)


async def pipe(source: Stream, target: Stream) -> None:
    """Copy ``source`` into ``target`` until its FIN, then half-close ``target``."""
    while chunk := await source.read():
        target.write(chunk)
    target.close()


# ---------------------------------------------------------------- a client over TCP


class UpgradeError(ConnectionError):
    def __init__(self, status: int, body: str) -> None:
        super().__init__(body or f"upgrade refused with HTTP {status}")
        self.status, self.body = status, body


async def connect(url: str, protocol: str, *, netns: str | None = None) -> tuple[Session, asyncio.Task[None]]:
    """Upgrades a connection to ``url`` (the runtime's streaming server) to SPDY/3.1 with ``protocol``.

    Returns the client session and the task that reads the connection (it ends when the peer closes).
    """
    parts = urllib.parse.urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    sock = await asyncio.to_thread(_connect_in_netns, host, port, netns)
    sock.settimeout(None)
    reader, writer = await asyncio.open_connection(sock=sock)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    writer.write((f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
                  f"X-Stream-Protocol-Version: {protocol}\r\nContent-Length: 0\r\n\r\n").encode())
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    if status != 101:
        body = await _body(reader, head)
        writer.close()
        raise UpgradeError(status, body)

    async def send(frame: bytes) -> None:
        writer.write(frame)
        await writer.drain()

    session = Session(send, client=True)

    async def pump() -> None:
        try:
            while data := await reader.read(65536):
                session.feed(data)
        except (ConnectionError, OSError):
            pass
        finally:
            session.feed_eof()
            writer.close()

    return session, asyncio.get_running_loop().create_task(pump())


async def _body(reader: asyncio.StreamReader, head: bytes) -> str:
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip() or 0)
    try:
        data = await asyncio.wait_for(reader.readexactly(length), 5) if length else b""
    except (asyncio.IncompleteReadError, TimeoutError):
        data = b""
    return data.decode(errors="replace").strip()
