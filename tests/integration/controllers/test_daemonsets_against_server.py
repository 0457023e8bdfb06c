"""The DaemonSet controller against a real ``pyk8s server``.

Nodes are created by hand (labelled so that only this test's DaemonSet
targets them) and pods made Running and Ready by writing their status, as
no kubelet or scheduler runs here.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from pyk8s.client.errors import ApiError
from pyk8s.client.rest import Client
from pyk8s.controllers import daemonset
from pyk8s.controllers.manager import ControllerManager
from pyk8s.machinery.scheme import SCHEME
from pyk8s.testing.cluster import ServerProcess
from tests.integration.controllers.test_controllers_against_server import eventually, new_namespace

PODS = SCHEME.get("", "v1", "pods")
NODES = SCHEME.get("", "v1", "nodes")
DS = SCHEME.get("apps", "v1", "daemonsets")
REVISIONS = SCHEME.get("apps", "v1", "controllerrevisions")
EVENTS = SCHEME.get("", "v1", "events")


@pytest.fixture
async def ds_manager(api_server: ServerProcess) -> AsyncIterator[ControllerManager]:
    c = Client.from_kubeconfig(api_server.kubeconfig, field_manager="kube-controller-manager")
    cm = ControllerManager(c, controllers=["daemonset-controller"])
    task = asyncio.create_task(cm.run())
    try:
        await asyncio.wait_for(cm.ready.wait(), 20)
        yield cm
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await c.close()


class Nodes:
    """Nodes this test creates (all labelled ``it-ds=<tag>``), deleted at the end."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.tag = uuid.uuid4().hex[:6]
        self.names: list[str] = []

    async def add(self, suffix: str, taints: list[dict[str, str]] | None = None) -> str:
        name = f"ds-{self.tag}-{suffix}"
        await self.client.create(NODES, {"apiVersion": "v1", "kind": "Node",
                                         "metadata": {"name": name, "labels": {"it-ds": self.tag}},
                                         "spec": {"taints": taints or []}})
        self.names.append(name)
        return name

    async def remove(self, name: str) -> None:
        await self.client.delete(NODES, name)
        self.names.remove(name)

    async def cleanup(self) -> None:
        for name in self.names:
            try:
                await self.client.delete(NODES, name)
            except ApiError:
                pass


@pytest.fixture
async def nodes(client: Client) -> AsyncIterator[Nodes]:
    made = Nodes(client)
    try:
        yield made
    finally:
        await made.cleanup()


def daemon(tag: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent"},
            "spec": {"selector": {"matchLabels": {"app": "agent"}},
                     "template": {"metadata": {"labels": {"app": "agent"}},
                                  "spec": {"nodeSelector": {"it-ds": tag},
                                           "containers": [{"name": "c", "image": "agent:1"}]}},
                     **spec}}


async def live_pods(client: Client, ns: str) -> list[dict[str, Any]]:
    items = (await client.list(PODS, namespace=ns))["items"]
    return [p for p in items if not p["metadata"].get("deletionTimestamp")]


async def by_node(client: Client, ns: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for pod in await live_pods(client, ns):
        out.setdefault(daemonset.target_node(pod) or "", []).append(pod["spec"]["containers"][0]["image"])
    return out


async def ready_all(client: Client, ns: str) -> None:
    for pod in await live_pods(client, ns):
        if (pod.get("status") or {}).get("phase") != "Running":
            pod["status"] = {"phase": "Running", "conditions": [
                {"type": "Ready", "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z"}]}
            try:
                await client.update_status(PODS, pod, namespace=ns)
            except ApiError:
                pass  # deleted or changed meanwhile: the next round catches it


async def settles_on(client: Client, ns: str, expected: dict[str, list[str]]) -> None:
    async def reached() -> bool:
        return await by_node(client, ns) == expected

    await eventually(reached)
    await asyncio.sleep(0.4)
    assert await by_node(client, ns) == expected


async def test_one_pod_per_matching_node_following_nodes(client: Client, ds_manager: ControllerManager,
                                                         nodes: Nodes) -> None:
    ns = await new_namespace(client)
    a, b = await nodes.add("a"), await nodes.add("b")
    tainted = await nodes.add("t", taints=[{"key": "dedicated", "value": "db", "effect": "NoSchedule"}])
    await nodes.add("other")  # wrong label below
    await client.patch(NODES, nodes.names[-1], {"metadata": {"labels": {"it-ds": "nope"}}}, patch_type="merge")
    ds = await client.create(DS, daemon(nodes.tag), namespace=ns)
    await settles_on(client, ns, {a: ["agent:1"], b: ["agent:1"]})
    pod = (await live_pods(client, ns))[0]
    assert "nodeName" not in pod["spec"]  # the scheduler binds it
    terms = pod["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
        "nodeSelectorTerms"]
    assert terms == [{"matchFields": [{"key": "metadata.name", "operator": "In",
                                       "values": [daemonset.target_node(pod)]}]}]
    assert {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"} in pod[
        "spec"]["tolerations"]
    assert pod["metadata"]["ownerReferences"][0]["uid"] == ds["metadata"]["uid"]

    # A node joining gets its pod; the taint going away lets one onto that node; a node leaving loses it.
    late = await nodes.add("late")
    await settles_on(client, ns, {a: ["agent:1"], b: ["agent:1"], late: ["agent:1"]})
    await client.patch(NODES, tainted, {"spec": {"taints": None}}, patch_type="merge")
    await settles_on(client, ns, {a: ["agent:1"], b: ["agent:1"], late: ["agent:1"], tainted: ["agent:1"]})
    await nodes.remove(late)
    await settles_on(client, ns, {a: ["agent:1"], b: ["agent:1"], tainted: ["agent:1"]})

    await ready_all(client, ns)

    async def counted() -> dict | None:
        st = (await client.get(DS, "agent", namespace=ns)).get("status") or {}
        return st if (st.get("desiredNumberScheduled"), st.get("numberReady")) == (3, 3) else None

    status = await eventually(counted)
    assert status["currentNumberScheduled"] == 3 and status["numberMisscheduled"] == 0
    revs = (await client.list(REVISIONS, namespace=ns))["items"]
    assert len(revs) == 1 and revs[0]["metadata"]["labels"]["controller-revision-hash"] == pod["metadata"][
        "labels"]["controller-revision-hash"]
    messages = {e["message"] for e in (await client.list(EVENTS, namespace=ns))["items"]}
    assert f"Created pod: {pod['metadata']['name']}" in messages
    assert any(m.startswith("Deleted pod: ") for m in messages)


async def test_rolling_update_one_node_at_a_time(client: Client, ds_manager: ControllerManager,
                                                 nodes: Nodes) -> None:
    ns = await new_namespace(client)
    names = [await nodes.add(s) for s in "abc"]
    await client.create(DS, daemon(nodes.tag), namespace=ns)
    await settles_on(client, ns, {n: ["agent:1"] for n in names})
    await ready_all(client, ns)

    async def available() -> bool:
        st = (await client.get(DS, "agent", namespace=ns)).get("status") or {}
        return st.get("numberAvailable") == 3

    await eventually(available)
    await client.patch(DS, "agent", {"spec": {"template": {"spec": {"containers": [
        {"name": "c", "image": "agent:2"}]}}}}, namespace=ns, patch_type="strategic")

    async def first_replaced() -> bool:
        images = [i for imgs in (await by_node(client, ns)).values() for i in imgs]
        return images.count("agent:2") == 1

    await eventually(first_replaced)
    await asyncio.sleep(0.4)  # maxUnavailable 1: the others wait for the new pod
    images = sorted(i for imgs in (await by_node(client, ns)).values() for i in imgs)
    assert images == ["agent:1", "agent:1", "agent:2"]

    async def rolled() -> bool:
        await ready_all(client, ns)
        return await by_node(client, ns) == {n: ["agent:2"] for n in names}

    await eventually(rolled, within=20)
    revs = (await client.list(REVISIONS, namespace=ns))["items"]
    assert sorted(r["revision"] for r in revs) == [1, 2]
