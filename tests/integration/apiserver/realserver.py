"""An in-process API server over the real registry on memory storage, for tests of API details.

Import ``client`` (and ``registry`` when the test needs the stores) into a test module
to use them as fixtures.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer

import pyk8s.api  # noqa: F401  (fills the scheme)
from pyk8s.apiserver.bootstrap import bootstrap
from pyk8s.apiserver.config import ServerConfig
from pyk8s.apiserver.endpoints.system import Readiness
from pyk8s.apiserver.filters.authn import Authenticator, TokenSigner, UserInfo
from pyk8s.apiserver.registry import build_registry
from pyk8s.apiserver.server import build_app
from pyk8s.machinery.scheme import SCHEME
from pyk8s.storage import open_storage

TOKEN = "api-details-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
JSON = {**AUTH, "Content-Type": "application/json"}
YAML = {**AUTH, "Content-Type": "application/yaml"}
MERGE_PATCH = {**AUTH, "Content-Type": "application/merge-patch+json"}
SMP = {**AUTH, "Content-Type": "application/strategic-merge-patch+json"}
PB = {**AUTH, "Content-Type": "application/vnd.kubernetes.protobuf"}


@pytest.fixture
async def registry():
    storage = open_storage("memory://")
    await storage.start()
    reg = build_registry(SCHEME, storage)
    await bootstrap(reg, api_address="127.0.0.1", api_port=6443)
    try:
        yield reg
    finally:
        await reg.close()
        await storage.close()


@pytest.fixture
async def client(tmp_path, registry) -> AsyncIterator[TestClient]:
    signer = TokenSigner(b"k" * 32)
    auth = Authenticator(tokens={TOKEN: UserInfo("admin", ("system:masters", "system:authenticated"))}, signer=signer)
    app = build_app(config=ServerConfig(data_dir=tmp_path), registry=registry, authenticator=auth,
                    readiness=Readiness(()), token_signer=signer)
    c = TestClient(TestServer(app))
    await c.start_server()
    try:
        yield c
    finally:
        await c.close()
