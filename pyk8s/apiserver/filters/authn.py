"""Authentication: who is asking.

Two credentials are accepted, as in Kubernetes:

* a TLS client certificate signed by the cluster CA, within its validity
  and usable for client auth; the user is the subject CN and the groups
  are its O values.  The TLS layer accepts any certificate (see
  ``apiserver.tls``): the chain is verified here, so a certificate from
  another CA or out of its validity gets a 401 Status, not a TLS alert;
* a bearer token: either a static token (the admin token the server
  generated) or a service-account token this server signed (HS256 JWT with
  ``exp``; see ``TokenSigner``).

Every authenticated user also gets ``system:authenticated``.  A few paths
(health, version) may be read anonymously; everything else without a valid
credential is a 401 Status.  Authorization comes later (RBAC): for now an
authenticated user may do anything.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import orjson
from aiohttp import web
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.x509.oid import ExtendedKeyUsageOID

from pyk8s.machinery.errors import unauthorized
from pyk8s.util.pki import subject_identity

ANONYMOUS_PATHS = frozenset({"/healthz", "/livez", "/readyz", "/version"})
_ANONYMOUS_PREFIXES = ("/healthz/", "/livez/", "/readyz/")
AUTHENTICATED = "system:authenticated"
log = logging.getLogger("pyk8s.apiserver")


@dataclass(frozen=True, slots=True)
class UserInfo:
    username: str
    groups: tuple[str, ...] = ()
    uid: str = ""
    extra: dict[str, list[str]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"username": self.username, "groups": list(self.groups)}
        if self.uid:
            out["uid"] = self.uid
        if self.extra:
            out["extra"] = self.extra
        return out


USER_KEY = web.RequestKey("pyk8s.user", UserInfo)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenSigner:
    """Signs and verifies service-account tokens (JWT, HS256, one secret key).

    Tokens are bound to nothing but their expiry for now; RBAC and SA
    existence checks come with the auth issue.
    """

    def __init__(self, key: bytes, issuer: str = "https://kubernetes.default.svc.cluster.local") -> None:
        self._key = key
        self.issuer = issuer

    def sign(self, claims: dict[str, object]) -> str:
        header = _b64url(orjson.dumps({"alg": "HS256", "typ": "JWT"}))
        payload = _b64url(orjson.dumps({"iss": self.issuer, **claims}))
        sig = hmac.new(self._key, f"{header}.{payload}".encode(), hashlib.sha256).digest()
        return f"{header}.{payload}.{_b64url(sig)}"

    def verify(self, token: str, now: float | None = None) -> dict[str, object] | None:
        parts = token.split(".")
        if len(parts) != 3:
            return None
        want = hmac.new(self._key, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
        try:
            if not hmac.compare_digest(want, _unb64url(parts[2])):
                return None
            claims = orjson.loads(_unb64url(parts[1]))
        except (ValueError, orjson.JSONDecodeError):
            return None
        exp = claims.get("exp") if isinstance(claims, dict) else None
        if not isinstance(exp, int | float) or exp <= (now if now is not None else time.time()):
            return None
        return claims


def service_account_user(claims: dict[str, object]) -> UserInfo | None:
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub.startswith("system:serviceaccount:"):
        return None
    parts = sub.split(":")
    if len(parts) != 4:
        return None
    ns = parts[2]
    return UserInfo(sub, ("system:serviceaccounts", f"system:serviceaccounts:{ns}", AUTHENTICATED))


def _client_auth_allowed(cert: x509.Certificate) -> bool:
    try:
        usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return True
    return ExtendedKeyUsageOID.CLIENT_AUTH in usages or ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE in usages


def verify_client_certificate(cert: x509.Certificate, ca: x509.Certificate) -> str:
    """Why ``cert`` may not authenticate against ``ca`` (validity is checked per request), or ""."""
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return "certificate signed by unknown authority"
    if not _client_auth_allowed(cert):
        return "certificate specifies an incompatible key usage"
    return ""


@dataclass(frozen=True, slots=True)
class _CertIdentity:
    user: UserInfo | None
    not_before: float = 0.0
    not_after: float = 0.0


class Authenticator:
    """``client_ca``: PEM of the CA client certificates must chain to; without one the TLS layer is trusted."""

    def __init__(self, *, tokens: dict[str, UserInfo] | None = None, signer: TokenSigner | None = None,
                 client_ca: bytes | None = None) -> None:
        self.tokens = dict(tokens or {})
        self.signer = signer
        self.client_ca = x509.load_pem_x509_certificate(client_ca) if client_ca else None
        self._cert_cache: dict[bytes, _CertIdentity] = {}

    def from_certificate(self, der: bytes, now: float | None = None) -> UserInfo | None:
        ident = self._cert_cache.get(der)
        if ident is None:
            ident = self._certificate_identity(der)
            if len(self._cert_cache) > 1024:
                self._cert_cache.clear()
            self._cert_cache[der] = ident
        t = time.time() if now is None else now
        if ident.user is None or not ident.not_before <= t <= ident.not_after:
            if ident.user is not None:
                log.debug("client certificate %s: certificate has expired or is not yet valid", ident.user.username)
            return None
        return ident.user

    def _certificate_identity(self, der: bytes) -> _CertIdentity:
        try:
            cert = x509.load_der_x509_certificate(der)
        except ValueError:
            return _CertIdentity(None)
        if self.client_ca is not None:
            reason = verify_client_certificate(cert, self.client_ca)
            if reason:
                log.debug("client certificate %s: %s", cert.subject.rfc4514_string(), reason)
                return _CertIdentity(None)
        cn, orgs = subject_identity(der)
        if not cn:
            return _CertIdentity(None)
        return _CertIdentity(UserInfo(cn, (*orgs, AUTHENTICATED)), cert.not_valid_before_utc.timestamp(),
                             cert.not_valid_after_utc.timestamp())

    def from_token(self, token: str) -> UserInfo | None:
        user = self.tokens.get(token)
        if user is not None:
            return user
        if self.signer is not None and token.count(".") == 2:
            claims = self.signer.verify(token)
            if claims is not None:
                return service_account_user(claims)
        return None

    def authenticate(self, request: web.Request) -> UserInfo | None:
        """The user behind ``request``, or None.  A bad token is a failure even with a cert, as upstream."""
        header = request.headers.get("Authorization", "")
        if header:
            scheme, _, token = header.partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return self.from_token(token.strip())
        ssl_obj = request.transport.get_extra_info("ssl_object") if request.transport else None
        if ssl_obj is not None:
            der = ssl_obj.getpeercert(binary_form=True)
            if der:
                return self.from_certificate(der)
        return None


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def authn_middleware(auth: Authenticator, *, anonymous_user: UserInfo | None = None) -> Callable[..., Awaitable[web.StreamResponse]]:
    """``anonymous_user`` set: requests without credentials run as that user (the insecure port)."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        user = auth.authenticate(request)
        if user is None:
            if anonymous_user is not None and "Authorization" not in request.headers:
                user = anonymous_user
            elif request.path in ANONYMOUS_PATHS or request.path.startswith(_ANONYMOUS_PREFIXES):
                user = UserInfo("system:anonymous", ("system:unauthenticated",))
            else:
                raise unauthorized()
        request[USER_KEY] = user
        return await handler(request)

    return middleware
