"""ServiceAccount issuer discovery: ``/.well-known/openid-configuration`` and ``/openid/v1/jwks``.

As upstream's: the OIDC provider configuration naming the issuer and the
JWKS URI, and the public keys tokens are signed with, both cacheable for an
hour.  Who may read them is the authorizer's business (upstream's
``system:service-account-issuer-discovery`` role).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from pyk8s.apiserver.authentication.issuer import DISCOVERY_PATH, JWKS_PATH, TokenIssuer
from pyk8s.apiserver.endpoints.responses import json_response
from pyk8s.machinery.errors import resource_not_found_for_path

__all__ = ["DISCOVERY_PATH", "JWKS_PATH", "serve"]


def serve(request: web.Request, path: str, issuer: Any) -> web.Response:
    if not isinstance(issuer, TokenIssuer):
        raise resource_not_found_for_path(request.path)
    if path == DISCOVERY_PATH:
        resp = json_response(issuer.discovery_document(), content_type="application/json")
    else:
        resp = json_response(issuer.jwks(), content_type="application/jwk-set+json")
    resp.headers["Cache-Control"] = "public, max-age=3600"
    return resp
