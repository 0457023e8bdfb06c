"""Controller clients as kube-system ServiceAccounts: the account made when missing, a TokenRequest token
used as the bearer (no client certificate), renewed before it runs out, the renewal stopped on close."""

from __future__ import annotations

import asyncio
from typing import Any

from pyk8s.client.errors import ApiError
from pyk8s.client.kubeconfig import ClientConfig
from pyk8s.client.rest import Client
from pyk8s.controllers import serviceaccountclients


class FakeRoot(Client):
    """The controller manager's own client: answers the account reads and TokenRequests."""

    def __init__(self) -> None:
        super().__init__(ClientConfig(server="https://127.0.0.1:1", cert_pem=b"cert", key_pem=b"key"))
        self.accounts: set[str] = set()
        self.requests: list[tuple[str, Any]] = []

    async def get(self, rt: Any, name: str, **kwargs: Any) -> dict:
        if name not in self.accounts:
            raise ApiError({"code": 404, "reason": "NotFound", "message": f'serviceaccounts "{name}" not found'})
        return {"metadata": {"name": name}}

    async def create(self, rt: Any, obj: dict, **kwargs: Any) -> dict:
        self.accounts.add(obj["metadata"]["name"])
        return obj

    async def request(self, method: str, path: str, **kwargs: Any) -> dict:
        self.requests.append((path, kwargs.get("body")))
        # A short life, so the renewal (at 80 %) comes quickly.
        return {"spec": {"expirationSeconds": 1}, "status": {"token": f"token-{len(self.requests)}"}}


async def test_token_client_runs_as_the_account_and_renews() -> None:
    root = FakeRoot()
    client = await serviceaccountclients.open_client(root, "endpointslicemirroring-controller", user_agent="ua")
    try:
        assert root.accounts == {"endpointslicemirroring-controller"}  # made, as upstream's client builder does
        path, body = root.requests[0]
        assert path == "/api/v1/namespaces/kube-system/serviceaccounts/endpointslicemirroring-controller/token"
        assert body["spec"] == {"expirationSeconds": serviceaccountclients.EXPIRATION_SECONDS}
        assert (client.config.token, client.config.cert_pem, client.config.key_pem) == ("token-1", b"", b"")
        session = client.session()
        assert session.headers["Authorization"] == "Bearer token-1"
        deadline = asyncio.get_running_loop().time() + 20
        while client.config.token == "token-1":
            assert asyncio.get_running_loop().time() < deadline, "the token was never renewed"
            await asyncio.sleep(0.05)
        assert session.headers["Authorization"] == f"Bearer {client.config.token}"  # the open session too
    finally:
        await client.close()
    renewal = client._renewal
    assert renewal.done()
    seen = len(root.requests)
    await asyncio.sleep(1.0)
    assert len(root.requests) == seen  # no renewal after close
