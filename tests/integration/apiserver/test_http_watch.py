"""Watch streaming: NDJSON events, Table events, timeouts, errors, disconnects."""

from __future__ import annotations

import asyncio

import orjson

from tests.integration.apiserver.conftest import AUTH

CM = "/api/v1/namespaces/default/configmaps"
TABLE = {"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"}


def cm(name: str) -> bytes:
    return orjson.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}})


async def read_events(resp, count: int) -> list[dict]:
    out = []
    for _ in range(count):
        line = await asyncio.wait_for(resp.content.readline(), 5)
        out.append(orjson.loads(line))
    return out


async def test_watch_streams_initial_and_live_events_then_times_out(api):
    c = api.client
    await c.post(CM, data=cm("a"), headers=AUTH)
    resp = await c.get(CM + "?watch=true&timeoutSeconds=1", headers=AUTH)
    assert resp.status == 200 and resp.headers["Content-Type"] == "application/json"
    assert resp.headers.get("Transfer-Encoding") == "chunked"
    (first,) = await read_events(resp, 1)
    assert first["type"] == "ADDED" and first["object"]["metadata"]["name"] == "a"
    await c.post(CM, data=cm("b"), headers=AUTH)
    (second,) = await read_events(resp, 1)
    assert second["type"] == "ADDED" and second["object"]["metadata"]["name"] == "b"
    rest = await asyncio.wait_for(resp.content.read(), 5)  # ends by itself at timeoutSeconds
    assert rest == b""
    store = api.registry.stores[("", "v1", "configmaps")]
    assert store.closed_watchers == 1 and not store.watchers


async def test_legacy_watch_path_and_table_events(api):
    c = api.client
    await c.post(CM, data=cm("t1"), headers=AUTH)
    resp = await c.get("/api/v1/watch/namespaces/default/configmaps?timeoutSeconds=2", headers={**AUTH, **TABLE})
    assert resp.headers["Content-Type"] == "application/json;as=Table;v=v1;g=meta.k8s.io"
    (first,) = await read_events(resp, 1)
    assert first["object"]["kind"] == "Table" and first["object"]["columnDefinitions"]
    assert first["object"]["rows"][0]["cells"][0] == "t1"
    await c.delete(CM + "/t1", headers=AUTH)
    (second,) = await read_events(resp, 1)
    assert second["type"] == "DELETED" and second["object"]["columnDefinitions"] == []
    resp.close()


async def test_watch_errors_before_and_during_stream(api):
    c = api.client
    bad = await c.get(CM + "?watch=1&labelSelector=bad!!", headers=AUTH)
    assert bad.status == 400 and (await bad.json())["kind"] == "Status"
    expired = await c.get(CM + "?watch=1&resourceVersion=1", headers=AUTH)
    assert expired.status == 200
    (ev,) = await read_events(expired, 1)
    assert ev["type"] == "ERROR" and ev["object"]["code"] == 410 and ev["object"]["reason"] == "Expired"


async def test_client_disconnect_closes_the_watcher(api):
    c = api.client
    await c.get(CM, headers=AUTH)
    resp = await c.get(CM + "?watch=true", headers=AUTH)
    store = api.registry.stores[("", "v1", "configmaps")]
    await asyncio.sleep(0.1)
    assert len(store.watchers) == 1
    resp.close()
    for _ in range(50):
        if not store.watchers:
            break
        await asyncio.sleep(0.05)
    assert not store.watchers and store.closed_watchers == 1


async def test_watch_of_one_named_object(api):
    c = api.client
    await c.post(CM, data=cm("only"), headers=AUTH)
    resp = await c.get("/api/v1/watch/namespaces/default/configmaps/only?timeoutSeconds=1", headers=AUTH)
    assert resp.status == 200
    store = api.registry.stores[("", "v1", "configmaps")]
    (ev,) = await read_events(resp, 1)
    assert ev["object"]["metadata"]["name"] == "only"
    resp.close()
    assert (await c.post("/api/v1/watch/namespaces/default/configmaps", data=cm("x"), headers=AUTH)).status == 405
    assert store.last_watch_opts.field_selector == "metadata.name=only"
