"""The REST client against the in-memory fake server."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from client_fake_apiserver import FakeApiServer

from pyk8s.client import errors
from pyk8s.client.rest import Client, DynamicResource, resource_path
from pyk8s.machinery.scheme import SCHEME

CM = SCHEME.get("", "v1", "configmaps")
PODS = SCHEME.get("", "v1", "pods")
NS = SCHEME.get("", "v1", "namespaces")


def cm(name: str, ns: str = "default", **labels: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns, "labels": labels},
            "data": {"k": "v"}}


def test_paths() -> None:
    assert resource_path(PODS, namespace="ns", name="p", subresource="status") == "/api/v1/namespaces/ns/pods/p/status"
    assert resource_path(PODS) == "/api/v1/pods"
    assert resource_path(NS, namespace="x", name="x") == "/api/v1/namespaces/x"
    deploy = Client.resource("apps", "v1", "deployments")
    assert deploy is SCHEME.get("apps", "v1", "deployments")
    assert resource_path(deploy, namespace="a", name="d") == "/apis/apps/v1/namespaces/a/deployments/d"
    crd = Client.resource("example.com", "v1", "widgets", namespaced=False)
    assert isinstance(crd, DynamicResource)
    assert resource_path(crd, namespace="ignored", name="w") == "/apis/example.com/v1/widgets/w"


async def test_crud_and_errors(client: Client, fake_server: FakeApiServer) -> None:
    created = await client.create(CM, cm("a"))
    assert created["metadata"]["uid"] and created["metadata"]["resourceVersion"]
    with pytest.raises(errors.ApiError) as info:
        await client.create(CM, cm("a"))
    assert info.value.code == 409 and errors.is_already_exists(info.value) and not errors.is_conflict(info.value)

    got = await client.get(CM, "a", namespace="default")
    assert got["data"] == {"k": "v"}
    got["data"]["k"] = "v2"
    updated = await client.update(CM, got)
    assert updated["data"]["k"] == "v2"
    # The stale copy now conflicts.
    with pytest.raises(errors.ApiError) as info:
        await client.update(CM, got)
    assert errors.is_conflict(info.value) and info.value.reason == "Conflict"

    await client.delete(CM, "a", namespace="default")
    with pytest.raises(errors.ApiError) as info:
        await client.get(CM, "a", namespace="default")
    assert errors.is_not_found(info.value) and info.value.code == 404
    assert '"a" not found' in info.value.message


async def test_write_params_and_patch_types(client: Client, fake_server: FakeApiServer) -> None:
    await client.create(CM, cm("p"), field_manager="mgr")
    assert fake_server.requests[-1][2] == {"fieldManager": "mgr"}
    out = await client.patch(CM, "p", {"data": {"x": "1"}}, namespace="default")
    assert out["data"] == {"k": "v", "x": "1"}
    assert fake_server.requests[-1][3] == "application/strategic-merge-patch+json"
    out = await client.patch(CM, "p", [{"op": "remove", "path": "/data/k"}], namespace="default", patch_type="json")
    assert out["data"] == {"x": "1"}
    assert fake_server.requests[-1][3] == "application/json-patch+json"
    await client.patch(CM, "p", {"data": {"y": "2"}}, namespace="default", patch_type="merge")
    assert fake_server.requests[-1][3] == "application/merge-patch+json"
    await client.apply(CM, cm("applied"), field_manager="ssa", force=True)
    method, _, query, ctype = fake_server.requests[-1]
    assert (method, ctype) == ("PATCH", "application/apply-patch+yaml")
    assert query == {"fieldManager": "ssa", "force": "true"}
    await client.create(CM, cm("dry"), dry_run=True)
    assert fake_server.requests[-1][2]["dryRun"] == "All"
    with pytest.raises(errors.ApiError):
        await client.get(CM, "dry", namespace="default")


async def test_delete_options_and_preconditions(client: Client, fake_server: FakeApiServer) -> None:
    obj = await client.create(CM, cm("d"))
    with pytest.raises(errors.ApiError) as info:
        await client.delete(CM, "d", namespace="default", preconditions={"uid": "wrong"})
    assert info.value.code == 409
    gone = await client.delete(CM, "d", namespace="default", propagation_policy="Foreground",
                               grace_period_seconds=0, preconditions={"uid": obj["metadata"]["uid"]})
    assert gone["metadata"]["name"] == "d"


async def test_list_selectors_and_paging(client: Client, fake_server: FakeApiServer) -> None:
    for i in range(7):
        await client.create(CM, cm(f"c{i}", app="web" if i % 2 else "db"))
    await client.create(CM, cm("other", ns="kube-system", app="web"))
    web = await client.list(CM, namespace="default", label_selector={"app": "web"})
    assert sorted(o["metadata"]["name"] for o in web["items"]) == ["c1", "c3", "c5"]
    everywhere = await client.list(CM, label_selector="app=web")
    assert len(everywhere["items"]) == 4
    pages = [p async for p in client.list_pages(CM, namespace="default", page_size=3)]
    assert [len(p["items"]) for p in pages] == [3, 3, 1]
    assert fake_server.requests[-1][2]["continue"] and fake_server.requests[-1][2]["limit"] == "3"
    all_ = await client.list_all(CM, namespace="default", page_size=2)
    assert [o["metadata"]["name"] for o in all_["items"]] == [f"c{i}" for i in range(7)]
    assert "continue" not in all_["metadata"] and all_["metadata"]["resourceVersion"]
    await client.delete_collection(CM, namespace="default", label_selector="app=db")
    left = await client.list(CM, namespace="default")
    assert sorted(o["metadata"]["name"] for o in left["items"]) == ["c1", "c3", "c5"]


async def test_watch_stream(client: Client, fake_server: FakeApiServer) -> None:
    first = await client.create(CM, cm("w0"))
    seen: list[tuple[str, str]] = []

    async def consume() -> None:
        stream = client.watch(CM, namespace="default", resource_version=first["metadata"]["resourceVersion"],
                              allow_bookmarks=True)
        async with contextlib.aclosing(stream):
            async for kind, obj in stream:
                seen.append((kind, obj["metadata"].get("name", "")))
                if kind == "DELETED":
                    return

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.05)
    await client.create(CM, cm("w1"))
    await client.patch(CM, "w1", {"data": {"a": "b"}}, namespace="default")
    await fake_server.bookmark("v1/configmaps")
    await client.delete(CM, "w1", namespace="default")
    await asyncio.wait_for(task, 5)
    assert seen == [("ADDED", "w1"), ("MODIFIED", "w1"), ("BOOKMARK", ""), ("DELETED", "w1")]
    q = [r for r in fake_server.requests if r[2].get("watch") == "true"][0][2]
    assert q["allowWatchBookmarks"] == "true" and q["resourceVersion"] == first["metadata"]["resourceVersion"]


async def test_watch_error_event_raises_gone(client: Client, fake_server: FakeApiServer) -> None:
    await client.create(CM, cm("x"))
    fake_server.compact()
    with pytest.raises(errors.ApiError) as info:
        async for _ in client.watch(CM, resource_version="1"):
            pass
    assert errors.is_gone(info.value) and info.value.reason == "Expired"
    fake_server.watch_gone_as_http = True
    with pytest.raises(errors.ApiError) as info:
        async for _ in client.watch(CM, resource_version="1"):
            pass
    assert info.value.code == 410


async def test_large_watch_objects(client: Client, fake_server: FakeApiServer) -> None:
    """Lines far over aiohttp's readline limit still parse."""
    big = cm("big")
    big["data"] = {"blob": "x" * 600_000}
    await client.create(CM, big)
    async for kind, obj in client.watch(CM, namespace="default", timeout_seconds=1):
        assert kind == "ADDED" and len(obj["data"]["blob"]) == 600_000
        break


async def test_subresources(client: Client, fake_server: FakeApiServer) -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"},
           "spec": {"containers": [{"name": "c", "image": "i"}]}}
    await client.create(PODS, pod)
    await client.bind("default", "p", "node-1")
    assert (await client.get(PODS, "p", namespace="default"))["spec"]["nodeName"] == "node-1"
    assert fake_server.requests[-2][1] == "/api/v1/namespaces/default/pods/p/binding"
    got = await client.get(PODS, "p", namespace="default")
    got["status"] = {"phase": "Running"}
    await client.update_status(PODS, got)
    assert fake_server.requests[-1][1].endswith("/pods/p/status")
    await client.evict("default", "p")
    assert fake_server.requests[-1][1] == "/api/v1/namespaces/default/pods/p/eviction"
    with pytest.raises(errors.ApiError):
        await client.get(PODS, "p", namespace="default")
    deploy = Client.resource("apps", "v1", "deployments")
    await client.create(deploy, {"apiVersion": "apps/v1", "kind": "Deployment",
                                 "metadata": {"name": "d", "namespace": "default"}, "spec": {"replicas": 1}})
    await client.update_scale(deploy, "d", 4, namespace="default")
    assert (await client.get_scale(deploy, "d", namespace="default"))["spec"]["replicas"] == 4


async def test_non_status_error_body(client: Client, fake_server: FakeApiServer) -> None:
    fake_server.fail_next = [500]
    with pytest.raises(errors.ApiError) as info:
        await client.list(CM)
    assert info.value.code == 500 and errors.is_retryable(info.value)


async def test_retry_after_on_429(fake_server: FakeApiServer) -> None:
    from pyk8s.client.kubeconfig import ClientConfig
    from pyk8s.testing.fake_clock import FakeClock

    clock = FakeClock()
    async with Client(ClientConfig(server=fake_server.url), clock=clock, max_retries=2) as client:
        fake_server.fail_next = [429, 429]
        task = asyncio.create_task(client.create(CM, cm("r")))
        for _ in range(2):
            for _ in range(200):
                if clock.pending():
                    break
                await asyncio.sleep(0.005)
            assert clock.next_deadline() == 2.0
            await clock.advance(2)
        created = await asyncio.wait_for(task, 5)
        assert created["metadata"]["name"] == "r" and fake_server.count("POST") == 3
        fake_server.fail_next = [429, 429, 429]
        task = asyncio.create_task(client.get(CM, "r", namespace="default"))
        while not task.done():
            await asyncio.sleep(0.005)
            await clock.advance(clock.next_deadline() or 0)
        with pytest.raises(errors.ApiError) as info:
            task.result()
        assert info.value.code == 429


async def test_unix_socket_transport(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from pyk8s.client.kubeconfig import ClientConfig

    sock = str(tmp_path / "api.sock")
    srv = await FakeApiServer().start(unix_socket=sock)
    try:
        async with Client(ClientConfig(server="http://localhost", unix_socket=sock)) as client:
            await client.create(CM, cm("u"))
            assert (await client.get(CM, "u", namespace="default"))["metadata"]["name"] == "u"
            async for kind, obj in client.watch(CM, namespace="default", timeout_seconds=1):
                assert (kind, obj["metadata"]["name"]) == ("ADDED", "u")
                break
    finally:
        await srv.stop()
