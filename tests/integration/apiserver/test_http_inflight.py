"""Requests in flight are bounded as kube-apiserver's --max-requests-inflight and
--max-mutating-requests-inflight bound them: 429 with Retry-After over the bound, watches and
system:masters exempt."""

from __future__ import annotations

import asyncio

import orjson
import pytest
from aiohttp.test_utils import TestClient, TestServer

import pyk8s.api  # noqa: F401
from pyk8s.apiserver.config import ServerConfig
from pyk8s.apiserver.endpoints.system import Readiness
from pyk8s.apiserver.filters.authn import Authenticator, TokenSigner, UserInfo
from pyk8s.apiserver.server import build_app
from pyk8s.machinery.scheme import SCHEME
from tests.integration.apiserver.fakes import FakeRegistry

ADMIN = "admin-token"
USER = "user-token"  # a static token of a user outside system:masters
CM = "/api/v1/namespaces/default/configmaps"


@pytest.fixture
async def limited(tmp_path):
    """A server with one read and one write slot, a blocking configmap store, and a non-admin token."""
    registry = FakeRegistry()
    store = registry.storage_for(SCHEME.get("", "v1", "configmaps"))
    gate = asyncio.Event()
    entered = asyncio.Event()
    original_get, original_create = store.get, store.create

    async def slow_get(*args, **kwargs):
        entered.set()
        await gate.wait()
        return await original_get(*args, **kwargs)

    async def slow_create(*args, **kwargs):
        entered.set()
        await gate.wait()
        return await original_create(*args, **kwargs)

    store.get, store.create = slow_get, slow_create
    signer = TokenSigner(b"k" * 32)
    auth = Authenticator(tokens={ADMIN: UserInfo("admin", ("system:masters", "system:authenticated")),
                                 USER: UserInfo("bob", ("system:authenticated",))}, signer=signer)
    config = ServerConfig(data_dir=tmp_path, max_requests_inflight=1, max_mutating_requests_inflight=1)
    app = build_app(config=config, registry=registry, authenticator=auth, readiness=Readiness(), token_signer=signer)
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield client, gate, entered, {"Authorization": f"Bearer {USER}"}
    finally:
        gate.set()
        await client.close()


def _cm(name: str) -> bytes:
    return orjson.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}})


async def _assert_throttled(resp) -> None:
    assert resp.status == 429
    assert resp.headers["Retry-After"] == "1"
    body = await resp.json()
    assert (body["kind"], body["reason"], body["code"]) == ("Status", "TooManyRequests", 429)
    assert body["message"] == "Too many requests, please try again later."


async def test_reads_over_the_bound_get_429_while_watches_and_admins_pass(limited):
    client, gate, entered, user = limited
    slow = asyncio.create_task(client.get(CM + "/x", headers=user))
    await asyncio.wait_for(entered.wait(), 5)
    await _assert_throttled(await client.get(CM, headers=user))
    watch = await client.get(CM + "?watch=1&timeoutSeconds=1", headers=user)  # long-running: not counted
    assert watch.status == 200
    assert (await client.get(CM, headers={"Authorization": f"Bearer {ADMIN}"})).status == 200
    # Writes have their own bound.
    assert (await client.delete("/api/v1/namespaces/default/secrets/nothing", headers=user)).status == 404
    gate.set()
    assert (await slow).status == 404
    assert (await client.get(CM, headers=user)).status == 200  # the slot is free again


async def test_writes_over_the_bound_get_429(limited):
    client, gate, entered, user = limited
    headers = {**user, "Content-Type": "application/json"}
    slow = asyncio.create_task(client.post(CM, data=_cm("a"), headers=headers))
    await asyncio.wait_for(entered.wait(), 5)
    await _assert_throttled(await client.post(CM, data=_cm("b"), headers=headers))
    assert (await client.get(CM, headers=user)).status == 200  # reads have their own bound
    gate.set()
    assert (await slow).status == 201
    assert (await client.post(CM, data=_cm("b"), headers=headers)).status == 201
