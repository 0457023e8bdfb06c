"""A client for the CRI streaming server (Exec/Attach URLs), over WebSocket.

CRI's Exec and Attach return a URL on the runtime's streaming server
(containerd serves it on 127.0.0.1:<random port>).  That server speaks the
Kubernetes remotecommand protocol over SPDY or WebSocket; we use WebSocket with
the ``v4.channel.k8s.io`` subprotocol: every binary message starts with a
channel byte (0 stdin, 1 stdout, 2 stderr, 3 error/status JSON, 4 resize).
The final message on channel 3 is a ``metav1.Status``: ``Success``, or
``Failure`` with reason ``NonZeroExitCode`` and the code in its causes.

PortForward uses the same framing with two channels per requested port
(``2i`` data, ``2i+1`` errors); the server first sends each channel's port
number as a little-endian uint16.

The WebSocket client is small and hand-written because the socket may have to
be opened inside another network namespace (a simulated node's containerd has
its streaming server on *its* loopback): network namespaces are per thread in
Linux, so a worker thread switches with setns(2), creates and connects the
socket, and switches back; the socket stays bound to the namespace it was
created in.
"""

from __future__ import annotations

import asyncio
import base64
import ctypes
import os
import socket
import struct
import urllib.parse
from dataclasses import dataclass

import orjson

SUBPROTOCOL = "v4.channel.k8s.io"
STDIN, STDOUT, STDERR, ERROR, RESIZE = 0, 1, 2, 3, 4
_CLONE_NEWNET = 0x40000000


@dataclass
class StreamResult:
    exit_code: int
    stdout: bytes
    stderr: bytes
    status: dict[str, object]


def _connect_in_netns(host: str, port: int, netns: str | None) -> socket.socket:
    if netns is None:
        return socket.create_connection((host, port), timeout=10)
    libc = ctypes.CDLL(None, use_errno=True)
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open(netns, os.O_RDONLY)
    try:
        if libc.setns(target, _CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns({netns})")
        try:
            return socket.create_connection((host, port), timeout=10)
        finally:
            libc.setns(own, _CLONE_NEWNET)
    finally:
        os.close(own)
        os.close(target)


def exit_code_from_status(status: dict[str, object]) -> int:
    if status.get("status") == "Success":
        return 0
    details = status.get("details") or {}
    for cause in details.get("causes", []) if isinstance(details, dict) else []:
        if cause.get("reason") == "ExitCode":
            try:
                return int(cause.get("message", "1"))
            except ValueError:
                return 1
    return 1


class WebSocketStream:
    """One remotecommand session: ``send(channel, data)``, ``recv() -> (channel, data) | None``."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, url: str, *, netns: str | None = None) -> WebSocketStream:
        parts = urllib.parse.urlsplit(url)
        host, port = parts.hostname or "127.0.0.1", parts.port or 80
        sock = await asyncio.to_thread(_connect_in_netns, host, port, netns)
        sock.settimeout(None)
        reader, writer = await asyncio.open_connection(sock=sock)
        key = base64.b64encode(os.urandom(16)).decode()
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: {SUBPROTOCOL}\r\n\r\n"
        )
        writer.write(request.encode())
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            writer.close()
            raise ConnectionError(f"streaming server refused upgrade: {head.decode(errors='replace').strip()}")
        return cls(reader, writer)

    async def send(self, channel: int, data: bytes) -> None:
        payload = bytes([channel]) + data
        header = bytearray([0x82])  # FIN + binary
        n = len(payload)
        if n < 126:
            header.append(0x80 | n)
        elif n < 65536:
            header += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack("!Q", n)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.writer.write(bytes(header) + mask + masked)
        await self.writer.drain()

    async def _frame(self) -> tuple[int, bytes]:
        b1, b2 = await self.reader.readexactly(2)
        n = b2 & 0x7F
        if n == 126:
            (n,) = struct.unpack("!H", await self.reader.readexactly(2))
        elif n == 127:
            (n,) = struct.unpack("!Q", await self.reader.readexactly(8))
        mask = await self.reader.readexactly(4) if b2 & 0x80 else None
        data = await self.reader.readexactly(n)
        if mask:
            data = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
        return b1 & 0x0F, data

    async def recv(self) -> tuple[int, bytes] | None:
        while True:
            try:
                opcode, data = await self._frame()
            except (asyncio.IncompleteReadError, ConnectionError):
                return None
            if opcode == 0x8:  # close
                return None
            if opcode == 0x9:  # ping -> pong
                self.writer.write(bytes([0x8A, 0x80 | len(data)]) + b"\0\0\0\0" + data)
                continue
            if opcode in (0x1, 0x2) and data:
                return data[0], data[1:]

    async def resize(self, width: int, height: int) -> None:
        await self.send(RESIZE, orjson.dumps({"Width": width, "Height": height}))

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except (ConnectionError, OSError):
            pass


async def run_stream(url: str, *, stdin: bytes | None = None, netns: str | None = None) -> StreamResult:
    """Runs a whole exec/attach session: sends ``stdin`` (if the session has stdin), collects output."""
    ws = await WebSocketStream.open(url, netns=netns)
    out, err = bytearray(), bytearray()
    status: dict[str, object] = {}
    try:
        if stdin:
            await ws.send(STDIN, stdin)
        while (msg := await ws.recv()) is not None:
            channel, data = msg
            if channel == STDOUT:
                out += data
            elif channel == STDERR:
                err += data
            elif channel == ERROR and data:
                status = orjson.loads(data)
    finally:
        await ws.close()
    return StreamResult(exit_code_from_status(status) if status else 0, bytes(out), bytes(err), status)


async def port_forward_once(
    url: str, port: int, payload: bytes, *, netns: str | None = None, read_s: float = 5.0
) -> bytes:
    """Sends ``payload`` to ``port`` in the pod through a PortForward URL; returns what came back.

    Reads until the pod side closes the connection or ``read_s`` passes (the
    v4 protocol has no half-close, so request/response protocols must close,
    e.g. HTTP/1.0).
    """
    sep = "&" if "?" in url else "?"
    ws = await WebSocketStream.open(f"{url}{sep}port={port}", netns=netns)
    received = bytearray()
    errors = bytearray()
    seen_header = {0: False, 1: False}
    try:
        await ws.send(0, payload)
        try:
            async with asyncio.timeout(read_s):
                while (msg := await ws.recv()) is not None:
                    channel, data = msg
                    if channel in seen_header and not seen_header[channel]:
                        seen_header[channel] = True  # the port-number preamble
                        data = data[2:]
                    if channel == 0:
                        received += data
                    elif channel == 1:
                        errors += data
        except TimeoutError:
            pass
    finally:
        await ws.close()
    if errors and not received:
        raise ConnectionError(f"port-forward to {port}: {errors.decode(errors='replace')}")
    return bytes(received)
