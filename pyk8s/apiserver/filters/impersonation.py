"""Impersonation: ``Impersonate-User``, ``-Group``, ``-Uid`` and ``Impersonate-Extra-<key>`` headers.

Each requested attribute is authorised for the real user first, as upstream:
verb ``impersonate`` on ``users`` (or ``serviceaccounts`` in their namespace
for ``system:serviceaccount:<ns>:<name>``), ``groups``, ``uids`` and
``userextras/<key>`` (the last two in ``authentication.k8s.io``), by name.
A refusal is the usual 403 (``users "bob" is forbidden: User "alice" cannot
impersonate resource "users" in API group "" at the cluster scope``).  The
request then runs as the impersonated user: a ServiceAccount without
requested groups gets its ServiceAccount groups, everyone but
``system:anonymous`` gets ``system:authenticated`` (and the anonymous user
``system:unauthenticated``).
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Awaitable, Callable

from aiohttp import web

from pyk8s.apiserver.authorization.attributes import Attributes
from pyk8s.apiserver.authorization.decision import Authorizer
from pyk8s.apiserver.filters import authz
from pyk8s.apiserver.filters.authn import AUTHENTICATED, USER_KEY, UserInfo
from pyk8s.machinery.errors import bad_request

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
USER_HEADER = "Impersonate-User"
GROUP_HEADER = "Impersonate-Group"
UID_HEADER = "Impersonate-Uid"
EXTRA_PREFIX = "impersonate-extra-"
AUTHN_GROUP = "authentication.k8s.io"
ANONYMOUS = "system:anonymous"
UNAUTHENTICATED = "system:unauthenticated"
SA_PREFIX = "system:serviceaccount:"


def _extras(request: web.Request) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for header, value in request.headers.items():
        if header.lower().startswith(EXTRA_PREFIX):
            key = urllib.parse.unquote(header[len(EXTRA_PREFIX):].lower())
            out.setdefault(key, []).append(value)
    return out


def _user_attributes(actor: UserInfo, username: str) -> Attributes:
    if username.startswith(SA_PREFIX) and username.count(":") == 3:
        _, _, ns, name = username.split(":")
        return Attributes(actor, "impersonate", resource="serviceaccounts", namespace=ns, name=name)
    return Attributes(actor, "impersonate", resource="users", name=username)


def impersonated_user(username: str, groups: list[str], uid: str, extra: dict[str, list[str]]) -> UserInfo:
    all_groups = list(groups)
    if username.startswith(SA_PREFIX) and username.count(":") == 3 and not groups:
        ns = username.split(":")[2]
        all_groups = ["system:serviceaccounts", f"system:serviceaccounts:{ns}"]
    wanted = UNAUTHENTICATED if username == ANONYMOUS else AUTHENTICATED
    if wanted not in all_groups:
        all_groups.append(wanted)
    return UserInfo(username, tuple(all_groups), uid, extra)


def impersonation_middleware(authorizer: Authorizer) -> Callable[..., Awaitable[web.StreamResponse]]:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        username = request.headers.get(USER_HEADER, "")
        groups = request.headers.getall(GROUP_HEADER, [])
        uid = request.headers.get(UID_HEADER, "")
        extra = _extras(request)
        if not (username or groups or uid or extra):
            return await handler(request)
        actor = request.get(USER_KEY)
        if actor is None:
            return await handler(request)
        if not username:
            raise bad_request("requested impersonation of groups, uid or extra without impersonating a user")
        checks = [_user_attributes(actor, username)]
        checks += [Attributes(actor, "impersonate", resource="groups", name=g) for g in groups]
        if uid:
            checks.append(Attributes(actor, "impersonate", api_group=AUTHN_GROUP, resource="uids", name=uid))
        for key, values in extra.items():
            checks += [Attributes(actor, "impersonate", api_group=AUTHN_GROUP, resource="userextras",
                                  subresource=key, name=v) for v in values]
        for attrs in checks:
            await authz.check(authorizer, attrs)
        request[USER_KEY] = impersonated_user(username, groups, uid, extra)
        return await handler(request)

    return middleware
