"""The authentication filter: who is asking (the authenticators are in ``pyk8s.apiserver.authentication``).

Each request is authenticated by the union authenticator: a client
certificate, a bearer token (static, ServiceAccount, bootstrap) or, with no
credential at all and ``--anonymous-auth`` on, the anonymous user.  A refused
credential is a 401 ``Unauthorized`` Status whose body says nothing of why
(the reason goes to the debug log), as upstream.

Anonymous requests are then put to ``anonymous_policy`` (see there): until
the RBAC authorizer is wired in, anonymous users may reach only the health
and version endpoints (upstream's ``system:public-info-viewer``) and get a
403 with upstream's wording elsewhere.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiohttp import web

from pyk8s.api.core_v1.helpers import satokens
from pyk8s.apiserver.authentication import getters
from pyk8s.apiserver.authentication.anonymous import AnonymousAuthenticator
from pyk8s.apiserver.authentication.bootstrap import BootstrapTokenAuthenticator
from pyk8s.apiserver.authentication.issuer import TokenIssuer
from pyk8s.apiserver.authentication.serviceaccount import ServiceAccountTokenAuthenticator
from pyk8s.apiserver.authentication.tokenfile import StaticTokenAuthenticator
from pyk8s.apiserver.authentication.union import TokenAuthenticator, UnionAuthenticator
from pyk8s.apiserver.authentication.user import (
    ANONYMOUS,
    AUDIENCES_KEY,
    AUTHENTICATED,
    USER_KEY,
    AuthenticationError,
    UserInfo,
)
from pyk8s.apiserver.authentication.x509 import CertificateAuthenticator, verify_client_certificate
from pyk8s.apiserver.requestinfo import request_info
from pyk8s.machinery.errors import forbidden, unauthorized
from pyk8s.util import jwtsign

ANONYMOUS_PATHS = frozenset({"/healthz", "/livez", "/readyz", "/version", "/version/"})
_ANONYMOUS_PREFIXES = ("/healthz/", "/livez/", "/readyz/")
log = logging.getLogger("pyk8s.apiserver")

__all__ = ["ANONYMOUS_PATHS", "AUTHENTICATED", "USER_KEY", "Authenticator", "TokenSigner", "UserInfo",
           "anonymous_policy", "authn_middleware", "verify_client_certificate"]

_TEST_KEY: list[jwtsign.SigningKey] = []


class TokenSigner(TokenIssuer):
    """A ``TokenIssuer`` from a PEM private key; any other bytes (tests) get a per-process RSA key."""

    def __init__(self, key: bytes | jwtsign.SigningKey | None = None, issuer: str = satokens.DEFAULT_ISSUER,
                 **kwargs: Any) -> None:
        if isinstance(key, jwtsign.SigningKey):
            signing = key
        elif key and key.lstrip().startswith(b"-----BEGIN"):
            signing = jwtsign.SigningKey.from_pem(key)
        else:
            if not _TEST_KEY:
                _TEST_KEY.append(jwtsign.generate())
            signing = _TEST_KEY[0]
        super().__init__(signing, issuer, **kwargs)


class _LateGetter:
    """The object reads of token authenticators; bound to the registry once ``build_app`` knows it."""

    def __init__(self, inner: getters.ObjectGetter | None = None) -> None:
        self.inner = inner

    async def get(self, resource: str, namespace: str, name: str) -> dict[str, Any] | None:
        return None if self.inner is None else await self.inner.get(resource, namespace, name)

    async def set_label(self, resource: str, namespace: str, name: str, key: str, value: str) -> None:
        writer = getattr(self.inner, "set_label", None)
        if writer is not None:
            await writer(resource, namespace, name, key, value)


class Authenticator(UnionAuthenticator):
    """The server's union authenticator, built from its parts.

    ``tokens``: static tokens; ``signer``: the ServiceAccount token issuer;
    ``client_ca``: the CA client certificates must chain to (None trusts the
    TLS layer); ``getter``: how token authenticators read objects (default:
    the registry given to ``build_app``); ``anonymous``: ``--anonymous-auth``.
    """

    def __init__(self, *, tokens: dict[str, UserInfo] | None = None, signer: TokenIssuer | None = None,
                 client_ca: bytes | None = None, getter: getters.ObjectGetter | None = None,
                 anonymous: bool = True, bootstrap: bool = True,
                 api_audiences: Sequence[str] | None = None) -> None:
        self.getter = _LateGetter(getter)
        self.static = StaticTokenAuthenticator(tokens)
        auths: list[TokenAuthenticator] = [self.static]
        auds = tuple(api_audiences) if api_audiences else (signer.api_audiences if signer else ())
        if signer is not None:
            auths.append(ServiceAccountTokenAuthenticator(keys=signer.public_keys, issuers=(signer.issuer,),
                                                          api_audiences=auds, getter=self.getter))
        if bootstrap:
            auths.append(BootstrapTokenAuthenticator(self.getter))
        super().__init__(certificates=CertificateAuthenticator(client_ca), tokens=auths, api_audiences=auds,
                         anonymous=AnonymousAuthenticator(anonymous))

    @property
    def tokens(self) -> dict[str, UserInfo]:
        return self.static.tokens

    def use_registry(self, registry: Any, scheme: Any = None) -> None:
        """Read objects through ``registry``'s watch caches, unless a getter was given."""
        if self.getter.inner is None and registry is not None:
            self.getter.inner = getters.RegistryGetter(registry, scheme)


# --- anonymous requests until the authorizer decides ------------------------------------

def forbidden_message(request: web.BaseRequest, user: UserInfo) -> tuple[str, str, str, str]:
    """(message, resource, name, group) of upstream's 403 for ``user`` on this request (RBAC's wording)."""
    info = request_info(request)
    if not info.resource_request:
        return f'forbidden: User "{user.username}" cannot {info.verb} path "{info.path}"', "", "", ""
    what = info.resource + (f"/{info.subresource}" if info.subresource else "")
    scope = f'in the namespace "{info.namespace}"' if info.namespace else "at the cluster scope"
    msg = f'User "{user.username}" cannot {info.verb} resource "{what}" in API group "{info.api_group}" {scope}'
    return msg, info.resource, info.name, info.api_group


def anonymous_policy(request: web.BaseRequest, user: UserInfo) -> None:
    """Interim authorization of anonymous requests: raise 403 unless upstream's default policy allows it.

    Upstream's bootstrap policy grants ``system:unauthenticated`` only
    ``system:public-info-viewer`` (GET /healthz, /livez, /readyz and their
    checks, /version).  The RBAC authorizer, once wired in, replaces this
    (``build_app(anonymous_authorizer=None)``) and decides for everyone.
    """
    path = request.path
    if request.method in ("GET", "HEAD") and (path in ANONYMOUS_PATHS or path.startswith(_ANONYMOUS_PREFIXES)):
        return
    msg, resource, name, group = forbidden_message(request, user)
    raise forbidden(msg, resource, name, group)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
AnonymousAuthorizer = Callable[[web.BaseRequest, UserInfo], None]


def authn_middleware(auth: UnionAuthenticator, *, anonymous_user: UserInfo | None = None,
                     anonymous_authorizer: AnonymousAuthorizer | None = anonymous_policy
                     ) -> Callable[..., Awaitable[web.StreamResponse]]:
    """``anonymous_user`` set: requests without credentials run as that user (the insecure port).
    ``anonymous_authorizer``: what decides anonymous requests until the authorizer filter does (None: nothing)."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            result = await auth.authenticate_request(request)
        except AuthenticationError as exc:
            log.debug("Unable to authenticate the request: %s", exc)
            raise unauthorized() from None
        if result is not None and result.user.username == ANONYMOUS and anonymous_user is not None:
            result = None
        audiences: tuple[str, ...] = ()
        if result is None:
            if anonymous_user is None:
                raise unauthorized()
            user = anonymous_user
        else:
            user, audiences = result.user, result.audiences
            if user.username == ANONYMOUS and anonymous_authorizer is not None:
                anonymous_authorizer(request, user)
        request[USER_KEY] = user
        request[AUDIENCES_KEY] = audiences
        return await handler(request)

    return middleware
