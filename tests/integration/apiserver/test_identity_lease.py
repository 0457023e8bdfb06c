"""The kube-apiserver identity Lease: upstream's name, labels, duration, renewal, takeover and GC."""

from __future__ import annotations

import asyncio
import datetime

from pyk8s.apiserver.identitylease import IDENTITY_LABEL, IdentityLease, lease_name
from pyk8s.apiserver.registry.rest import ListOptions, WriteOptions
from pyk8s.testing.fake_clock import FakeClock
from tests.integration.apiserver.realserver import registry  # noqa: F401


def test_lease_name_is_upstreams_hash_of_the_host_name():
    name = lease_name("master-1")
    assert name.startswith("apiserver-") and len(name) == len("apiserver-") + 26
    assert name == name.lower() and set(name[10:]) <= set("abcdefghijklmnopqrstuvwxyz234567")
    assert lease_name("master-1") == name and lease_name("master-2") != name


async def _lease(reg, name):
    return await reg.store("coordination.k8s.io", "leases").get("kube-system", name)


async def test_created_with_labels_and_renewed(registry):  # noqa: F811
    clock = FakeClock()
    keeper = IdentityLease(registry, hostname="node-a", clock=clock)
    assert await keeper.renew_once()
    lease = await _lease(registry, lease_name("node-a"))
    assert lease["metadata"]["labels"] == {IDENTITY_LABEL: "kube-apiserver", "kubernetes.io/hostname": "node-a"}
    spec = lease["spec"]
    assert spec["leaseDurationSeconds"] == 3600 and spec["holderIdentity"] == keeper.holder
    assert keeper.holder.startswith(lease_name("node-a") + "_")
    task = asyncio.create_task(keeper.run())
    try:
        for _ in range(100):
            if clock.pending():
                break
            await asyncio.sleep(0.01)
        await clock.advance(10)
        for _ in range(100):
            renewed = (await _lease(registry, keeper.name))["spec"]
            if renewed["renewTime"] != spec["renewTime"]:
                break
            await asyncio.sleep(0.01)
        assert renewed["renewTime"] != spec["renewTime"] and renewed["acquireTime"] == spec["acquireTime"]
    finally:
        task.cancel()
    # A new server on the same host takes the same lease over.
    successor = IdentityLease(registry, hostname="node-a", clock=clock)
    assert await successor.renew_once()
    items = (await registry.store("coordination.k8s.io", "leases").list(
        "kube-system", ListOptions(label_selector=f"{IDENTITY_LABEL}=kube-apiserver")))["items"]
    assert [i["spec"]["holderIdentity"] for i in items] == [successor.holder]


async def test_expired_leases_of_other_servers_are_collected(registry):  # noqa: F811
    clock = FakeClock()
    store = registry.store("coordination.k8s.io", "leases")
    old = (clock.now() - datetime.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    fresh = clock.now().strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    for name, renewed, labelled in (("apiserver-gone", old, True), ("apiserver-alive", fresh, True),
                                    ("someone-else", old, False)):
        labels = {IDENTITY_LABEL: "kube-apiserver"} if labelled else {}
        await store.create("kube-system", {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                                           "metadata": {"name": name, "namespace": "kube-system", "labels": labels},
                                           "spec": {"holderIdentity": name, "leaseDurationSeconds": 3600,
                                                    "renewTime": renewed}}, WriteOptions())
    keeper = IdentityLease(registry, hostname="node-a", clock=clock)
    assert await keeper.renew_once()
    assert await keeper.collect_expired() == ["apiserver-gone"]
    left = {i["metadata"]["name"] for i in (await store.list("kube-system", ListOptions()))["items"]}
    assert left == {"apiserver-alive", "someone-else", keeper.name}
