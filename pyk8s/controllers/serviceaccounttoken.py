"""Tokens controller: fills legacy ``kubernetes.io/service-account-token`` Secrets, and removes orphans.

Upstream's ``serviceaccount-token-controller``.  Since v1.24 no Secret is
made automatically; a user who creates a Secret of that type, annotated
``kubernetes.io/service-account.name: <sa>``, gets it filled with

* ``token``: a legacy JWT (issuer ``kubernetes/serviceaccount``, no expiry)
  signed with the ServiceAccount signing key (``--service-account-private-key-file``;
  in ``pyk8s server`` the API server's own ``pki/sa.key``),
* ``ca.crt``: the cluster CA (``--root-ca-file``; by default the CA this
  controller trusts for the API server),
* ``namespace``,

and the ``kubernetes.io/service-account.uid`` annotation.  Such a token
authenticates until its Secret is deleted (the API server checks the Secret
holds it).  A Secret whose ServiceAccount does not exist (checked live
before acting, since the cache may lag a fresh account), or exists with
another uid than the annotation names, is deleted, and so are an account's
token Secrets when the account is deleted.  Without a signing key the
controller does not start, as upstream.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from pathlib import Path
from typing import Any

from pyk8s.api.core_v1.helpers import satokens
from pyk8s.client.errors import ApiError, is_conflict, is_not_found
from pyk8s.client.rest import DynamicResource
from pyk8s.client.tools.controller import Controller
from pyk8s.client.tools.store import DeletedFinalStateUnknown
from pyk8s.controllers.manager import ControllerContext
from pyk8s.util import jwtsign

log = logging.getLogger(__name__)
Obj = dict[str, Any]
SERVICE_ACCOUNTS = DynamicResource("", "v1", "serviceaccounts", True, "ServiceAccount")
SECRETS = DynamicResource("", "v1", "secrets", True, "Secret")
KEY_OPTION = "service_account_private_key_file"
ROOT_CA_OPTION = "root_ca_file"


def _b64(text: str | bytes) -> str:
    return base64.b64encode(text.encode() if isinstance(text, str) else text).decode()


def _meta(obj: Obj) -> Obj:
    meta: Obj = obj.get("metadata") or {}
    return meta


def _is_token_secret(obj: Obj) -> bool:
    return obj.get("type") == satokens.TOKEN_SECRET_TYPE


class TokensController:
    def __init__(self, ctx: ControllerContext, key: jwtsign.SigningKey, ca_pem: bytes) -> None:
        self.client = ctx.client
        self.key = key
        self.ca_pem = ca_pem
        self.accounts = ctx.factory.informer(SERVICE_ACCOUNTS)
        self.secrets = ctx.factory.informer(SECRETS)
        self.controller = Controller("serviceaccount-token", self.sync, informers=[self.accounts, self.secrets],
                                     clock=ctx.clock, workers=int(ctx.option("serviceaccount_token_workers", 1)))
        self.ready = self.controller.ready
        self.secrets.add_event_handler(on_add=self._secret_event, on_update=lambda old, new: self._secret_event(new))
        self.accounts.add_event_handler(on_delete=self._account_event,
                                        on_update=lambda old, new: self._account_event(new))

    def _secret_event(self, obj: Obj) -> None:
        if _is_token_secret(obj):
            self.controller.enqueue(obj)

    def _account_event(self, obj: Obj | DeletedFinalStateUnknown) -> None:
        sa = obj.obj if isinstance(obj, DeletedFinalStateUnknown) else obj
        meta = _meta(sa)
        for secret in self.secrets.lister.list(meta.get("namespace", "")):
            if _is_token_secret(secret) and (_meta(secret).get("annotations") or {}).get(
                    satokens.SA_NAME_ANNOTATION) == meta.get("name"):
                self.controller.enqueue(secret)

    async def run(self) -> None:
        await self.controller.run()

    async def sync(self, key: str) -> None:
        namespace, _, name = key.rpartition("/")
        secret = self.secrets.lister.get(name, namespace)
        if secret is None or not _is_token_secret(secret) or _meta(secret).get("deletionTimestamp"):
            return
        annotations = _meta(secret).get("annotations") or {}
        sa_name = annotations.get(satokens.SA_NAME_ANNOTATION, "")
        if not sa_name:
            return  # validation requires the annotation; nothing to act on
        sa = await self._account(namespace, sa_name, annotations.get(satokens.SA_UID_ANNOTATION, ""))
        if sa is None:
            await self._delete(secret)
            return
        if self._complete(secret, sa):
            return
        await self._fill(secret, sa)

    async def _account(self, namespace: str, name: str, want_uid: str) -> Obj | None:
        """The account the Secret refers to, read live when the cache lacks it or disagrees (None: gone)."""
        sa = self.accounts.lister.get(name, namespace)
        if sa is None or (want_uid and _meta(sa).get("uid") != want_uid):
            try:
                sa = await self.client.get(SERVICE_ACCOUNTS, name, namespace=namespace)
            except ApiError as exc:
                if is_not_found(exc):
                    return None
                raise
        if want_uid and _meta(sa).get("uid") != want_uid:
            return None
        return sa

    def _complete(self, secret: Obj, sa: Obj) -> bool:
        data = secret.get("data") or {}
        annotations = _meta(secret).get("annotations") or {}
        return (bool(data.get(satokens.TOKEN_KEY)) and data.get(satokens.CA_KEY) == _b64(self.ca_pem)
                and data.get(satokens.NAMESPACE_KEY) == _b64(_meta(secret).get("namespace", ""))
                and annotations.get(satokens.SA_UID_ANNOTATION) == _meta(sa).get("uid"))

    async def _fill(self, secret: Obj, sa: Obj) -> None:
        meta = _meta(secret)
        namespace, name = meta.get("namespace", ""), meta.get("name", "")
        body = {**secret, "metadata": {**meta, "annotations": {**(meta.get("annotations") or {}),
                                                              satokens.SA_UID_ANNOTATION: _meta(sa).get("uid", "")}}}
        data = dict(secret.get("data") or {})
        if not data.get(satokens.TOKEN_KEY):
            claims = satokens.legacy_claims(namespace=namespace, service_account=_meta(sa).get("name", ""),
                                            service_account_uid=_meta(sa).get("uid", ""), secret_name=name)
            data[satokens.TOKEN_KEY] = _b64(self.key.sign(claims))
        data[satokens.CA_KEY] = _b64(self.ca_pem)
        data[satokens.NAMESPACE_KEY] = _b64(namespace)
        body["data"] = data
        try:
            await self.client.update(SECRETS, body, namespace=namespace)
        except ApiError as exc:
            if is_not_found(exc):
                return
            if is_conflict(exc):
                self.controller.queue.add_rate_limited(f"{namespace}/{name}")
                return
            raise

    async def _delete(self, secret: Obj) -> None:
        meta = _meta(secret)
        log.info("deleting token secret %s/%s: its service account is gone", meta.get("namespace"), meta.get("name"))
        try:
            await self.client.delete(SECRETS, meta.get("name", ""), namespace=meta.get("namespace", ""),
                                     preconditions={"uid": meta.get("uid", "")})
        except ApiError as exc:
            if not (is_not_found(exc) or is_conflict(exc)):
                raise


class _Disabled:
    """What runs without a signing key: nothing (logged once), ready at once."""

    def __init__(self) -> None:
        self.ready = asyncio.Event()
        self.ready.set()

    async def run(self) -> None:
        await asyncio.Event().wait()


def new(ctx: ControllerContext) -> TokensController | _Disabled:
    key_file = ctx.option(KEY_OPTION, None)
    if not key_file:
        log.warning("serviceaccount-token-controller: no --service-account-private-key-file; not starting")
        return _Disabled()
    key = jwtsign.load(key_file)
    ca_file = ctx.option(ROOT_CA_OPTION, None)
    ca = Path(ca_file).read_bytes() if ca_file else (ctx.client.config.ca_pem or b"")
    return TokensController(ctx, key, ca)
