"""The StatefulSet controller against a real ``pyk8s server``.

No kubelet runs here: pods stay Pending until the test writes a Running and
Ready status, which is what lets an OrderedReady set move to the next ordinal.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from pyk8s.client.rest import Client
from pyk8s.controllers.manager import ControllerManager
from pyk8s.machinery.scheme import SCHEME
from pyk8s.testing.cluster import ServerProcess
from tests.integration.controllers.test_controllers_against_server import eventually, gone, new_namespace

PODS = SCHEME.get("", "v1", "pods")
PVCS = SCHEME.get("", "v1", "persistentvolumeclaims")
STS = SCHEME.get("apps", "v1", "statefulsets")
REVISIONS = SCHEME.get("apps", "v1", "controllerrevisions")
EVENTS = SCHEME.get("", "v1", "events")


@pytest.fixture
async def sts_manager(api_server: ServerProcess) -> AsyncIterator[ControllerManager]:
    c = Client.from_kubeconfig(api_server.kubeconfig, field_manager="kube-controller-manager")
    # Claims carry the pvc-protection finalizer (admission), which its controller removes on deletion.
    cm = ControllerManager(c, controllers=["statefulset-controller", "garbage-collector-controller",
                                           "persistentvolumeclaim-protection-controller"])
    task = asyncio.create_task(cm.run())
    try:
        await asyncio.wait_for(cm.ready.wait(), 20)
        yield cm
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await c.close()


def statefulset(replicas: int, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "web"},
            "spec": {"replicas": replicas, "serviceName": "nginx", "selector": {"matchLabels": {"app": "nginx"}},
                     "template": {"metadata": {"labels": {"app": "nginx"}},
                                  "spec": {"containers": [{"name": "nginx", "image": "nginx:1",
                                                           "volumeMounts": [{"name": "www", "mountPath": "/d"}]}]}},
                     "volumeClaimTemplates": [{"metadata": {"name": "www"},
                                               "spec": {"accessModes": ["ReadWriteOnce"],
                                                        "resources": {"requests": {"storage": "1Gi"}}}}],
                     **spec}}


async def pod_names(client: Client, ns: str) -> set[str]:
    items = (await client.list(PODS, namespace=ns))["items"]
    return {p["metadata"]["name"] for p in items if not p["metadata"].get("deletionTimestamp")}


async def make_ready(client: Client, ns: str, name: str) -> dict[str, Any]:
    async def exists() -> dict | None:
        items = (await client.list(PODS, namespace=ns))["items"]
        return next((p for p in items if p["metadata"]["name"] == name
                     and not p["metadata"].get("deletionTimestamp")), None)

    pod = await eventually(exists)
    pod["status"] = {"phase": "Running", "conditions": [
        {"type": "Ready", "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z"}]}
    return await client.update_status(PODS, pod, namespace=ns)


async def only(client: Client, ns: str, expected: set[str]) -> None:
    """``expected`` is reached and stays (nothing more is created while we wait a little)."""
    async def reached() -> bool:
        return await pod_names(client, ns) == expected

    await eventually(reached)
    await asyncio.sleep(0.4)
    assert await pod_names(client, ns) == expected


async def test_ordered_creation_claims_scale_and_partitioned_update(client: Client,
                                                                    sts_manager: ControllerManager) -> None:
    ns = await new_namespace(client)
    sts = await client.create(STS, statefulset(3), namespace=ns)
    await only(client, ns, {"web-0"})  # web-1 waits for web-0 to be Running and Ready
    pod = await client.get(PODS, "web-0", namespace=ns)
    assert pod["spec"]["hostname"] == "web-0" and pod["spec"]["subdomain"] == "nginx"
    labels = pod["metadata"]["labels"]
    assert labels["statefulset.kubernetes.io/pod-name"] == "web-0" and labels["apps.kubernetes.io/pod-index"] == "0"
    assert pod["metadata"]["ownerReferences"][0]["uid"] == sts["metadata"]["uid"]
    assert {"name": "www", "persistentVolumeClaim": {"claimName": "www-web-0"}} in pod["spec"]["volumes"]
    claim = await client.get(PVCS, "www-web-0", namespace=ns)
    assert claim["metadata"]["labels"] == {"app": "nginx"} and not claim["metadata"].get("ownerReferences")

    await make_ready(client, ns, "web-0")
    await only(client, ns, {"web-0", "web-1"})
    await make_ready(client, ns, "web-1")
    await only(client, ns, {"web-0", "web-1", "web-2"})
    await make_ready(client, ns, "web-2")

    async def settled() -> dict | None:
        st = (await client.get(STS, "web", namespace=ns)).get("status") or {}
        return st if st.get("readyReplicas") == 3 and st.get("currentRevision") else None

    status = await eventually(settled)
    assert status["currentRevision"] == status["updateRevision"] == labels["controller-revision-hash"]
    revs = (await client.list(REVISIONS, namespace=ns))["items"]
    assert [r["metadata"]["name"] for r in revs] == [status["currentRevision"]] and revs[0]["revision"] == 1
    claims = {c["metadata"]["name"] for c in (await client.list(PVCS, namespace=ns))["items"]}
    assert claims == {"www-web-0", "www-web-1", "www-web-2"}
    messages = {e["message"] for e in (await client.list(EVENTS, namespace=ns))["items"]}
    assert "create Pod web-0 in StatefulSet web successful" in messages
    assert "create Claim www-web-0 Pod web-0 in StatefulSet web success" in messages

    # Partitioned rolling update: only ordinals >= 1 move, highest first.
    await client.patch(STS, "web", {"spec": {
        "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 1}},
        "template": {"spec": {"containers": [{"name": "nginx", "image": "nginx:2"}]}}}},
        namespace=ns, patch_type="strategic")

    async def image_of(name: str) -> str | None:
        items = (await client.list(PODS, namespace=ns))["items"]
        pod = next((p for p in items if p["metadata"]["name"] == name
                    and not p["metadata"].get("deletionTimestamp")), None)
        return None if pod is None else pod["spec"]["containers"][0]["image"]

    async def replaced(name: str) -> bool:
        return await image_of(name) == "nginx:2"

    await eventually(lambda: replaced("web-2"))
    assert await image_of("web-1") == "nginx:1"  # waits for web-2 to be ready
    await make_ready(client, ns, "web-2")
    await eventually(lambda: replaced("web-1"))
    await make_ready(client, ns, "web-1")

    async def partitioned() -> dict | None:
        st = (await client.get(STS, "web", namespace=ns)).get("status") or {}
        return st if st.get("updatedReplicas") == 2 and st.get("readyReplicas") == 3 else None

    status = await eventually(partitioned)
    assert status["currentRevision"] != status["updateRevision"]
    assert await image_of("web-0") == "nginx:1"

    # Scale down: the highest ordinal goes first; the claims stay.
    await client.patch(STS, "web", {"spec": {"replicas": 1}}, namespace=ns, patch_type="merge")
    await only(client, ns, {"web-0"})
    claims = {c["metadata"]["name"] for c in (await client.list(PVCS, namespace=ns))["items"]}
    assert claims == {"www-web-0", "www-web-1", "www-web-2"}
    deletes = [e for e in (await client.list(EVENTS, namespace=ns))["items"] if e["reason"] == "SuccessfulDelete"]
    assert {e["message"] for e in deletes} >= {"delete Pod web-2 in StatefulSet web successful",
                                               "delete Pod web-1 in StatefulSet web successful"}


async def test_parallel_and_retention_policy(client: Client, sts_manager: ControllerManager) -> None:
    ns = await new_namespace(client)
    await client.create(STS, statefulset(3, podManagementPolicy="Parallel", persistentVolumeClaimRetentionPolicy={
        "whenDeleted": "Delete", "whenScaled": "Retain"}), namespace=ns)
    await only(client, ns, {"web-0", "web-1", "web-2"})  # no waiting for readiness
    sts = await client.get(STS, "web", namespace=ns)

    async def owned_claims() -> bool:
        items = (await client.list(PVCS, namespace=ns))["items"]
        return len(items) == 3 and all(
            [r["uid"] for r in c["metadata"].get("ownerReferences") or []] == [sts["metadata"]["uid"]]
            for c in items)

    await eventually(owned_claims)
    # A deleted pod comes back with the same name and claim.
    await client.delete(PODS, "web-1", namespace=ns, grace_period_seconds=0)

    async def back() -> bool:
        items = (await client.list(PODS, namespace=ns))["items"]
        return any(p["metadata"]["name"] == "web-1" and not p["metadata"].get("deletionTimestamp") for p in items)

    await eventually(back)
    await client.delete(STS, "web", namespace=ns)

    async def claims_gone() -> bool:
        return all([await gone(client, PVCS, f"www-web-{i}", ns) for i in range(3)])

    await eventually(claims_gone, within=20)


async def test_adopts_orphan_and_restores_identity(client: Client, sts_manager: ControllerManager) -> None:
    ns = await new_namespace(client)
    orphan = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-0", "labels": {"app": "nginx"}},
              "spec": {"containers": [{"name": "nginx", "image": "nginx:1"}]}}
    orphan_uid = (await client.create(PODS, orphan, namespace=ns))["metadata"]["uid"]
    sts = await client.create(STS, statefulset(1), namespace=ns)

    async def adopted() -> dict | None:
        pod = await client.get(PODS, "web-0", namespace=ns)
        refs = pod["metadata"].get("ownerReferences") or []
        return pod if refs and refs[0]["uid"] == sts["metadata"]["uid"] else None

    pod = await eventually(adopted)
    assert "apps.kubernetes.io/pod-index" not in pod["metadata"]["labels"]  # not before it is Running and Ready
    await make_ready(client, ns, "web-0")

    async def messages() -> set[str]:
        return {e["message"] for e in (await client.list(EVENTS, namespace=ns))["items"]}

    async def repaired_then_replaced() -> bool:
        seen = await messages()
        return {"update Pod web-0 in StatefulSet web successful",  # identity labels restored
                "delete Pod web-0 in StatefulSet web successful"} <= seen  # not at the update revision

    await eventually(repaired_then_replaced)

    async def recreated() -> dict | None:
        items = (await client.list(PODS, namespace=ns))["items"]
        return next((p for p in items if p["metadata"]["uid"] != orphan_uid), None)

    pod = await eventually(recreated)
    assert pod["spec"]["hostname"] == "web-0" and pod["metadata"]["labels"]["apps.kubernetes.io/pod-index"] == "0"
