"""SQLite driver: the default store, one file, kine-like history.

Tables
  ``kv``   one row per revision: key, value, create_rev, prev_rev (the row it
           replaced, 0 for a create) and a deleted flag.  Delete rows keep an
           empty value; the deleted value is the prev row's.  This history
           answers reads at old revisions and watch catch-up.
  ``cur``  key -> revision of its live row, so reads at the latest revision
           (the common case: get, list of 10,000 objects, count) never group
           over history.
  ``meta`` the current and the compacted revision.

Writes: GROUP COMMIT.  Every write is queued to one writer thread with its own
connection.  The writer takes everything waiting (up to ``max_batch``), checks
and applies each operation inside ONE ``BEGIN IMMEDIATE`` transaction and
commits once, so N concurrent writers share one fsync.  A failed precondition
(exists, conflict, not found) fails only that operation; an SQLite error
rolls the whole batch back and fails all of it.  Futures are resolved and the
batch's events published to watchers (``fanout.FanOut``) only after COMMIT
returned, so an acknowledged write is durable: WAL with ``synchronous=FULL``
survives kill -9 (and power loss); ``?sync=normal`` trades the latter away.

Reads run on a few reader threads, each with its own read connection, and
are batched the same way (one snapshot and one hop back to the loop for all
the reads waiting).  WAL gives every read transaction a consistent snapshot,
which is how a list reports the revision it was read at and how paging is
pinned to a revision.

Compaction deletes, in bounded chunks queued to the writer, every history row
at or below the compact revision that is either a delete or superseded by a
newer row at or below it; then ``PRAGMA incremental_vacuum`` hands free pages
back (the database is created with ``auto_vacuum=INCREMENTAL``), and
``journal_size_limit`` keeps the WAL file from staying large.

WAL checkpoints run on their own thread, off the commit path; see
``_checkpointer_main`` for why the writer still checkpoints once in a while.

One store per file: ``start()`` takes an exclusive lock on ``<path>.lock``.
A store belongs to the event loop that called ``start()``: futures and watch
events are delivered there.
"""

from __future__ import annotations

import asyncio
import builtins  # the store's list() method shadows the builtin in annotations below it
import contextlib
import fcntl
import os
import queue
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

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
    StorageError,
)

T = TypeVar("T")

INITIAL_REVISION = 1  # like a fresh etcd
KEY_MAX = "\U0010ffff\U0010ffff"  # above every key: the end of an unbounded range
COMPACT_CHUNK = 2000  # revisions per compaction transaction
VACUUM_PAGES = 2000  # pages freed per incremental_vacuum step
READ_BATCH = 64  # reads served per snapshot by one reader thread
CHECKPOINT_EVERY = 256  # writes between background WAL checkpoints
CHECKPOINT_IDLE = 1.0  # seconds: checkpoint anyway when writes trickle in
WAL_RESET_FRAMES = 2000  # about 8 MB: past this the writer checkpoints itself

SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (
    rev INTEGER PRIMARY KEY,
    key TEXT NOT NULL,
    create_rev INTEGER NOT NULL,
    prev_rev INTEGER NOT NULL,
    deleted INTEGER NOT NULL,
    value BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS kv_key_rev ON kv (key, rev);
CREATE TABLE IF NOT EXISTS cur (key TEXT PRIMARY KEY, rev INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
INSERT OR IGNORE INTO meta VALUES ('rev', 1), ('compacted', 0);
"""

LIVE_ROW = "SELECT h.key, h.value, h.create_rev, h.rev FROM cur c JOIN kv h ON h.rev = c.rev"


@dataclass(slots=True)
class _Op:
    kind: str  # create | update | delete | compact_mark | compact_chunk | vacuum
    args: tuple[Any, ...]
    future: asyncio.Future[Any] = field(repr=False)


class _Stop:
    pass


@dataclass(slots=True)
class _Read:
    fn: Callable[[sqlite3.Connection], Any]
    future: asyncio.Future[Any] = field(repr=False)


def _resolve(results: list[tuple[asyncio.Future[Any], Any, BaseException | None]]) -> None:
    for fut, res, exc in results:
        if fut.done():
            continue
        if exc is not None:
            fut.set_exception(exc)
        else:
            fut.set_result(res)


def _private_files(path: str) -> None:
    """The database holds every Secret: owner-only (0600).  SQLite gives the -wal and -shm files the
    database file's mode, so creating it 0600 covers them; files left by an older version are fixed."""
    if path in ("", ":memory:") or path.startswith("file:"):
        return
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    for name in (path, path + "-wal", path + "-shm", path + "-journal", path + ".lock"):
        with contextlib.suppress(FileNotFoundError):
            os.chmod(name, 0o600)


def _lock_file(path: str) -> int:
    """Hold an exclusive flock for as long as the store is open.  The writer
    numbers revisions in memory, so a second process writing the same file
    would hand out duplicate revisions; it fails here instead.  The kernel
    drops the lock when the process dies, even by SIGKILL."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise StorageError(f"{path}: the database is in use by another process or store") from None
    return fd


def _kv(row: tuple[Any, ...]) -> KeyValue:
    return KeyValue(row[0], bytes(row[1]), row[2], row[3])


class SqliteStorage:
    def __init__(self, path: str, *, synchronous: str = "full", read_threads: int = 4, max_batch: int = 512) -> None:
        if synchronous.upper() not in ("FULL", "NORMAL", "EXTRA", "OFF"):
            raise ValueError(f"bad synchronous mode {synchronous!r}")
        self.path = path
        self.synchronous = synchronous.upper()
        self.max_batch = max_batch
        self._read_threads = read_threads
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: queue.SimpleQueue[_Op | _Stop] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._read_queue: queue.SimpleQueue[_Read | _Stop] = queue.SimpleQueue()
        self._readers: list[threading.Thread] = []
        self._checkpointer: threading.Thread | None = None
        self._checkpoint_wanted = threading.Event()
        self._writes_since_checkpoint = 0
        self._writer_checkpoint = False  # set by the checkpointer when the WAL keeps growing
        self._lock_fd = -1
        self._rev = INITIAL_REVISION  # owned by the writer thread
        self._committed = INITIAL_REVISION  # last committed revision
        self._compacted = 0
        self._fanout = fanout.FanOut()
        self._closed = True
        self.batches = 0  # statistics: transactions committed
        self.batched_ops = 0

    # -- lifecycle -----------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout = 10000")
        conn.execute(f"PRAGMA synchronous = {self.synchronous}")
        conn.execute("PRAGMA cache_size = -32000")
        return conn

    def _init_db(self) -> sqlite3.Connection:
        _private_files(self.path)
        conn = self._connect()
        # auto_vacuum only takes effect before the first table exists.
        conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA journal_size_limit = 67108864")
        # Checkpoints run on their own thread, not inside a commit (see _checkpointer_main).
        conn.execute("PRAGMA wal_autocheckpoint = 0")
        conn.executescript(SCHEMA)
        meta = dict(conn.execute("SELECT name, value FROM meta").fetchall())
        self._rev = self._committed = int(meta["rev"])
        self._compacted = int(meta["compacted"])
        return conn

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._lock_fd = await asyncio.to_thread(_lock_file, self.path + ".lock")
        try:
            conn = await asyncio.to_thread(self._init_db)
        except BaseException:
            os.close(self._lock_fd)
            self._lock_fd = -1
            raise
        self._closed = False
        self._readers = [
            threading.Thread(target=self._reader_main, name=f"sqlite-read-{i}", daemon=True)
            for i in range(self._read_threads)
        ]
        for t in self._readers:
            t.start()
        self._checkpointer = threading.Thread(target=self._checkpointer_main, name="sqlite-checkpoint", daemon=True)
        self._checkpointer.start()
        self._writer = threading.Thread(target=self._writer_main, args=(conn,), name="sqlite-writer", daemon=True)
        self._writer.start()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._fanout.close_all()
        self._queue.put(_Stop())
        if self._writer is not None:
            await asyncio.to_thread(self._writer.join)
        for _ in self._readers:
            self._read_queue.put(_Stop())  # after every read already queued
        for t in self._readers:
            await asyncio.to_thread(t.join)
        self._readers = []
        self._checkpoint_wanted.set()
        if self._checkpointer is not None:
            await asyncio.to_thread(self._checkpointer.join)
            self._checkpointer = None
        if self._lock_fd >= 0:
            os.close(self._lock_fd)  # releases the flock
            self._lock_fd = -1

    # -- the writer thread ---------------------------------------------------

    def _writer_main(self, conn: sqlite3.Connection) -> None:
        try:
            while True:
                first = self._queue.get()
                if isinstance(first, _Stop):
                    return
                batch = [first]
                stop = False
                while len(batch) < self.max_batch:
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if isinstance(item, _Stop):
                        stop = True
                        break
                    batch.append(item)
                self._run_batch(conn, batch)
                if self._writer_checkpoint:
                    # Between batches no frame is being appended, so this one
                    # catches up completely and the next commit restarts the WAL.
                    self._writer_checkpoint = False
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                if stop:
                    return
        finally:
            conn.close()

    def _run_batch(self, conn: sqlite3.Connection, batch: list[_Op]) -> None:
        start_rev, start_compacted = self._rev, self._compacted
        results: list[tuple[_Op, Any, BaseException | None]] = []
        events: list[Event] = []
        vacuum = [op for op in batch if op.kind == "vacuum"]
        try:
            conn.execute("BEGIN IMMEDIATE")
            for op in batch:
                if op.kind == "vacuum":
                    continue
                try:
                    res = self._apply(conn, op)
                except StorageError as e:
                    results.append((op, None, e))
                    continue
                if isinstance(res, Event):
                    events.append(res)
                    res = res.kv
                results.append((op, res, None))
            if self._rev != start_rev:
                conn.execute("UPDATE meta SET value = ? WHERE name = 'rev'", (self._rev,))
            conn.execute("COMMIT")
        except Exception as e:  # noqa: BLE001 - any SQLite failure fails the whole batch
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            self._rev, self._compacted = start_rev, start_compacted
            results = [(op, None, e) for op in batch if op.kind != "vacuum"]
            events = []
        self._committed = self._rev
        self.batches += 1
        self.batched_ops += len(batch)
        self._writes_since_checkpoint += len(batch)
        if self._writes_since_checkpoint >= CHECKPOINT_EVERY:
            self._checkpoint_wanted.set()
        for op in vacuum:
            try:
                # executescript steps the pragma to completion; execute() frees one page.
                conn.executescript(f"PRAGMA incremental_vacuum({int(op.args[0])});")
                # The file only shrinks when the WAL is copied back into it.
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                results.append((op, None, None))
            except sqlite3.Error as e:
                results.append((op, None, e))
        assert self._loop is not None
        try:
            self._loop.call_soon_threadsafe(self._deliver, results, events)
        except RuntimeError:
            pass  # the loop is gone (a caller never closed the store): nobody is waiting

    def _deliver(self, results: list[tuple[_Op, Any, BaseException | None]], events: list[Event]) -> None:
        if events:
            self._fanout.publish(events)
        for op, res, exc in results:
            if op.future.done():
                continue
            if exc is not None:
                op.future.set_exception(exc)
            else:
                op.future.set_result(res)

    def _apply(self, conn: sqlite3.Connection, op: _Op) -> Any:
        if op.kind == "create":
            return self._apply_create(conn, *op.args)
        if op.kind in ("update", "delete"):
            return self._apply_change(conn, op.kind, *op.args)
        if op.kind == "compact_mark":
            (rev,) = op.args
            if rev > self._compacted:
                conn.execute("UPDATE meta SET value = ? WHERE name = 'compacted'", (rev,))
                self._compacted = rev
            return None
        if op.kind == "compact_chunk":
            lo, hi, rev = op.args
            cur = conn.execute(
                "DELETE FROM kv WHERE rev > ? AND rev <= ? AND (deleted = 1 OR EXISTS"
                " (SELECT 1 FROM kv n WHERE n.key = kv.key AND n.rev > kv.rev AND n.rev <= ?))",
                (lo, hi, rev),
            )
            return cur.rowcount
        raise ValueError(op.kind)

    def _apply_create(self, conn: sqlite3.Connection, key: str, value: bytes) -> Event:
        if conn.execute("SELECT 1 FROM cur WHERE key = ?", (key,)).fetchone():
            raise KeyExistsError(key)
        rev = self._rev + 1
        conn.execute("INSERT INTO kv VALUES (?, ?, ?, 0, 0, ?)", (rev, key, rev, value))
        conn.execute("INSERT INTO cur VALUES (?, ?)", (key, rev))
        self._rev = rev
        return Event(EventType.CREATE, KeyValue(key, value, rev, rev), None)

    def _apply_change(self, conn: sqlite3.Connection, kind: str, key: str, value: bytes, expected: int) -> Event:
        row = conn.execute(LIVE_ROW + " WHERE c.key = ?", (key,)).fetchone()
        if row is None:
            raise KeyNotFoundError(key)
        prev = _kv(row)
        if expected and prev.mod_revision != expected:
            raise RevisionConflictError(key, prev)
        rev = self._rev + 1
        if kind == "update":
            conn.execute(
                "INSERT INTO kv VALUES (?, ?, ?, ?, 0, ?)", (rev, key, prev.create_revision, prev.mod_revision, value)
            )
            conn.execute("UPDATE cur SET rev = ? WHERE key = ?", (rev, key))
            self._rev = rev
            return Event(EventType.UPDATE, KeyValue(key, value, prev.create_revision, rev), prev)
        conn.execute("INSERT INTO kv VALUES (?, ?, ?, ?, 1, x'')", (rev, key, prev.create_revision, prev.mod_revision))
        conn.execute("DELETE FROM cur WHERE key = ?", (key,))
        self._rev = rev
        return Event(EventType.DELETE, KeyValue(key, prev.value, prev.create_revision, rev), prev)

    def _checkpointer_main(self) -> None:
        """Copy the WAL back into the database off the commit path.  With
        SQLite's automatic checkpoint, the commit that crosses the threshold
        pays for copying and syncing about 4 MB: a 10 ms stall in create p99.
        A PASSIVE checkpoint never blocks the writer or the readers.  Under a
        constant stream of writes it can fall behind for good, so when the WAL
        passes ``WAL_RESET_FRAMES`` the writer is asked to checkpoint once
        between two batches."""
        conn = self._connect()
        try:
            while not self._closed:
                self._checkpoint_wanted.wait(CHECKPOINT_IDLE)
                self._checkpoint_wanted.clear()
                if self._closed or not self._writes_since_checkpoint:
                    continue
                self._writes_since_checkpoint = 0
                with contextlib.suppress(sqlite3.Error):
                    _busy, frames, _copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                    # The WAL only starts over once a checkpoint has copied every
                    # frame; racing a busy writer, this one may never get there.
                    if frames >= WAL_RESET_FRAMES:
                        self._writer_checkpoint = True
        finally:
            conn.close()

    async def _submit(self, kind: str, *args: Any) -> Any:
        if self._closed or self._loop is None:
            raise StorageError("storage is closed")
        fut: asyncio.Future[Any] = self._loop.create_future()
        self._queue.put(_Op(kind, args, fut))
        return await fut

    # -- reads ---------------------------------------------------------------

    def _reader_main(self) -> None:
        """Like the writer, a reader takes every read waiting (up to
        ``READ_BATCH``), runs them in one snapshot and hands all the results
        back to the loop in one call: under load the per-read cost of the
        thread hop is shared."""
        conn = self._connect()
        conn.execute("PRAGMA query_only = 1")
        try:
            while True:
                first = self._read_queue.get()
                if isinstance(first, _Stop):
                    return
                batch, stop = [first], False
                while len(batch) < READ_BATCH:
                    try:
                        item = self._read_queue.get_nowait()
                    except queue.Empty:
                        break
                    if isinstance(item, _Stop):
                        stop = True
                        break
                    batch.append(item)
                self._run_reads(conn, batch)
                if stop:
                    return
        finally:
            conn.close()

    def _run_reads(self, conn: sqlite3.Connection, batch: list[_Read]) -> None:
        results: list[tuple[asyncio.Future[Any], Any, BaseException | None]] = []
        try:
            # Every read in the batch was queued before this snapshot starts,
            # so each sees every write acknowledged before it was issued.
            conn.execute("BEGIN")
            for r in batch:
                try:
                    results.append((r.future, r.fn(conn), None))
                except Exception as e:  # noqa: BLE001 - handed to the caller
                    results.append((r.future, None, e))
            conn.execute("COMMIT")
        except sqlite3.Error as e:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            results = [(r.future, None, e) for r in batch]
        assert self._loop is not None
        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody is waiting
            self._loop.call_soon_threadsafe(_resolve, results)

    async def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if self._closed or self._loop is None:
            raise StorageError("storage is closed")
        fut: asyncio.Future[T] = self._loop.create_future()
        self._read_queue.put(_Read(fn, fut))
        return await fut

    @staticmethod
    def _meta(conn: sqlite3.Connection) -> tuple[int, int]:
        meta = dict(conn.execute("SELECT name, value FROM meta").fetchall())
        return int(meta["rev"]), int(meta["compacted"])

    @classmethod
    def _check_revision(cls, conn: sqlite3.Connection, revision: int) -> int:
        """The snapshot's revision; raises for a revision it cannot serve."""
        current, compacted = cls._meta(conn)
        if revision > current:
            raise FutureRevisionError(revision, current)
        if 0 < revision < compacted:
            raise CompactedError(revision, compacted, current)
        return current

    async def current_revision(self) -> int:
        return self._committed

    async def compacted_revision(self) -> int:
        return self._compacted

    async def get(self, key: str, *, revision: int = 0) -> KeyValue | None:
        def read(conn: sqlite3.Connection) -> KeyValue | None:
            if revision == 0:
                row = conn.execute(LIVE_ROW + " WHERE c.key = ?", (key,)).fetchone()
                return _kv(row) if row else None
            self._check_revision(conn, revision)
            row = conn.execute(
                "SELECT key, value, create_rev, rev, deleted FROM kv WHERE key = ? AND rev <= ? ORDER BY rev DESC LIMIT 1",
                (key, revision),
            ).fetchone()
            return _kv(row) if row and not row[4] else None

        return await self._read(read)

    async def list(self, prefix: str, *, revision: int = 0, limit: int = 0, start_after: str = "") -> ListResult:
        start = keyrange.range_start(prefix, start_after)
        end = keyrange.prefix_end(prefix) or KEY_MAX
        return await self._read(lambda conn: self._list(conn, start, end, revision, limit))

    def _list(self, conn: sqlite3.Connection, start: str, end: str, revision: int, limit: int) -> ListResult:
        current = self._check_revision(conn, revision)
        rev = revision or current
        fetch = limit + 1 if limit else -1
        if (
            rev == current
            or not conn.execute(
                "SELECT 1 FROM kv WHERE rev > ? AND key >= ? AND key < ? LIMIT 1", (rev, start, end)
            ).fetchone()
        ):
            # Nothing in range changed since ``rev``: the live rows are the answer.
            rows = conn.execute(
                LIVE_ROW + " WHERE c.key >= ? AND c.key < ? ORDER BY c.key LIMIT ?", (start, end, fetch)
            ).fetchall()
            more = bool(limit) and len(rows) > limit
            remaining = 0
            if more:
                rows = rows[:limit]
                (remaining,) = conn.execute(
                    "SELECT count(*) FROM cur WHERE key > ? AND key < ?", (rows[-1][0], end)
                ).fetchone()
            return ListResult([_kv(r) for r in rows], rev, more, remaining)
        rows = conn.execute(
            "SELECT h.key, h.value, h.create_rev, h.rev FROM kv h WHERE h.key >= ? AND h.key < ? AND h.deleted = 0"
            " AND h.rev = (SELECT max(n.rev) FROM kv n WHERE n.key = h.key AND n.rev <= ?) ORDER BY h.key LIMIT ?",
            (start, end, rev, fetch),
        ).fetchall()
        more = bool(limit) and len(rows) > limit
        return ListResult([_kv(r) for r in (rows[:limit] if limit else rows)], rev, more, None)

    async def count(self, prefix: str) -> int:
        end = keyrange.prefix_end(prefix) or KEY_MAX

        def read(conn: sqlite3.Connection) -> int:
            return int(conn.execute("SELECT count(*) FROM cur WHERE key >= ? AND key < ?", (prefix, end)).fetchone()[0])

        return await self._read(read)

    # -- writes --------------------------------------------------------------

    async def create(self, key: str, value: bytes) -> KeyValue:
        result: KeyValue = await self._submit("create", key, bytes(value))
        return result

    async def update(self, key: str, value: bytes, *, expected_revision: int) -> KeyValue:
        result: KeyValue = await self._submit("update", key, bytes(value), expected_revision)
        return result

    async def delete(self, key: str, *, expected_revision: int = 0) -> KeyValue:
        result: KeyValue = await self._submit("delete", key, b"", expected_revision)
        return result

    # -- watch ---------------------------------------------------------------

    async def _read_history(self, prefix: str, after: int, limit: int) -> builtins.list[Event]:
        end = keyrange.prefix_end(prefix) or KEY_MAX

        def read(conn: sqlite3.Connection) -> builtins.list[Event]:
            current, compacted = self._meta(conn)
            if after < compacted:
                raise CompactedError(after, compacted, current)
            rows = conn.execute(
                "SELECT h.key, h.value, h.create_rev, h.rev, h.deleted, h.prev_rev, p.value, p.create_rev"
                " FROM kv h LEFT JOIN kv p ON p.rev = h.prev_rev"
                " WHERE h.rev > ? AND h.key >= ? AND h.key < ? ORDER BY h.rev LIMIT ?",
                (after, prefix, end, limit),
            ).fetchall()
            return [self._event(r) for r in rows]

        return await self._read(read)

    @staticmethod
    def _event(r: tuple[Any, ...]) -> Event:
        key, value, create_rev, rev, deleted, prev_rev, prev_value, prev_create = r
        prev = KeyValue(key, bytes(prev_value), prev_create, prev_rev) if prev_rev else None
        if deleted:
            return Event(EventType.DELETE, KeyValue(key, prev.value if prev else b"", create_rev, rev), prev)
        kv = KeyValue(key, bytes(value), create_rev, rev)
        return Event(EventType.UPDATE if prev_rev else EventType.CREATE, kv, prev)

    def watch(self, prefix: str, *, after_revision: int) -> AsyncIterator[Event]:
        return fanout.watch_stream(
            self._fanout, prefix, after_revision, self._read_history, is_closed=lambda: self._closed
        )

    # -- compaction ----------------------------------------------------------

    async def compact(self, revision: int) -> None:
        if revision > self._committed:
            raise FutureRevisionError(revision, self._committed)
        if revision <= self._compacted:
            return
        await self._submit("compact_mark", revision)
        (low,) = await self._read(lambda c: c.execute("SELECT coalesce(min(rev), 0) FROM kv").fetchone())
        lo = max(low - 1, 0)
        while lo < revision:
            hi = min(lo + COMPACT_CHUNK, revision)
            await self._submit("compact_chunk", lo, hi, revision)
            lo = hi
        await self.vacuum()

    async def vacuum(self) -> None:
        """Return free pages to the file system, a bounded step at a time."""
        while True:
            free = await self._read(lambda c: int(c.execute("PRAGMA freelist_count").fetchone()[0]))
            if free == 0:
                return
            await self._submit("vacuum", VACUUM_PAGES)
            if free <= VACUUM_PAGES:
                return

    def file_size(self) -> int:
        """Bytes on disk: the database plus its WAL (for tests and metrics)."""
        total = 0
        for suffix in ("", "-wal"):
            with contextlib.suppress(OSError):
                total += os.path.getsize(self.path + suffix)
        return total
