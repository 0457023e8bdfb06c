"""Per-connection HTTP limits, as Go's ``http.Server`` applies them to kube-apiserver.

aiohttp closes a connection idle between requests after ``keepalive_timeout``
(Go's ``IdleTimeout``, 90 s upstream) but gives a client all the time it
wants to finish a request header, so connections that send nothing or half a
header stayed open for an hour.  ``HTTPConnection`` adds Go's
``ReadHeaderTimeout`` (32 s upstream): from the connection's start, and from
the first byte of every later request, the header must be complete in time
or the connection is closed.  It also caps the bytes of one request header
(Go's ``MaxHeaderBytes``, 1 MiB: long label selectors fit, a header that never
ends does not) with Go's 431 answer, and logs malformed requests (a client's
mistake, not ours) at debug level without a traceback.

``APIRunner`` is aiohttp's ``AppRunner`` whose connections are
``HTTPConnection``s.  The private aiohttp state used here (``_waiter``,
``_request_count``) is pinned by requirements.txt's aiohttp version.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from pyk8s.apiserver.config import MAX_HEADER_BYTES, READ_HEADER_TIMEOUT

log = logging.getLogger("pyk8s.apiserver")

_LINGER = 0.5
_TOO_LARGE = (b"HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: text/plain; charset=utf-8\r\n"
              b"Connection: close\r\n\r\n431 Request Header Fields Too Large")


class HTTPConnection(web.RequestHandler):
    """One client connection: aiohttp's handler plus a header deadline and a header size cap."""

    def __init__(self, manager: web.Server, *, read_header_timeout: float = READ_HEADER_TIMEOUT,
                 max_header_bytes: int = MAX_HEADER_BYTES, **kwargs: Any) -> None:
        # A single line or field may use the whole budget; the total is checked in data_received.
        kwargs.setdefault("max_line_size", max_header_bytes)
        kwargs.setdefault("max_field_size", max_header_bytes)
        super().__init__(manager, **kwargs)
        self._read_header_timeout = read_header_timeout
        self._max_header_bytes = max_header_bytes
        self._header_bytes = 0
        self._header_timer: asyncio.TimerHandle | None = None
        self._header_armed_at = -1  # _request_count when the header deadline was armed
        self._reported = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._arm_header_deadline()

    def connection_lost(self, exc: BaseException | None) -> None:
        self._disarm_header_deadline()
        super().connection_lost(exc)

    def _awaiting_header(self) -> bool:
        """No request on this connection is being parsed past its header or handled."""
        waiter = self._waiter
        return self._request_count == 0 or (waiter is not None and not waiter.done())

    def data_received(self, data: bytes) -> None:
        if self._close or self._force_close:
            return
        awaiting = self._awaiting_header()
        before = self._request_count
        super().data_received(data)
        if self._request_count != before:  # a header completed
            self._header_bytes = 0
            self._disarm_header_deadline()
            return
        if not awaiting or self.transport is None:
            return
        self._header_bytes += len(data)
        if self._header_bytes > self._max_header_bytes:
            self._refuse_header()
            return
        if self._header_timer is None:
            self._arm_header_deadline()

    def _refuse_header(self) -> None:
        self._log_client_error("request header larger than %d bytes", self._max_header_bytes)
        self._disarm_header_deadline()
        if self.transport is not None:
            self.transport.write(_TOO_LARGE)
        # Like Go, read and drop what still comes for a moment: closing on unread data sends a reset
        # that can destroy the answer before the client reads it.
        self.close()
        self._loop.call_later(_LINGER, self.force_close)

    def _arm_header_deadline(self) -> None:
        if self._read_header_timeout <= 0:
            return
        self._disarm_header_deadline()
        self._header_armed_at = self._request_count
        self._header_timer = self._loop.call_later(self._read_header_timeout, self._header_deadline)

    def _disarm_header_deadline(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_deadline(self) -> None:
        self._header_timer = None
        if self._request_count == self._header_armed_at and self._awaiting_header():
            self._log_client_error("no complete request header within %gs", self._read_header_timeout)
            self.force_close()

    def _log_client_error(self, msg: str, *args: Any) -> None:
        if not self._reported:  # one line per connection, whatever the client keeps sending
            self._reported = True
            log.debug("closing connection from %s: " + msg, self.peername, *args)

    def log_exception(self, *args: Any, **kw: Any) -> None:
        exc = kw.get("exc_info")
        if isinstance(exc, HttpProcessingError):  # a malformed request: the client's mistake, not a bug
            first_line = (str(exc.message or "").strip().splitlines() or [type(exc).__name__])[0]
            self._log_client_error("malformed request: %s", first_line)
            return
        super().log_exception(*args, **kw)


class _Server(web.Server):
    def __call__(self) -> HTTPConnection:
        return HTTPConnection(self, loop=self._loop, **self._kwargs)


class APIRunner(web.AppRunner):
    """``AppRunner`` whose connections are ``HTTPConnection`` (options: read_header_timeout, max_header_bytes)."""

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        server.__class__ = _Server  # aiohttp builds the Server itself; only its handler factory changes
        return server
