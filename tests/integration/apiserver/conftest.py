"""An in-process API server app over the fake registry, reached with aiohttp's test client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aiohttp.test_utils import TestClient, TestServer

import pyk8s.api  # noqa: F401  (fills the scheme)
from pyk8s.apiserver.config import ServerConfig
from pyk8s.apiserver.endpoints.system import Readiness
from pyk8s.apiserver.filters.authn import Authenticator, TokenSigner, UserInfo
from pyk8s.apiserver.server import build_app
from tests.integration.apiserver.fakes import FakeRegistry

TOKEN = "test-admin-token"
AUTH = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}


@dataclass
class Harness:
    client: TestClient
    registry: FakeRegistry
    readiness: Readiness
    signer: TokenSigner


@pytest.fixture
async def api(tmp_path) -> AsyncIterator[Harness]:
    registry = FakeRegistry()
    readiness = Readiness(("storage",))
    signer = TokenSigner(b"k" * 32)
    auth = Authenticator(tokens={TOKEN: UserInfo("admin", ("system:masters", "system:authenticated"))}, signer=signer)
    app = build_app(config=ServerConfig(data_dir=tmp_path), registry=registry, authenticator=auth,
                    readiness=readiness, token_signer=signer)
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield Harness(client, registry, readiness, signer)
    finally:
        await client.close()
