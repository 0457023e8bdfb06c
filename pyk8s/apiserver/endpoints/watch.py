"""Streaming watches: one JSON event per line over a chunked response.

The stream starts with a 200 and then carries ``{"type", "object"}`` lines,
each written (and so flushed) on its own.  It ends when ``timeoutSeconds``
(or the ``timeout`` duration, or a random 30-60 minutes) is up, when the
store's iterator ends, or when the client goes away; in every case the
store's watcher is closed.

An error the store raises before the first event (a bad selector) is still
a plain Status response.  Once streaming has begun, an error becomes an
``ERROR`` event whose object is the Status (e.g. 410 Expired), which is what
informers and the Python client expect.

For a Table watch each event's object is a one-row Table; only the first
carries ``columnDefinitions``, as upstream does.

A JSON line is encoded once per event for all watchers (kept in the event's
shared ``encoded`` dict, under the encoding and the type, since a selector
can turn one change into ADDED for one watcher and DELETED for another), and
events that arrive together (``more``) go out in one write: with many
watchers, the per-watcher work left is the socket write itself.

A JSON watch also hands the watch cache a ``DirectWriter`` (``direct_sink``):
while this stream has written everything it was given, the cache gives a new
event's line straight to the writer, already framed as an HTTP/1.1 chunk that
every watcher shares, instead of waking this handler.  The writer collects
what the cache applies in one pass of the event loop and puts it on the
connection in one write, from one callback for all watchers (``_Batch``): the
loop does no per-watcher task switch per event, and events that arrive
together still cost one TLS record and one send.  (Writing an event at once,
from the cache's pass, was tried: no better, and in alternating runs worse.)
The writer refuses (the event then takes the ordinary path, with aiohttp's
flow control) before the
headers are out, after the stream ends, and while the connection has more
than ``DIRECT_BUFFER_LIMIT`` bytes waiting; the handler flushes the writer
before any write of its own, so the order on the wire is the cache's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import AsyncIterator
from typing import Any

import orjson
from aiohttp import web

from pyk8s.apiserver.endpoints import tables
from pyk8s.apiserver.metrics import WatchEventTally, watch_tally_for
from pyk8s.apiserver.registry.rest import WatchEvent
from pyk8s.apiserver.watchcache import direct_sink
from pyk8s.machinery.errors import StatusError, internal
from pyk8s.machinery.scheme import ResourceType

log = logging.getLogger("pyk8s.apiserver.watch")

#: How long to wait for an immediate store error before committing to a 200.
_FIRST_EVENT_GRACE = 0.05
#: Past this many unsent bytes on a connection, events wait in the watcher's queue instead.
DIRECT_BUFFER_LIMIT = 64 * 1024
#: How long past ``duration`` the handler lets the store end the stream itself (see serve_watch).
STORE_DEADLINE_GRACE = 0.5


class TableEncoder:
    """Turns each watch event's object into a one-row Table."""

    def __init__(self, rt: ResourceType, include: str, version: str) -> None:
        self.rt, self.include, self.version = rt, include, version
        self._first = True

    def encode(self, ev: WatchEvent) -> dict[str, Any]:
        if ev.type in ("ERROR", "BOOKMARK"):
            return ev.object
        table = tables.object_table(self.rt, ev.object, include=self.include, version=self.version,
                                    columns=self._first)
        self._first = False
        return table


async def _close(it: AsyncIterator[WatchEvent]) -> None:
    aclose = getattr(it, "aclose", None)
    if aclose is not None:
        with contextlib.suppress(Exception):
            await aclose()


def _line(ev_type: str, obj: dict[str, Any]) -> bytes:
    return orjson.dumps({"type": ev_type, "object": obj}) + b"\n"


def _json_line(ev: WatchEvent) -> bytes:
    return _shared_line(ev.type, ev.object, ev.encoded)


def _shared_line(kind: str, obj: dict[str, Any], shared: dict[str, bytes] | None) -> bytes:
    """The event's JSON line, encoded once for every watcher that shares the event."""
    if shared is None:
        return _line(kind, obj)
    key = "json " + kind
    line = shared.get(key)
    if line is None:
        line = shared[key] = _line(kind, obj)
    return line


#: The shared dict's key of each event type's chunk, made once: this runs once per watcher per event.
_CHUNK_KEYS = {kind: "chunk " + kind for kind in ("ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR")}


def _shared_chunk(kind: str, obj: dict[str, Any], shared: dict[str, bytes] | None) -> bytes:
    """The JSON line framed as one HTTP/1.1 chunk, also shared."""
    key = _CHUNK_KEYS.get(kind) or "chunk " + kind
    chunk = shared.get(key) if shared is not None else None
    if chunk is None:
        line = _shared_line(kind, obj, shared)
        chunk = b"%x\r\n%b\r\n" % (len(line), line)
        if shared is not None:
            shared[key] = chunk
    return chunk


class _Batch:
    """The writers with lines waiting in this loop pass, flushed by one callback, which also adds
    the pass's writes to apiserver_watch_events_total once per counter rather than once per write."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.scheduled = False
        self.dirty: list[DirectWriter] = []  # the writers with lines waiting
        self.counts: dict[Any, int] = {}  # counter child -> events written in this pass

    def enter(self, writer: DirectWriter) -> None:
        if not self.scheduled:
            self.scheduled = True
            self.loop.call_soon(self.run)
        self.dirty.append(writer)

    def count(self, child: Any, events: int) -> None:
        self._schedule()
        self.counts[child] = self.counts.get(child, 0) + events

    def _schedule(self) -> None:
        if not self.scheduled:
            self.scheduled = True
            self.loop.call_soon(self.run)

    def run(self) -> None:
        self.scheduled = False
        dirty, self.dirty = self.dirty, []
        counts = self.counts
        for writer in dirty:  # the pass's writes, counted here (one dict update per writer, no calls)
            events = writer.send()
            child = writer.tally.child if events and writer.tally is not None else None
            if child is not None:
                counts[child] = counts.get(child, 0) + events
        self.counts = {}
        for child, events in counts.items():
            child.inc(events)


_batches: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Batch] = weakref.WeakKeyDictionary()


def _batch() -> _Batch:
    loop = asyncio.get_running_loop()
    batch = _batches.get(loop)
    if batch is None:
        batch = _batches[loop] = _Batch(loop)
    return batch


class DirectWriter:
    """The watch cache's way onto one JSON watch's connection (see the module docstring)."""

    __slots__ = ("transport", "open", "pending", "batch", "tally")

    def __init__(self, transport: asyncio.Transport | None, batch: _Batch,
                 tally: WatchEventTally | None = None) -> None:
        self.transport = transport
        self.open = False  # True between the headers and the end of the stream
        self.pending: list[bytes] = []
        self.batch = batch
        self.tally = tally  # apiserver_watch_events_total

    def write_event(self, kind: str, obj: dict[str, Any], encoded: dict[str, bytes] | None) -> bool:
        t = self.transport
        if not self.open or t is None or t.is_closing() or t.get_write_buffer_size() > DIRECT_BUFFER_LIMIT:
            return False
        tally = self.tally
        if tally is not None and tally.child is None:
            tally.note(obj)
        pending = self.pending
        if not pending:
            self.batch.enter(self)
        chunk = encoded.get(_CHUNK_KEYS.get(kind, "")) if encoded is not None else None
        pending.append(chunk if chunk is not None else _shared_chunk(kind, obj, encoded))
        return True

    def flush(self) -> None:
        """Write what waits (the handler calls this before any write of its own)."""
        self._count(self.send())

    def send(self) -> int:
        """Write what waits; how many events that was (0 when the connection is gone)."""
        pending = self.pending
        if not pending:
            return 0
        data = pending[0] if len(pending) == 1 else b"".join(pending)
        events = len(pending)
        pending.clear()
        t = self.transport
        if t is None or t.is_closing():
            return 0
        t.write(data)
        return events

    def _count(self, events: int) -> None:
        if events and self.tally is not None and self.tally.child is not None:
            self.batch.count(self.tally.child, events)


async def serve_watch(request: web.Request, events: AsyncIterator[WatchEvent], *, duration: float,
                      content_type: str, table: TableEncoder | None = None) -> web.StreamResponse:
    tally = watch_tally_for(request)
    direct = DirectWriter(request.transport, _batch(), tally) if table is None and request.version >= (1, 1) else None
    token = direct_sink.set(direct)  # the store's iteration (in this task and in ``first``) sees it
    first: asyncio.Task[WatchEvent] = asyncio.ensure_future(events.__anext__())
    try:
        done, _ = await asyncio.wait({first}, timeout=_FIRST_EVENT_GRACE)
        if done and first.exception() is not None and not isinstance(first.exception(), StopAsyncIteration):
            exc = first.exception()
            if isinstance(exc, StatusError) and exc.code != 410:
                raise exc
        resp = web.StreamResponse(status=200, headers={"Content-Type": content_type, "Cache-Control": "no-cache"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)  # sends the headers at once (StreamResponse)
        if direct is not None and resp.chunked and not resp.compression:
            direct.open = True
        with contextlib.suppress(TimeoutError, ConnectionResetError):
            # The store ends a watch at its own deadline (timeoutSeconds), after what is queued and the
            # closing bookmark; this timeout is the net for a store that does not, so it must not race it.
            async with asyncio.timeout(duration + STORE_DEADLINE_GRACE):
                await _pump(resp, events, first, table, direct, tally)
        if direct is not None:
            direct.open = False
            direct.flush()
        with contextlib.suppress(ConnectionResetError):
            await resp.write_eof()
        return resp
    finally:
        if direct is not None:
            direct.open = False
        if not first.done():
            first.cancel()
            with contextlib.suppress(BaseException):
                await first
        await _close(events)
        direct_sink.reset(token)  # the connection's next request runs in this task


async def _pump(resp: web.StreamResponse, events: AsyncIterator[WatchEvent], first: asyncio.Task[WatchEvent],
                table: TableEncoder | None, direct: DirectWriter | None = None,
                tally: WatchEventTally | None = None) -> None:
    pending: asyncio.Future[WatchEvent] | None = first
    batch: list[bytes] = []  # lines of events that came together, written (one TLS record) together
    while True:
        try:
            ev = await pending if pending is not None else await events.__anext__()
        except StopAsyncIteration:
            await _flush(resp, batch, direct, tally)
            return
        except StatusError as err:
            batch.append(_line("ERROR", err.to_status()))
            await _flush(resp, batch, direct, tally)
            return
        except (asyncio.CancelledError, ConnectionResetError):
            raise
        except Exception:
            log.exception("watch failed")
            batch.append(_line("ERROR", internal("the watch ended with an internal error").to_status()))
            await _flush(resp, batch, direct, tally)
            return
        pending = None
        batch.append(_line(ev.type, table.encode(ev)) if table is not None else _json_line(ev))
        if tally is not None and tally.child is None:
            tally.note(ev.object)
        if not ev.more:
            await _flush(resp, batch, direct, tally)


async def _flush(resp: web.StreamResponse, batch: list[bytes], direct: DirectWriter | None = None,
                 tally: WatchEventTally | None = None) -> None:
    if direct is not None:
        direct.flush()  # lines the cache gave the writer go first: they are older
    if batch:
        data = batch[0] if len(batch) == 1 else b"".join(batch)
        if tally is not None:
            tally.add(len(batch))
        batch.clear()
        await resp.write(data)
