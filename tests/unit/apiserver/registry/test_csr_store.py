"""The CertificateSigningRequest store: requester from the authenticated user, approval and status rules."""

from __future__ import annotations

import base64
import copy
import datetime
import tempfile
from pathlib import Path
from typing import Any

import pytest

from pyk8s.api import certificates_v1 as certs
from pyk8s.apiserver.authorization import context as authz_context
from pyk8s.apiserver.filters.authn import UserInfo
from pyk8s.apiserver.registry import Registry
from pyk8s.apiserver.registry.rest import ListOptions, WriteOptions
from pyk8s.machinery.errors import StatusError
from pyk8s.testing import csrs
from pyk8s.util import pki

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


async def test_field_selector_on_signer_name(registry: Registry) -> None:
    s = store(registry, "certificates.k8s.io", "certificatesigningrequests")
    await s.create("", _csr("a"), ALICE)
    await s.create("", _csr("b", signerName="example.com/other"), ALICE)
    out = await s.list("", ListOptions(field_selector="spec.signerName=example.com/other"))
    assert [i["metadata"]["name"] for i in out["items"]] == ["b"]


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


class _Authorizer:
    """Allows exactly the (verb, signers name) pairs given."""

    def __init__(self, *allowed: tuple[str, str]) -> None:
        self.allowed_pairs = set(allowed)
        self.asked: list[tuple[str, str, str]] = []

    async def allowed(self, attrs: Any) -> bool:
        self.asked.append((attrs.verb, attrs.resource, attrs.name))
        return (attrs.verb, attrs.name) in self.allowed_pairs


def _as(user: UserInfo, authorizer: _Authorizer) -> Any:
    return authz_context.REQUEST.set(authz_context.RequestContext(user, authorizer))  # type: ignore[arg-type]


async def test_requester_uid_and_extra_come_from_the_authenticated_user(registry: Registry) -> None:
    s = store(registry, "certificates.k8s.io", "certificatesigningrequests")
    token = _as(UserInfo("bob", ("g1",), "u-1", {"scopes": ["a"]}), _Authorizer())
    try:
        out = await s.create("", _csr(), WriteOptions(user="bob"))
    finally:
        authz_context.REQUEST.reset(token)
    assert {k: out["spec"].get(k) for k in ("username", "groups", "uid", "extra")} == {
        "username": "bob", "groups": ["g1"], "uid": "u-1", "extra": {"scopes": ["a"]}}


async def test_approving_needs_approve_on_the_signer(registry: Registry) -> None:
    s = store(registry, "certificates.k8s.io", "certificatesigningrequests")
    created = await s.create("", _csr(), ALICE)
    body = copy.deepcopy(created)
    body["status"] = {"conditions": [{"type": "Approved", "status": "True", "reason": "R"}]}
    authz = _Authorizer()
    token = _as(UserInfo("carol"), authz)
    try:
        with pytest.raises(StatusError) as info:
            await s.update("", "c", body, WriteOptions(user="carol"), subresource="approval")
        assert info.value.code == 403
        assert info.value.message == ('certificatesigningrequests.certificates.k8s.io "c" is forbidden: user not '
                                      'permitted to approve requests with signerName '
                                      '"kubernetes.io/kube-apiserver-client"')
        assert authz.asked == [("approve", "signers", "kubernetes.io/kube-apiserver-client"),
                               ("approve", "signers", "kubernetes.io/*")]
        authz.allowed_pairs.add(("approve", "kubernetes.io/*"))
        out, _ = await s.update("", "c", body, WriteOptions(user="carol"), subresource="approval")
        assert out["status"]["conditions"][0]["type"] == "Approved"
        issued = copy.deepcopy(out)
        issued["status"]["certificate"] = _certificate_b64()
        with pytest.raises(StatusError) as info:
            await s.update("", "c", issued, WriteOptions(user="carol"), subresource="status")
        assert "user not permitted to sign requests with signerName" in info.value.message
        authz.allowed_pairs.add(("sign", "kubernetes.io/kube-apiserver-client"))
        done, _ = await s.update("", "c", issued, WriteOptions(user="carol"), subresource="status")
        assert done["status"]["certificate"]
    finally:
        authz_context.REQUEST.reset(token)


def _certificate_b64() -> str:
    with tempfile.TemporaryDirectory() as d:
        ca = pki.create_ca(Path(d) / "ca.crt", Path(d) / "ca.key")
        pem = pki.Signer.load(ca.cert_path, ca.key_path).sign(csrs.request_pem("alice"), ["client auth"],
                                                              datetime.timedelta(hours=1))
    return base64.b64encode(pem).decode()
