"""The request authenticator: every credential a request may carry, tried in upstream's order.

Order, as kube-apiserver builds it: the client certificate, then the bearer
token (static tokens, ServiceAccount tokens, bootstrap tokens, in that
order), then anonymous.  The first authenticator that recognises a credential
wins; refusals are collected, and a request with a refused credential and no
accepted one fails (401) instead of falling back to anonymous.  Every
authenticated user but the anonymous one gets ``system:authenticated``.

Audiences: each request is checked against the API server's audiences
(``--api-audiences``, by default the issuer); TokenReview may name others.
Authenticators that do not know about audiences (static and bootstrap
tokens) accept only when the requested audiences include one of the API's,
and report that intersection, as upstream's ``WrapAudienceAgnosticToken``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

from aiohttp import web

from pyk8s.apiserver.authentication.anonymous import AnonymousAuthenticator
from pyk8s.apiserver.authentication.user import AuthenticationError, Result, aggregate
from pyk8s.apiserver.authentication.x509 import CertificateAuthenticator

log = logging.getLogger("pyk8s.apiserver.authn")
INVALID_BEARER_TOKEN = "invalid bearer token"


class TokenAuthenticator(Protocol):
    audience_aware: bool

    async def authenticate_token(self, token: str, audiences: tuple[str, ...]) -> Result | None: ...


def bearer_token(request: web.BaseRequest) -> str:
    """The token of an ``Authorization: Bearer`` header ("" when there is none, as upstream ignores other schemes)."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return ""
    return token.strip()


class UnionAuthenticator:
    def __init__(self, *, certificates: CertificateAuthenticator | None, tokens: Sequence[TokenAuthenticator],
                 api_audiences: Sequence[str], anonymous: AnonymousAuthenticator | None = None) -> None:
        self.certificates = certificates
        self.token_authenticators = list(tokens)
        self.api_audiences = tuple(api_audiences)
        self.anonymous = anonymous or AnonymousAuthenticator(True)

    async def authenticate_token(self, token: str, audiences: Sequence[str] = ()) -> Result | None:
        """The token's user (with ``system:authenticated``) and granted audiences; None if no authenticator
        knows it; AuthenticationError if one refused it."""
        requested = tuple(audiences) or self.api_audiences
        errors: list[str] = []
        for auth in self.token_authenticators:
            try:
                if auth.audience_aware:
                    result = await auth.authenticate_token(token, requested)
                else:
                    granted = tuple(a for a in self.api_audiences if a in requested)
                    if self.api_audiences and not granted:
                        continue
                    result = await auth.authenticate_token(token, granted)
            except AuthenticationError as exc:
                errors.append(str(exc))
                continue
            if result is not None:
                return Result(result.user.with_authenticated(), result.audiences)
        if errors:
            raise AuthenticationError(aggregate(errors))
        return None

    async def review_token(self, token: str, audiences: Sequence[str] = ()) -> tuple[Result | None, str]:
        """TokenReview's answer: (result, error) with the error worded as upstream's bearer-token union."""
        try:
            result = await self.authenticate_token(token, audiences)
        except AuthenticationError as exc:
            return None, aggregate([INVALID_BEARER_TOKEN, str(exc)]) if str(exc) else INVALID_BEARER_TOKEN
        if result is None:
            return None, INVALID_BEARER_TOKEN
        return result, ""

    async def authenticate_request(self, request: web.BaseRequest) -> Result | None:
        """The request's user; None when it carries no credential; AuthenticationError for a refused one."""
        errors: list[str] = []
        der = self._peer_certificate(request)
        if der and self.certificates is not None:
            try:
                result = self.certificates.authenticate(der)
            except AuthenticationError as exc:
                errors.append(str(exc))
            else:
                if result is not None:
                    return Result(result.user.with_authenticated(), self.api_audiences)
        token = bearer_token(request)
        if token:
            try:
                result = await self.authenticate_token(token)
            except AuthenticationError as exc:
                errors.append(str(exc))
            else:
                if result is not None:
                    return result
                errors.append(INVALID_BEARER_TOKEN)
        if errors:
            raise AuthenticationError(aggregate(errors))
        return self.anonymous.authenticate()

    @staticmethod
    def _peer_certificate(request: web.BaseRequest) -> bytes:
        transport = request.transport
        ssl_obj = transport.get_extra_info("ssl_object") if transport is not None else None
        if ssl_obj is None:
            return b""
        der = ssl_obj.getpeercert(binary_form=True)
        return der or b""
