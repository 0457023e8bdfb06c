"""Who a request runs as: ``UserInfo``, and what every authenticator returns.

``UserInfo`` is upstream's ``user.Info``: a name, a uid, groups and extra
values (string lists keyed by a domain-prefixed name).  Authorizers (RBAC,
the Node authorizer, impersonation) read it from ``request[USER_KEY]``.

Authenticators answer in one of three ways, as upstream's
``(response, ok, err)``: a ``Result`` (authenticated), ``None`` (not mine:
no credential of this kind, or a token this authenticator does not know) or
``AuthenticationError`` (the credential is mine and is bad; the message is
for TokenReview's ``status.error`` and logs, never for the 401 body).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import web

ANONYMOUS = "system:anonymous"
UNAUTHENTICATED = "system:unauthenticated"
AUTHENTICATED = "system:authenticated"
MASTERS = "system:masters"
SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:"
SERVICE_ACCOUNTS_GROUP = "system:serviceaccounts"
# Keys of ``UserInfo.extra`` set for service-account tokens, as upstream.
EXTRA_POD_NAME = "authentication.kubernetes.io/pod-name"
EXTRA_POD_UID = "authentication.kubernetes.io/pod-uid"
EXTRA_NODE_NAME = "authentication.kubernetes.io/node-name"
EXTRA_NODE_UID = "authentication.kubernetes.io/node-uid"
EXTRA_CREDENTIAL_ID = "authentication.kubernetes.io/credential-id"


@dataclass(frozen=True, slots=True)
class UserInfo:
    username: str
    groups: tuple[str, ...] = ()
    uid: str = ""
    extra: dict[str, list[str]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        """The ``UserInfo`` of the authentication.k8s.io API (TokenReview, SelfSubjectReview)."""
        out: dict[str, object] = {"username": self.username}
        if self.uid:
            out["uid"] = self.uid
        if self.groups:
            out["groups"] = list(self.groups)
        if self.extra:
            out["extra"] = {k: list(v) for k, v in self.extra.items()}
        return out

    def with_authenticated(self) -> UserInfo:
        """Add ``system:authenticated`` (upstream's AuthenticatedGroupAdder), unless anonymous or present."""
        if self.username == ANONYMOUS or AUTHENTICATED in self.groups or UNAUTHENTICATED in self.groups:
            return self
        return UserInfo(self.username, (*self.groups, AUTHENTICATED), self.uid, self.extra)


ANONYMOUS_USER = UserInfo(ANONYMOUS, (UNAUTHENTICATED,))


def service_account_username(namespace: str, name: str) -> str:
    return f"{SERVICE_ACCOUNT_PREFIX}{namespace}:{name}"


def service_account_groups(namespace: str) -> tuple[str, ...]:
    return (SERVICE_ACCOUNTS_GROUP, f"{SERVICE_ACCOUNTS_GROUP}:{namespace}")


@dataclass(frozen=True, slots=True)
class Result:
    user: UserInfo
    audiences: tuple[str, ...] = ()


class AuthenticationError(Exception):
    """A credential this authenticator owns was refused; ``str(exc)`` is upstream's reason."""


USER_KEY = web.RequestKey("pyk8s.user", UserInfo)
#: The audiences the request's credential was accepted for (set beside USER_KEY).
AUDIENCES_KEY = web.RequestKey("pyk8s.audiences", tuple)


def aggregate(errors: list[str]) -> str:
    """Go's ``utilerrors.NewAggregate(...).Error()``: one message alone, several as ``[a, b]``."""
    unique = list(dict.fromkeys(errors))
    if len(unique) == 1:
        return unique[0]
    return "[" + ", ".join(unique) + "]"
