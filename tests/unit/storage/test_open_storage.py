"""Driver selection by URL."""

from __future__ import annotations

import pytest

from pyk8s.storage import etcd_endpoints, open_storage
from pyk8s.storage.drivers.etcd import EtcdStorage
from pyk8s.storage.drivers.memory import MemoryStorage
from pyk8s.storage.drivers.sqlite import SqliteStorage


def test_open_storage_picks_driver_by_url(tmp_path) -> None:
    assert isinstance(open_storage("memory://"), MemoryStorage)
    s = open_storage(f"sqlite://{tmp_path}/a.db")
    assert isinstance(s, SqliteStorage) and s.path == f"{tmp_path}/a.db" and s.synchronous == "FULL"
    s = open_storage(f"sqlite://{tmp_path}/b.db?sync=normal")
    assert isinstance(s, SqliteStorage) and s.path == f"{tmp_path}/b.db" and s.synchronous == "NORMAL"
    assert open_storage("sqlite://rel/d.db").path == "rel/d.db"  # type: ignore[attr-defined]
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
