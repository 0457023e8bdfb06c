"""The service-account token issuer: the signing key, issuer URL and audiences, and the OIDC documents.

``TokenIssuer`` is what TokenRequest signs with and what the ServiceAccount
authenticator verifies against.  ``--service-account-issuer`` (default
``https://kubernetes.default.svc.cluster.local``, as upstream) names the
issuer, ``--api-audiences`` the audiences tokens get when a TokenRequest
names none (by default the issuer), ``--service-account-max-token-expiration``
caps a request's lifetime (0: no cap beyond validation's 2^32 s), and
``--service-account-extend-token-expiration`` (on by default) extends the
kubelet's 3607-second kube-api-access tokens to a year with a warn-after mark.

The OIDC discovery document and the JWKS are upstream's
(``/.well-known/openid-configuration`` and ``/openid/v1/jwks``): the JWKS
URI is ``--service-account-jwks-uri`` or, by default, the issuer's
``/openid/v1/jwks``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pyk8s.api.core_v1.helpers import satokens
from pyk8s.util import jwtsign

DISCOVERY_PATH = "/.well-known/openid-configuration"
JWKS_PATH = "/openid/v1/jwks"


@dataclass(slots=True)
class TokenIssuer:
    key: jwtsign.SigningKey
    issuer: str = satokens.DEFAULT_ISSUER
    api_audiences: tuple[str, ...] = ()
    max_expiration_seconds: int = 0
    extend_expiration: bool = True
    jwks_uri: str = ""
    #: Extra public keys tokens may be verified with (a rotated-out key, ``--service-account-key-file``).
    extra_keys: list[jwtsign.PublicKey] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.api_audiences:
            self.api_audiences = (self.issuer,)

    def sign(self, claims: dict[str, Any]) -> str:
        return self.key.sign(claims)

    @property
    def public_keys(self) -> list[jwtsign.PublicKey]:
        return [self.key.public, *self.extra_keys]

    def discovery_document(self) -> dict[str, Any]:
        algs = sorted({jwtsign.algorithm(k) for k in self.public_keys})
        return {"issuer": self.issuer, "jwks_uri": self.jwks_uri or self.issuer.rstrip("/") + JWKS_PATH,
                "response_types_supported": ["id_token"], "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": algs}

    def jwks(self) -> dict[str, Any]:
        return {"keys": [jwtsign.jwk(k) for k in self.public_keys]}

    def is_api_audiences(self, audiences: Sequence[str]) -> bool:
        """Upstream's ``isKubeAudiences``: the request names only audiences the API server accepts."""
        return all(a in self.api_audiences for a in audiences)
