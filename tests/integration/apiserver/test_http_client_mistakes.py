"""Client mistakes in query parameters and protected namespaces, over the real registry on SQLite:
each gets upstream's Status (400, 403 or 422), never a 500 nor a silent success (issue 9)."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import orjson
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

TOKEN = "mistakes-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
CM = "/api/v1/namespaces/default/configmaps"


@pytest.fixture
async def client(tmp_path) -> AsyncIterator[TestClient]:
    storage = open_storage(f"sqlite://{tmp_path / 'state.db'}")
    await storage.start()
    registry = build_registry(SCHEME, storage)
    await bootstrap(registry, api_address="127.0.0.1", api_port=6443)
    signer = TokenSigner(b"k" * 32)
    auth = Authenticator(tokens={TOKEN: UserInfo("admin", ("system:masters", "system:authenticated"))}, signer=signer)
    app = build_app(config=ServerConfig(data_dir=tmp_path), registry=registry, authenticator=auth,
                    readiness=Readiness(()), token_signer=signer)
    c = TestClient(TestServer(app))
    await c.start_server()
    try:
        resp = await c.post(CM, data=b'{"metadata":{"name":"a"}}', headers={**AUTH, "Content-Type": "application/json"})
        assert resp.status == 201
        yield c
    finally:
        await c.close()
        await registry.close()
        await storage.close()


async def status(resp, code: int, reason: str) -> str:
    body = await resp.json()
    assert (resp.status, body.get("kind"), body.get("reason")) == (code, "Status", reason), body
    return body["message"]


@pytest.mark.parametrize("name", ["default", "kube-system", "kube-public"])
async def test_system_namespaces_may_not_be_deleted(client, name):
    for query in ("", "?dryRun=All"):
        resp = await client.delete(f"/api/v1/namespaces/{name}{query}", headers=AUTH)
        assert await status(resp, 403, "Forbidden") == f'namespaces "{name}" is forbidden: this namespace may not be deleted'
    got = await client.get(f"/api/v1/namespaces/{name}", headers=AUTH)
    assert got.status == 200 and "deletionTimestamp" not in (await got.json())["metadata"]


async def test_other_namespaces_still_delete(client):
    body = orjson.dumps({"metadata": {"name": "scratch"}})
    assert (await client.post("/api/v1/namespaces", data=body, headers={**AUTH, "Content-Type": "application/json"})).status == 201
    assert (await client.delete("/api/v1/namespaces/scratch", headers=AUTH)).status == 200


async def test_integers_past_int64_and_malformed_ones_are_400(client):
    big = "99999999999999999999999"
    msg = await status(await client.get(f"{CM}?limit={big}", headers=AUTH), 400, "BadRequest")
    assert msg == f'strconv.ParseInt: parsing "{big}": value out of range'
    msg = await status(await client.get(f"{CM}?timeoutSeconds=abc", headers=AUTH), 400, "BadRequest")
    assert msg == 'strconv.ParseInt: parsing "abc": invalid syntax'
    msg = await status(await client.get(f"{CM}?watch=1&timeoutSeconds=abc", headers=AUTH), 400, "BadRequest")
    assert msg == 'strconv.ParseInt: parsing "abc": invalid syntax'
    # The largest int64 is a valid limit that storage can serve.
    resp = await client.get(f"{CM}?limit=9223372036854775807", headers=AUTH)
    assert resp.status == 200 and [i["metadata"]["name"] for i in (await resp.json())["items"]] == ["a"]


async def test_malformed_resource_version_on_a_get_is_400(client):
    msg = await status(await client.get(f"{CM}/a?resourceVersion=abc", headers=AUTH), 400, "BadRequest")
    assert msg == 'resourceVersion: Invalid value: "abc": strconv.ParseUint: parsing "abc": invalid syntax'
    assert (await client.get(f"{CM}/a?resourceVersion=0", headers=AUTH)).status == 200


async def test_list_options_upstream_forbids_are_422(client):
    msg = await status(await client.get(f"{CM}?resourceVersionMatch=Exact", headers=AUTH), 422, "Invalid")
    assert msg == ('ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch '
                   'is forbidden unless resourceVersion is provided')
    msg = await status(await client.get(f"{CM}?resourceVersionMatch=Exact&resourceVersion=0", headers=AUTH),
                       422, "Invalid")
    assert msg.endswith('resourceVersionMatch: Forbidden: resourceVersionMatch "exact" is forbidden for resourceVersion "0"')
    msg = await status(await client.get(f"{CM}?watch=1&resourceVersionMatch=NotOlderThan", headers=AUTH),
                       422, "Invalid")
    assert msg.endswith("resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided")


def _token(revision: int) -> str:
    doc = orjson.dumps({"v": "meta.k8s.io/v1", "rv": revision, "start": "/registry/configmaps/default/a"})
    return base64.urlsafe_b64encode(doc).decode().rstrip("=")


async def test_continue_token_with_a_revision_this_server_never_issued_is_400(client):
    for revision in (-5, 0):
        resp = await client.get(f"{CM}?limit=1&continue={_token(revision)}", headers=AUTH)
        msg = await status(resp, 400, "BadRequest")
        assert "continue key is not valid" in msg
