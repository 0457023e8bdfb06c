"""Bootstrap tokens: ``<id>.<secret>`` backed by a ``bootstrap.kubernetes.io/token`` Secret.

As upstream's bootstrap authenticator: the Secret is ``kube-system/
bootstrap-token-<id>`` of that type, its ``token-secret`` matches (compared in
constant time), ``usage-bootstrap-authentication`` is ``"true"``, it has not
expired (``expiration``, RFC 3339) and is not being deleted.  The user is
``system:bootstrap:<id>`` in ``system:bootstrappers`` plus the Secret's
``auth-extra-groups`` (each must start with ``system:bootstrappers:``).
Any failure is "not authenticated" with no reason, as upstream: a caller
learns nothing about which part was wrong.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
import re
import time
from datetime import datetime
from typing import Any

from pyk8s.apiserver.authentication.getters import ObjectGetter
from pyk8s.apiserver.authentication.user import Result, UserInfo

log = logging.getLogger("pyk8s.apiserver.authn")

TOKEN_RE = re.compile(r"^([a-z0-9]{6})\.([a-z0-9]{16})$")
SECRET_TYPE = "bootstrap.kubernetes.io/token"
SECRET_PREFIX = "bootstrap-token-"
NAMESPACE = "kube-system"
GROUP = "system:bootstrappers"
USER_PREFIX = "system:bootstrap:"
EXTRA_GROUP_RE = re.compile(r"^system:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]$")


def _data(secret: dict[str, Any], key: str) -> str:
    raw = (secret.get("data") or {}).get(key)
    if not isinstance(raw, str):
        return ""
    try:
        return base64.b64decode(raw, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return ""


def _expired(text: str, now: float) -> bool:
    if not text:
        return False
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return True  # upstream treats an unparsable expiration as expired
    return when.timestamp() < now


class BootstrapTokenAuthenticator:
    audience_aware = False

    def __init__(self, getter: ObjectGetter, clock: Any = time.time) -> None:
        self.getter = getter
        self.clock = clock

    async def authenticate_token(self, token: str, audiences: tuple[str, ...]) -> Result | None:
        m = TOKEN_RE.match(token)
        if m is None:
            return None
        token_id, token_secret = m.groups()
        name = SECRET_PREFIX + token_id
        secret = await self.getter.get("secrets", NAMESPACE, name)
        why = self._refusal(secret, token_id, token_secret)
        if why:
            log.debug("bootstrap token %s: %s", token_id, why)
            return None
        assert secret is not None
        extra = [g.strip() for g in _data(secret, "auth-extra-groups").split(",") if g.strip()]
        if any(not EXTRA_GROUP_RE.match(g) for g in extra):
            log.debug("bootstrap token %s: invalid auth-extra-groups", token_id)
            return None
        return Result(UserInfo(USER_PREFIX + token_id, (GROUP, *extra)), audiences)

    def _refusal(self, secret: dict[str, Any] | None, token_id: str, token_secret: str) -> str:
        if secret is None:
            return "no secret"
        meta = secret.get("metadata") or {}
        if meta.get("deletionTimestamp"):
            return "secret is being deleted"
        if secret.get("type") != SECRET_TYPE:
            return f"secret has type {secret.get('type')!r}"
        if not hmac.compare_digest(_data(secret, "token-secret").encode(), token_secret.encode()):
            return "token secret does not match"
        if _data(secret, "token-id") != token_id:
            return "token id does not match"
        if _expired(_data(secret, "expiration"), self.clock()):
            return "token has expired"
        if _data(secret, "usage-bootstrap-authentication") != "true":
            return "token not marked usage-bootstrap-authentication"
        return ""
