"""SchedulerDaemon: the scheduler runs only while holding kube-system/kube-scheduler, against a fake API server.

(The fake server cannot filter pods by ``status.phase!=...``, so binding is
checked end to end in tests/e2e/controlplane instead.)"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "client"))
from client_fake_apiserver import FakeApiServer  # noqa: E402

import pyk8s.api  # noqa: E402,F401
from pyk8s.client.kubeconfig import ClientConfig  # noqa: E402
from pyk8s.client.rest import Client  # noqa: E402
from pyk8s.client.tools.leaderelection import LEASES  # noqa: E402
from pyk8s.daemons.election import LeaseSettings  # noqa: E402
from pyk8s.daemons.scheduler import SchedulerDaemon  # noqa: E402

PODS = Client.resource("", "v1", "pods", namespaced=True)
NODES = Client.resource("", "v1", "nodes", namespaced=False)
FAST = LeaseSettings(lease_duration=3.0, renew_deadline=2.0, retry_period=0.2)


@pytest.fixture
async def api() -> AsyncIterator[tuple[FakeApiServer, Client]]:
    srv = await FakeApiServer().start()
    client = Client(ClientConfig(server=srv.url))
    try:
        yield srv, client
    finally:
        await client.close()
        await srv.stop()


def lease(srv: FakeApiServer) -> dict:
    return srv.objects[("coordination.k8s.io/v1/leases", "kube-system", "kube-scheduler")]


async def add_node_and_pod(client: Client) -> None:
    await client.create(NODES, {"metadata": {"name": "n1", "labels": {"kubernetes.io/hostname": "n1"}},
                                "status": {"allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"},
                                           "conditions": [{"type": "Ready", "status": "True"}]}})
    await client.create(PODS, {"metadata": {"name": "p", "namespace": "default"},
                               "spec": {"schedulerName": "default-scheduler",
                                        "containers": [{"name": "c", "image": "x"}]},
                               "status": {"phase": "Pending"}}, namespace="default")


async def node_of(client: Client) -> str:
    pod = await client.get(PODS, "p", namespace="default")
    return str(pod["spec"].get("nodeName") or "")


async def test_leader_schedules_then_releases_the_lease(api) -> None:  # type: ignore[no-untyped-def]
    srv, client = api
    await add_node_and_pod(client)
    daemon = SchedulerDaemon(client, election=FAST)
    task = asyncio.create_task(daemon.run())
    try:
        await asyncio.wait_for(daemon.ready.wait(), 10)
        spec = lease(srv)["spec"]
        assert spec["holderIdentity"] == daemon.identity and spec["leaseDurationSeconds"] == 3
        assert daemon.scheduler is not None and "n1" in daemon.scheduler.cache._nodes
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert lease(srv)["spec"]["holderIdentity"] == ""  # a successor need not wait for expiry
    assert not daemon.ready.is_set()


async def test_standby_does_not_schedule(api) -> None:  # type: ignore[no-untyped-def]
    srv, client = api
    await client.create(LEASES, {"metadata": {"name": "kube-scheduler", "namespace": "kube-system"},
                                 "spec": {"holderIdentity": "other_1", "leaseDurationSeconds": 15}},
                        namespace="kube-system")
    await add_node_and_pod(client)
    daemon = SchedulerDaemon(client, election=FAST)
    task = asyncio.create_task(daemon.run())
    await asyncio.sleep(0.6)
    try:
        assert not daemon.ready.is_set() and daemon.scheduler is None
        assert await node_of(client) == ""
        assert lease(srv)["spec"]["holderIdentity"] == "other_1"
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert lease(srv)["spec"]["holderIdentity"] == "other_1"  # not ours to release


async def test_without_leader_election_no_lease_is_written(api) -> None:  # type: ignore[no-untyped-def]
    srv, client = api
    await add_node_and_pod(client)
    daemon = SchedulerDaemon(client, election=LeaseSettings(enabled=False))
    task = asyncio.create_task(daemon.run())
    try:
        await asyncio.wait_for(daemon.ready.wait(), 10)
        assert daemon.scheduler is not None
        assert not [k for k in srv.objects if k[0].endswith("leases")]
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_custom_lease_name_and_bad_timings() -> None:
    client = Client(ClientConfig(server="http://127.0.0.1:1"))
    daemon = SchedulerDaemon(client, election=LeaseSettings(resource_name="my-scheduler"))
    assert daemon.lease_name == "my-scheduler"
    with pytest.raises(ValueError, match="leader election"):
        SchedulerDaemon(client, election=LeaseSettings(lease_duration=10, renew_deadline=10))
    assert SchedulerDaemon(client).identity != SchedulerDaemon(client).identity
