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
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import orjson
from aiohttp import web

from pyk8s.apiserver.endpoints import tables
from pyk8s.apiserver.registry.rest import WatchEvent
from pyk8s.machinery.errors import StatusError, internal
from pyk8s.machinery.scheme import ResourceType

log = logging.getLogger("pyk8s.apiserver.watch")

#: How long to wait for an immediate store error before committing to a 200.
_FIRST_EVENT_GRACE = 0.05


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
    """The event's JSON line, encoded once for every watcher that shares the event."""
    shared = ev.encoded
    if shared is None:
        return _line(ev.type, ev.object)
    key = "json " + ev.type
    line = shared.get(key)
    if line is None:
        line = shared[key] = _line(ev.type, ev.object)
    return line


async def serve_watch(request: web.Request, events: AsyncIterator[WatchEvent], *, duration: float,
                      content_type: str, table: TableEncoder | None = None) -> web.StreamResponse:
    first: asyncio.Task[WatchEvent] = asyncio.ensure_future(events.__anext__())
    try:
        done, _ = await asyncio.wait({first}, timeout=_FIRST_EVENT_GRACE)
        if done and first.exception() is not None and not isinstance(first.exception(), StopAsyncIteration):
            exc = first.exception()
            if isinstance(exc, StatusError) and exc.code != 410:
                raise exc
        resp = web.StreamResponse(status=200, headers={"Content-Type": content_type, "Cache-Control": "no-cache"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        with contextlib.suppress(TimeoutError, ConnectionResetError):
            async with asyncio.timeout(duration):
                await _pump(resp, events, first, table)
        with contextlib.suppress(ConnectionResetError):
            await resp.write_eof()
        return resp
    finally:
        if not first.done():
            first.cancel()
            with contextlib.suppress(BaseException):
                await first
        await _close(events)


async def _pump(resp: web.StreamResponse, events: AsyncIterator[WatchEvent], first: asyncio.Task[WatchEvent],
                table: TableEncoder | None) -> None:
    pending: asyncio.Future[WatchEvent] | None = first
    batch: list[bytes] = []  # lines of events that came together, written (one TLS record) together
    while True:
        try:
            ev = await pending if pending is not None else await events.__anext__()
        except StopAsyncIteration:
            await _flush(resp, batch)
            return
        except StatusError as err:
            batch.append(_line("ERROR", err.to_status()))
            await _flush(resp, batch)
            return
        except (asyncio.CancelledError, ConnectionResetError):
            raise
        except Exception:
            log.exception("watch failed")
            batch.append(_line("ERROR", internal("the watch ended with an internal error").to_status()))
            await _flush(resp, batch)
            return
        pending = None
        batch.append(_line(ev.type, table.encode(ev)) if table is not None else _json_line(ev))
        if not ev.more:
            await _flush(resp, batch)


async def _flush(resp: web.StreamResponse, batch: list[bytes]) -> None:
    if batch:
        data = batch[0] if len(batch) == 1 else b"".join(batch)
        batch.clear()
        await resp.write(data)
