"""Fixtures: the client tests' in-memory fake API server, a client, a fake clock, a running agent."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "client"))


import pyk8s.api  # noqa: E402,F401  (fills the scheme)
from pyk8s.client.rest import Client  # noqa: E402
from pyk8s.kubelet.simulated.agent import SimulatedAgent  # noqa: E402
from pyk8s.kubelet.simulated.nodes import NodeTemplate  # noqa: E402
from pyk8s.testing.fake_clock import FakeClock  # noqa: E402

# The client tests' fixtures (fake API server, client, fake clock), shared rather than redefined.
from tests.unit.client.conftest import client, clock, fake_server  # noqa: E402,F401


async def eventually(cond: Callable[[], Any], limit: float = 5.0) -> Any:
    """Poll (in real time: HTTP runs for real) until ``cond()`` is truthy."""
    deadline = asyncio.get_running_loop().time() + limit
    while True:
        value = cond()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def running(agent: SimulatedAgent) -> AsyncIterator[SimulatedAgent]:
    task = asyncio.create_task(agent.run())
    try:
        await eventually(lambda: agent.registered.is_set() or task.done())
        if task.done():
            task.result()
        await agent.pod_informer.wait_for_sync()
        await agent.pods.controller.ready.wait()
        yield agent
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@pytest.fixture
async def agent(client: Client, clock: FakeClock) -> AsyncIterator[SimulatedAgent]:  # noqa: F811 (pytest fixtures shared from the client tests)
    a = SimulatedAgent(client, count=3, clock=clock, template=NodeTemplate(roles=("worker",)))
    async with running(a):
        yield a
