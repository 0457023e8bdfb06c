"""The client machinery against a real ``pyk8s server``."""

from __future__ import annotations

import asyncio
import contextlib
import copy
from collections.abc import Callable

import pytest

from pyk8s.client import errors
from pyk8s.client.rest import Client
from pyk8s.client.tools.controller import Controller
from pyk8s.client.tools.events import EVENTS, WARNING, EventRecorder
from pyk8s.client.tools.informer import SharedInformer, SharedInformerFactory
from pyk8s.client.tools.leaderelection import LEASES, LeaderElector
from pyk8s.client.tools.reflector import ListWatch
from pyk8s.client.tools.store import split_key
from pyk8s.machinery.scheme import SCHEME
from pyk8s.testing.fake_clock import FakeClock

CM = SCHEME.get("", "v1", "configmaps")


def cm(name: str, tag: str, **data: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": "default", "labels": {"test": tag}}, "data": data}


async def eventually(cond: Callable[[], bool], limit: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + limit
    while not cond():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def test_crud_conflict_and_patches(client: Client, tag: str) -> None:
    name = f"crud-{tag}"
    created = await client.create(CM, cm(name, tag, a="1"))
    assert created["metadata"]["uid"] and created["metadata"]["resourceVersion"]
    with pytest.raises(errors.ApiError) as info:
        await client.create(CM, cm(name, tag))
    assert info.value.code == 409 and errors.is_already_exists(info.value)

    stale = copy.deepcopy(created)
    created["data"]["a"] = "2"
    await client.update(CM, created)
    stale["data"]["a"] = "3"
    with pytest.raises(errors.ApiError) as info:
        await client.update(CM, stale)
    assert errors.is_conflict(info.value)

    out = await client.patch(CM, name, {"data": {"b": "x"}}, namespace="default")
    assert out["data"] == {"a": "2", "b": "x"}
    out = await client.patch(CM, name, {"data": {"b": None}}, namespace="default", patch_type="merge")
    assert out["data"] == {"a": "2"}
    out = await client.patch(CM, name, [{"op": "add", "path": "/data/c", "value": "y"}], namespace="default",
                             patch_type="json")
    assert out["data"] == {"a": "2", "c": "y"}
    applied = await client.apply(CM, {"apiVersion": "v1", "kind": "ConfigMap",
                                      "metadata": {"name": f"ssa-{tag}", "namespace": "default"},
                                      "data": {"k": "v"}}, field_manager="it", force=True)
    assert applied["data"] == {"k": "v"}

    with pytest.raises(errors.ApiError) as info:
        await client.delete(CM, name, namespace="default", preconditions={"uid": "not-the-uid"})
    assert info.value.code == 409
    await client.delete(CM, name, namespace="default", preconditions={"uid": created["metadata"]["uid"]})
    with pytest.raises(errors.ApiError) as info:
        await client.get(CM, name, namespace="default")
    assert errors.is_not_found(info.value)


async def test_list_paging(client: Client, tag: str) -> None:
    for i in range(7):
        await client.create(CM, cm(f"page-{tag}-{i}", tag))
    pages = [p async for p in client.list_pages(CM, namespace="default", label_selector={"test": tag}, page_size=3)]
    assert [len(p["items"]) for p in pages] == [3, 3, 1]
    every = await client.list_all(CM, namespace="default", label_selector=f"test={tag}", page_size=2)
    assert sorted(o["metadata"]["name"] for o in every["items"]) == sorted(f"page-{tag}-{i}" for i in range(7))
    await client.delete_collection(CM, namespace="default", label_selector={"test": tag})
    left = await client.list(CM, namespace="default", label_selector={"test": tag})
    assert left["items"] == []


async def test_watch_events(client: Client, tag: str) -> None:
    start = await client.list(CM, namespace="default", label_selector={"test": tag})
    seen: list[tuple[str, str]] = []

    async def consume() -> None:
        stream = client.watch(CM, namespace="default", label_selector={"test": tag},
                              resource_version=start["metadata"]["resourceVersion"], allow_bookmarks=True)
        async with contextlib.aclosing(stream):
            async for kind, obj in stream:
                if kind != "BOOKMARK":
                    seen.append((kind, obj["metadata"]["name"]))
                if kind == "DELETED":
                    return

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.2)
    await client.create(CM, cm(f"w-{tag}", tag))
    await client.patch(CM, f"w-{tag}", {"data": {"x": "1"}}, namespace="default")
    await client.delete(CM, f"w-{tag}", namespace="default")
    await asyncio.wait_for(task, 10)
    assert seen == [("ADDED", f"w-{tag}"), ("MODIFIED", f"w-{tag}"), ("DELETED", f"w-{tag}")]


async def test_informer_converges_and_resumes(client: Client, tag: str) -> None:
    for i in range(3):
        await client.create(CM, cm(f"inf-{tag}-{i}", tag, v="0"))
    lw = ListWatch(client, CM, namespace="default", label_selector={"test": tag})
    inf = SharedInformer(lw, name="it")
    inf.reflector.min_watch_timeout = 1  # the server ends each watch after 1-2 s
    async with asyncio.TaskGroup() as tg:
        task = tg.create_task(inf.run())
        await asyncio.wait_for(inf.wait_for_sync(), 10)
        assert len(inf.store) == 3
        # Keep writing across several watch restarts.
        for i in range(6):
            await client.patch(CM, f"inf-{tag}-0", {"data": {"v": str(i + 1)}}, namespace="default")
            await asyncio.sleep(0.5)
        await client.create(CM, cm(f"inf-{tag}-new", tag))
        await client.delete(CM, f"inf-{tag}-1", namespace="default")

        async def server_state() -> dict[str, str]:
            items = (await client.list(CM, namespace="default", label_selector={"test": tag}))["items"]
            return {o["metadata"]["name"]: o["metadata"]["resourceVersion"] for o in items}

        want = await server_state()
        await eventually(lambda: {split_key(k)[1]: inf.store.get(k)["metadata"]["resourceVersion"]
                                  for k in inf.store.keys()} == want)
        assert inf.reflector.watches >= 2 and inf.reflector.lists == 1
        task.cancel()


async def test_controller_reconciles(client: Client, tag: str) -> None:
    """An informer-driven controller copies data.in into an annotation, level-triggered."""
    factory = SharedInformerFactory(client, namespace="default")
    inf = factory.informer(CM, label_selector={"test": tag})

    async def sync(key: str) -> None:
        ns, name = split_key(key)
        obj = inf.lister.get(name, ns)
        if obj is None:
            return
        want = (obj.get("data") or {}).get("in", "")
        if (obj["metadata"].get("annotations") or {}).get("out") != want:
            await client.patch(CM, name, {"metadata": {"annotations": {"out": want}}}, namespace=ns)

    ctl = Controller("copy", sync, workers=2, informers=[inf])
    inf.add_event_handler(ctl.handler())
    async with asyncio.TaskGroup() as tg:
        tasks = [tg.create_task(factory.run()), tg.create_task(ctl.run())]
        for i in range(4):
            await client.create(CM, cm(f"ctl-{tag}-{i}", tag, **{"in": f"v{i}"}))
        await client.patch(CM, f"ctl-{tag}-0", {"data": {"in": "changed"}}, namespace="default")

        async def done() -> bool:
            items = (await client.list(CM, namespace="default", label_selector={"test": tag}))["items"]
            return len(items) == 4 and all(
                (o["metadata"].get("annotations") or {}).get("out") == o["data"]["in"] for o in items)

        for _ in range(200):
            if await done():
                break
            await asyncio.sleep(0.05)
        assert await done()
        for t in tasks:
            t.cancel()


async def test_two_leader_electors(client: Client, tag: str) -> None:
    clock = FakeClock()
    leading: dict[str, asyncio.Event] = {"a": asyncio.Event(), "b": asyncio.Event()}

    def elector(identity: str) -> LeaderElector:
        async def lead() -> None:
            leading[identity].set()
            await asyncio.Event().wait()

        return LeaderElector(client, namespace="default", name=f"lock-{tag}", identity=identity,
                             on_started_leading=lead, on_stopped_leading=leading[identity].clear, clock=clock)

    async def idle(n: int) -> None:
        await eventually(lambda: clock.pending() >= n)

    a, b = elector("a"), elector("b")
    task_a = asyncio.create_task(a.run())
    await asyncio.wait_for(leading["a"].wait(), 10)
    task_b = asyncio.create_task(b.run())
    for _ in range(15):  # ~30 s of fake time
        await idle(2)
        await clock.advance(clock.next_deadline() or 0)
    await idle(2)
    assert a.is_leader() and not b.is_leader() and not leading["b"].is_set()
    lease = await client.get(LEASES, f"lock-{tag}", namespace="default")
    assert lease["spec"]["holderIdentity"] == "a"

    task_a.cancel()
    await asyncio.gather(task_a, return_exceptions=True)
    start = clock.monotonic()
    while not leading["b"].is_set() and clock.monotonic() - start < 60:
        await idle(1)
        await clock.advance(clock.next_deadline() or 0)
        await asyncio.sleep(0.05)
    assert leading["b"].is_set() and clock.monotonic() - start >= 13
    lease = await client.get(LEASES, f"lock-{tag}", namespace="default")
    assert lease["spec"]["holderIdentity"] == "b" and lease["spec"]["leaseTransitions"] == 1
    task_b.cancel()
    await asyncio.gather(task_b, return_exceptions=True)


async def test_event_aggregation(client: Client, tag: str) -> None:
    obj = await client.create(CM, cm(f"ev-{tag}", tag))
    rec = EventRecorder(client, component="client-it")
    first = await rec.emit(obj, WARNING, "Testing", f"message {tag}")
    second = await rec.emit(obj, WARNING, "Testing", f"message {tag}")
    assert second["metadata"]["name"] == first["metadata"]["name"] and second["count"] == 2
    stored = await client.get(EVENTS, first["metadata"]["name"], namespace="default")
    assert stored["count"] == 2 and stored["involvedObject"]["uid"] == obj["metadata"]["uid"]
