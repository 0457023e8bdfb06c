"""One storage fixture parametrized over every driver.

Each test gets a started store and a fresh key prefix.  memory and sqlite
stores are fresh per test; the etcd leg shares one real etcd per session
(started in a temp dir on a free loopback port, stopped by PID), so tests keep
to their own prefix and only compare revisions they observed themselves.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest

from pyk8s.storage import open_storage
from pyk8s.storage.interface import Storage
from pyk8s.testing import etcd as etcd_testing

DRIVERS = ["memory", "sqlite", pytest.param("etcd", marks=pytest.mark.etcd)]


@pytest.fixture(scope="session")
def etcd_server() -> Iterator[etcd_testing.EtcdServer]:
    if shutil.which("etcd") is None:
        pytest.skip("etcd binary not installed")
    server = etcd_testing.EtcdServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=DRIVERS)
def driver_url(request: pytest.FixtureRequest, tmp_path) -> str:
    name = request.param
    if name == "memory":
        return "memory://"
    if name == "sqlite":
        return f"sqlite://{tmp_path}/store.db"
    return request.getfixturevalue("etcd_server").url


@pytest.fixture
async def store(driver_url: str) -> AsyncIterator[Storage]:
    s = open_storage(driver_url)
    await s.start()
    try:
        yield s
    finally:
        await s.close()


@pytest.fixture
def prefix() -> str:
    return f"/registry/t-{uuid.uuid4().hex[:10]}/"
