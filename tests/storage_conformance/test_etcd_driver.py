"""etcd-only behaviour: endpoint failover and the gateway's JSON shapes."""

from __future__ import annotations

from pyk8s.storage import open_storage
from pyk8s.testing import etcd as etcd_testing


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
