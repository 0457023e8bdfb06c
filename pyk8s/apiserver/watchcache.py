"""The watch cache: one storage watch per resource, fanned out to every API watcher.

Like the Kubernetes cacher, each ``WatchCache`` lists its storage prefix once,
then follows one ``storage.watch`` from that revision.  It keeps

* ``state``: the current objects (key -> decoded object), which answers
  ``resourceVersion=0`` lists and the synthetic ``ADDED`` events of a watch
  that starts at ""/"0";
* ``buffer``: a ring of recent events, so a watch that resumes from a
  recent resourceVersion replays what it missed from memory.

A watch older than the ring (``rv < window_start``) whose events the ring has
dropped gets 410 Expired, as from upstream's cacher.  One older than the cache
itself (history from before its list) gets ``CacheTooOld``: the store falls
back to a direct storage watch, which works until compaction (then 410 Gone),
so clients resume across an API server restart.

Delivery never blocks the cache: every watcher has a bounded queue, and a
watcher that lets it fill up is closed (its client re-watches from the last
resourceVersion it saw, exactly what upstream does with slow watchers).

Objects in events and in ``state`` are shared, not copied, for speed:
consumers must treat them as read-only (the HTTP layer only serializes them).
So are serializations: each recent event carries a dict where the HTTP layer
keeps its encoded line, so a hundred watchers of one namespace cost one
encoding per event, not a hundred.  Events already queued for a watcher are
handed over together (``WatchEvent.more``) and written to its client at once.
Lists share encodings too: ``stored_json`` keeps each current object's JSON,
made once per object version, and the store's ``list_json`` joins those bytes
for every item the storage read returns at the version the cache holds.

Bookmarks (``allowWatchBookmarks``) carry the revision a watcher has
*settled* at: the newest one offered to it, and only while nothing waits in
its queue.  A client that resumes from a bookmark therefore never skips an
event; bookmarks move past other namespaces' changes, which is their point.
A watch from a revision the cache has not applied yet (the client read it
from storage) skips the events up to it when they arrive.

Direct delivery: the HTTP layer may offer a ``Sink`` (``direct_sink``, set
around the watch's iteration).  While a watcher's consumer is parked on an
empty queue, every earlier event has been written to its client, so a new
event can be written from ``offer`` itself, in the cache's own pass over its
watchers: no task wake-up, future, generator chain or per-watcher write call
per event.  Whenever that is not so (events queued, the consumer busy, the
connection's buffer full, a sink that refuses) the event is queued as before,
and order follows from never writing directly past a queued event.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import contextvars
import logging
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from pyk8s.apiserver.registry.rest import WatchEvent
from pyk8s.machinery.errors import gone
from pyk8s.storage.interface import CompactedError, Event, EventType, KeyValue, Storage, StorageError

log = logging.getLogger(__name__)

Obj = dict[str, Any]
Decoder = Callable[[KeyValue], Obj]
BookmarkMaker = Callable[[int], Obj]
InitialLister = Callable[[], Awaitable[tuple[list[Obj], int]]]

DEFAULT_CAPACITY = 10_000
WATCHER_QUEUE = 10_000
#: How many recent events keep their shared serializations (older ones are re-encoded per watcher).
ENCODED_EVENTS = 1_000
#: The most queued events one watcher is handed in one batch (written to its client together).
BATCH = 100
BOOKMARK_IDLE = 1.0
RESTART_DELAY = 0.5


@dataclass(slots=True)
class CacheEvent:
    type: str  # ADDED | MODIFIED | DELETED
    key: str
    obj: Obj
    prev: Obj | None
    revision: int
    # The serializations watchers share (WatchEvent.encoded), kept while the event is recent.
    encoded: dict[str, bytes] | None = None


@dataclass(slots=True)
class Filter:
    """What one watcher wants: keys under ``prefix`` whose object ``match`` accepts."""

    prefix: str
    match: Callable[[Obj], bool]


class Sink(Protocol):
    """Where a watch's lines can be written at once, synchronously (the client's connection)."""

    def write_event(self, kind: str, obj: Obj, encoded: dict[str, bytes] | None) -> bool:
        """Write one event; False (nothing written) when it cannot take it now."""


#: Set by the HTTP layer around a watch whose events may be written straight to its client.
direct_sink: contextvars.ContextVar[Sink | None] = contextvars.ContextVar("direct_sink", default=None)


class CacheTooOld(Exception):
    """The requested revision is older than what the ring buffer holds."""


class Watcher:
    """One consumer's bounded queue of cache events.

    ``progress`` is the newest revision this watcher has been offered, whether
    it was queued or skipped as outside ``prefix``: once the queue is empty,
    everything up to ``progress`` has been delivered or did not concern it, so
    that is the revision a bookmark may carry (never one still queued).

    Waiting is one bare future rather than ``asyncio.Event`` and ``wait_for``,
    and the idle timer is armed once per idle period, not once per wait: when
    it fires early (events came meanwhile) it re-arms for the rest.  With a
    hundred watchers of one resource this runs a hundred times per event."""

    __slots__ = ("events", "_waiter", "_timer", "_idle_at", "closed", "overflowed", "limit", "prefix", "floor",
                 "progress", "sink", "match", "delivered")

    def __init__(self, prefix: str, limit: int, floor: int = 0) -> None:
        self.prefix = prefix
        self.events: deque[CacheEvent] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._idle_at: float | None = None  # loop time at which the current wait is idle
        self.closed = False
        self.overflowed = False  # closed because the consumer fell too far behind
        self.limit = limit
        self.floor = floor  # the client already has everything up to here
        self.progress = floor
        self.sink: Sink | None = None  # direct delivery (see the module docstring)
        self.match: Callable[[Obj], bool] = _everything
        self.delivered = 0  # the newest revision written through the sink

    def deliver_directly(self, sink: Sink, match: Callable[[Obj], bool]) -> None:
        self.sink, self.match = sink, match

    def offer(self, ev: CacheEvent) -> None:
        if self.closed or ev.revision <= self.floor:
            return
        self.progress = ev.revision
        if not ev.key.startswith(self.prefix):
            return
        # Parked on an empty queue: everything before this event is on the wire already.
        sink = self.sink
        if sink is not None and self._waiter is not None and not self.events:
            try:
                out = transition(ev, self.match)
                if out is None or sink.write_event(*out):
                    self.delivered = ev.revision
                    return
            except Exception:  # noqa: BLE001, S110 - e.g. an object that does not encode: the queued path
                pass  # reports it to this client only
        if len(self.events) >= self.limit:
            # Too slow: end this watch rather than block others or grow without bound.
            self.closed = self.overflowed = True
        else:
            self.events.append(ev)
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _on_timer(self) -> None:
        self._timer = None
        if self._waiter is None or self._idle_at is None:
            return  # not waiting: the next wait arms a timer again
        loop = asyncio.get_running_loop()
        if loop.time() < self._idle_at:
            self._timer = loop.call_at(self._idle_at, self._on_timer)
        else:
            self._wake()

    def close(self) -> None:
        self.closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._wake()

    def settled(self) -> int | None:
        """The revision a bookmark may carry now, or None while events wait to be delivered."""
        return None if self.events else self.progress

    async def next(self, idle: float | None) -> CacheEvent | None:
        """The next event; None when ``idle`` seconds pass without one.  Raises EOFError once closed and drained."""
        if not self.events:
            if self.closed:
                raise EOFError
            loop = asyncio.get_running_loop()
            self._waiter = waiter = loop.create_future()
            self._idle_at = None if idle is None else loop.time() + idle
            if self._idle_at is not None and (self._timer is None or self._timer.when() > self._idle_at):
                if self._timer is not None:
                    self._timer.cancel()
                self._timer = loop.call_at(self._idle_at, self._on_timer)
            try:
                await waiter
            finally:
                self._waiter = None
            if not self.events:
                if self.closed:
                    raise EOFError
                return None  # idle (the queue is checked after waking, so no event can be passed over)
        return self.events.popleft()

    def drain(self, limit: int) -> list[CacheEvent]:
        """Up to ``limit`` events already queued (no waiting)."""
        events = self.events
        return [events.popleft() for _ in range(min(limit, len(events)))]

    async def aclose(self) -> None:
        self.close()


class StorageFeed:
    """A direct storage watch behind the ``Watcher`` interface, for resumes older
    than the ring buffer.  A pending read survives an idle timeout (cancelling a
    storage watch mid-event would lose it)."""

    def __init__(self, storage: Storage, prefix: str, after: int, decode: Decoder) -> None:
        self._source = storage_events(storage, prefix, after, decode)
        self._pending: asyncio.Future[CacheEvent] | None = None
        self.progress = after
        self.overflowed = False
        self.limit = 0

    def settled(self) -> int:
        # Only revisions already delivered: the storage watch says nothing about the others.
        return self.progress

    async def next(self, idle: float | None) -> CacheEvent | None:
        if self._pending is None:
            self._pending = asyncio.ensure_future(self._source.__anext__())
        done, _ = await asyncio.wait({self._pending}, timeout=idle)
        if not done:
            return None
        fut, self._pending = self._pending, None
        try:
            ev = fut.result()
        except StopAsyncIteration:
            raise EOFError from None
        self.progress = ev.revision
        return ev

    def drain(self, limit: int) -> list[CacheEvent]:
        return []

    async def aclose(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
            with contextlib.suppress(BaseException):
                await self._pending
        with contextlib.suppress(Exception):
            await self._source.aclose()


class WatchCache:
    def __init__(self, storage: Storage, prefix: str, decode: Decoder, *, capacity: int = DEFAULT_CAPACITY) -> None:
        self.storage = storage
        self.prefix = prefix
        self.decode = decode
        self.capacity = capacity
        self.state: dict[str, Obj] = {}
        self.buffer: deque[CacheEvent] = deque()
        self.rev = 0  # everything up to here is reflected in state
        self.window_start = 0  # the buffer replays every event after this revision
        self.loaded_at = 0  # the revision of the last (re)list; older history is storage's to replay
        self.ready = asyncio.Event()
        self._watchers: set[Watcher] = set()
        self._encoded: deque[CacheEvent] = deque()  # the recent events that hold shared serializations
        # key -> (the state object, its JSON): lists join these bytes instead of encoding each object again.
        self._json: dict[str, tuple[Obj, orjson.Fragment, int]] = {}
        # ``state``'s keys in order, kept until a key comes or goes (updates leave the order alone):
        # admission reads a namespace's LimitRanges or quotas on every pod create.
        self._keys: list[str] | None = None
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    # --- lifecycle -----------------------------------------------------------

    async def ensure_started(self) -> None:
        if self.ready.is_set():
            return
        async with self._lock:
            if self._task is None:
                await self._load()
                self._task = asyncio.create_task(self._follow(), name=f"watchcache {self.prefix}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
            self._task = None
        for w in list(self._watchers):
            w.close()
        self.ready.clear()

    async def _load(self) -> None:
        state: dict[str, Obj] = {}
        start, revision = "", 0
        while True:
            res = await self.storage.list(self.prefix, revision=revision, limit=5000, start_after=start)
            revision = res.revision
            for kv in res.items:
                state[kv.key] = self.decode(kv)
            if not res.more or not res.items:
                break
            start = res.items[-1].key
        self.state, self.rev, self.window_start, self.loaded_at = state, revision, revision, revision
        self._json = {}
        self._keys = None
        self.buffer.clear()
        self._encoded.clear()
        self.ready.set()

    async def _follow(self) -> None:
        while True:
            try:
                async for ev in self.storage.watch(self.prefix, after_revision=self.rev):
                    self._apply(ev)
            except asyncio.CancelledError:
                raise
            except CompactedError:
                log.warning("watch cache %s fell behind compaction; relisting", self.prefix)
                await self._relist()
            except (StorageError, OSError) as e:
                log.warning("watch cache %s: storage watch failed (%s); resuming", self.prefix, e)
                await asyncio.sleep(RESTART_DELAY)
            except Exception:
                log.exception("watch cache %s failed; relisting", self.prefix)
                await asyncio.sleep(RESTART_DELAY)
                await self._relist()

    async def _relist(self) -> None:
        # Events were lost: watchers can no longer be told a gap-free story, so they end and re-watch.
        for w in list(self._watchers):
            w.close()
        self._watchers.clear()
        with contextlib.suppress(StorageError, OSError):
            await self._load()

    # --- events --------------------------------------------------------------

    def _apply(self, ev: Event) -> None:
        obj = self.decode(ev.kv)
        prev = self.state.get(ev.kv.key)
        self._json.pop(ev.kv.key, None)
        if ev.type is EventType.DELETE:
            self.state.pop(ev.kv.key, None)
            self._keys = None
            kind = "DELETED"
        else:
            if prev is None:
                self._keys = None
            self.state[ev.kv.key] = obj
            kind = "ADDED" if ev.type is EventType.CREATE or prev is None else "MODIFIED"
        if prev is None and ev.prev is not None and ev.type is not EventType.CREATE:
            prev = self.decode(ev.prev)
        cev = CacheEvent(kind, ev.kv.key, obj, prev, ev.revision, {})
        if len(self._encoded) >= ENCODED_EVENTS:
            self._encoded.popleft().encoded = None
        self._encoded.append(cev)
        if len(self.buffer) >= self.capacity:
            self.window_start = self.buffer.popleft().revision
        self.buffer.append(cev)
        self.rev = ev.revision
        for w in list(self._watchers):
            w.offer(cev)
            if w.closed:
                self._watchers.discard(w)

    # --- consumers -----------------------------------------------------------

    def lookup(self, key: str) -> Obj | None:
        """The current object at ``key`` (shared, read-only), None if the cache has none."""
        return self.state.get(key)

    def stored_json(self, key: str, mod_revision: int) -> tuple[Obj, orjson.Fragment, int] | None:
        """The cached object at ``key``, its JSON encoding (a fragment to embed in a larger document)
        and ``mod_revision``, if the cache holds that key exactly at ``mod_revision``: then both equal
        what decoding and encoding the stored value gives.  The encoding is made once per object
        version and shared (read-only) by every list."""
        hit = self._json.get(key)  # dropped whenever the key's object changes (_apply, _load)
        if hit is not None and hit[2] == mod_revision:
            return hit
        obj = self.state.get(key)
        if obj is None or obj.get("metadata", {}).get("resourceVersion") != str(mod_revision):
            return None
        hit = (obj, orjson.Fragment(orjson.dumps(obj)), mod_revision)
        self._json[key] = hit
        return hit

    def reflects(self, revision: int) -> bool:
        """Whether the cache is loaded and has applied every change up to ``revision``."""
        return self.ready.is_set() and self.rev >= revision

    def snapshot(self, prefix: str) -> tuple[list[Obj], int]:
        """Current objects under ``prefix`` (sorted by key) and the revision they reflect."""
        return self._under(prefix), self.rev

    def _under(self, prefix: str) -> list[Obj]:
        if self._keys is None or len(self._keys) != len(self.state):
            self._keys = sorted(self.state)
        keys, state = self._keys, self.state
        items = []
        for i in range(bisect.bisect_left(keys, prefix), len(keys)):
            if not keys[i].startswith(prefix):
                break
            items.append(state[keys[i]])
        return items

    def subscribe(self, prefix: str, after: int | None) -> tuple[Watcher, list[Obj] | None, int]:
        """Register a watcher.  ``after=None`` starts from now and returns the current
        objects for the synthetic ADDED events; otherwise the buffered events newer
        than ``after`` are queued first.  Raises CacheTooOld."""
        if after is None:
            w = Watcher(prefix, WATCHER_QUEUE, self.rev)
            items = self._under(prefix)
            self._watchers.add(w)
            return w, items, self.rev
        if after < self.window_start:
            if after >= self.loaded_at:
                # The ring dropped events this watch needs: upstream's cacher answers 410 Expired
                # (naming the oldest revision it can still replay after), and the client lists again.
                raise gone(f"too old resource version: {after} ({self.window_start})")
            raise CacheTooOld(after)  # history from before this cache loaded: storage replays it
        # Events up to ``after`` are the client's already, even those the cache has yet to apply.
        w = Watcher(prefix, WATCHER_QUEUE, after)
        for cev in self.buffer:
            if cev.revision > after:
                w.offer(cev)
        w.progress = max(after, self.rev)
        self._watchers.add(w)
        return w, None, max(after, self.rev)

    def unsubscribe(self, w: Watcher) -> None:
        self._watchers.discard(w)
        w.closed = True

    @property
    def watcher_count(self) -> int:
        return len(self._watchers)

    async def close(self) -> None:
        await self.stop()

    async def watch(self, flt: Filter, *, after: int | None, initial: InitialLister | None = None,
                    bookmarks: bool = False, initial_end_bookmark: bool = False,
                    timeout: float | None = None,  # noqa: ASYNC109 - the watch's own timeoutSeconds
                    bookmark_object: BookmarkMaker | None = None) -> AsyncIterator[WatchEvent]:
        """The API watch: synthetic ADDED events (``after=None``: from ``initial()``, else
        from the cache), then every later change that concerns ``flt``.  Ends after
        ``timeout`` seconds or when the watcher is closed for being too slow."""
        await self.ensure_started()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout if timeout else None
        feed: Watcher | StorageFeed | None = None
        try:
            if after is None:
                if initial is not None:
                    items, last = await initial()
                    feed = self._feed(flt, last)
                else:
                    feed, items_or_none, last = self.subscribe(flt.prefix, None)
                    items = [o for o in items_or_none or [] if flt.match(o)]
                for obj in items:
                    yield WatchEvent("ADDED", obj)
                if initial_end_bookmark and bookmark_object is not None:
                    mark = bookmark_object(last)
                    mark["metadata"]["annotations"] = {"k8s.io/initial-events-end": "true"}
                    yield WatchEvent("BOOKMARK", mark)
            else:
                await self._check_retained(after)
                feed = self._feed(flt, after)
            marker = bookmark_object if bookmarks else None
            sink = direct_sink.get()
            if sink is not None and isinstance(feed, Watcher):
                feed.deliver_directly(sink, flt.match)
            async for ev in self._follow_feed(feed, flt, after or 0, deadline, marker, after):
                yield ev
        finally:
            if isinstance(feed, Watcher):
                self.unsubscribe(feed)
            if feed is not None:
                await feed.aclose()

    async def _follow_feed(self, feed: Watcher | StorageFeed, flt: Filter, sent: int, deadline: float | None,
                           marker: BookmarkMaker | None, after: int | None) -> AsyncIterator[WatchEvent]:
        """Live events from ``feed``; when idle, a bookmark at the revision the feed has
        settled at, if that is newer than what the client has (``sent``)."""
        loop = asyncio.get_running_loop()
        while True:
            wait = BOOKMARK_IDLE if marker is not None else None
            if deadline is not None:
                left = deadline - loop.time()
                if left <= 0:
                    if marker is not None:
                        async for closing in self._closing_events(feed, flt, sent, marker):
                            yield closing
                    return
                wait = min(wait, left) if wait is not None else left
            try:
                ev = await feed.next(wait)
            except EOFError:
                if feed.overflowed:
                    # Events were dropped: a 410 makes informers list again instead of missing them.
                    raise gone(f"the watch fell more than {feed.limit} events behind and was closed; "
                               "list again and watch from the new resourceVersion") from None
                return
            except CompactedError as e:
                raise gone(f"too old resource version: {after} ({e.compacted})") from None
            if ev is None:
                sent = max(sent, getattr(feed, "delivered", 0))
                mark = feed.settled()
                if marker is not None and mark is not None and mark > sent:
                    sent = mark
                    yield WatchEvent("BOOKMARK", marker(mark))
                continue
            batch = [ev, *feed.drain(BATCH - 1)]
            sent = max(sent, batch[-1].revision)
            outs = [out for out in (transition(e, flt.match) for e in batch) if out is not None]
            for i, (kind, obj, encoded) in enumerate(outs, 1):
                yield WatchEvent(kind, obj, encoded, more=i < len(outs))

    @staticmethod
    async def _closing_events(feed: Watcher | StorageFeed, flt: Filter, sent: int,
                              marker: BookmarkMaker) -> AsyncIterator[WatchEvent]:
        """At the deadline: what is already queued, then a bookmark at the settled revision.
        Under a steady stream the watch is never idle, so without this a client that asked
        for bookmarks would resume every short watch from its last event instead of from
        past the other namespaces' changes.  Only events queued now are sent: the deadline
        still bounds the watch."""
        batch = feed.drain(max(feed.limit, BATCH))
        if batch:
            sent = max(sent, batch[-1].revision)
        outs = [out for out in (transition(e, flt.match) for e in batch) if out is not None]
        for i, (kind, obj, encoded) in enumerate(outs, 1):
            yield WatchEvent(kind, obj, encoded, more=i < len(outs))
        sent = max(sent, getattr(feed, "delivered", 0))
        mark = feed.settled()
        if mark is not None and mark > sent:
            yield WatchEvent("BOOKMARK", marker(mark))

    async def _check_retained(self, after: int) -> None:
        """The ring never replays history the storage has compacted away: a resume from before the
        compaction is 410 Expired, as it is from upstream once etcd no longer has it."""
        if after < self.rev:  # a resume from the past (a watch from now has nothing to check)
            compacted = await self.storage.compacted_revision()
            if after < compacted:
                raise gone(f"too old resource version: {after} ({compacted})")

    def _feed(self, flt: Filter, after: int) -> Watcher | StorageFeed:
        try:
            w, _, _ = self.subscribe(flt.prefix, after)
            return w
        except CacheTooOld:
            return StorageFeed(self.storage, flt.prefix, after, self.decode)


async def storage_events(storage: Storage, prefix: str, after: int, decode: Decoder) -> AsyncGenerator[CacheEvent, None]:
    """A direct storage watch as cache events (for resumes older than the ring buffer)."""
    stream = storage.watch(prefix, after_revision=after)
    try:
        async for ev in stream:
            obj = decode(ev.kv)
            prev = decode(ev.prev) if ev.prev is not None else None
            kind = {EventType.CREATE: "ADDED", EventType.UPDATE: "MODIFIED", EventType.DELETE: "DELETED"}[ev.type]
            yield CacheEvent(kind, ev.kv.key, obj, prev, ev.revision)
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            with contextlib.suppress(Exception):
                await aclose()


def _everything(_obj: Obj) -> bool:
    return True


def transition(ev: CacheEvent, match: Callable[[Obj], bool]) -> tuple[str, Obj, dict[str, bytes] | None] | None:
    """What a filtered watcher sees: objects entering the selection are ADDED,
    objects leaving it are DELETED, as upstream's cacher does.  The third item is
    the event's shared serializations (the object is the same for every watcher)."""
    if ev.type == "DELETED":
        return ("DELETED", ev.obj, ev.encoded) if match(ev.obj) else None
    now = match(ev.obj)
    before = ev.prev is not None and ev.type == "MODIFIED" and match(ev.prev)
    if now and before:
        return "MODIFIED", ev.obj, ev.encoded
    if now:
        return "ADDED", ev.obj, ev.encoded
    if before:
        return "DELETED", ev.obj, ev.encoded
    return None
