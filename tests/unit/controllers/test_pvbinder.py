"""PV binder: matching, binding, WaitForFirstConsumer, reclaim policies."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

import pyk8s.api  # noqa: E402,F401
from pyk8s.controllers.pvbinder import (  # noqa: E402
    BIND_COMPLETED,
    CLASSES,
    NODES,
    PVCS,
    PVS,
    SELECTED_NODE,
    PersistentVolumeBinder,
    find_best_pv,
)
from tests.unit.controllers.controller_env import Env, eventually, start_env, stop_env  # noqa: E402


def pv(name: str, size: str, *, cls: str = "", modes: tuple = ("ReadWriteOnce",), **spec: object) -> dict:
    labels = spec.pop("labels", {})
    return {"metadata": {"name": name, "labels": labels},
            "spec": {"capacity": {"storage": size}, "accessModes": list(modes), "storageClassName": cls,
                     "persistentVolumeReclaimPolicy": spec.pop("policy", "Retain"), **spec}}


def pvc(name: str, size: str, *, cls: str = "", modes: tuple = ("ReadWriteOnce",), **spec: object) -> dict:
    return {"metadata": {"name": name, "namespace": "ns", "uid": f"uid-{name}"},
            "spec": {"resources": {"requests": {"storage": size}}, "accessModes": list(modes),
                     "storageClassName": cls, **spec}}


def test_best_fit_is_smallest_matching() -> None:
    pvs = [pv("big", "10Gi"), pv("small", "1Gi"), pv("mid", "2Gi"), pv("fast", "1Gi", cls="fast"),
           pv("rox", "1Gi", modes=("ReadOnlyMany",)), pv("block", "1Gi", volumeMode="Block")]
    assert find_best_pv(pvc("c", "1500Mi"), pvs)["metadata"]["name"] == "mid"
    assert find_best_pv(pvc("c", "1Gi", cls="fast"), pvs)["metadata"]["name"] == "fast"
    assert find_best_pv(pvc("c", "100Gi"), pvs) is None
    assert find_best_pv(pvc("c", "1Gi", volumeMode="Block"), pvs)["metadata"]["name"] == "block"
    sel = pvc("c", "1Gi", selector={"matchLabels": {"tier": "gold"}})
    assert find_best_pv(sel, pvs + [pv("gold", "5Gi", labels={"tier": "gold"})])["metadata"]["name"] == "gold"
    taken = pv("tiny", "1Gi", claimRef={"namespace": "ns", "name": "other", "uid": "x"})
    assert find_best_pv(pvc("c", "1Gi"), [taken]) is None
    pre = pv("pre", "10Gi", claimRef={"namespace": "ns", "name": "c"})
    assert find_best_pv(pvc("c", "1Gi"), pvs + [pre])["metadata"]["name"] == "pre"


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    e, tasks = await start_env(PersistentVolumeBinder)
    try:
        yield e
    finally:
        await stop_env(e, tasks)


def phase(env: Env, resource: str, ns: str, name: str) -> str | None:
    return ((env.obj(resource, ns, name) or {}).get("status") or {}).get("phase")


async def test_bind_then_release_and_delete(env: Env) -> None:
    await env.client.create(PVS, pv("keep", "1Gi"))
    await env.client.create(PVS, pv("drop", "1Gi", cls="x", policy="Delete"))
    await env.client.create(PVCS, pvc("a", "1Gi"), namespace="ns")
    await env.client.create(PVCS, pvc("b", "1Gi", cls="x"), namespace="ns")
    await eventually(lambda: phase(env, "v1/persistentvolumeclaims", "ns", "a") == "Bound"
                     and phase(env, "v1/persistentvolumeclaims", "ns", "b") == "Bound")
    a = env.obj("v1/persistentvolumeclaims", "ns", "a")
    assert a["spec"]["volumeName"] == "keep" and a["metadata"]["annotations"][BIND_COMPLETED] == "yes"
    assert a["status"]["capacity"] == {"storage": "1Gi"}
    keep = env.obj("v1/persistentvolumes", "", "keep")
    assert keep["spec"]["claimRef"]["uid"] == a["metadata"]["uid"] and keep["status"]["phase"] == "Bound"
    await env.client.delete(PVCS, "a", namespace="ns")
    await env.client.delete(PVCS, "b", namespace="ns")
    await eventually(lambda: phase(env, "v1/persistentvolumes", "", "keep") == "Released")
    await eventually(lambda: env.obj("v1/persistentvolumes", "", "drop") is None)


async def test_unmatched_claim_pending_and_wait_for_first_consumer(env: Env) -> None:
    await env.client.create(CLASSES, {"metadata": {"name": "local"}, "provisioner": "kubernetes.io/no-provisioner",
                                      "volumeBindingMode": "WaitForFirstConsumer"})
    await env.client.create(NODES, {"metadata": {"name": "n2", "labels": {"kubernetes.io/hostname": "n2"}}})
    affinity = lambda host: {"required": {"nodeSelectorTerms": [{"matchExpressions": [  # noqa: E731
        {"key": "kubernetes.io/hostname", "operator": "In", "values": [host]}]}]}}
    await env.client.create(PVS, pv("on-n1", "1Gi", cls="local", nodeAffinity=affinity("n1")))
    await env.client.create(PVS, pv("on-n2", "5Gi", cls="local", nodeAffinity=affinity("n2")))
    await env.client.create(PVCS, pvc("w", "1Gi", cls="local"), namespace="ns")
    await env.client.create(PVCS, pvc("huge", "1Ti"), namespace="ns")
    await eventually(lambda: phase(env, "v1/persistentvolumeclaims", "ns", "w") == "Pending"
                     and phase(env, "v1/persistentvolumeclaims", "ns", "huge") == "Pending")
    await asyncio.sleep(0.1)
    assert not env.obj("v1/persistentvolumeclaims", "ns", "w")["spec"].get("volumeName")
    claim = await env.client.get(PVCS, "w", namespace="ns")
    claim["metadata"]["annotations"] = {SELECTED_NODE: "n2"}
    await env.client.update(PVCS, claim, namespace="ns")
    await eventually(lambda: phase(env, "v1/persistentvolumeclaims", "ns", "w") == "Bound")
    assert env.obj("v1/persistentvolumeclaims", "ns", "w")["spec"]["volumeName"] == "on-n2"


def claim_events(env: Env, reason: str) -> list[dict]:
    return [o for (res, _, _), o in env.srv.objects.items() if res == "v1/events" and o.get("reason") == reason]


async def test_unmatched_claims_say_why(env: Env) -> None:
    await env.client.create(PVCS, pvc("plain", "1Gi"), namespace="ns")
    await env.client.create(PVCS, pvc("lost-class", "1Gi", cls="nope"), namespace="ns")
    await eventually(lambda: claim_events(env, "FailedBinding") and claim_events(env, "ProvisioningFailed"))
    failed = claim_events(env, "FailedBinding")[0]
    assert failed["involvedObject"]["name"] == "plain" and failed["type"] == "Normal"
    assert failed["message"] == "no persistent volumes available for this claim and no storage class is set"
    missing = claim_events(env, "ProvisioningFailed")[0]
    assert missing["involvedObject"]["name"] == "lost-class" and missing["type"] == "Warning"
    assert missing["message"] == 'storageclass.storage.k8s.io "nope" not found'


async def test_beta_class_annotation_wins_over_spec(env: Env) -> None:
    await env.client.create(PVS, pv("gold-pv", "1Gi", cls="gold"))
    await env.client.create(PVS, pv("plain-pv", "1Gi"))
    claim = pvc("b", "1Gi", cls="")
    claim["metadata"]["annotations"] = {"volume.beta.kubernetes.io/storage-class": "gold"}
    await env.client.create(PVCS, claim, namespace="ns")
    await eventually(lambda: phase(env, "v1/persistentvolumeclaims", "ns", "b") == "Bound")
    assert env.obj("v1/persistentvolumeclaims", "ns", "b")["spec"]["volumeName"] == "gold-pv"


async def test_provisioner_claims_are_annotated_and_their_volumes_left_to_it(env: Env) -> None:
    await env.client.create(CLASSES, {"metadata": {"name": "lp"}, "provisioner": "rancher.io/local-path",
                                      "volumeBindingMode": "WaitForFirstConsumer"})
    claim = pvc("p", "1Gi", cls="lp")
    await env.client.create(PVCS, claim, namespace="ns")
    await eventually(lambda: claim_events(env, "WaitForFirstConsumer"))
    assert claim_events(env, "WaitForFirstConsumer")[0]["message"] == \
        "waiting for first consumer to be created before binding"
    made = await env.client.get(PVCS, "p", namespace="ns")
    made["metadata"]["annotations"] = {SELECTED_NODE: "n1"}
    await env.client.update(PVCS, made, namespace="ns")
    await eventually(lambda: claim_events(env, "ExternalProvisioning"))
    notes = env.obj("v1/persistentvolumeclaims", "ns", "p")["metadata"]["annotations"]
    assert notes["volume.kubernetes.io/storage-provisioner"] == "rancher.io/local-path"
    assert notes["volume.beta.kubernetes.io/storage-provisioner"] == "rancher.io/local-path"
    # The provisioner's volume binds; released under Delete, it is left for the provisioner to remove.
    made = await env.client.get(PVCS, "p", namespace="ns")
    volume = pv("pvc-p", "1Gi", cls="lp", policy="Delete",
                claimRef={"namespace": "ns", "name": "p", "uid": made["metadata"]["uid"]})
    volume["metadata"]["annotations"] = {"pv.kubernetes.io/provisioned-by": "rancher.io/local-path"}
    await env.client.create(PVS, volume)
    await eventually(lambda: phase(env, "v1/persistentvolumeclaims", "ns", "p") == "Bound")
    await env.client.delete(PVCS, "p", namespace="ns")
    await eventually(lambda: phase(env, "v1/persistentvolumes", "", "pvc-p") == "Released")
    await asyncio.sleep(0.2)
    assert env.obj("v1/persistentvolumes", "", "pvc-p") is not None


async def test_claim_naming_its_volume(env: Env) -> None:
    await env.client.create(CLASSES, {"metadata": {"name": "lp"}, "provisioner": "rancher.io/local-path",
                                      "volumeBindingMode": "WaitForFirstConsumer"})
    await env.client.create(PVS, pv("small", "1Gi", cls="lp"))
    await env.client.create(PVS, pv("other-class", "5Gi", cls="gold"))
    await env.client.create(PVS, pv("held", "5Gi", cls="lp", claimRef={"namespace": "ns", "name": "someone"}))
    await env.client.create(PVS, pv("right", "5Gi", cls="lp"))
    for claim, volume in [("too-big", "small"), ("wrong-class", "other-class"), ("late", "not-yet"),
                          ("waits", "held"), ("named", "right")]:
        await env.client.create(PVCS, pvc(claim, "2Gi", cls="lp", volumeName=volume), namespace="ns")
    # Named volumes bind at once, even under WaitForFirstConsumer and with no node selected.
    await eventually(lambda: phase(env, "v1/persistentvolumeclaims", "ns", "named") == "Bound")
    await eventually(lambda: len(claim_events(env, "VolumeMismatch")) == 2)
    assert sorted((e["involvedObject"]["name"], e["type"], e["message"]) for e in claim_events(env, "VolumeMismatch")) == [
        ("too-big", "Warning", 'Cannot bind to requested volume "small": requested PV is too small'),
        ("wrong-class", "Warning", 'Cannot bind to requested volume "other-class": storageClassName does not match')]
    for claim in ("too-big", "wrong-class", "late", "waits"):
        assert phase(env, "v1/persistentvolumeclaims", "ns", claim) == "Pending"
        # Never handed to a provisioner, never told to wait for a consumer.
        annotations = env.obj("v1/persistentvolumeclaims", "ns", claim)["metadata"].get("annotations") or {}
        assert "volume.kubernetes.io/storage-provisioner" not in annotations
    assert not claim_events(env, "WaitForFirstConsumer") and not claim_events(env, "ExternalProvisioning")
    # The volume a claim waited for appears: it binds.
    await env.client.create(PVS, pv("not-yet", "2Gi", cls="lp"))
    await eventually(lambda: phase(env, "v1/persistentvolumeclaims", "ns", "late") == "Bound")
