"""ServiceAccount tokens: JWTs this cluster signed, checked against the API's current state on every use.

Two kinds, as upstream's two JWT authenticators:

* bound tokens (TokenRequest; issuer ``--service-account-issuer``): signature,
  expiry (with go-jose's one-minute leeway), audiences, then the objects the
  ``kubernetes.io`` claim names: the ServiceAccount (and its uid), and the pod
  or Secret the token is bound to (and its uid).  A token whose pod, Secret or
  ServiceAccount is gone, replaced (another uid) or deleted more than a minute
  ago stops working at once;
* legacy tokens (issuer ``kubernetes/serviceaccount``, kept in
  ``kubernetes.io/service-account-token`` Secrets): valid while the Secret
  still holds exactly this token and the ServiceAccount still exists with the
  uid the token names.

A token with another issuer, or that is not a JWT, is not this
authenticator's (``None``); one with our issuer that fails a check raises
``AuthenticationError`` with upstream's reason (shown by TokenReview only).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from pyk8s.api.core_v1.helpers import satokens
from pyk8s.apiserver.authentication.getters import ObjectGetter
from pyk8s.apiserver.authentication.user import (
    EXTRA_CREDENTIAL_ID,
    EXTRA_NODE_NAME,
    EXTRA_NODE_UID,
    EXTRA_POD_NAME,
    EXTRA_POD_UID,
    AuthenticationError,
    Result,
    UserInfo,
    service_account_groups,
)
from pyk8s.util import jwtsign

Obj = dict[str, Any]
LEEWAY = 60.0  # go-jose's DefaultLeeway
INVALIDATED = "service account token has been invalidated"
BAD_SIGNATURE = "go-jose/go-jose: error in cryptographic primitive"
VERIFIED_CACHE = 4096
LAST_USED_LABEL = "kubernetes.io/legacy-token-last-used"
INVALID_SINCE_LABEL = "kubernetes.io/legacy-token-invalid-since"
log = logging.getLogger("pyk8s.apiserver.authn")


def go_quote(values: Sequence[str]) -> str:
    """Go's ``%q`` of a string slice: ``["a" "b"]``."""
    return "[" + " ".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values) + "]"


def _deleted_before(obj: Obj, limit: float) -> bool:
    stamp = (obj.get("metadata") or {}).get("deletionTimestamp")
    if not stamp:
        return False
    try:
        return datetime.fromisoformat(str(stamp).replace("Z", "+00:00")).timestamp() < limit
    except ValueError:
        return True


def _uid(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("uid", ""))


def _ref(private: Obj, key: str) -> tuple[str, str] | None:
    ref = private.get(key)
    if not isinstance(ref, dict):
        return None
    return str(ref.get("name", "")), str(ref.get("uid", ""))


def _audiences(claims: Obj) -> list[str]:
    aud = claims.get("aud")
    if isinstance(aud, str):
        return [aud]
    return [str(a) for a in aud] if isinstance(aud, list) else []


class ServiceAccountTokenAuthenticator:
    audience_aware = True

    def __init__(self, *, keys: list[jwtsign.PublicKey], issuers: Sequence[str], api_audiences: Sequence[str],
                 getter: ObjectGetter, clock: Callable[[], float] = time.time, legacy: bool = True) -> None:
        self.keys = list(keys)
        self.issuers = tuple(issuers)
        self.api_audiences = tuple(api_audiences)
        self.getter = getter
        self.clock = clock
        self.legacy = legacy
        self._signed: dict[str, Obj] = {}

    async def authenticate_token(self, token: str, audiences: tuple[str, ...]) -> Result | None:
        if token.count(".") != 2:
            return None
        unverified = self._signed.get(token) or jwtsign.unverified_claims(token)
        if unverified is None:
            return None
        issuer = unverified.get("iss")
        is_legacy = self.legacy and issuer == satokens.LEGACY_ISSUER
        if not is_legacy and issuer not in self.issuers:
            return None
        claims = self._verified(token)
        token_auds = _audiences(claims) or list(self.api_audiences)  # legacy tokens: the API's own
        requested = list(audiences) or list(self.api_audiences)
        granted = tuple(a for a in token_auds if a in requested)
        if not granted and self.api_audiences:
            raise AuthenticationError(f"token audiences {go_quote(token_auds)} is invalid for the target "
                                      f"audiences {go_quote(requested)}")
        if is_legacy:
            user = await self._legacy(token, claims)
        else:
            user = await self._bound(claims)
        return Result(user, granted)

    def _verified(self, token: str) -> Obj:
        """The signed claims; a token's signature never changes, so verified tokens are remembered (bounded)
        and the RSA check is paid once per token, while expiry and bindings are checked on every use."""
        claims = self._signed.get(token)
        if claims is None:
            claims = jwtsign.verify(token, self.keys)
            if claims is None:
                raise AuthenticationError(BAD_SIGNATURE)
            if len(self._signed) >= VERIFIED_CACHE:
                self._signed.pop(next(iter(self._signed)))
            self._signed[token] = claims
        return claims

    # --- bound tokens --------------------------------------------------------------

    def _check_times(self, claims: Obj, now: float) -> None:
        exp, nbf, iat = claims.get("exp"), claims.get("nbf"), claims.get("iat")
        if not isinstance(exp, int | float):
            raise AuthenticationError("service account token claims could not be validated due to unexpected "
                                      "validation error")
        if now - LEEWAY > exp:
            raise AuthenticationError("service account token has expired")
        if isinstance(nbf, int | float) and now + LEEWAY < nbf:
            raise AuthenticationError("service account token is not valid yet")
        if isinstance(iat, int | float) and now + LEEWAY < iat:
            raise AuthenticationError("service account token is issued in the future")

    async def _bound(self, claims: Obj) -> UserInfo:
        now = self.clock()
        self._check_times(claims, now)
        private = claims.get(satokens.PRIVATE_CLAIM)
        if not isinstance(private, dict):
            raise AuthenticationError("service account token claims could not be validated due to unexpected "
                                      "validation error")
        limit = now - LEEWAY
        namespace = str(private.get("namespace", ""))
        sa_name, sa_uid = _ref(private, "serviceaccount") or ("", "")
        sa = await self.getter.get("serviceaccounts", namespace, sa_name)
        if sa is None:
            raise AuthenticationError(f'serviceaccounts "{sa_name}" not found')
        if _uid(sa) != sa_uid:
            raise AuthenticationError(f"service account UID ({_uid(sa)}) does not match claim ({sa_uid})")
        if _deleted_before(sa, limit):
            raise AuthenticationError(f"service account {namespace}/{sa_name} has been deleted")
        extra: dict[str, list[str]] = {}
        if (secret_ref := _ref(private, "secret")) is not None:
            await self._check_bound_object("secret", namespace, secret_ref, limit)
        if (pod_ref := _ref(private, "pod")) is not None:
            await self._check_bound_object("pod", namespace, pod_ref, limit)
            extra[EXTRA_POD_NAME], extra[EXTRA_POD_UID] = [pod_ref[0]], [pod_ref[1]]
        if (node_ref := _ref(private, "node")) is not None:
            if pod_ref is None:
                await self._check_bound_object("node", "", node_ref, limit)
            extra[EXTRA_NODE_NAME], extra[EXTRA_NODE_UID] = [node_ref[0]], [node_ref[1]]
        if claims.get("jti"):
            extra[EXTRA_CREDENTIAL_ID] = [f"JTI={claims['jti']}"]
        return UserInfo(satokens.username(namespace, sa_name), service_account_groups(namespace), sa_uid, extra)

    async def _check_bound_object(self, kind: str, namespace: str, ref: tuple[str, str], limit: float) -> None:
        """The Secret, Pod or Node a token is bound to must still exist, be the same object (UID) and not be
        deleted (beyond the leeway): a token outlives nothing it was bound to."""
        obj = await self.getter.get(f"{kind}s", namespace, ref[0])
        if obj is None:
            raise AuthenticationError(INVALIDATED)
        if ref[1] != _uid(obj):
            raise AuthenticationError(f"{kind} UID ({_uid(obj)}) does not match service account {kind} ref "
                                      f"claim ({ref[1]})")
        if _deleted_before(obj, limit):
            raise AuthenticationError(INVALIDATED)

    # --- legacy tokens -------------------------------------------------------------

    async def _legacy(self, token: str, claims: Obj) -> UserInfo:
        namespace = str(claims.get(satokens.LEGACY_NAMESPACE) or "")
        secret_name = str(claims.get(satokens.LEGACY_SECRET_NAME) or "")
        sa_name = str(claims.get(satokens.LEGACY_SA_NAME) or "")
        sa_uid = str(claims.get(satokens.LEGACY_SA_UID) or "")
        for value, what in ((namespace, "namespace"), (secret_name, "secretName"), (sa_name, "serviceAccountName"),
                            (sa_uid, "serviceAccountUID")):
            if not value:
                raise AuthenticationError(f"{what} claim is missing")
        secret = await self.getter.get("secrets", namespace, secret_name)
        if secret is None or (secret.get("metadata") or {}).get("deletionTimestamp"):
            raise AuthenticationError("token has been invalidated")
        labels = (secret.get("metadata") or {}).get("labels") or {}
        if INVALID_SINCE_LABEL in labels:
            raise AuthenticationError(
                f"the token in secret {namespace}/{secret_name} for service account {namespace}/{sa_name} has been "
                "marked invalid. Use tokens from the TokenRequest API or manually created secret-based tokens, or "
                f"remove the '{INVALID_SINCE_LABEL}' label from the secret to temporarily allow use of this token")
        stored = (secret.get("data") or {}).get(satokens.TOKEN_KEY)
        try:
            stored_token = base64.b64decode(stored, validate=True) if isinstance(stored, str) else b""
        except binascii.Error:
            stored_token = b""
        if not hmac.compare_digest(stored_token, token.encode()):
            raise AuthenticationError("token does not match server's copy")
        sa = await self.getter.get("serviceaccounts", namespace, sa_name)
        if sa is None:
            raise AuthenticationError(f'serviceaccounts "{sa_name}" not found')
        if (sa.get("metadata") or {}).get("deletionTimestamp"):
            raise AuthenticationError(f"service account {namespace}/{sa_name} has been deleted")
        if _uid(sa) != sa_uid:
            raise AuthenticationError(f"service account UID ({_uid(sa)}) does not match claim ({sa_uid})")
        await self._track_use(namespace, secret_name, labels)
        return UserInfo(satokens.username(namespace, sa_name), service_account_groups(namespace), sa_uid)

    async def _track_use(self, namespace: str, secret_name: str, labels: dict[str, str]) -> None:
        """Upstream's legacy token tracking: the Secret's ``last-used`` label names the day (UTC) it was last
        used, written at most once a day; a failed write does not fail the request."""
        today = time.strftime("%Y-%m-%d", time.gmtime(self.clock()))
        writer = getattr(self.getter, "set_label", None)
        if labels.get(LAST_USED_LABEL) == today or writer is None:
            return
        try:
            await writer("secrets", namespace, secret_name, LAST_USED_LABEL, today)
        except Exception as exc:  # noqa: BLE001 - tracking is best effort, as upstream logs and goes on
            log.warning("failed to mark legacy token secret %s/%s as used: %s", namespace, secret_name, exc)
