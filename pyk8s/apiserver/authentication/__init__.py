"""Authentication: who is asking.  One module per authenticator, as upstream's:

* ``x509`` — client certificates signed by the cluster CA (CN user, O groups);
* ``tokenfile`` — static tokens (``--token-auth-file``) and the server's own admin token;
* ``serviceaccount`` — bound (TokenRequest) and legacy (Secret) ServiceAccount JWTs;
* ``bootstrap`` — bootstrap tokens from ``bootstrap.kubernetes.io/token`` Secrets;
* ``anonymous`` — requests with no credential (``--anonymous-auth``);
* ``union`` — all of them in upstream's order, for requests and for TokenReview.

``user`` holds ``UserInfo``, the shape authorizers read from ``request[USER_KEY]``;
``issuer`` the signing side (TokenRequest, OIDC discovery).  The HTTP filter
is ``pyk8s.apiserver.filters.authn``.
"""

from pyk8s.apiserver.authentication.issuer import TokenIssuer
from pyk8s.apiserver.authentication.user import (
    ANONYMOUS,
    ANONYMOUS_USER,
    AUTHENTICATED,
    UNAUTHENTICATED,
    USER_KEY,
    AuthenticationError,
    Result,
    UserInfo,
)

__all__ = ["ANONYMOUS", "ANONYMOUS_USER", "AUTHENTICATED", "UNAUTHENTICATED", "USER_KEY", "AuthenticationError",
           "Result", "TokenIssuer", "UserInfo"]
