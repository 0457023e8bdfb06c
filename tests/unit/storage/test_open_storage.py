"""Driver selection by URL, prefix ranges and watch fan-out overflow."""

from __future__ import annotations

import asyncio

import pytest

from pyk8s.storage import etcd_endpoints, keyrange, open_storage
from pyk8s.storage.drivers.etcd import EtcdStorage
from pyk8s.storage.drivers.memory import MemoryStorage
from pyk8s.storage.drivers.sqlite import SqliteStorage
from pyk8s.storage.interface import EventType


def test_open_storage_picks_driver_by_url(tmp_path) -> None:
    assert isinstance(open_storage("memory://"), MemoryStorage)
    s = open_storage(f"sqlite://{tmp_path}/a.db")
    assert isinstance(s, SqliteStorage) and s.path == f"{tmp_path}/a.db" and s.synchronous == "FULL"
    s = open_storage(f"sqlite://{tmp_path}/b.db?sync=normal")
    assert isinstance(s, SqliteStorage) and s.path == f"{tmp_path}/b.db" and s.synchronous == "NORMAL"
    s = open_storage(f"{tmp_path}/c.db")
    assert isinstance(s, SqliteStorage) and s.path == f"{tmp_path}/c.db"
    e = open_storage("etcd://127.0.0.1:2379,127.0.0.1:2380")
    assert isinstance(e, EtcdStorage) and e.endpoints == ["http://127.0.0.1:2379", "http://127.0.0.1:2380"]
    assert open_storage("http://10.0.0.1:2379").endpoints == ["http://10.0.0.1:2379"]  # type: ignore[attr-defined]
    with pytest.raises(ValueError):
        open_storage("redis://x")


def test_etcd_endpoints() -> None:
    assert etcd_endpoints("etcd://a:1, b:2/") == ["http://a:1", "http://b:2"]
    with pytest.raises(ValueError):
        etcd_endpoints("etcd://")


def test_prefix_end() -> None:
    assert keyrange.prefix_end("/a/") == "/a0"
    assert keyrange.prefix_end("") is None
    assert keyrange.prefix_end("a\U0010ffff") == "b"
    assert keyrange.range_start("/a/", "/a/x") == "/a/x\x00"
    assert keyrange.range_start("/a/", "") == "/a/"


async def test_slow_watcher_overflow_resumes_from_history() -> None:
    store = MemoryStorage()
    store._fanout._buffer_limit = 5  # tiny buffer: the watcher below overflows it
    await store.start()
    start = await store.current_revision()
    it = store.watch("/p/", after_revision=start)
    got = []
    reader = asyncio.ensure_future(it.__anext__())
    await store.create("/p/0", b"x")
    got.append(await reader)
    for i in range(1, 50):  # written while nobody reads: overflows the 5-event buffer
        await store.create(f"/p/{i}", b"x")
    async with asyncio.timeout(5):
        while len(got) < 50:
            got.append(await it.__anext__())
    await it.aclose()  # type: ignore[attr-defined]
    assert [e.kv.key for e in got] == [f"/p/{i}" for i in range(50)]
    assert all(e.type is EventType.CREATE for e in got)
    assert store._fanout.watcher_count == 0
