"""ReplicaSet and ReplicationController controllers against a real ``pyk8s server``.

No kubelet runs here: pods stay Pending unless a test writes their status.
"""

from __future__ import annotations

import re
from typing import Any

from pyk8s.client.rest import Client
from pyk8s.controllers.manager import ControllerManager
from pyk8s.machinery.scheme import SCHEME
from tests.integration.controllers.test_controllers_against_server import eventually, new_namespace

PODS = SCHEME.get("", "v1", "pods")
RS = SCHEME.get("apps", "v1", "replicasets")
RC = SCHEME.get("", "v1", "replicationcontrollers")
EVENTS = SCHEME.get("", "v1", "events")


def replicaset(name: str, replicas: int, app: str = "web") -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": app}},
                     "template": {"metadata": {"labels": {"app": app}},
                                  "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}}


async def active_pods(client: Client, ns: str, app: str = "web") -> list[dict[str, Any]]:
    items = (await client.list(PODS, namespace=ns, label_selector={"app": app}))["items"]
    return [p for p in items if not p["metadata"].get("deletionTimestamp")]


async def test_replicaset_creates_scales_and_reports_status(client: Client, manager: ControllerManager) -> None:
    ns = await new_namespace(client)
    rs = await client.create(RS, replicaset("web", 3), namespace=ns)

    async def three() -> list | None:
        pods = await active_pods(client, ns)
        return pods if len(pods) == 3 else None

    pods = await eventually(three)
    for p in pods:
        assert re.fullmatch(r"web-[a-z0-9]{5}", p["metadata"]["name"]), p["metadata"]["name"]
        ref = p["metadata"]["ownerReferences"][0]
        assert (ref["kind"], ref["name"], ref["uid"], ref["controller"]) == ("ReplicaSet", "web",
                                                                              rs["metadata"]["uid"], True)

    # Mark two pods Running and Ready: the status counts them.
    for p in pods[:2]:
        p["status"] = {"phase": "Running", "conditions": [
            {"type": "Ready", "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z"}]}
        await client.update_status(PODS, p, namespace=ns)

    async def counted() -> dict | None:
        st = (await client.get(RS, "web", namespace=ns)).get("status") or {}
        return st if (st.get("replicas"), st.get("readyReplicas"), st.get("availableReplicas")) == (3, 2, 2) else None

    status = await eventually(counted)
    assert status["observedGeneration"] == 1 and status["fullyLabeledReplicas"] == 3

    # Scale down: the not-ready pod goes first.
    await client.patch(RS, "web", {"spec": {"replicas": 2}}, namespace=ns, patch_type="merge")

    async def two() -> list | None:
        pods = await active_pods(client, ns)
        return pods if len(pods) == 2 else None

    left = {p["metadata"]["name"] for p in await eventually(two)}
    assert left == {p["metadata"]["name"] for p in pods[:2]}

    events = (await client.list(EVENTS, namespace=ns))["items"]
    reasons = {e["reason"] for e in events if e["involvedObject"]["name"] == "web"}
    assert {"SuccessfulCreate", "SuccessfulDelete"} <= reasons


async def test_replicaset_adopts_and_releases(client: Client, manager: ControllerManager) -> None:
    ns = await new_namespace(client)
    orphan = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "orphan", "labels": {"app": "web"}},
              "spec": {"containers": [{"name": "c", "image": "nginx"}]}}
    await client.create(PODS, orphan, namespace=ns)
    rs = await client.create(RS, replicaset("web", 2), namespace=ns)

    async def adopted() -> dict | None:
        p = await client.get(PODS, "orphan", namespace=ns)
        refs = p["metadata"].get("ownerReferences") or []
        return p if refs and refs[0]["uid"] == rs["metadata"]["uid"] else None

    await eventually(adopted)

    async def two() -> bool:
        return len(await active_pods(client, ns)) == 2

    await eventually(two)
    # Relabel the adopted pod: it is released, and a replacement is made.
    await client.patch(PODS, "orphan", {"metadata": {"labels": {"app": "other"}}}, namespace=ns, patch_type="merge")

    async def released() -> bool:
        p = await client.get(PODS, "orphan", namespace=ns)
        return not p["metadata"].get("ownerReferences") and len(await active_pods(client, ns)) == 2

    await eventually(released)


async def test_replication_controller_keeps_replicas(client: Client, manager: ControllerManager) -> None:
    ns = await new_namespace(client)
    rc = {"apiVersion": "v1", "kind": "ReplicationController", "metadata": {"name": "legacy"},
          "spec": {"replicas": 2, "selector": {"app": "legacy"},
                   "template": {"metadata": {"labels": {"app": "legacy"}},
                                "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}}
    await client.create(RC, rc, namespace=ns)

    async def two() -> list | None:
        pods = await active_pods(client, ns, "legacy")
        return pods if len(pods) == 2 else None

    pods = await eventually(two)
    assert all(p["metadata"]["ownerReferences"][0]["kind"] == "ReplicationController" for p in pods)
    # A deleted pod is replaced.
    await client.delete(PODS, pods[0]["metadata"]["name"], namespace=ns, grace_period_seconds=0)

    async def replaced() -> bool:
        names = {p["metadata"]["name"] for p in await active_pods(client, ns, "legacy")}
        return len(names) == 2 and pods[0]["metadata"]["name"] not in names

    await eventually(replaced)

    async def status_caught_up() -> dict | None:  # type: ignore[type-arg]
        # The controller writes status after it sees the replacement: read it once it has.
        st = (await client.get(RC, "legacy", namespace=ns)).get("status") or {}
        return st if st.get("replicas") == 2 else None

    st = await eventually(status_caught_up)
    assert st["replicas"] == 2
