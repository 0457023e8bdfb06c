"""etcd-only behaviour: endpoint failover, compaction discovery, watch resumption over gRPC."""

from __future__ import annotations

import asyncio

import pytest

from pyk8s.storage import open_storage
from pyk8s.storage.interface import KeyExistsError, Storage, StorageError
from pyk8s.testing import etcd as etcd_testing
from pyk8s.testing.tcpproxy import TcpProxy

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
    proxy = await TcpProxy(etcd_server.client_port).start()
    store = open_storage(f"etcd://127.0.0.1:{proxy.port}")
    await store.start()
    try:
        base = await store.current_revision()
        it = store.watch("/drop/", after_revision=base)
        await store.create("/drop/0", b"x")
        got = [await it.__anext__()]
        proxy.cut()  # what a proxy or an etcd restart does to a long stream
        for i in range(1, 6):
            await _create_retrying(store, f"/drop/{i}")
        async with asyncio.timeout(10):
            while len(got) < 6:
                got.append(await it.__anext__())
        await it.aclose()  # type: ignore[attr-defined]
        assert [e.kv.key for e in got] == [f"/drop/{i}" for i in range(6)]
        assert [e.revision for e in got] == list(range(base + 1, base + 7))
    finally:
        await store.close()
        await proxy.close()


async def test_watch_and_writes_ride_out_an_etcd_restart() -> None:
    server = await etcd_testing.EtcdServer().astart()
    store = open_storage(server.url)
    try:
        await store.start()
        base = await store.current_revision()
        it = store.watch("/restart/", after_revision=base)
        await store.create("/restart/0", b"x")
        got = [await it.__anext__()]
        await asyncio.to_thread(server.restart)
        for i in range(1, 6):
            await _create_retrying(store, f"/restart/{i}")
        async with asyncio.timeout(20):
            while len(got) < 6:
                got.append(await it.__anext__())
        await it.aclose()  # type: ignore[attr-defined]
        assert [e.kv.key for e in got] == [f"/restart/{i}" for i in range(6)]
        assert [e.revision for e in got] == list(range(base + 1, base + 7))
    finally:
        await store.close()
        server.stop()


async def _create_retrying(store: Storage, key: str) -> None:
    """A create right after the cut may fail with "outcome unknown" (the driver does not
    retry writes it may have sent); the caller, like the API server's client, tries again."""
    for _ in range(100):
        try:
            await store.create(key, b"x")
            return
        except KeyExistsError:
            return  # the first try did land
        except StorageError:
            await asyncio.sleep(0.1)
    raise AssertionError(f"could not create {key}")


async def test_calls_fail_cleanly_when_no_endpoint_answers() -> None:
    store = open_storage(f"etcd://127.0.0.1:{etcd_testing.free_port()},127.0.0.1:{etcd_testing.free_port()}")
    try:
        with pytest.raises(StorageError, match="unreachable"):
            await store.start()
        with pytest.raises(StorageError, match="unreachable"):
            await store.create("/nobody/a", b"1")  # never sent, so tried on each endpoint
    finally:
        await store.close()


def test_speaks_grpc_not_the_json_gateway() -> None:
    """The driver needs only etcd's gRPC API: it works with the HTTP/JSON gateway turned off."""

    async def run(url: str) -> None:
        store = open_storage(url)
        await store.start()
        try:
            kv = await store.create("/grpc-only/a", b"1")
            assert (await store.list("/grpc-only/")).items == [kv]
        finally:
            await store.close()

    with etcd_testing.EtcdServer(extra_args=["--enable-grpc-gateway=false"]) as server:
        asyncio.run(run(server.url))


async def test_large_list_over_grpc(etcd_server: etcd_testing.EtcdServer) -> None:
    """A list bigger than gRPC's default 4 MB message cap comes back whole."""
    store = open_storage(etcd_server.url)
    await store.start()
    try:
        value = b"v" * 100_000
        await asyncio.gather(*(store.create(f"/big/{i:03d}", value) for i in range(60)))
        result = await store.list("/big/")
        assert len(result.items) == 60 and all(kv.value == value for kv in result.items)
        assert [kv.key for kv in result.items] == [f"/big/{i:03d}" for i in range(60)]
    finally:
        await store.close()


async def test_close_ends_open_watches_quietly(etcd_server: etcd_testing.EtcdServer) -> None:
    store = open_storage(etcd_server.url)
    await store.start()
    it = store.watch("/closing/", after_revision=await store.current_revision())
    reader = asyncio.create_task(anext(it, None))  # type: ignore[arg-type]
    await asyncio.sleep(0.2)
    await store.close()
    async with asyncio.timeout(5):
        assert await reader is None  # ended, no exception


async def test_many_concurrent_gets_each_get_their_own_key(etcd_server: etcd_testing.EtcdServer) -> None:
    # More gets than the driver sends alone: the rest share read-only txns (etcdgets).
    store = open_storage(etcd_server.url)
    await store.start()
    try:
        stored = {f"/many-gets/{i}": await store.create(f"/many-gets/{i}", b"v%d" % i) for i in range(50)}
        keys = [f"/many-gets/{i % 60}" for i in range(300)]  # 10 of the 60 names are missing
        got = await asyncio.gather(*(store.get(k) for k in keys))
        assert got == [stored.get(k) for k in keys]
        await store.update("/many-gets/3", b"new", expected_revision=stored["/many-gets/3"].mod_revision)
        again = await asyncio.gather(*(store.get("/many-gets/3") for _ in range(20)))
        assert {kv.value for kv in again if kv is not None} == {b"new"} and None not in again
    finally:
        await store.close()
