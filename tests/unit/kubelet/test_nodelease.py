"""The node Lease: created, renewed by PUT, re-created when deleted, owned by the Node."""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "client"))  # the client tests' fake API server

from client_fake_apiserver import FakeApiServer  # noqa: E402

from pyk8s.client.rest import Client  # noqa: E402
from pyk8s.kubelet import nodelease  # noqa: E402
from pyk8s.testing.fake_clock import FakeClock  # noqa: E402
from tests.unit.client.conftest import client, clock, fake_server  # noqa: E402,F401

KEY = ("coordination.k8s.io/v1/leases", "kube-node-lease", "n1")


def requests(srv: FakeApiServer, method: str) -> int:
    return sum(1 for m, p, _, _ in srv.requests if m == method and "/leases" in p)


async def test_renewals(client: Client, fake_server: FakeApiServer, clock: FakeClock) -> None:  # noqa: F811
    await nodelease.ensure_namespace(client)
    await nodelease.ensure_namespace(client)  # idempotent
    leases = nodelease.NodeLeases(client, clock=clock)
    first = await leases.renew("n1")
    assert first["spec"]["holderIdentity"] == "n1" and first["spec"]["leaseDurationSeconds"] == 40
    assert "ownerReferences" not in first["metadata"]  # the Node's uid is not known yet
    await clock.advance(10)
    second = await leases.renew("n1", "node-uid")
    assert second["spec"]["renewTime"] != first["spec"]["renewTime"]
    assert second["metadata"]["ownerReferences"] == [{"apiVersion": "v1", "kind": "Node", "name": "n1",
                                                      "uid": "node-uid"}]
    assert requests(fake_server, "PUT") == 1 and requests(fake_server, "GET") == 0  # renewals need no GET
    del fake_server.objects[KEY]  # someone deleted it: re-created on the next renewal
    third = await leases.renew("n1", "node-uid")
    assert third["metadata"]["ownerReferences"][0]["uid"] == "node-uid" and KEY in fake_server.objects


async def test_an_existing_lease_is_adopted(client: Client, fake_server: FakeApiServer,  # noqa: F811
                                            clock: FakeClock) -> None:  # noqa: F811
    await nodelease.ensure_namespace(client)
    await nodelease.NodeLeases(client, clock=clock).renew("n1")
    await clock.advance(10)
    adopted = await nodelease.NodeLeases(client, clock=clock).renew("n1")  # a restarted kubelet
    assert adopted["spec"]["renewTime"] == nodelease.format_micro_time(clock.now())
