"""local-path provisioner: PVs for selected nodes, failures as events, reclaim through a helper pod."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

import pyk8s.api  # noqa: F401
from pyk8s.api.storage_v1 import local_path_class
from pyk8s.controllers.localpath import PODS, LocalPathProvisioner
from pyk8s.controllers.pvbinder import CLASSES, NODES, PVCS, PVS, SELECTED_NODE
from tests.unit.controllers.controller_env import Env, eventually, start_env, stop_env

PV_RES = "v1/persistentvolumes"


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    e, tasks = await start_env(LocalPathProvisioner, options={"local_path_dir": "/srv/lp"})
    try:
        yield e
    finally:
        await stop_env(e, tasks)


def claim(name: str, *, node: str | None = "n1", modes: tuple = ("ReadWriteOnce",), cls: str = "local-path",
          beta: str | None = None) -> dict:
    notes = {SELECTED_NODE: node} if node else {}
    spec: dict = {"accessModes": list(modes), "resources": {"requests": {"storage": "64Mi"}}}
    if beta is not None:
        notes["volume.beta.kubernetes.io/storage-class"] = beta
        spec["storageClassName"] = "elsewhere"
    else:
        spec["storageClassName"] = cls
    return {"metadata": {"name": name, "namespace": "ns", "uid": f"uid-{name}", "annotations": notes}, "spec": spec}


def events(env: Env, reason: str) -> list[str]:
    return [o["message"] for (res, _, _), o in env.srv.objects.items()
            if res == "v1/events" and o.get("reason") == reason]


async def create(env: Env, pvc: dict) -> str:
    """The claim's PV name (the fake server assigns the uid)."""
    made = await env.client.create(PVCS, pvc, namespace="ns")
    return f"pvc-{made['metadata']['uid']}"


async def setup(env: Env) -> None:
    await env.client.create(CLASSES, local_path_class())
    await env.client.create(NODES, {"metadata": {"name": "n1", "labels": {"kubernetes.io/hostname": "host-1"}}})


async def test_provisions_a_node_local_volume_of_the_requested_size(env: Env) -> None:
    await setup(env)
    name = await create(env, claim("data"))
    await eventually(lambda: env.obj(PV_RES, "", name) is not None)
    pv = env.obj(PV_RES, "", name)
    assert pv["metadata"]["annotations"]["pv.kubernetes.io/provisioned-by"] == "rancher.io/local-path"
    spec = pv["spec"]
    assert spec["capacity"] == {"storage": "64Mi"} and spec["persistentVolumeReclaimPolicy"] == "Delete"
    assert spec["hostPath"] == {"path": f"/srv/lp/{name}_ns_data", "type": "DirectoryOrCreate"}
    assert f"pvc-{spec['claimRef']['uid']}" == name and spec["storageClassName"] == "local-path"
    term = spec["nodeAffinity"]["required"]["nodeSelectorTerms"][0]["matchExpressions"][0]
    assert term == {"key": "kubernetes.io/hostname", "operator": "In", "values": ["host-1"]}
    await eventually(lambda: events(env, "ProvisioningSucceeded") == [f"Successfully provisioned volume {name}"])
    assert events(env, "Provisioning") == ['External provisioner is provisioning volume for claim "ns/data"']


async def test_waits_for_the_selected_node_and_honours_the_beta_class(env: Env) -> None:
    await setup(env)
    later = await create(env, claim("later", node=None))
    beta = await create(env, claim("beta", beta="local-path"))
    other = await create(env, claim("other", cls="elsewhere"))
    await eventually(lambda: env.obj(PV_RES, "", beta) is not None)
    assert env.obj(PV_RES, "", later) is None and env.obj(PV_RES, "", other) is None


async def test_unsupported_access_mode_is_provisioning_failed(env: Env) -> None:
    await setup(env)
    shared = await create(env, claim("shared", modes=("ReadWriteMany",)))
    await eventually(lambda: events(env, "ProvisioningFailed") == [
        'failed to provision volume with StorageClass "local-path": '
        "Only support ReadWriteOnce, ReadWriteOncePod access mode"])
    assert env.obj(PV_RES, "", shared) is None


async def test_released_volume_data_removed_by_helper_pod_then_deleted(env: Env) -> None:
    await setup(env)
    name = await create(env, claim("gone"))
    await eventually(lambda: env.obj(PV_RES, "", name) is not None)
    pv = await env.client.get(PVS, name)
    pv["status"] = {"phase": "Released"}
    await env.client.update_status(PVS, pv)
    helper = f"helper-pod-delete-{name}"
    await eventually(lambda: env.obj("v1/pods", "kube-system", helper) is not None)
    pod = env.obj("v1/pods", "kube-system", helper)
    assert pod["spec"]["nodeName"] == "n1"
    assert pod["spec"]["volumes"][0]["hostPath"]["path"] == "/srv/lp"
    assert pod["spec"]["containers"][0]["env"] == [{"name": "VOL_DIR", "value": f"{name}_ns_gone"}]
    assert env.obj(PV_RES, "", name) is not None  # not before the data is gone
    pod = await env.client.get(PODS, helper, namespace="kube-system")
    pod["status"] = {"phase": "Succeeded"}
    await env.client.update_status(PODS, pod, namespace="kube-system")
    await env.clock.advance(2)
    await eventually(lambda: env.obj(PV_RES, "", name) is None
                     and env.obj("v1/pods", "kube-system", helper) is None)
