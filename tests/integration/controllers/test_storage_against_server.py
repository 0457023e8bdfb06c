"""Storage a user does not set up, against a real ``pyk8s server``: the default class, admission's
defaults and finalizers, provisioning for a selected node, protection while in use, reclaim Delete.

No kubelet runs here: the test plays the node (the helper pod that removes a volume's data is
marked Succeeded by hand)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from pyk8s.client.rest import Client
from pyk8s.controllers.manager import ControllerManager
from pyk8s.machinery.scheme import SCHEME
from pyk8s.testing.cluster import ServerProcess
from tests.integration.controllers.test_controllers_against_server import eventually, gone, new_namespace

PODS, PVCS, PVS, NODES = (SCHEME.get("", "v1", p) for p in ("pods", "persistentvolumeclaims", "persistentvolumes",
                                                              "nodes"))
CLASSES = SCHEME.get("storage.k8s.io", "v1", "storageclasses")
EVENTS = SCHEME.get("", "v1", "events")
SELECTED_NODE = "volume.kubernetes.io/selected-node"


@pytest.fixture
async def storage_manager(api_server: ServerProcess) -> AsyncIterator[ControllerManager]:
    c = Client.from_kubeconfig(api_server.kubeconfig, field_manager="kube-controller-manager")
    cm = ControllerManager(c, controllers=["persistentvolume-binder-controller", "local-path-provisioner",
                                           "persistentvolumeclaim-protection-controller",
                                           "persistentvolume-protection-controller"],
                           options={"local_path_dir": "/nonexistent/pyk8s-it-storage"})
    task = asyncio.create_task(cm.run())
    try:
        await asyncio.wait_for(cm.ready.wait(), 20)
        yield cm
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await c.close()


def claim(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "32Mi"}}, **spec}}


async def test_default_class_and_admission(client: Client) -> None:
    sc = await client.get(CLASSES, "local-path")
    assert sc["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true"
    assert (sc["provisioner"], sc["volumeBindingMode"], sc["reclaimPolicy"]) == \
        ("rancher.io/local-path", "WaitForFirstConsumer", "Delete")
    ns = await new_namespace(client)
    plain = await client.create(PVCS, claim("plain"), namespace=ns)
    assert plain["spec"]["storageClassName"] == "local-path"
    assert plain["metadata"]["finalizers"] == ["kubernetes.io/pvc-protection"]
    empty = await client.create(PVCS, claim("empty", storageClassName=""), namespace=ns)
    assert empty["spec"]["storageClassName"] == ""
    beta = claim("beta")
    beta["metadata"]["annotations"] = {"volume.beta.kubernetes.io/storage-class": "gold"}
    assert "storageClassName" not in (await client.create(PVCS, beta, namespace=ns))["spec"]
    name = "it-pv-" + uuid.uuid4().hex[:6]
    pv = await client.create(PVS, {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": name},
                                   "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                                            "hostPath": {"path": "/tmp/x"}}})
    assert pv["metadata"]["finalizers"] == ["kubernetes.io/pv-protection"]
    # Nothing removes the finalizer without its controller: the volume waits, Terminating.
    await client.delete(PVS, name)
    assert (await client.get(PVS, name))["metadata"]["deletionTimestamp"]
    await client.patch(PVS, name, {"metadata": {"finalizers": None}}, patch_type="merge")
    for c in ("plain", "empty", "beta"):
        await client.patch(PVCS, c, {"metadata": {"finalizers": None}}, namespace=ns, patch_type="merge")


async def test_provision_protect_and_reclaim(client: Client, storage_manager: ControllerManager) -> None:
    ns = await new_namespace(client)
    node = "it-node-" + uuid.uuid4().hex[:6]
    await client.create(NODES, {"apiVersion": "v1", "kind": "Node",
                                "metadata": {"name": node, "labels": {"kubernetes.io/hostname": node}}})
    try:
        made = claim("data")
        made["metadata"]["annotations"] = {SELECTED_NODE: node}  # what the scheduler writes
        uid = (await client.create(PVCS, made, namespace=ns))["metadata"]["uid"]
        pv_name = f"pvc-{uid}"

        async def bound() -> dict | None:
            c = await client.get(PVCS, "data", namespace=ns)
            return c if (c.get("status") or {}).get("phase") == "Bound" else None

        assert (await eventually(bound))["spec"]["volumeName"] == pv_name
        pv = await client.get(PVS, pv_name)
        assert pv["spec"]["capacity"] == {"storage": "32Mi"} and pv["status"]["phase"] == "Bound"
        assert pv["metadata"]["finalizers"] == ["kubernetes.io/pv-protection"]
        reasons = {e["reason"] for e in (await client.list(EVENTS, namespace=ns))["items"]}
        assert {"Provisioning", "ProvisioningSucceeded"} <= reasons

        # A scheduled pod uses the claim: deleting the claim leaves it Terminating.
        await client.create(PODS, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "user"},
                                   "spec": {"nodeName": node, "containers": [{"name": "c", "image": "busybox"}],
                                            "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "data"}}]}},
                            namespace=ns)
        await client.delete(PVCS, "data", namespace=ns)
        await asyncio.sleep(1.0)
        assert (await client.get(PVCS, "data", namespace=ns))["metadata"]["deletionTimestamp"]
        await client.delete(PODS, "user", namespace=ns, grace_period_seconds=0)
        await eventually(lambda: gone(client, PVCS, "data", ns))

        # Released under Delete: a helper pod removes the data on the node, then the volume goes.
        helper = f"helper-pod-delete-{pv_name}"

        async def helper_pod() -> dict | None:
            try:
                return await client.get(PODS, helper, namespace="kube-system")
            except Exception:  # noqa: BLE001 - not there yet
                return None

        pod = await eventually(helper_pod)
        assert pod["spec"]["nodeName"] == node
        assert (await client.get(PVS, pv_name))["status"]["phase"] == "Released"
        pod["status"] = {"phase": "Succeeded"}
        await client.update_status(PODS, pod, namespace="kube-system")
        await eventually(lambda: gone(client, PVS, pv_name))
        # The helper pod is deleted too (gracefully: without a kubelet it stays Terminating).
        await eventually(lambda: helper_deleted(client, helper))
    finally:
        await client.delete(NODES, node)


async def helper_deleted(client: Client, name: str) -> bool:
    if await gone(client, PODS, name, "kube-system"):
        return True
    pod = await client.get(PODS, name, namespace="kube-system")
    if pod["metadata"].get("deletionTimestamp"):
        await client.delete(PODS, name, namespace="kube-system", grace_period_seconds=0)
        return True
    return False


async def test_missing_class_is_provisioning_failed(client: Client, storage_manager: ControllerManager) -> None:
    ns = await new_namespace(client)
    await client.create(PVCS, claim("lost", storageClassName="no-such-class"), namespace=ns)

    async def failed() -> list:
        return [e for e in (await client.list(EVENTS, namespace=ns))["items"] if e["reason"] == "ProvisioningFailed"]

    event = (await eventually(failed))[0]
    assert event["type"] == "Warning" and event["message"] == 'storageclass.storage.k8s.io "no-such-class" not found'
    assert event["source"]["component"] == "persistentvolume-controller"
