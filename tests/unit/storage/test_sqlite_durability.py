"""SQLite driver: acknowledged writes survive kill -9; the file stays bounded under churn."""

from __future__ import annotations

import asyncio
import os
import pathlib
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest

from pyk8s.storage import open_storage
from pyk8s.storage.drivers.sqlite import SqliteStorage
from pyk8s.storage.interface import StorageError

ROOT = str(pathlib.Path(__file__).resolve().parents[3])

WRITER = textwrap.dedent(
    """
    import asyncio, sys
    from pyk8s.storage import open_storage

    async def main(path):
        s = open_storage("sqlite://" + path)
        await s.start()
        async def worker(w):
            i = 0
            while True:
                kv = await s.create(f"/k/{w}/{i}", b"v" * 100)
                print(kv.key, kv.mod_revision, flush=True)
                kv = await s.update(kv.key, b"u", expected_revision=kv.mod_revision)
                print(kv.key, kv.mod_revision, flush=True)
                i += 1
        await asyncio.gather(*(worker(w) for w in range(8)))

    asyncio.run(main(sys.argv[1]))
    """
)


def _record(acked: dict[str, int], line: bytes) -> None:
    parts = line.decode().split()
    if len(parts) == 2:
        acked[parts[0]] = max(acked.get(parts[0], 0), int(parts[1]))


async def test_acknowledged_writes_survive_sigkill(tmp_path) -> None:
    path = str(tmp_path / "d.db")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", WRITER, path, stdout=subprocess.PIPE, cwd=ROOT, env={**os.environ, "PYTHONPATH": ROOT}
    )
    acked: dict[str, int] = {}
    assert proc.stdout is not None
    try:
        async with asyncio.timeout(60):
            while len(acked) < 400:
                line = await proc.stdout.readline()
                assert line, "writer exited early"
                _record(acked, line)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        await proc.wait()
    # Lines printed after our last read were acknowledged too.
    for line in (await proc.stdout.read()).splitlines():
        _record(acked, line)
    store = open_storage("sqlite://" + path)
    await store.start()
    try:
        for key, rev in acked.items():
            kv = await store.get(key)
            assert kv is not None, key
            assert kv.mod_revision >= rev
        top = max(acked.values())
        assert await store.current_revision() >= top
        new = await store.create("/after-crash", b"x")
        assert new.mod_revision > top
    finally:
        await store.close()


async def test_group_commit_batches_concurrent_writers(tmp_path) -> None:
    store = SqliteStorage(str(tmp_path / "g.db"))
    await store.start()
    try:
        await asyncio.gather(*(store.create(f"/g/{i}", b"x") for i in range(400)))
        assert store.batched_ops == 400
        assert store.batches < 200  # concurrent writes shared transactions
        assert await store.count("/g/") == 400
    finally:
        await store.close()


def _checkpointed_db_size(path: str) -> int:
    """The database file's size once the WAL has been copied back into it.
    Retries while the store's own checkpointer holds the checkpoint lock."""
    conn = sqlite3.connect(path)
    try:
        for _ in range(200):
            busy, frames, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            if not busy and frames == copied:
                break
            time.sleep(0.005)
    finally:
        conn.close()
    return os.path.getsize(path)


async def test_file_size_bounded_under_churn(tmp_path) -> None:
    path = str(tmp_path / "c.db")
    store = SqliteStorage(path, synchronous="normal")
    await store.start()
    try:
        value = b"x" * 2000
        keys = [f"/churn/{i}" for i in range(50)]
        for k in keys:
            await store.create(k, value)
        sizes, db_sizes = [], []
        for _ in range(16):
            for _ in range(10):
                await asyncio.gather(*(store.update(k, value, expected_revision=0) for k in keys))
            await store.compact(await store.current_revision())
            sizes.append(store.file_size())
            db_sizes.append(_checkpointed_db_size(path))
        # 8,000 writes of 2 kB (16 MB); each round writes 1 MB of history that compaction frees.
        assert max(db_sizes) <= 3 * 1024 * 1024, db_sizes
        # With the WAL, which starts over at the latest once it holds about 8 MB
        # (sqlite.WAL_RESET_FRAMES); without that it grew past 30 MB here.
        assert max(sizes) <= 14 * 1024 * 1024, sizes
        assert await store.count("/churn/") == 50
        # A burst without compaction grows the file; compaction hands the pages back.
        for _ in range(40):
            await asyncio.gather(*(store.update(k, value, expected_revision=0) for k in keys))
        peak = _checkpointed_db_size(path)
        assert peak >= 2 * 1024 * 1024  # 4 MB of history, some of it in reused free pages
        await store.compact(await store.current_revision())
        assert _checkpointed_db_size(path) < peak / 4
    finally:
        await store.close()


async def test_second_store_on_the_same_file_is_refused(tmp_path) -> None:
    path = str(tmp_path / "l.db")
    first = SqliteStorage(path)
    await first.start()
    try:
        second = SqliteStorage(path)
        with pytest.raises(StorageError, match="in use"):
            await second.start()
    finally:
        await first.close()
    again = SqliteStorage(path)  # the lock goes with close()
    await again.start()
    await again.close()


def _wal_size(path: str) -> int:
    return os.path.getsize(path + "-wal")


async def test_wal_bounded_under_sustained_writes_and_reads(tmp_path) -> None:
    """Without the writer-side checkpoint, the background PASSIVE checkpoint
    never catches up with a writer that never pauses, and the WAL grew to the
    full 80 MB written here."""
    path = str(tmp_path / "w.db")
    store = SqliteStorage(path, synchronous="normal")
    await store.start()
    keys = [f"/w/{i}" for i in range(50)]
    for k in keys:
        await store.create(k, b"x" * 2000)

    async def reader() -> None:
        while True:
            await store.list("/w/")

    readers = [asyncio.ensure_future(reader()) for _ in range(2)]
    try:
        for _ in range(300):
            await asyncio.gather(*(store.update(k, b"x" * 2000, expected_revision=0) for k in keys))
        assert _wal_size(path) <= 24 * 1024 * 1024
    finally:
        for t in readers:
            t.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
        await store.close()
