from __future__ import annotations

import base64
import time

from pyk8s.apiserver.authentication.bootstrap import BootstrapTokenAuthenticator
from pyk8s.apiserver.authentication.getters import DictGetter

NOW = 1_800_000_000.0


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def secret(token_id: str = "abcdef", token_secret: str = "0123456789abcdef", **data: str) -> dict:
    fields = {"token-id": token_id, "token-secret": token_secret, "usage-bootstrap-authentication": "true", **data}
    return {"apiVersion": "v1", "kind": "Secret", "type": "bootstrap.kubernetes.io/token",
            "metadata": {"name": f"bootstrap-token-{token_id}", "namespace": "kube-system", "uid": "u1"},
            "data": {k: _b64(v) for k, v in fields.items()}}


def auth_with(*secrets: dict) -> BootstrapTokenAuthenticator:
    objs = {("secrets", "kube-system", s["metadata"]["name"]): s for s in secrets}
    return BootstrapTokenAuthenticator(DictGetter(objs), clock=lambda: NOW)


async def test_valid_token_is_system_bootstrap_user_with_extra_groups():
    auth = auth_with(secret(**{"auth-extra-groups": "system:bootstrappers:kubeadm:default-node-token"}))
    result = await auth.authenticate_token("abcdef.0123456789abcdef", ())
    assert result is not None
    assert result.user.username == "system:bootstrap:abcdef"
    assert result.user.groups == ("system:bootstrappers", "system:bootstrappers:kubeadm:default-node-token")


async def test_refusals_say_nothing():
    expired = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(NOW - 60))
    later = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(NOW + 60))
    wrong_type = {**secret(), "type": "Opaque"}
    deleting = secret()
    deleting["metadata"]["deletionTimestamp"] = "2020-01-01T00:00:00Z"
    cases = [
        (auth_with(secret()), "abcdef.0123456789abcdeX"),  # not the token format (uppercase)
        (auth_with(secret()), "abcdef.0123456789abcdee"),  # wrong secret
        (auth_with(), "abcdef.0123456789abcdef"),  # no Secret
        (auth_with(secret(expiration=expired)), "abcdef.0123456789abcdef"),
        (auth_with(secret(**{"usage-bootstrap-authentication": "false"})), "abcdef.0123456789abcdef"),
        (auth_with(wrong_type), "abcdef.0123456789abcdef"),
        (auth_with(deleting), "abcdef.0123456789abcdef"),
        (auth_with(secret(**{"auth-extra-groups": "system:masters"})), "abcdef.0123456789abcdef"),
    ]
    for auth, token in cases:
        assert await auth.authenticate_token(token, ()) is None
    assert await auth_with(secret(expiration=later)).authenticate_token("abcdef.0123456789abcdef", ()) is not None
