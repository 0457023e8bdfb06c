"""Reflector and informers against the fake server: sync, resume, 410 relist, handlers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from client_fake_apiserver import FakeApiServer

from pyk8s.client.rest import Client
from pyk8s.client.tools.informer import SharedInformer, SharedInformerFactory
from pyk8s.client.tools.reflector import ListWatch
from pyk8s.client.tools.store import DeletedFinalStateUnknown, by_node_name
from pyk8s.machinery.scheme import SCHEME
from pyk8s.testing.fake_clock import FakeClock

CM = SCHEME.get("", "v1", "configmaps")
PODS = SCHEME.get("", "v1", "pods")


def cm(name: str, ns: str = "default", **data: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns}, "data": data}


async def eventually(cond: Callable[[], bool], limit: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + limit
    while not cond():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


class Recorder:
    def __init__(self) -> None:
        self.log: list[tuple[str, str]] = []

    def add(self, obj: dict) -> None:
        self.log.append(("add", obj["metadata"]["name"]))

    def update(self, old: dict, new: dict) -> None:
        self.log.append(("update", f"{old['data'].get('v', '')}->{new['data'].get('v', '')}"))

    def delete(self, obj: dict | DeletedFinalStateUnknown) -> None:
        if isinstance(obj, DeletedFinalStateUnknown):
            self.log.append(("tombstone", obj.key))
        else:
            self.log.append(("delete", obj["metadata"]["name"]))


def informer(client: Client, clock: FakeClock, **kw: object) -> SharedInformer:
    return SharedInformer(ListWatch(client, CM, **kw), name="cm", clock=clock)  # type: ignore[arg-type]


async def test_informer_converges_and_notifies(client: Client, fake_server: FakeApiServer, clock: FakeClock) -> None:
    for i in range(5):
        await client.create(CM, cm(f"pre{i}", v="0"))
    inf = informer(client, clock)
    inf.reflector.page_size = 2  # the initial list is paged
    rec = Recorder()
    inf.add_event_handler(on_add=rec.add, on_update=rec.update, on_delete=rec.delete)
    async with asyncio.TaskGroup() as tg:
        task = tg.create_task(inf.run())
        await asyncio.wait_for(inf.wait_for_sync(), 5)
        assert inf.has_synced() and len(inf.store) == 5
        assert sum(1 for r in fake_server.requests if r[2].get("limit") == "2") == 3
        assert sorted(rec.log) == [("add", f"pre{i}") for i in range(5)]
        rec.log.clear()
        await client.create(CM, cm("new", v="1"))
        await client.patch(CM, "new", {"data": {"v": "2"}}, namespace="default")
        await client.delete(CM, "pre0", namespace="default")
        await eventually(lambda: len(rec.log) == 3)
        assert rec.log == [("add", "new"), ("update", "1->2"), ("delete", "pre0")]
        server_state = {o["metadata"]["name"]: o["metadata"]["resourceVersion"]
                        for o in (await client.list(CM))["items"]}
        assert {k.split("/")[1]: o["metadata"]["resourceVersion"] for k in inf.store.keys()
                for o in [inf.store.get(k)]} == server_state
        assert inf.lister.get("new", "default")["data"] == {"v": "2"}
        task.cancel()


async def test_watch_resumes_from_last_version(client: Client, fake_server: FakeApiServer, clock: FakeClock) -> None:
    inf = informer(client, clock)
    async with asyncio.TaskGroup() as tg:
        task = tg.create_task(inf.run())
        await inf.wait_for_sync()
        obj = await client.create(CM, cm("a", v="1"))
        await eventually(lambda: inf.last_sync_resource_version == obj["metadata"]["resourceVersion"])
        fake_server.close_watches()  # server ends the stream (timeoutSeconds)
        await eventually(lambda: fake_server.count("GET", watch=True) == 2)
        last_watch = [r for r in fake_server.requests if r[2].get("watch") == "true"][-1][2]
        assert last_watch["resourceVersion"] == obj["metadata"]["resourceVersion"]
        assert 300 <= int(last_watch["timeoutSeconds"]) <= 600
        assert inf.reflector.lists == 1  # no relist
        await client.patch(CM, "a", {"data": {"v": "2"}}, namespace="default")
        await eventually(lambda: inf.store.get("default/a")["data"]["v"] == "2")
        task.cancel()


async def test_bookmark_advances_version(client: Client, fake_server: FakeApiServer, clock: FakeClock) -> None:
    inf = informer(client, clock)
    async with asyncio.TaskGroup() as tg:
        task = tg.create_task(inf.run())
        await inf.wait_for_sync()
        await fake_server.bookmark("v1/configmaps")
        await eventually(lambda: inf.last_sync_resource_version == str(fake_server.rv))
        task.cancel()


async def _relist_after_gone(client: Client, fake_server: FakeApiServer, clock: FakeClock) -> None:
    await client.create(CM, cm("keep", v="1"))
    await client.create(CM, cm("vanish", v="1"))
    inf = informer(client, clock)
    rec = Recorder()
    inf.add_event_handler(on_add=rec.add, on_update=rec.update, on_delete=rec.delete)
    async with asyncio.TaskGroup() as tg:
        task = tg.create_task(inf.run())
        await inf.wait_for_sync()
        rec.log.clear()
        # Changes the informer never hears about, then history is compacted away.
        del fake_server.objects[("v1/configmaps", "default", "vanish")]
        fake_server.objects[("v1/configmaps", "default", "keep")]["data"]["v"] = "2"
        fake_server.rv += 3
        fake_server.compact()
        fake_server.close_watches()
        await eventually(lambda: inf.reflector.lists == 2)
        assert sorted(rec.log) == [("tombstone", "default/vanish"), ("update", "1->2")]
        assert inf.store.keys() == ["default/keep"]
        assert inf.last_sync_resource_version == str(fake_server.rv)
        task.cancel()


async def test_relist_on_gone_error_event(client: Client, fake_server: FakeApiServer, clock: FakeClock) -> None:
    await _relist_after_gone(client, fake_server, clock)


async def test_relist_on_http_410(client: Client, fake_server: FakeApiServer, clock: FakeClock) -> None:
    fake_server.watch_gone_as_http = True
    await _relist_after_gone(client, fake_server, clock)


async def test_backoff_on_errors_uses_clock(client: Client, fake_server: FakeApiServer, clock: FakeClock) -> None:
    fake_server.fail_next = [500, 500]
    inf = informer(client, clock)
    async with asyncio.TaskGroup() as tg:
        task = tg.create_task(inf.run())
        await eventually(lambda: clock.pending() == 1)  # sleeping in back-off
        assert fake_server.count("GET") == 1 and not inf.has_synced()
        await clock.advance(clock.next_deadline() or 0)
        await eventually(lambda: fake_server.count("GET") == 2 and clock.pending() == 1)
        second = clock.next_deadline() or 0
        assert second > 0.8 * 1.5  # grew
        await clock.advance(second)
        await asyncio.wait_for(inf.wait_for_sync(), 5)
        task.cancel()


async def test_late_handler_and_failing_handler(client: Client, fake_server: FakeApiServer, clock: FakeClock) -> None:
    await client.create(CM, cm("a", v="1"))
    inf = informer(client, clock)

    def boom(obj: dict) -> None:
        raise RuntimeError("handler bug")

    inf.add_event_handler(on_add=boom)
    async with asyncio.TaskGroup() as tg:
        task = tg.create_task(inf.run())
        await inf.wait_for_sync()
        late = Recorder()
        inf.add_event_handler(on_add=late.add)
        assert late.log == [("add", "a")]
        await client.create(CM, cm("b", v="1"))
        await eventually(lambda: late.log == [("add", "a"), ("add", "b")])
        task.cancel()


async def test_resync_redelivers(client: Client, fake_server: FakeApiServer, clock: FakeClock) -> None:
    await client.create(CM, cm("a", v="1"))
    inf = SharedInformer(ListWatch(client, CM), clock=clock, resync_period=30)
    rec = Recorder()
    inf.add_event_handler(on_update=rec.update)
    async with asyncio.TaskGroup() as tg:
        task = tg.create_task(inf.run())
        await inf.wait_for_sync()
        await clock.advance(30)
        assert rec.log == [("update", "1->1")]
        task.cancel()


async def test_factory_shares_and_starts_late_informers(client: Client, fake_server: FakeApiServer,
                                                       clock: FakeClock) -> None:
    factory = SharedInformerFactory(client, clock=clock)
    a = factory.informer(CM)
    assert factory.informer(CM) is a
    assert factory.informer(CM, namespace="x") is not a
    assert factory.informer(CM, label_selector={"app": "w"}) is factory.informer(CM, label_selector="app=w")
    pods = factory.informer(PODS, indexers={"node": by_node_name})
    await client.create(PODS, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "d"},
                               "spec": {"nodeName": "n1"}})
    async with asyncio.TaskGroup() as tg:
        task = tg.create_task(factory.run())
        await asyncio.wait_for(factory.wait_for_cache_sync(), 5)
        assert factory.has_synced()
        assert [o["metadata"]["name"] for o in pods.store.by_index("node", "n1")] == ["p"]
        late = factory.informer(Client.resource("apps", "v1", "deployments"))
        await asyncio.wait_for(late.wait_for_sync(), 5)
        # One list per informer: the same resource is never listed twice.
        lists = [(r[1], r[2].get("labelSelector")) for r in fake_server.requests
                 if r[0] == "GET" and r[2].get("watch") != "true"]
        assert lists.count(("/api/v1/configmaps", None)) == 1
        assert lists.count(("/api/v1/configmaps", "app=w")) == 1
        task.cancel()


async def test_list_items_get_kind(client: Client, fake_server: FakeApiServer, clock: FakeClock) -> None:
    await client.create(CM, {"metadata": {"name": "bare", "namespace": "default"}})
    inf = informer(client, clock)
    async with asyncio.TaskGroup() as tg:
        task = tg.create_task(inf.run())
        await inf.wait_for_sync()
        cached = inf.store.get("default/bare")
        assert cached["kind"] == "ConfigMap" and cached["apiVersion"] == "v1"
        task.cancel()
