"""Garbage collector against the in-memory fake API server."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "client"))
from client_fake_apiserver import FakeApiServer  # noqa: E402

import pyk8s.api  # noqa: E402,F401
from pyk8s.client.kubeconfig import ClientConfig  # noqa: E402
from pyk8s.client.rest import Client  # noqa: E402
from pyk8s.client.tools.informer import SharedInformerFactory  # noqa: E402
from pyk8s.controllers.garbagecollector import GarbageCollector  # noqa: E402
from pyk8s.controllers.manager import ControllerContext  # noqa: E402
from pyk8s.machinery.scheme import SCHEME  # noqa: E402
from pyk8s.testing.fake_clock import FakeClock  # noqa: E402

RS = SCHEME.get("apps", "v1", "replicasets")
PODS = SCHEME.get("", "v1", "pods")
CM = SCHEME.get("", "v1", "configmaps")


async def eventually(pred: Callable[[], bool], within: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + within
    while not pred():
        assert loop.time() < end, "condition not reached"
        await asyncio.sleep(0.01)


@pytest.fixture
async def env() -> AsyncIterator[tuple[FakeApiServer, Client, GarbageCollector]]:
    srv = await FakeApiServer().start()
    client = Client(ClientConfig(server=srv.url))
    factory = SharedInformerFactory(client, clock=FakeClock())
    gc = GarbageCollector(ControllerContext(client, factory, FakeClock()), resources=[RS, PODS, CM])
    tasks = [asyncio.create_task(factory.run()), asyncio.create_task(gc.run())]
    await gc.ready.wait()
    try:
        yield srv, client, gc
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await client.close()
        await srv.stop()


def ref(owner: dict, **extra: object) -> dict:
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": owner["metadata"]["name"],
            "uid": owner["metadata"]["uid"], "controller": True, **extra}


def exists(srv: FakeApiServer, resource: str, ns: str, name: str) -> bool:
    return (resource, ns, name) in srv.objects


async def test_background_cascade_deletes_orphaned_dependents(env) -> None:
    srv, client, _ = env
    rs = await client.create(RS, {"metadata": {"name": "rs"}, "spec": {}}, namespace="ns")
    pod = {"metadata": {"name": "p1", "ownerReferences": [ref(rs)]}, "spec": {}}
    await client.create(PODS, pod, namespace="ns")
    unrelated = {"metadata": {"name": "p2"}, "spec": {}}
    await client.create(PODS, unrelated, namespace="ns")
    await asyncio.sleep(0.2)
    assert exists(srv, "v1/pods", "ns", "p1")  # owner present: kept
    await client.delete(RS, "rs", namespace="ns")
    await eventually(lambda: not exists(srv, "v1/pods", "ns", "p1"))
    assert exists(srv, "v1/pods", "ns", "p2")


async def test_dependent_of_never_existing_owner_is_deleted_but_replaced_owner_name_counts_as_gone(env) -> None:
    srv, client, _ = env
    await client.create(RS, {"metadata": {"name": "rs"}, "spec": {}}, namespace="ns")
    fake_ref = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "not-the-uid"}
    await client.create(PODS, {"metadata": {"name": "p", "ownerReferences": [fake_ref]}}, namespace="ns")
    await eventually(lambda: not exists(srv, "v1/pods", "ns", "p"))
    assert exists(srv, "apps/v1/replicasets", "ns", "rs")


async def test_one_of_two_owners_gone_only_strips_reference(env) -> None:
    srv, client, _ = env
    a = await client.create(RS, {"metadata": {"name": "a"}}, namespace="ns")
    gone = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "b", "uid": "uid-b"}
    await client.create(CM, {"metadata": {"name": "c", "ownerReferences": [ref(a), gone]}}, namespace="ns")
    await eventually(lambda: len(srv.objects[("v1/configmaps", "ns", "c")]["metadata"]["ownerReferences"]) == 1)
    assert srv.objects[("v1/configmaps", "ns", "c")]["metadata"]["ownerReferences"][0]["uid"] == a["metadata"]["uid"]


async def test_orphan_finalizer_strips_refs_then_finalizer(env) -> None:
    srv, client, _ = env
    rs = await client.create(RS, {"metadata": {"name": "rs", "finalizers": ["orphan"]}}, namespace="ns")
    await client.create(PODS, {"metadata": {"name": "p", "ownerReferences": [ref(rs)]}}, namespace="ns")
    live = await client.get(RS, "rs", namespace="ns")
    live["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    await client.update(RS, live, namespace="ns")
    await eventually(lambda: not srv.objects[("apps/v1/replicasets", "ns", "rs")]["metadata"].get("finalizers"))
    pod = srv.objects[("v1/pods", "ns", "p")]
    assert not pod["metadata"].get("ownerReferences")


async def test_foreground_deletes_dependents_then_removes_finalizer(env) -> None:
    srv, client, _ = env
    rs = await client.create(RS, {"metadata": {"name": "rs", "finalizers": ["foregroundDeletion"]}}, namespace="ns")
    await client.create(PODS, {"metadata": {"name": "p", "ownerReferences": [ref(rs, blockOwnerDeletion=True)]}},
                        namespace="ns")
    await asyncio.sleep(0.1)
    live = await client.get(RS, "rs", namespace="ns")
    live["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    await client.update(RS, live, namespace="ns")
    await eventually(lambda: not exists(srv, "v1/pods", "ns", "p"))
    await eventually(lambda: not srv.objects[("apps/v1/replicasets", "ns", "rs")]["metadata"].get("finalizers"))
    deletes = [q for m, p, q, _ in srv.requests if m == "DELETE" and p.endswith("/pods/p")]
    assert deletes
