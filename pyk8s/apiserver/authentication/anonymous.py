"""Anonymous requests (``--anonymous-auth``, on by default as upstream).

A request that carries no credential at all (no client certificate, no
bearer token) runs as ``system:anonymous`` in ``system:unauthenticated``;
what that user may do is the authorizer's business.  A request whose
credential is refused is never anonymous: it gets a 401, as upstream's
fail-on-error union does.  With anonymous auth off, no credential is a 401.
"""

from __future__ import annotations

from pyk8s.apiserver.authentication.user import ANONYMOUS_USER, Result


class AnonymousAuthenticator:
    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled

    def authenticate(self) -> Result | None:
        return Result(ANONYMOUS_USER) if self.enabled else None
