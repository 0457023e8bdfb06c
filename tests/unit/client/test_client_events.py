"""EventRecorder: Event shape, naming and aggregation."""

from __future__ import annotations

import re

from client_fake_apiserver import FakeApiServer

from pyk8s.client.rest import Client
from pyk8s.client.tools.events import EVENTS, NORMAL, WARNING, EventRecorder
from pyk8s.testing.fake_clock import FakeClock

POD = {"apiVersion": "v1", "kind": "Pod",
       "metadata": {"name": "web-1", "namespace": "team", "uid": "u-1", "resourceVersion": "7"}}
NODE = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1", "uid": "u-n"}}


async def test_event_shape(client: Client, fake_server: FakeApiServer, clock: FakeClock) -> None:
    rec = EventRecorder(client, component="default-scheduler", host="h1", clock=clock)
    ev = await rec.emit(POD, NORMAL, "Scheduled", "Successfully assigned team/web-1 to n1")
    assert re.fullmatch(r"web-1\.[0-9a-f]+", ev["metadata"]["name"])
    assert int(ev["metadata"]["name"].split(".")[1], 16) == int(clock.now().timestamp() * 1e9)
    assert ev["metadata"]["namespace"] == "team"
    assert ev["involvedObject"] == {"kind": "Pod", "apiVersion": "v1", "name": "web-1", "namespace": "team",
                                    "uid": "u-1", "resourceVersion": "7"}
    assert (ev["type"], ev["reason"], ev["count"]) == ("Normal", "Scheduled", 1)
    assert ev["source"] == {"component": "default-scheduler", "host": "h1"}
    assert ev["reportingComponent"] == "default-scheduler" and ev["reportingInstance"] == "h1"
    assert ev["firstTimestamp"] == ev["lastTimestamp"] == "2026-01-01T00:00:00Z"
    node_ev = await rec.emit(NODE, WARNING, "Rebooted", "node rebooted")
    assert node_ev["metadata"]["namespace"] == "default"


async def test_aggregation_patches_count(client: Client, fake_server: FakeApiServer, clock: FakeClock) -> None:
    rec = EventRecorder(client, component="kubelet", clock=clock)
    first = await rec.emit(POD, WARNING, "BackOff", "Back-off restarting failed container")
    await clock.advance(30)
    second = await rec.emit(POD, WARNING, "BackOff", "Back-off restarting failed container")
    assert second["metadata"]["name"] == first["metadata"]["name"]
    assert second["count"] == 2 and second["lastTimestamp"] == "2026-01-01T00:00:30Z"
    assert second["firstTimestamp"] == "2026-01-01T00:00:00Z"
    assert fake_server.requests[-1][0] == "PATCH"
    assert fake_server.requests[-1][3] == "application/strategic-merge-patch+json"
    # A different message is a different event.
    other = await rec.emit(POD, WARNING, "BackOff", "something else")
    assert other["metadata"]["name"] != first["metadata"]["name"] and other["count"] == 1
    # Outside the window a new Event starts.
    await clock.advance(601)
    fresh = await rec.emit(POD, WARNING, "BackOff", "Back-off restarting failed container")
    assert fresh["metadata"]["name"] != first["metadata"]["name"] and fresh["count"] == 1
    events = (await client.list(EVENTS, namespace="team"))["items"]
    assert len(events) == 3


async def test_deleted_event_recreated_and_queue(client: Client, fake_server: FakeApiServer, clock: FakeClock) -> None:
    rec = EventRecorder(client, component="c", clock=clock)
    rec.event(POD, NORMAL, "Pulled", "image pulled")
    rec.eventf(POD, NORMAL, "Pulled", "image %s", "pulled")
    await rec.flush()
    events = (await client.list(EVENTS, namespace="team"))["items"]
    assert len(events) == 1 and events[0]["count"] == 2
    await client.delete(EVENTS, events[0]["metadata"]["name"], namespace="team")
    await clock.advance(1)
    again = await rec.emit(POD, NORMAL, "Pulled", "image pulled")
    assert again["count"] == 1 and again["metadata"]["name"] != events[0]["metadata"]["name"]


async def test_distinct_events_in_one_tick_get_distinct_names(client: Client, fake_server: FakeApiServer,
                                                              clock: FakeClock) -> None:
    rec = EventRecorder(client, component="job-controller", clock=clock)
    first = await rec.emit(POD, NORMAL, "SuccessfulCreate", "Created pod: a")
    second = await rec.emit(POD, NORMAL, "SuccessfulCreate", "Created pod: b")
    assert first["metadata"]["name"] != second["metadata"]["name"]
    assert second["count"] == 1 and second["message"] == "Created pod: b"
