"""The request's user and authorizer, for checks made deep in the registry (RBAC escalation prevention).

The authorization filter sets ``REQUEST`` for the task serving the request;
writes made by the server itself (bootstrap, reconciliation) run without it
and are trusted, as upstream trusts a context without a user.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pyk8s.apiserver.filters.authn import UserInfo

if TYPE_CHECKING:
    from pyk8s.apiserver.authorization.union import UnionAuthorizer


@dataclass(frozen=True, slots=True)
class RequestContext:
    user: UserInfo
    authorizer: UnionAuthorizer


REQUEST: ContextVar[RequestContext | None] = ContextVar("pyk8s_authz_request", default=None)
