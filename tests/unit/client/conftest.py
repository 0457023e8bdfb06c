"""Fixtures: an in-memory fake API server and a Client pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from client_fake_apiserver import FakeApiServer

import pyk8s.api  # noqa: F401  (fills the scheme)
from pyk8s.client.kubeconfig import ClientConfig
from pyk8s.client.rest import Client
from pyk8s.testing.fake_clock import FakeClock


@pytest.fixture
async def fake_server() -> AsyncIterator[FakeApiServer]:
    srv = await FakeApiServer().start()
    try:
        yield srv
    finally:
        await srv.stop()


@pytest.fixture
async def client(fake_server: FakeApiServer) -> AsyncIterator[Client]:
    c = Client(ClientConfig(server=fake_server.url), field_manager="test")
    try:
        yield c
    finally:
        await c.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
