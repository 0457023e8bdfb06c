"""A real ``pyk8s server`` subprocess and a controller manager running in-process against it.

If the server cannot store objects yet, the tests are skipped with that reason.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator

import orjson
import pytest

import pyk8s.api  # noqa: F401  (fills the scheme)
from pyk8s.client.rest import Client
from pyk8s.controllers.manager import ControllerManager
from pyk8s.testing.cluster import ServerProcess


@pytest.fixture(scope="session")
def api_server() -> Iterator[ServerProcess]:
    try:
        srv = ServerProcess().start()
    except (RuntimeError, TimeoutError, OSError) as exc:
        pytest.skip(f"pyk8s server does not start: {exc}")
    try:
        probe = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "probe-" + uuid.uuid4().hex[:6]}}
        code, body = srv.request("POST", "/api/v1/namespaces/default/configmaps", orjson.dumps(probe),
                                 headers={"Content-Type": "application/json"})
        if code != 201:
            pytest.skip(f"pyk8s server cannot store configmaps yet: {code} {body[:200]!r}")
        yield srv
    finally:
        srv.close()


@pytest.fixture
async def client(api_server: ServerProcess) -> AsyncIterator[Client]:
    c = Client.from_kubeconfig(api_server.kubeconfig, field_manager="controllers-it")
    try:
        yield c
    finally:
        await c.close()


@pytest.fixture
async def manager(api_server: ServerProcess) -> AsyncIterator[ControllerManager]:
    """Every built-in controller, running until the test ends."""
    c = Client.from_kubeconfig(api_server.kubeconfig, field_manager="kube-controller-manager")
    cm = ControllerManager(c, controllers=["*"])
    task = asyncio.create_task(cm.run())
    try:
        await asyncio.wait_for(cm.ready.wait(), 20)
        yield cm
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await c.close()
