"""The ephemeral-volume controller: a claim per ephemeral volume, owned by the pod, and never a foreign one."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from pyk8s.api.core_v1.helpers import ephemeral
from pyk8s.controllers.ephemeralvolume import PODS, EphemeralVolumeController
from pyk8s.controllers.pvbinder import PVCS
from tests.unit.controllers.controller_env import Env, eventually, start_env, stop_env

CLAIMS = "v1/persistentvolumeclaims"
EVENTS = "v1/events"
TEMPLATE = {"volumeClaimTemplate": {"metadata": {"labels": {"team": "a"}, "annotations": {"n": "1"}},
                                    "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "local-path",
                                             "resources": {"requests": {"storage": "1Gi"}}}}}


def _pod(name: str, *volumes: dict) -> dict:
    return {"metadata": {"name": name, "namespace": "ns"},
            "spec": {"containers": [{"name": "c", "image": "busybox"}], "volumes": list(volumes)}}


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    e, tasks = await start_env(EphemeralVolumeController)
    try:
        yield e
    finally:
        await stop_env(e, tasks)


def _events(env: Env) -> list[dict]:
    return [o for (res, _, _), o in env.srv.objects.items() if res == EVENTS]


async def test_claim_made_from_the_template_owned_by_the_pod(env: Env) -> None:
    pod = await env.client.create(PODS, _pod("web", {"name": "scratch", "ephemeral": TEMPLATE},
                                             {"name": "tmp", "emptyDir": {}}), namespace="ns")
    await eventually(lambda: env.obj(CLAIMS, "ns", "web-scratch") is not None)
    claim = env.obj(CLAIMS, "ns", "web-scratch")
    assert claim is not None
    assert claim["metadata"]["labels"] == {"team": "a"} and claim["metadata"]["annotations"]["n"] == "1"
    assert claim["metadata"]["ownerReferences"] == [{"apiVersion": "v1", "kind": "Pod", "name": "web",
                                                     "uid": pod["metadata"]["uid"], "controller": True,
                                                     "blockOwnerDeletion": True}]
    assert claim["spec"]["storageClassName"] == "local-path"
    assert [k for k in env.srv.objects if k[0] == CLAIMS] == [(CLAIMS, "ns", "web-scratch")]
    # Deleted under the pod: made again (upstream requeues the pods that name a deleted claim).
    await env.client.delete(PVCS, "web-scratch", namespace="ns")
    await eventually(lambda: env.obj(CLAIMS, "ns", "web-scratch") is not None)


async def test_foreign_claim_is_left_alone_and_reported(env: Env) -> None:
    await env.client.create(PVCS, {"metadata": {"name": "app-data", "namespace": "ns"}, "spec": {}}, namespace="ns")
    await env.client.create(PODS, _pod("app", {"name": "data", "ephemeral": TEMPLATE}), namespace="ns")
    message = "ephemeral volume data: PVC ns/app-data was not created for pod ns/app (pod is not owner)"
    await eventually(lambda: any(e.get("message") == message for e in _events(env)))
    event = next(e for e in _events(env) if e.get("message") == message)
    assert event["reason"] == "FailedBinding" and event["type"] == "Warning"
    assert event["involvedObject"]["name"] == "app" and event["source"]["component"] == "ephemeral_volume"
    assert "ownerReferences" not in (env.obj(CLAIMS, "ns", "app-data") or {})["metadata"]


async def test_pods_being_deleted_get_no_claim(env: Env) -> None:
    pod = _pod("gone", {"name": "data", "ephemeral": TEMPLATE})
    pod["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    pod["metadata"]["finalizers"] = ["x.io/hold"]
    await env.client.create(PODS, pod, namespace="ns")
    await env.client.create(PODS, _pod("marker", {"name": "v", "ephemeral": TEMPLATE}), namespace="ns")
    await eventually(lambda: env.obj(CLAIMS, "ns", "marker-v") is not None)
    assert env.obj(CLAIMS, "ns", "gone-data") is None


def test_volume_is_for_pod_rule() -> None:
    pod = {"metadata": {"name": "p", "namespace": "ns", "uid": "u"}}
    mine = {"metadata": {"name": "p-v", "namespace": "ns", "ownerReferences": [{"uid": "u", "controller": True}]}}
    not_controller = {"metadata": {"name": "p-v", "namespace": "ns", "ownerReferences": [{"uid": "u"}]}}
    assert ephemeral.not_for_pod(pod, mine) is None
    assert ephemeral.not_for_pod(pod, not_controller) == "PVC ns/p-v was not created for pod ns/p (pod is not owner)"
    assert ephemeral.claim_name(pod, {"name": "v"}) == "p-v"
