"""Node status rules: conditions as upstream words them, change detection, registration."""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "client"))  # the client tests' fake API server

import asyncio

from client_fake_apiserver import FakeApiServer  # noqa: E402

from pyk8s.client.rest import Client  # noqa: E402
from pyk8s.kubelet import nodestatus  # noqa: E402
from pyk8s.kubelet.nodestatus import (  # noqa: E402
    NodeDescription,
    NodeHealth,
    node_conditions,
    node_object,
    status_changed,
)
from pyk8s.testing.fake_clock import FakeClock  # noqa: E402
from tests.unit.client.conftest import client, clock, fake_server  # noqa: E402,F401

T0, T1 = "2026-01-01T00:00:00Z", "2026-01-01T00:00:10Z"
DESC = NodeDescription(name="n1", addresses=(("InternalIP", "10.0.0.1"), ("Hostname", "n1")),
                       capacity={"cpu": "2", "pods": "110"}, allocatable={"cpu": "2", "pods": "110"},
                       node_info={"kubeletVersion": "v1.32.0"}, labels=nodestatus.default_labels("n1"))


def test_conditions_are_worded_as_upstream() -> None:
    conds = {c["type"]: c for c in node_conditions(NodeHealth(), None, T0)}
    assert list(conds) == ["MemoryPressure", "DiskPressure", "PIDPressure", "Ready"]
    assert conds["Ready"]["reason"] == "KubeletReady" and conds["Ready"]["message"] == "kubelet is posting ready status"
    assert conds["DiskPressure"]["reason"] == "KubeletHasNoDiskPressure" and conds["DiskPressure"]["status"] == "False"
    sick = {c["type"]: c for c in node_conditions(
        NodeHealth(ready=False, not_ready_message="container runtime network not ready", memory_pressure=True),
        None, T0)}
    assert sick["Ready"]["status"] == "False" and sick["Ready"]["reason"] == "KubeletNotReady"
    assert sick["Ready"]["message"] == "container runtime network not ready"
    assert sick["MemoryPressure"]["reason"] == "KubeletHasInsufficientMemory"


def test_transition_times_move_only_on_a_flip() -> None:
    first = node_conditions(NodeHealth(), None, T0)
    later = {c["type"]: c for c in node_conditions(NodeHealth(disk_pressure=True), first, T1)}
    assert later["Ready"]["lastTransitionTime"] == T0 and later["Ready"]["lastHeartbeatTime"] == T1
    assert later["DiskPressure"]["lastTransitionTime"] == T1


def test_heartbeats_alone_are_no_change() -> None:
    a = nodestatus.node_status(DESC, node_conditions(NodeHealth(), None, T0))
    b = nodestatus.node_status(DESC, node_conditions(NodeHealth(), a["conditions"], T1))
    assert a != b and not status_changed(a, b)
    c = nodestatus.node_status(DESC, node_conditions(NodeHealth(pid_pressure=True), a["conditions"], T1))
    assert status_changed(a, c) and status_changed(None, a)


def test_node_object() -> None:
    node = node_object(DESC, node_conditions(NodeHealth(), None, T0))
    assert node["metadata"]["labels"]["kubernetes.io/hostname"] == "n1" and node["spec"] == {}
    assert node["status"]["addresses"][0] == {"type": "InternalIP", "address": "10.0.0.1"}
    assert node["status"]["daemonEndpoints"] == {"kubeletEndpoint": {"Port": 10250}}


async def test_reporter_writes_on_change_or_every_five_minutes(client: Client,  # noqa: F811
                                                               fake_server: FakeApiServer,  # noqa: F811
                                                               clock: FakeClock) -> None:  # noqa: F811
    await nodestatus.register(client, node_object(DESC, node_conditions(NodeHealth(), None, T0)))
    reporter = nodestatus.NodeStatusReporter(client, clock=clock)
    status = nodestatus.node_status(DESC, node_conditions(NodeHealth(), None, T0))
    assert await reporter.report("n1", status) is not None  # nothing written yet by this reporter
    same = nodestatus.node_status(DESC, node_conditions(NodeHealth(), status["conditions"], T1))
    assert await reporter.report("n1", same) is None
    await clock.advance(299)
    assert await reporter.report("n1", same) is None
    await clock.advance(1)
    assert await reporter.report("n1", same) is not None
    changed = nodestatus.node_status(DESC, node_conditions(NodeHealth(ready=False), same["conditions"], T1))
    written = await reporter.report("n1", changed)
    assert written is not None and {c["type"]: c["status"] for c in written["status"]["conditions"]}["Ready"] == "False"


async def test_register_takes_over_an_existing_node(client: Client, fake_server: FakeApiServer,  # noqa: F811
                                                    clock: FakeClock) -> None:  # noqa: F811
    await client.create(nodestatus.NODES, {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}})
    stored = await nodestatus.register(client, node_object(DESC, node_conditions(NodeHealth(), None, T0)))
    assert stored["status"]["nodeInfo"]["kubeletVersion"] == "v1.32.0"


async def test_register_retrying_retries_busy_servers(client: Client, fake_server: FakeApiServer,  # noqa: F811
                                                      clock: FakeClock) -> None:  # noqa: F811
    fake_server.fail_next = [503, 503]
    task = asyncio.create_task(nodestatus.register_retrying(
        "n1", lambda: nodestatus.register(client, node_object(DESC, node_conditions(NodeHealth(), None, T0))),
        clock=clock))
    for _ in range(50):
        if task.done():
            break
        await clock.advance(0.5)
        await asyncio.sleep(0.02)
    assert task.done() and task.result()["metadata"]["name"] == "n1" and not fake_server.fail_next
