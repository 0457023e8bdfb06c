"""The authorization filter: refusals worded as upstream, and ``create`` required for exec over a GET."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from pyk8s.apiserver.authorization.attributes import Attributes
from pyk8s.apiserver.authorization.decision import Decision
from pyk8s.apiserver.authorization.union import UnionAuthorizer
from pyk8s.apiserver.filters.authn import USER_KEY, UserInfo
from pyk8s.apiserver.filters.authz import authz_middleware
from pyk8s.apiserver.filters.impersonation import impersonation_middleware
from pyk8s.machinery.errors import StatusError

BOB = UserInfo("bob", ("system:authenticated",))


class Only:
    """Allows exactly the (verb, resource) pairs given; says why not otherwise."""

    def __init__(self, *allowed: tuple[str, str]) -> None:
        self.allowed = set(allowed)

    async def authorize(self, attrs: Attributes) -> tuple[Decision, str]:
        if (attrs.verb, attrs.combined_resource) in self.allowed:
            return Decision.ALLOW, ""
        return Decision.NO_OPINION, "not today"


async def ok(request: web.Request) -> web.StreamResponse:
    return web.Response(text=request[USER_KEY].username)


async def call(mw: object, method: str, path: str, headers: dict[str, str] | None = None) -> web.StreamResponse:
    request = make_mocked_request(method, path, headers=headers or {})
    request[USER_KEY] = BOB
    return await mw(request, ok)  # type: ignore[operator]


def union(*allowed: tuple[str, str]) -> UnionAuthorizer:
    return UnionAuthorizer(("RBAC",), [Only(*allowed)])  # type: ignore[list-item]


async def test_refusal_is_upstreams_403() -> None:
    with pytest.raises(StatusError) as exc:
        await call(authz_middleware(union()), "GET", "/api/v1/namespaces/default/pods/web")
    assert exc.value.code == 403
    assert exc.value.message == ('pods "web" is forbidden: User "bob" cannot get resource "pods" in API group "" '
                                 'in the namespace "default": not today')


async def test_exec_over_a_get_also_needs_create() -> None:
    path = "/api/v1/namespaces/default/pods/web/exec"
    with pytest.raises(StatusError) as exc:
        await call(authz_middleware(union(("get", "pods/exec"))), "GET", path)
    assert 'cannot create resource "pods/exec"' in exc.value.message
    resp = await call(authz_middleware(union(("get", "pods/exec"), ("create", "pods/exec"))), "GET", path)
    assert resp.status == 200


async def test_impersonation_needs_the_impersonate_verb() -> None:
    with pytest.raises(StatusError) as exc:
        await call(impersonation_middleware(union()), "GET", "/api/v1/pods", {"Impersonate-User": "alice"})
    assert exc.value.message == ('users "alice" is forbidden: User "bob" cannot impersonate resource "users" in API '
                                 'group "" at the cluster scope: not today')
    resp = await call(impersonation_middleware(union(("impersonate", "users"))), "GET", "/api/v1/pods",
                      {"Impersonate-User": "alice"})
    assert resp.text == "alice"  # type: ignore[attr-defined]
    with pytest.raises(StatusError) as exc:
        await call(impersonation_middleware(union(("impersonate", "users"))), "GET", "/api/v1/pods",
                   {"Impersonate-User": "alice", "Impersonate-Group": "admins"})
    assert 'cannot impersonate resource "groups"' in exc.value.message
