"""The tokens controller against the fake API server: fills legacy token Secrets, deletes orphans."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import pytest

from pyk8s.api.core_v1.helpers import satokens
from pyk8s.client.rest import DynamicResource
from pyk8s.controllers import serviceaccounttoken
from pyk8s.util import jwtsign
from tests.unit.controllers.controller_env import Env, eventually, start_env, stop_env

SA = DynamicResource("", "v1", "serviceaccounts", True, "ServiceAccount")
SECRETS = DynamicResource("", "v1", "secrets", True, "Secret")
CA = b"-----BEGIN CERTIFICATE-----\nfake\n-----END CERTIFICATE-----\n"


@pytest.fixture
async def env(tmp_path) -> AsyncIterator[tuple[Env, jwtsign.SigningKey]]:
    key = jwtsign.load_or_create(tmp_path / "sa.key")
    (tmp_path / "ca.crt").write_bytes(CA)
    e, tasks = await start_env(serviceaccounttoken.new, {"service_account_private_key_file": str(tmp_path / "sa.key"),
                                                          "root_ca_file": str(tmp_path / "ca.crt")})
    try:
        yield e, key
    finally:
        await stop_env(e, tasks)


def token_secret(name: str, account: str) -> dict:
    return {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
            "metadata": {"name": name, "namespace": "default", "annotations": {"kubernetes.io/service-account.name": account}}}


async def test_a_token_secret_is_filled_with_a_legacy_token_ca_and_namespace(env):
    e, key = env
    sa = await e.client.create(SA, {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "bot"}},
                               namespace="default")
    await e.client.create(SECRETS, token_secret("bot-token", "bot"), namespace="default")

    def filled() -> bool:
        s = e.obj("v1/secrets", "default", "bot-token")
        return bool(s and (s.get("data") or {}).get("token"))

    await eventually(filled)
    secret = e.obj("v1/secrets", "default", "bot-token")
    data = {k: base64.b64decode(v) for k, v in secret["data"].items()}
    assert data["ca.crt"] == CA and data["namespace"] == b"default"
    assert secret["metadata"]["annotations"]["kubernetes.io/service-account.uid"] == sa["metadata"]["uid"]
    claims = jwtsign.verify(data["token"].decode(), [key.public])
    assert claims == satokens.legacy_claims(namespace="default", service_account="bot",
                                            service_account_uid=sa["metadata"]["uid"], secret_name="bot-token")


async def test_secrets_of_missing_or_deleted_accounts_are_deleted(env):
    e, _ = env
    await e.client.create(SECRETS, token_secret("orphan", "ghost"), namespace="default")
    await eventually(lambda: e.obj("v1/secrets", "default", "orphan") is None)
    await e.client.create(SA, {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "bot"}},
                          namespace="default")
    await e.client.create(SECRETS, token_secret("bot-token", "bot"), namespace="default")
    await eventually(lambda: bool((e.obj("v1/secrets", "default", "bot-token") or {}).get("data")))
    await e.client.delete(SA, "bot", namespace="default")
    await eventually(lambda: e.obj("v1/secrets", "default", "bot-token") is None)


async def test_without_a_key_the_controller_does_not_start():
    ctl = serviceaccounttoken.new(type("Ctx", (), {"option": lambda self, name, default: default})())
    assert ctl.ready.is_set() and not isinstance(ctl, serviceaccounttoken.TokensController)
