"""The CertificateSigningRequest store: requester from the authenticated user, approval and status rules."""

from __future__ import annotations

import copy

import pytest

from pyk8s.api import certificates_v1 as certs
from pyk8s.apiserver.registry import Registry
from pyk8s.apiserver.registry.rest import WriteOptions
from pyk8s.machinery.errors import StatusError
from pyk8s.testing import csrs

from .helpers import store

ALICE = WriteOptions(user="alice", groups=("devs", "system:authenticated"))


def _csr(name: str = "c", **spec: object) -> dict:
    obj = csrs.csr_object(name, csrs.request_pem("alice"), certs.KUBE_APISERVER_CLIENT, ["client auth"])
    obj["spec"].update(spec)
    return obj


async def test_requester_comes_from_the_user_not_the_body(registry: Registry) -> None:
    s = store(registry, "certificates.k8s.io", "certificatesigningrequests")
    out = await s.create("", _csr(username="admin", groups=["system:masters"], uid="x"), ALICE)
    assert out["spec"]["username"] == "alice"
    assert out["spec"]["groups"] == ["devs", "system:authenticated"]
    assert "uid" not in out["spec"] and "status" not in out
    assert "generation" not in out["metadata"]


async def test_a_created_request_cannot_be_pre_approved(registry: Registry) -> None:
    s = store(registry, "certificates.k8s.io", "certificatesigningrequests")
    obj = _csr()
    obj["status"] = {"conditions": [csrs.approved()], "certificate": "eA=="}
    out = await s.create("", obj, ALICE)
    assert "status" not in out


async def test_approval_subresource_adds_conditions_and_keeps_the_rest(registry: Registry) -> None:
    s = store(registry, "certificates.k8s.io", "certificatesigningrequests")
    created = await s.create("", _csr(), ALICE)
    body = copy.deepcopy(created)
    body["spec"]["usages"] = ["server auth"]  # ignored: approval changes conditions only
    body["status"] = {"conditions": [{"type": "Approved", "reason": "KubectlApprove", "message": "ok"}]}
    out, _ = await s.update("", "c", body, WriteOptions(user="admin"), subresource="approval")
    assert out["spec"]["usages"] == ["client auth"]
    [cond] = out["status"]["conditions"]
    assert cond["status"] == "True" and cond["lastUpdateTime"] and cond["lastTransitionTime"]
    denied = copy.deepcopy(out)
    denied["status"]["conditions"].append({"type": "Denied", "status": "True"})
    with pytest.raises(StatusError) as info:
        await s.update("", "c", denied, WriteOptions(), subresource="approval")
    assert info.value.code == 422
    assert "Approved and Denied conditions are mutually exclusive" in info.value.message
    removed = copy.deepcopy(out)
    removed["status"]["conditions"] = []
    with pytest.raises(StatusError) as info:
        await s.update("", "c", removed, WriteOptions(), subresource="approval")
    assert 'updates may not remove a condition of type \\"Approved\\"' in info.value.message or \
        'updates may not remove a condition of type "Approved"' in info.value.message


async def test_status_subresource_may_not_approve_and_main_update_keeps_spec_and_status(registry: Registry) -> None:
    s = store(registry, "certificates.k8s.io", "certificatesigningrequests")
    created = await s.create("", _csr(), ALICE)
    body = copy.deepcopy(created)
    body["status"] = {"conditions": [csrs.approved()]}
    with pytest.raises(StatusError) as info:
        await s.update("", "c", body, WriteOptions(), subresource="status")
    assert 'updates may not add a condition of type "Approved"' in info.value.message
    body["spec"]["signerName"] = "example.com/other"
    body["metadata"]["labels"] = {"a": "b"}
    out, _ = await s.update("", "c", body, WriteOptions())
    assert out["spec"]["signerName"] == certs.KUBE_APISERVER_CLIENT and "status" not in out
    assert out["metadata"]["labels"] == {"a": "b"}
