"""Simulated node registration, lease renewal cadence, status heartbeats and stop_node."""

from __future__ import annotations

import asyncio

import pytest
from client_fake_apiserver import FakeApiServer

from pyk8s.client.rest import Client
from pyk8s.kubelet.simulated.agent import SimulatedAgent
from pyk8s.kubelet.simulated.cadence import Cadence
from pyk8s.kubelet.simulated.nodes import NodeTemplate, node_ip, parse_labels, parse_taints
from pyk8s.testing.fake_clock import FakeClock

from .conftest import eventually, running


def lease(srv: FakeApiServer, name: str) -> dict:
    return srv.objects.get(("coordination.k8s.io/v1/leases", "kube-node-lease", name)) or {}


def node(srv: FakeApiServer, name: str) -> dict:
    return srv.objects.get(("v1/nodes", "", name)) or {}


def lease_puts(srv: FakeApiServer) -> int:
    return sum(1 for m, p, _, _ in srv.requests if m == "PUT" and "/leases/" in p)


async def test_registration_shape(client: Client, fake_server: FakeApiServer, clock: FakeClock) -> None:
    template = NodeTemplate(cpu="8", memory="16Gi", pods=50, labels={"zone": "a"}, roles=("worker",),
                            taints=parse_taints("dedicated=sim:NoSchedule"))
    agent = SimulatedAgent(client, count=2, clock=clock, template=template, prefix="n-")
    async with running(agent):
        obj = node(fake_server, "n-1")
        labels = obj["metadata"]["labels"]
        assert labels["kubernetes.io/hostname"] == "n-1" and labels["kubernetes.io/os"] == "linux"
        assert labels["kubernetes.io/arch"] == "amd64" and labels["node-role.kubernetes.io/worker"] == ""
        assert labels["zone"] == "a"
        assert obj["spec"]["taints"] == [{"key": "dedicated", "value": "sim", "effect": "NoSchedule"}]
        st = obj["status"]
        assert st["capacity"]["cpu"] == "8" and st["allocatable"]["memory"] == "16Gi" and st["capacity"]["pods"] == "50"
        assert st["nodeInfo"]["kubeletVersion"] == "v1.32.0"
        assert {"type": "InternalIP", "address": node_ip(1)} in st["addresses"]
        conds = {c["type"]: c["status"] for c in st["conditions"]}
        assert conds == {"Ready": "True", "MemoryPressure": "False", "DiskPressure": "False", "PIDPressure": "False"}
        assert agent.nodes["n-1"].uid == obj["metadata"]["uid"]
        assert ("v1/namespaces", "", "kube-node-lease") in fake_server.objects


async def test_existing_node_is_taken_over(client: Client, fake_server: FakeApiServer, clock: FakeClock) -> None:
    await client.create(Client.resource("", "v1", "nodes"), {"apiVersion": "v1", "kind": "Node",
                                                             "metadata": {"name": "sim-0"}})
    agent = SimulatedAgent(client, count=1, clock=clock)
    async with running(agent):
        assert node(fake_server, "sim-0")["status"]["nodeInfo"]["kubeletVersion"] == "v1.32.0"


async def test_taken_over_node_with_stale_status_is_corrected_at_the_next_update(
        client: Client, fake_server: FakeApiServer, clock: FakeClock) -> None:
    stale = {"type": "Ready", "status": "Unknown", "reason": "NodeStatusUnknown",
             "message": "Kubelet stopped posting node status.", "lastHeartbeatTime": "2025-01-01T00:00:00Z",
             "lastTransitionTime": "2025-01-01T00:00:00Z"}
    await client.create(Client.resource("", "v1", "nodes"), {"apiVersion": "v1", "kind": "Node",
                                                             "metadata": {"name": "sim-0"},
                                                             "status": {"conditions": [stale]}})
    agent = SimulatedAgent(client, count=1, clock=clock)
    async with running(agent):
        assert {c["type"]: c["status"] for c in node(fake_server, "sim-0")["status"]["conditions"]} == {"Ready": "Unknown"}
        await clock.advance(10)  # the next status update sees the difference and writes at once
        await eventually(lambda: {c["type"]: c["status"] for c in node(fake_server, "sim-0")["status"]["conditions"]}
                         .get("Ready") == "True")
        ready = [c for c in node(fake_server, "sim-0")["status"]["conditions"] if c["type"] == "Ready"][0]
        assert ready["lastTransitionTime"] != stale["lastTransitionTime"]


async def test_leases_renew_every_ten_seconds(agent: SimulatedAgent, fake_server: FakeApiServer,
                                              clock: FakeClock) -> None:
    await clock.advance(10)  # first renewals are spread over one interval
    await eventually(lambda: all(lease(fake_server, n) for n in agent.nodes))
    spec = lease(fake_server, "sim-0")["spec"]
    assert spec["holderIdentity"] == "sim-0" and spec["leaseDurationSeconds"] == 40
    owner = lease(fake_server, "sim-0")["metadata"]["ownerReferences"][0]
    assert owner["kind"] == "Node" and owner["uid"] == agent.nodes["sim-0"].uid
    first = {n: lease(fake_server, n)["spec"]["renewTime"] for n in agent.nodes}
    puts = lease_puts(fake_server)
    await clock.advance(9)
    assert lease_puts(fake_server) - puts <= len(agent.nodes)  # at most one renewal each per 10 s
    await clock.advance(1.5)
    await eventually(lambda: all(lease(fake_server, n)["spec"]["renewTime"] != first[n] for n in agent.nodes))
    before = lease_puts(fake_server)
    for _ in range(6):
        await clock.advance(10)
        await eventually(lambda: True)
    await eventually(lambda: lease_puts(fake_server) - before >= 6 * len(agent.nodes))
    assert lease_puts(fake_server) - before <= 7 * len(agent.nodes)


def status_patches(srv: FakeApiServer, name: str) -> int:
    return sum(1 for m, p, _, _ in srv.requests if m == "PATCH" and p.endswith(f"/nodes/{name}/status"))


async def test_unchanged_node_status_is_reported_every_five_minutes(agent: SimulatedAgent, fake_server: FakeApiServer,
                                                                    clock: FakeClock) -> None:
    def beat() -> str:
        ready = [c for c in node(fake_server, "sim-0")["status"]["conditions"] if c["type"] == "Ready"][0]
        return ready["lastHeartbeatTime"]

    first, patches = beat(), status_patches(fake_server, "sim-0")
    for _ in range(29):  # computed every 10 s, but nothing changed: no write
        await clock.advance(10)
    await asyncio.sleep(0.05)
    assert beat() == first and status_patches(fake_server, "sim-0") == patches
    await clock.advance(11)
    await eventually(lambda: beat() != first)
    assert status_patches(fake_server, "sim-0") == patches + 1
    ready = [c for c in node(fake_server, "sim-0")["status"]["conditions"] if c["type"] == "Ready"][0]
    assert ready["lastTransitionTime"] == first  # a heartbeat is not a transition


async def test_stop_node_stops_heartbeats(agent: SimulatedAgent, fake_server: FakeApiServer,
                                          clock: FakeClock) -> None:
    await clock.advance(10)
    await eventually(lambda: all(lease(fake_server, n) for n in agent.nodes))
    agent.stop_node("sim-1")
    frozen = lease(fake_server, "sim-1")["spec"]["renewTime"]
    live = lease(fake_server, "sim-0")["spec"]["renewTime"]
    for _ in range(7):
        await clock.advance(10)
    await eventually(lambda: lease(fake_server, "sim-0")["spec"]["renewTime"] != live)
    assert lease(fake_server, "sim-1")["spec"]["renewTime"] == frozen
    agent.start_node("sim-1")
    await clock.advance(1)
    await eventually(lambda: lease(fake_server, "sim-1")["spec"]["renewTime"] != frozen)


def test_parsers() -> None:
    assert parse_labels("a=1,b=") == {"a": "1", "b": ""}
    assert parse_taints("k:NoExecute,x=y:PreferNoSchedule") == (
        {"key": "k", "effect": "NoExecute"}, {"key": "x", "value": "y", "effect": "PreferNoSchedule"})
    with pytest.raises(ValueError):
        parse_taints("k=v:Sometimes")
    with pytest.raises(ValueError):
        parse_labels("novalue")


async def test_cadence_spreads_and_batches(clock: FakeClock) -> None:
    calls: list[tuple[float, str]] = []

    async def act(name: str) -> None:
        calls.append((clock.monotonic(), name))

    cad = Cadence("t", act, interval=10, clock=clock)
    cad.add_spread([f"n{i}" for i in range(100)])
    task = asyncio.create_task(cad.run())
    try:
        await clock.advance(5)
        assert 45 <= len(calls) <= 55  # half the interval, about half the names
        await clock.advance(5)
        assert len({n for _, n in calls}) == 100
        cad.remove("n0")
        n0, n1 = (sum(1 for _, n in calls if n == name) for name in ("n0", "n1"))
        await clock.advance(20)
        assert sum(1 for _, n in calls if n == "n0") == n0  # removed: never again
        assert sum(1 for _, n in calls if n == "n1") == n1 + 2  # every 10 s
        assert clock.pending() <= 2  # one sleeper, no timer per name
    finally:
        task.cancel()


async def test_registration_retries_server_errors(client: Client, fake_server: FakeApiServer,
                                                  clock: FakeClock) -> None:
    fake_server.fail_next = [500, 500]  # no Retry-After: the client gives up, the agent retries
    agent = SimulatedAgent(client, count=1, clock=clock)
    task = asyncio.create_task(agent.register_all())
    try:
        for _ in range(50):
            if agent.registered.is_set():
                break
            await clock.advance(0.5)
            await asyncio.sleep(0.02)  # let the real HTTP round trips finish
        assert agent.registered.is_set() and not fake_server.fail_next
        assert node(fake_server, "sim-0")["metadata"]["labels"]["kubernetes.io/hostname"] == "sim-0"
    finally:
        task.cancel()
