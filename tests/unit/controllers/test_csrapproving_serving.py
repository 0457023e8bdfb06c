"""pyk8s's one deviation in CSR approving: a kubelet's own serving request, for exactly its node's addresses."""

from __future__ import annotations

from typing import Any

import pytest

from pyk8s.api import certificates_v1 as certs
from pyk8s.controllers import csrapproving
from pyk8s.testing import csrs

from .csr_stubs import StubClient, context

USAGES = ["digital signature", "key encipherment", "server auth"]
NODE = {"metadata": {"name": "n1"}, "status": {"addresses": [
    {"type": "InternalIP", "address": "10.0.0.5"}, {"type": "Hostname", "address": "n1.example"}]}}


def _serving_csr(requester: str = "system:node:n1", groups: tuple[str, ...] = ("system:nodes",),
                 cn: str = "system:node:n1", dns: tuple[str, ...] = ("n1.example",),
                 ips: tuple[str, ...] = ("10.0.0.5",), usages: list[str] | None = None) -> dict[str, Any]:
    return csrs.csr_object("c", csrs.request_pem(cn, ("system:nodes",), dns=dns, ips=ips), certs.KUBELET_SERVING,
                           usages or USAGES, username=requester, groups=list(groups))


async def _sync(csr: dict[str, Any], node: dict[str, Any] | None = NODE) -> StubClient:
    client = StubClient(allow=lambda spec: True)
    ctl = csrapproving.new(context(client))
    ctl.csrs.lister.objects["c"] = csr
    if node is not None:
        ctl.nodes.lister.objects["n1"] = node
    await ctl.sync("c")
    return client


async def test_the_nodes_own_request_for_its_addresses_is_approved_without_a_review() -> None:
    client = await _sync(_serving_csr())
    ((verb, sub, obj),) = client.calls
    assert (verb, sub) == ("update", "approval")
    assert obj["status"]["conditions"] == [{"type": "Approved", "status": "True", "reason": "AutoApproved",
                                            "message": csrapproving.SERVING_MESSAGE}]


@pytest.mark.parametrize("csr", [
    _serving_csr(requester="system:node:n2", cn="system:node:n1"),  # another node asks for n1
    _serving_csr(requester="kubernetes-admin", groups=("system:masters",)),
    _serving_csr(groups=("system:authenticated",)),  # not in system:nodes
    _serving_csr(ips=("10.0.0.5", "10.0.0.99")),  # an address the node does not have
    _serving_csr(dns=("n1.example", "evil.example")),
    _serving_csr(ips=()),  # fewer than the node's: not exactly its names
    _serving_csr(usages=["digital signature", "key encipherment", "client auth"]),
])
async def test_anything_else_stays_pending(csr: dict[str, Any]) -> None:
    assert (await _sync(csr)).calls == []


async def test_a_node_not_registered_yet_is_retried() -> None:
    with pytest.raises(csrapproving.NotApproved):
        await _sync(_serving_csr(), node=None)


async def test_an_approved_request_is_left_alone() -> None:
    csr = _serving_csr()
    csr["status"] = {"conditions": [{"type": "Approved", "status": "True"}]}
    assert (await _sync(csr)).calls == []
