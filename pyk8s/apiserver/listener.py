"""The HTTPS listener: accepts connections itself so plain HTTP gets Go's answer.

A client that speaks plain HTTP to the secure port gets, as from any Go
server, ``400 Bad Request`` with "Client sent an HTTP request to an HTTPS
server." instead of a silent close.  To tell the two apart the listener
peeks at the first bytes of every accepted connection (``MSG_PEEK``: nothing
is consumed), then hands TLS connections to the event loop
(``connect_accepted_socket``) with a handshake deadline; a connection that
sends nothing is closed at that deadline too.  Accept errors such as EMFILE
pause accepting briefly instead of spinning.

``SecureSite`` is an aiohttp site over this listener, so the runner's
shutdown and ``addresses`` work as with ``TCPSite``.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket
import ssl
from collections.abc import Callable
from typing import Any

from aiohttp import web

log = logging.getLogger("pyk8s.apiserver")

TLS_HANDSHAKE = 0x16
#: What Go's TLS server recognises as the start of an HTTP request (crypto/tls looksLikeHTTP).
_HTTP_STARTS = (b"GET /", b"HEAD ", b"POST ", b"PUT /", b"OPTIO")
HTTP_TO_HTTPS = b"HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n"
_ACCEPT_BATCH = 64
_ACCEPT_PAUSE = 0.1


def looks_like_http(head: bytes) -> bool:
    return any(start.startswith(head[:5]) for start in _HTTP_STARTS)


def _bind(host: str, port: int, backlog: int) -> socket.socket:
    family, kind, proto, _, addr = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                      flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(addr)
        except OSError as exc:  # worded as the event loop's own create_server words it
            raise OSError(exc.errno, f"error while attempting to bind on address {addr!r}: "
                                     f"{(exc.strerror or str(exc)).lower()}") from None
        sock.listen(backlog)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


class SecureListener:
    """Accepts on one socket and sorts connections into TLS and plain HTTP (duck-types ``asyncio.Server``)."""

    def __init__(self, sock: socket.socket, factory: Callable[[], asyncio.Protocol], ctx: ssl.SSLContext,
                 handshake_timeout: float) -> None:
        self.sockets = [sock]
        self._sock = sock
        self._factory = factory
        self._ctx = ctx
        self._timeout = handshake_timeout
        self._loop = asyncio.get_running_loop()
        self._sniffing: dict[socket.socket, asyncio.TimerHandle] = {}
        self._handshakes: set[asyncio.Task[Any]] = set()
        self._closed = False
        self._loop.add_reader(sock.fileno(), self._accept)

    def _accept(self) -> None:
        for _ in range(_ACCEPT_BATCH):
            try:
                conn, _ = self._sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    log.warning("accept: %s; pausing for %gs", exc.strerror, _ACCEPT_PAUSE)
                    self._loop.remove_reader(self._sock.fileno())
                    self._loop.call_later(_ACCEPT_PAUSE, self._resume_accepting)
                return
            conn.setblocking(False)
            with contextlib.suppress(OSError):
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._sniffing[conn] = self._loop.call_later(self._timeout, self._give_up, conn)
            self._loop.add_reader(conn.fileno(), self._sniff, conn)

    def _resume_accepting(self) -> None:
        if not self._closed:
            self._loop.add_reader(self._sock.fileno(), self._accept)

    def _stop_sniffing(self, conn: socket.socket) -> None:
        timer = self._sniffing.pop(conn, None)
        if timer is not None:
            timer.cancel()
        self._loop.remove_reader(conn.fileno())

    def _give_up(self, conn: socket.socket) -> None:
        self._stop_sniffing(conn)
        conn.close()

    def _sniff(self, conn: socket.socket) -> None:
        try:
            head = conn.recv(5, socket.MSG_PEEK)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            head = b""
        self._stop_sniffing(conn)
        if head and head[0] != TLS_HANDSHAKE and looks_like_http(head):
            self._answer_plain_http(conn)
        elif head:
            task = self._loop.create_task(self._handshake(conn))
            self._handshakes.add(task)
            task.add_done_callback(self._handshakes.discard)
        else:
            conn.close()

    def _answer_plain_http(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            conn.recv(65536)  # unread data would turn our close into a reset that eats the answer
            conn.send(HTTP_TO_HTTPS)
            conn.shutdown(socket.SHUT_WR)
        conn.close()
        log.debug("plain HTTP request on the HTTPS port answered 400")

    async def _handshake(self, conn: socket.socket) -> None:
        try:
            await self._loop.connect_accepted_socket(self._factory, conn, ssl=self._ctx,
                                                     ssl_handshake_timeout=self._timeout)
        except OSError as exc:  # ssl.SSLError, TimeoutError and ConnectionError included
            log.debug("TLS handshake failed: %s", exc)
            conn.close()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._loop.remove_reader(self._sock.fileno())
        self._sock.close()
        for conn in list(self._sniffing):
            self._give_up(conn)
        for task in self._handshakes:
            task.cancel()

    async def wait_closed(self) -> None:
        if self._handshakes:
            await asyncio.gather(*self._handshakes, return_exceptions=True)


class SecureSite(web.BaseSite):
    """An aiohttp site over ``SecureListener``; ``handshake_timeout`` bounds TLS set-up and the first bytes."""

    def __init__(self, runner: web.BaseRunner, host: str, port: int, *, ssl_context: ssl.SSLContext,
                 handshake_timeout: float, backlog: int = 1024) -> None:
        super().__init__(runner, ssl_context=ssl_context, backlog=backlog)
        self._host = host
        self._port = port
        self._handshake_timeout = handshake_timeout

    @property
    def name(self) -> str:
        return f"https://{self._host}:{self._port}"

    async def start(self) -> None:
        await super().start()
        server = self._runner.server
        assert server is not None and self._ssl_context is not None
        sock = _bind(self._host, self._port, self._backlog)
        self._server = SecureListener(sock, server, self._ssl_context, self._handshake_timeout)  # type: ignore[assignment]
