"""/metrics for watches and requests in flight: apiserver_watch_events_total, apiserver_current_inflight_requests,
and the code of a watch the client ends (200, as upstream records it, not a 500)."""

from __future__ import annotations

import asyncio

import orjson
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.apiserver.realserver import AUTH, JSON, client, registry  # noqa: F401

CM = "/api/v1/namespaces/default/configmaps"


async def _scrape(client) -> dict[str, list]:  # noqa: F811
    resp = await client.get("/metrics", headers=AUTH)
    assert resp.status == 200
    out: dict[str, list] = {}
    for family in text_string_to_metric_families(await resp.text()):
        for sample in family.samples:
            out.setdefault(sample.name, []).append(sample)
    return out


async def _read_events(resp, count: int) -> list[dict]:
    events = []
    while len(events) < count:
        line = await asyncio.wait_for(resp.content.readline(), 30)
        assert line, "the watch ended early"
        events.append(orjson.loads(line))
    return events


async def test_watch_events_are_counted_per_watcher_with_the_kind(client):  # noqa: F811
    watches = [await client.get(f"{CM}?watch=true&timeoutSeconds=30", headers=AUTH) for _ in range(2)]
    try:
        for i in range(3):
            body = orjson.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"w{i}"}})
            assert (await client.post(CM, data=body, headers=JSON)).status == 201
        for resp in watches:
            events = await _read_events(resp, 3)
            assert [e["object"]["metadata"]["name"] for e in events] == ["w0", "w1", "w2"]
        samples = await _scrape(client)
        counted = {(s.labels["group"], s.labels["version"], s.labels["kind"]): s.value
                   for s in samples["apiserver_watch_events_total"]}
        assert counted[("", "v1", "ConfigMap")] >= 6  # 3 events to each of 2 watchers
    finally:
        for resp in watches:
            resp.close()


async def test_a_watch_the_client_ends_is_counted_as_answered(client):  # noqa: F811
    resp = await client.get(f"{CM}?watch=true&timeoutSeconds=30", headers=AUTH)
    assert resp.status == 200
    resp.close()  # the client goes away mid-watch, as every informer does on shutdown

    async def codes() -> dict[str, float]:
        samples = await _scrape(client)
        return {s.labels["code"]: s.value for s in samples["apiserver_request_total"]
                if s.labels["verb"] == "WATCH" and s.labels["resource"] == "configmaps"}

    for _ in range(300):  # the server notices the closed connection on its own time
        seen = await codes()
        if seen:
            break
        await asyncio.sleep(0.1)
    assert seen == {"200": 1}


async def test_current_inflight_requests_by_kind(client):  # noqa: F811
    samples = await _scrape(client)
    inflight = {s.labels["request_kind"]: s.value for s in samples["apiserver_current_inflight_requests"]}
    assert set(inflight) == {"readOnly", "mutating"}
    assert inflight["readOnly"] >= 1  # this very scrape is a read in flight
