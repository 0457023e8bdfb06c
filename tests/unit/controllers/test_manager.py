"""Controller manager: selection, plug-in registry, readiness, leader election."""

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
from pyk8s.controllers import manager  # noqa: E402
from pyk8s.controllers.manager import (  # noqa: E402
    ControllerContext,  # noqa: E402
    ControllerManager,
    Registration,
    select_controllers,
)


def test_select_controllers_star_names_and_negation() -> None:
    reg = {"a": Registration("x:y"), "b": Registration("x:y"), "c": Registration("x:y", enabled_by_default=False)}
    assert select_controllers(["*"], reg) == ["a", "b"]
    assert select_controllers(["*", "-a"], reg) == ["b"]
    assert select_controllers(["*", "c"], reg) == ["a", "b", "c"]
    assert select_controllers(["c"], reg) == ["c"]
    assert select_controllers([], reg) == ["a", "b"]
    with pytest.raises(ValueError, match="unknown controllers: nope"):
        select_controllers(["nope"], reg)


def test_builtin_factories_resolve() -> None:
    for name in manager.BUILTIN:
        assert callable(Registration(manager.BUILTIN[name]).resolve())


class Probe:
    """A plugged-in controller recording that it ran."""

    started: list[str] = []

    def __init__(self, ctx: ControllerContext) -> None:
        self.ready = asyncio.Event()
        self.ctx = ctx

    async def run(self) -> None:
        Probe.started.append(self.ctx.options.get("tag", ""))
        self.ready.set()
        await asyncio.Event().wait()


@pytest.fixture
async def server() -> AsyncIterator[tuple[FakeApiServer, Client]]:
    srv = await FakeApiServer().start()
    client = Client(ClientConfig(server=srv.url))
    manager.register("probe-controller", Probe, enabled_by_default=False)
    Probe.started = []
    try:
        yield srv, client
    finally:
        manager.REGISTRY.pop("probe-controller", None)
        await client.close()
        await srv.stop()


async def test_all_builtin_controllers_start_and_become_ready(server) -> None:
    srv, client = server
    cm = ControllerManager(client, controllers=["*", "probe-controller"], options={"tag": "t"})
    task = asyncio.create_task(cm.run())
    try:
        await asyncio.wait_for(cm.ready.wait(), 10)
        assert set(cm.running) == set(manager.BUILTIN) | {"probe-controller"}
        assert Probe.started == ["t"]
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_leader_election_takes_lease_before_running(server) -> None:
    srv, client = server
    cm = ControllerManager(client, controllers=["probe-controller"], leader_elect=True)
    task = asyncio.create_task(cm.run())
    try:
        await asyncio.wait_for(cm.ready.wait(), 10)
        lease = srv.objects[("coordination.k8s.io/v1/leases", "kube-system", "kube-controller-manager")]
        holder = lease["spec"]["holderIdentity"]
        assert holder == cm.identity and "_" in holder and holder.split("_", 1)[0]
        assert Probe.started == [""]
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    # Released on shutdown so a successor need not wait.
    lease = srv.objects[("coordination.k8s.io/v1/leases", "kube-system", "kube-controller-manager")]
    assert lease["spec"]["holderIdentity"] == ""


async def test_standby_does_not_run_controllers(server) -> None:
    srv, client = server
    await client.create(LEASES, {
        "metadata": {"name": "kube-controller-manager", "namespace": "kube-system"},
        "spec": {"holderIdentity": "other_1", "leaseDurationSeconds": 15}}, namespace="kube-system")
    cm = ControllerManager(client, controllers=["probe-controller"], leader_elect=True)
    task = asyncio.create_task(cm.run())
    await asyncio.sleep(0.3)
    assert Probe.started == [] and not cm.ready.is_set()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
