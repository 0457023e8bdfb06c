"""Clients that run as a kube-system ServiceAccount, with tokens from the TokenRequest API.

Upstream's controller manager, with ``--use-service-account-credentials``, makes each controller's
client this way (client-go's dynamic client builder): with its own credentials it makes sure the
account exists in ``kube-system``, asks ``serviceaccounts/<name>/token`` for a bound token (an hour),
and renews it before it runs out.  ``system:kube-controller-manager`` may do exactly that (create
and get ServiceAccounts, create ``serviceaccounts/token``).

``open_client(root, account)`` returns a ``TokenClient``: a ``Client`` whose requests carry the
account's token; a background task renews it at 80 % of its life (and re-reads the account, so a
deleted and recreated account gets a token for its new uid).  ``close()`` stops the renewal.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from typing import Any

from pyk8s.client.errors import ApiError
from pyk8s.client.rest import Client, DynamicResource

log = logging.getLogger(__name__)

NAMESPACE = "kube-system"
SERVICE_ACCOUNTS = DynamicResource("", "v1", "serviceaccounts", True, "ServiceAccount")
#: Upstream's default token life for controller clients; renewed at ``RENEW_AT`` of it.
EXPIRATION_SECONDS = 3600
RENEW_AT = 0.8
RETRY_SECONDS = 10.0


async def ensure_account(root: Client, account: str) -> None:
    """Get or create ``kube-system/<account>``."""
    try:
        await root.get(SERVICE_ACCOUNTS, account, namespace=NAMESPACE)
        return
    except ApiError as exc:
        if exc.code != 404:
            raise
    try:
        await root.create(SERVICE_ACCOUNTS, {"apiVersion": "v1", "kind": "ServiceAccount",
                                             "metadata": {"name": account, "namespace": NAMESPACE}},
                          namespace=NAMESPACE)
    except ApiError as exc:
        if exc.code != 409:
            raise


async def request_token(root: Client, account: str, expiration: int = EXPIRATION_SECONDS) -> tuple[str, int]:
    """A fresh bound token for the account and the seconds it lives."""
    await ensure_account(root, account)
    body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
            "spec": {"expirationSeconds": expiration}}
    answer = await root.request("POST", f"/api/v1/namespaces/{NAMESPACE}/serviceaccounts/{account}/token",
                                body=body)
    status = answer.get("status") or {}
    granted = int((answer.get("spec") or {}).get("expirationSeconds") or expiration)
    return str(status["token"]), granted


class TokenClient(Client):
    """A ``Client`` as a ServiceAccount, its token renewed in the background."""

    def __init__(self, root: Client, account: str, token: str, lifetime: int, **kwargs: Any) -> None:
        config = dataclasses.replace(root.config, cert_pem=b"", key_pem=b"", token=token)
        super().__init__(config, **kwargs)
        self.root = root
        self.account = account
        self._renewal = asyncio.create_task(self._renew(lifetime), name=f"token-renewal/{account}")

    def set_token(self, token: str) -> None:
        """Use ``token`` from the next request on (open watches keep the one they started with)."""
        self.config = dataclasses.replace(self.config, token=token)
        if self._session is not None and not self._session.closed:
            self._session.headers["Authorization"] = f"Bearer {token}"

    async def _renew(self, lifetime: int) -> None:
        delay = lifetime * RENEW_AT
        while True:
            await asyncio.sleep(delay)
            try:
                token, lifetime = await request_token(self.root, self.account)
            except (ApiError, OSError, TimeoutError) as exc:
                log.warning("renewing the token of ServiceAccount kube-system/%s: %s; retrying", self.account, exc)
                delay = RETRY_SECONDS
                continue
            self.set_token(token)
            delay = lifetime * RENEW_AT

    async def close(self) -> None:
        self._renewal.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._renewal
        await super().close()


async def open_client(root: Client, account: str, **kwargs: Any) -> TokenClient:
    """A client running as ``system:serviceaccount:kube-system:<account>`` (``kwargs`` as ``Client``'s)."""
    token, lifetime = await request_token(root, account)
    return TokenClient(root, account, token, lifetime, **kwargs)
