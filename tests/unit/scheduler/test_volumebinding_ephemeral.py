"""VolumeBinding and generic ephemeral volumes: the claim ``<pod>-<volume>``, used only when the pod owns it."""

from __future__ import annotations

from pyk8s.scheduler.framework import interface as fw
from pyk8s.scheduler.plugins import volumebinding


class _Claims:
    def __init__(self, pvcs: dict) -> None:
        self.pvcs = pvcs

    def get_pvc(self, namespace: str, name: str) -> dict | None:
        return self.pvcs.get((namespace, name))

    def get_pv(self, name: str) -> dict | None:
        return None

    def get_storage_class(self, name: str) -> dict | None:
        return {"volumeBindingMode": "WaitForFirstConsumer"} if name == "local-path" else None


POD = {"metadata": {"name": "web", "namespace": "ns", "uid": "u1"},
       "spec": {"volumes": [{"name": "scratch", "ephemeral": {"volumeClaimTemplate": {"spec": {}}}}]}}


def _claim(owner: str | None) -> dict:
    refs = [{"kind": "Pod", "name": "web", "uid": owner, "controller": True}] if owner else []
    return {"metadata": {"name": "web-scratch", "namespace": "ns", "ownerReferences": refs},
            "spec": {"storageClassName": "local-path"}}


def _pre_filter(pvcs: dict) -> fw.Status | None:
    return volumebinding.VolumeBinding(_Claims(pvcs)).pre_filter(fw.CycleState(), POD, [])[1]


def test_ephemeral_claim_owned_by_the_pod_is_delayed_binding() -> None:
    assert volumebinding.claim_names(POD) == ["web-scratch"]
    assert _pre_filter({("ns", "web-scratch"): _claim("u1")}) is None


def test_ephemeral_claim_not_made_yet_waits() -> None:
    status = _pre_filter({})
    assert status is not None and status.code == fw.Code.UNSCHEDULABLE_AND_UNRESOLVABLE
    assert status.reasons == ['persistentvolumeclaim "web-scratch" not found']


def test_foreign_claim_of_that_name_is_an_error() -> None:
    for claim in (_claim(None), _claim("someone-else")):
        status = _pre_filter({("ns", "web-scratch"): claim})
        assert status is not None and status.code == fw.Code.ERROR
        assert status.reasons == ["PVC ns/web-scratch was not created for pod ns/web (pod is not owner)"]
