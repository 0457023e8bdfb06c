"""In-memory driver: the full contract, no durability.  For unit tests.

State is a sorted list of live keys plus, per key, the list of its versions
``(revision, KeyValue | None)`` (None = deleted at that revision), which
answers reads at old revisions.  A global event log serves watch catch-up.
Every operation runs synchronously on the event loop, so there is no locking:
each write is atomic by construction.
"""

from __future__ import annotations

import bisect
import builtins  # the store's list() method shadows the builtin in annotations below it
from collections.abc import AsyncIterator

from pyk8s.storage import fanout, keyrange
from pyk8s.storage.interface import (
    CompactedError,
    Event,
    EventType,
    FutureRevisionError,
    KeyExistsError,
    KeyNotFoundError,
    KeyValue,
    ListResult,
    RevisionConflictError,
)

INITIAL_REVISION = 1  # like a fresh etcd: revision 1, no keys


class MemoryStorage:
    def __init__(self, *, watch_buffer: int = fanout.DEFAULT_BUFFER) -> None:
        self._rev = INITIAL_REVISION
        self._compacted = 0
        self._live: dict[str, KeyValue] = {}
        self._keys: list[str] = []  # sorted live keys
        self._versions: dict[str, list[tuple[int, KeyValue | None]]] = {}
        self._log: list[Event] = []  # revision order
        self._fanout = fanout.FanOut(watch_buffer)
        self._closed = False

    async def start(self) -> None:
        self._closed = False

    async def close(self) -> None:
        self._closed = True
        self._fanout.close_all()

    async def current_revision(self) -> int:
        return self._rev

    async def compacted_revision(self) -> int:
        return self._compacted

    def _check_read_revision(self, revision: int) -> None:
        if revision > self._rev:
            raise FutureRevisionError(revision, self._rev)
        if 0 < revision < self._compacted:
            raise CompactedError(revision, self._compacted, self._rev)

    def _at(self, key: str, revision: int) -> KeyValue | None:
        if revision == 0 or revision == self._rev:
            return self._live.get(key)
        versions = self._versions.get(key)
        if not versions:
            return None
        i = bisect.bisect_right(versions, revision, key=lambda v: v[0])
        return versions[i - 1][1] if i else None

    async def get(self, key: str, *, revision: int = 0) -> KeyValue | None:
        self._check_read_revision(revision)
        return self._at(key, revision)

    async def list(self, prefix: str, *, revision: int = 0, limit: int = 0, start_after: str = "") -> ListResult:
        self._check_read_revision(revision)
        rev = revision or self._rev
        start = keyrange.range_start(prefix, start_after)
        end = keyrange.prefix_end(prefix)
        if rev == self._rev:
            keys = self._keys
        else:
            keys = sorted(self._versions)
        lo = bisect.bisect_left(keys, start)
        hi = len(keys) if end is None else bisect.bisect_left(keys, end)
        items: list[KeyValue] = []
        for i in range(lo, hi):
            kv = self._at(keys[i], rev)
            if kv is None:
                continue
            if limit and len(items) == limit:
                remaining = sum(1 for j in range(i, hi) if self._at(keys[j], rev) is not None)
                return ListResult(items, rev, True, remaining)
            items.append(kv)
        return ListResult(items, rev, False, 0)

    async def count(self, prefix: str) -> int:
        end = keyrange.prefix_end(prefix)
        lo = bisect.bisect_left(self._keys, prefix)
        hi = len(self._keys) if end is None else bisect.bisect_left(self._keys, end)
        return hi - lo

    def _commit(self, event: Event) -> None:
        key = event.kv.key
        self._rev = event.revision
        if event.type is EventType.DELETE:
            del self._live[key]
            self._keys.pop(bisect.bisect_left(self._keys, key))
            self._versions.setdefault(key, []).append((self._rev, None))
        else:
            if key not in self._live:
                bisect.insort(self._keys, key)
            self._live[key] = event.kv
            self._versions.setdefault(key, []).append((self._rev, event.kv))
        self._log.append(event)
        self._fanout.publish([event])

    async def create(self, key: str, value: bytes) -> KeyValue:
        if key in self._live:
            raise KeyExistsError(key)
        rev = self._rev + 1
        kv = KeyValue(key, bytes(value), rev, rev)
        self._commit(Event(EventType.CREATE, kv, None))
        return kv

    def _guard(self, key: str, expected_revision: int) -> KeyValue:
        cur = self._live.get(key)
        if cur is None:
            raise KeyNotFoundError(key)
        if expected_revision and cur.mod_revision != expected_revision:
            raise RevisionConflictError(key, cur)
        return cur

    async def update(self, key: str, value: bytes, *, expected_revision: int) -> KeyValue:
        cur = self._guard(key, expected_revision)
        kv = KeyValue(key, bytes(value), cur.create_revision, self._rev + 1)
        self._commit(Event(EventType.UPDATE, kv, cur))
        return kv

    async def delete(self, key: str, *, expected_revision: int = 0) -> KeyValue:
        cur = self._guard(key, expected_revision)
        kv = KeyValue(key, cur.value, cur.create_revision, self._rev + 1)
        self._commit(Event(EventType.DELETE, kv, cur))
        return kv

    async def _read_history(self, prefix: str, after: int, limit: int) -> builtins.list[Event]:
        if after < self._compacted:
            raise CompactedError(after, self._compacted, self._rev)
        i = bisect.bisect_right(self._log, after, key=lambda e: e.revision)
        out: list[Event] = []
        for ev in self._log[i:]:
            if ev.kv.key.startswith(prefix):
                out.append(ev)
                if len(out) == limit:
                    break
        return out

    def watch(self, prefix: str, *, after_revision: int) -> AsyncIterator[Event]:
        return fanout.watch_stream(
            self._fanout, prefix, after_revision, self._read_history, is_closed=lambda: self._closed
        )

    async def compact(self, revision: int) -> None:
        if revision > self._rev:
            raise FutureRevisionError(revision, self._rev)
        if revision <= self._compacted:
            return
        self._compacted = revision
        for key in list(self._versions):
            versions = self._versions[key]
            i = bisect.bisect_right(versions, revision, key=lambda v: v[0])
            # Keep the newest version at or below ``revision`` unless it is a deletion.
            keep_from = i - 1 if i and versions[i - 1][1] is not None else i
            del versions[:keep_from]
            if not versions:
                del self._versions[key]
        cut = bisect.bisect_right(self._log, revision, key=lambda e: e.revision)
        del self._log[:cut]
