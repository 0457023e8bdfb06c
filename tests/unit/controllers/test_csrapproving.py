"""The CSR approver: kubelet client requests approved after a SubjectAccessReview, nothing else."""

from __future__ import annotations

from typing import Any

import pytest

from pyk8s.api import certificates_v1 as certs
from pyk8s.controllers import csrapproving
from pyk8s.testing import csrs

from .csr_stubs import StubClient, context

USAGES = ["digital signature", "key encipherment", "client auth"]


def _node_csr(requester: str, groups: list[str], cn: str = "system:node:n1") -> dict[str, Any]:
    return csrs.csr_object("c", csrs.request_pem(cn, ("system:nodes",)), certs.KUBE_APISERVER_CLIENT_KUBELET, USAGES,
                           username=requester, groups=groups)


def test_recognizers() -> None:
    bootstrap = _node_csr("system:bootstrap:abcdef", ["system:bootstrappers", "system:authenticated"])
    assert [r.subresource for r in csrapproving.recognized(bootstrap)] == ["nodeclient"]
    renewal = _node_csr("system:node:n1", ["system:nodes", "system:authenticated"])
    assert [r.subresource for r in csrapproving.recognized(renewal)] == ["selfnodeclient", "nodeclient"]
    user = csrs.csr_object("c", csrs.request_pem("alice"), certs.KUBE_APISERVER_CLIENT, ["client auth"],
                           username="alice")
    assert csrapproving.recognized(user) == []
    wrong_subject = _node_csr("system:node:n1", ["system:nodes"], cn="alice")
    assert csrapproving.recognized(wrong_subject) == []
    decided = _node_csr("system:node:n1", ["system:nodes"])
    decided["status"] = {"conditions": [{"type": "Denied", "status": "True"}]}
    assert csrapproving.recognized(decided) == []


async def test_allowed_requester_is_approved_through_the_approval_subresource() -> None:
    client = StubClient(allow=lambda spec: "system:bootstrappers" in spec["groups"]
                        and spec["resourceAttributes"]["subresource"] == "nodeclient")
    ctl = csrapproving.new(context(client))
    ctl.csrs.lister.objects["c"] = _node_csr("system:bootstrap:abcdef", ["system:bootstrappers"])
    await ctl.sync("c")
    (verb, plural, review), (verb2, sub, obj) = client.calls
    assert (verb, plural) == ("create", "subjectaccessreviews")
    assert review["spec"] == {"user": "system:bootstrap:abcdef", "groups": ["system:bootstrappers"],
                              "resourceAttributes": {"group": "certificates.k8s.io", "version": "*", "verb": "create",
                                                     "resource": "certificatesigningrequests",
                                                     "subresource": "nodeclient"}}
    assert (verb2, sub) == ("update", "approval")
    assert obj["status"]["conditions"] == [{
        "type": "Approved", "status": "True", "reason": "AutoApproved",
        "message": "Auto approving kubelet client certificate after SubjectAccessReview."}]


async def test_self_renewal_uses_selfnodeclient_first() -> None:
    client = StubClient(allow=lambda spec: spec["resourceAttributes"]["subresource"] == "selfnodeclient")
    ctl = csrapproving.new(context(client))
    ctl.csrs.lister.objects["c"] = _node_csr("system:node:n1", ["system:nodes"])
    await ctl.sync("c")
    assert [c[1] for c in client.calls] == ["subjectaccessreviews", "approval"]
    assert client.calls[1][2]["status"]["conditions"][0]["message"] == \
        "Auto approving self kubelet client certificate after SubjectAccessReview."


async def test_a_refused_review_leaves_the_request_pending_and_retries() -> None:
    client = StubClient(allow=lambda spec: False)
    ctl = csrapproving.new(context(client))
    ctl.csrs.lister.objects["c"] = _node_csr("mallory", ["system:authenticated"])
    with pytest.raises(csrapproving.NotApproved):
        await ctl.sync("c")
    assert [c[0] for c in client.calls] == ["create"]
