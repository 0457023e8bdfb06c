"""pvc-protection and pv-protection: which pods keep a claim, which phases keep a volume."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

import pyk8s.api  # noqa: F401
from pyk8s.controllers.pvbinder import PVCS, PVS
from pyk8s.controllers.volumeprotection import PODS, PVCProtection, PVProtection, pod_uses_claim
from tests.unit.controllers.controller_env import Env, eventually, start_env, stop_env

DELETING = {"deletionTimestamp": "2026-01-01T00:00:00Z"}


def pod(name: str, claim: str, *, node: str = "n1", phase: str = "Running", ephemeral: bool = False) -> dict:
    volume = ({"name": "data", "ephemeral": {"volumeClaimTemplate": {"spec": {}}}} if ephemeral
              else {"name": "data", "persistentVolumeClaim": {"claimName": claim}})
    return {"metadata": {"name": name, "namespace": "ns"}, "spec": {"nodeName": node, "volumes": [volume]},
            "status": {"phase": phase}}


def test_pod_uses_claim() -> None:
    assert pod_uses_claim(pod("p", "c"), "c")
    assert not pod_uses_claim(pod("p", "c"), "other")
    assert not pod_uses_claim(pod("p", "c", node=""), "c")  # never started: the kubelet will refuse it
    assert not pod_uses_claim(pod("p", "c", phase="Succeeded"), "c")
    assert not pod_uses_claim(pod("p", "c", phase="Failed"), "c")
    assert pod_uses_claim(pod("p", "", ephemeral=True), "p-data")


@pytest.fixture
async def pvc_env() -> AsyncIterator[Env]:
    e, tasks = await start_env(PVCProtection)
    try:
        yield e
    finally:
        await stop_env(e, tasks)


@pytest.fixture
async def pv_env() -> AsyncIterator[Env]:
    e, tasks = await start_env(PVProtection)
    try:
        yield e
    finally:
        await stop_env(e, tasks)


def finalizers(env: Env, resource: str, ns: str, name: str) -> list:
    return (env.obj(resource, ns, name) or {}).get("metadata", {}).get("finalizers") or []


async def test_claim_released_once_its_pod_is_done(pvc_env: Env) -> None:
    env = pvc_env
    await env.client.create(PODS, pod("user", "c"), namespace="ns")
    await env.client.create(PVCS, {"metadata": {"name": "c", "namespace": "ns", **DELETING,
                                                 "finalizers": ["kubernetes.io/pvc-protection", "x.io/other"]},
                                   "spec": {}}, namespace="ns")
    await env.client.create(PVCS, {"metadata": {"name": "idle", "namespace": "ns", **DELETING,
                                                 "finalizers": ["kubernetes.io/pvc-protection"]}, "spec": {}},
                            namespace="ns")
    await eventually(lambda: finalizers(env, "v1/persistentvolumeclaims", "ns", "idle") == [])
    assert finalizers(env, "v1/persistentvolumeclaims", "ns", "c") == ["kubernetes.io/pvc-protection", "x.io/other"]
    done = await env.client.get(PODS, "user", namespace="ns")
    done["status"] = {"phase": "Succeeded"}
    await env.client.update_status(PODS, done, namespace="ns")
    await eventually(lambda: finalizers(env, "v1/persistentvolumeclaims", "ns", "c") == ["x.io/other"])


async def test_volume_released_once_unbound(pv_env: Env) -> None:
    env = pv_env
    await env.client.create(PVS, {"metadata": {"name": "v", **DELETING, "finalizers": ["kubernetes.io/pv-protection"]},
                                  "spec": {}, "status": {"phase": "Bound"}})
    await env.client.create(PVS, {"metadata": {"name": "free", **DELETING,
                                               "finalizers": ["kubernetes.io/pv-protection"]},
                                  "spec": {}, "status": {"phase": "Released"}})
    await eventually(lambda: finalizers(env, "v1/persistentvolumes", "", "free") == [])
    assert finalizers(env, "v1/persistentvolumes", "", "v") == ["kubernetes.io/pv-protection"]
    volume = await env.client.get(PVS, "v")
    volume["status"] = {"phase": "Released"}
    await env.client.update_status(PVS, volume)
    await eventually(lambda: finalizers(env, "v1/persistentvolumes", "", "v") == [])
