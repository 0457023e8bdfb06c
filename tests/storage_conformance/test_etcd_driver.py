"""etcd-only behaviour: endpoint failover and the gateway's JSON shapes."""

from __future__ import annotations

import asyncio

import pytest

from pyk8s.storage import open_storage
from pyk8s.testing import etcd as etcd_testing

pytestmark = pytest.mark.etcd


async def test_failover_skips_a_dead_endpoint(etcd_server: etcd_testing.EtcdServer) -> None:
    dead = etcd_testing.free_port()  # nothing listens there
    store = open_storage(f"etcd://127.0.0.1:{dead},127.0.0.1:{etcd_server.client_port}")
    await store.start()
    try:
        kv = await store.create("/failover/a", b"1")
        assert (await store.get("/failover/a")) == kv
        events = []
        it = store.watch("/failover/", after_revision=kv.mod_revision - 1)
        async for ev in it:
            events.append(ev)
            break
        await it.aclose()  # type: ignore[attr-defined]
        assert events[0].kv == kv
    finally:
        await store.close()


def test_server_helper_reports_its_pid_and_url(etcd_server: etcd_testing.EtcdServer) -> None:
    assert etcd_server.pid is not None and etcd_server.pid > 0
    assert etcd_server.url == f"etcd://127.0.0.1:{etcd_server.client_port}"
    assert etcd_server.endpoint.startswith("http://127.0.0.1:")


async def test_fresh_client_finds_the_compacted_revision(etcd_server: etcd_testing.EtcdServer) -> None:
    a = open_storage(etcd_server.url)
    b = open_storage(etcd_server.url)
    await a.start()
    await b.start()
    try:
        for i in range(20):
            await a.create(f"/compacted-probe/{i}", b"x")
        target = await a.current_revision() - 7
        await a.compact(target)
        assert await b.compacted_revision() == target  # b never saw the compaction
        assert await b.compacted_revision() == target  # and again from its hint
    finally:
        await a.close()
        await b.close()


async def test_watch_resumes_after_the_stream_drops(etcd_server: etcd_testing.EtcdServer) -> None:
    store = open_storage(etcd_server.url)
    await store.start()
    try:
        base = await store.current_revision()
        it = store.watch("/drop/", after_revision=base)
        await store.create("/drop/0", b"x")
        got = [await it.__anext__()]
        for resp in list(store._streams):  # type: ignore[attr-defined]
            resp.close()  # what a proxy or an etcd restart does to a long stream
        for i in range(1, 6):
            await store.create(f"/drop/{i}", b"x")
        async with asyncio.timeout(10):
            while len(got) < 6:
                got.append(await it.__anext__())
        await it.aclose()  # type: ignore[attr-defined]
        assert [e.kv.key for e in got] == [f"/drop/{i}" for i in range(6)]
        assert [e.revision for e in got] == list(range(base + 1, base + 7))
    finally:
        await store.close()
