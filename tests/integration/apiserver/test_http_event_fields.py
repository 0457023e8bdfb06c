"""events.k8s.io/v1 lists and watches accept the field labels upstream's conversion accepts."""

from __future__ import annotations

import orjson

from tests.integration.apiserver.realserver import AUTH, JSON, client, registry  # noqa: F401

EVENTS = "/apis/events.k8s.io/v1/namespaces/default/events"


def _event(name: str, controller: str, kind: str, reason: str, type_: str = "Normal") -> bytes:
    return orjson.dumps({
        "apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": name},
        "eventTime": "2026-01-02T03:04:05.000000Z", "reportingController": controller,
        "reportingInstance": f"{controller}-1", "action": "Act", "reason": reason, "type": type_,
        "regarding": {"kind": kind, "name": f"{name}-obj", "namespace": "default", "apiVersion": "v1"},
        "note": "n"})


async def _names(client, selector: str) -> list[str]:  # noqa: F811
    resp = await client.get(EVENTS, params={"fieldSelector": selector}, headers=AUTH)
    body = await resp.json()
    assert resp.status == 200, body
    return sorted(i["metadata"]["name"] for i in body["items"])


async def test_events_v1_field_selectors(client):  # noqa: F811
    for args in (("a", "example.com/ctl", "Pod", "Started"), ("b", "kubelet", "Pod", "Pulled", "Warning"),
                 ("c", "example.com/ctl", "Node", "Ready")):
        resp = await client.post(EVENTS, data=_event(*args), headers=JSON)
        assert resp.status == 201, await resp.text()
    assert await _names(client, "reportingController=example.com/ctl") == ["a", "c"]
    assert await _names(client, "regarding.kind=Pod") == ["a", "b"]
    assert await _names(client, "regarding.name=c-obj") == ["c"]
    assert await _names(client, "regarding.namespace=default,regarding.apiVersion=v1") == ["a", "b", "c"]
    assert await _names(client, "type=Warning") == ["b"]
    assert await _names(client, "reason!=Started") == ["b", "c"]
    assert await _names(client, "source=kubelet") == ["b"]
    assert await _names(client, "metadata.name=a") == ["a"]
    resp = await client.get(EVENTS, params={"fieldSelector": "involvedObject.kind=Pod"}, headers=AUTH)
    body = await resp.json()
    assert resp.status == 400 and body["reason"] == "BadRequest"
    assert body["message"] == "field label not supported: involvedObject.kind"
    # The core/v1 view keeps its own names.
    resp = await client.get("/api/v1/namespaces/default/events", params={"fieldSelector": "involvedObject.kind=Node"},
                            headers=AUTH)
    assert sorted(i["metadata"]["name"] for i in (await resp.json())["items"]) == ["c"]


async def test_events_v1_watch_with_field_selector(client):  # noqa: F811
    resp = await client.post(EVENTS, data=_event("w1", "kubelet", "Pod", "Pulled"), headers=JSON)
    assert resp.status == 201
    watch = await client.get(EVENTS, params={"watch": "1", "fieldSelector": "reportingController=kubelet",
                                             "timeoutSeconds": "2"}, headers=AUTH)
    first = orjson.loads(await watch.content.readline())
    assert first["type"] == "ADDED" and first["object"]["metadata"]["name"] == "w1"
    watch.close()
