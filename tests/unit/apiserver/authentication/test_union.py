from __future__ import annotations

import pytest

from pyk8s.apiserver.authentication.anonymous import AnonymousAuthenticator
from pyk8s.apiserver.authentication.tokenfile import StaticTokenAuthenticator
from pyk8s.apiserver.authentication.union import UnionAuthenticator
from pyk8s.apiserver.authentication.user import AuthenticationError, Result, UserInfo

API = ("https://kubernetes.default.svc.cluster.local",)


class Refusing:
    audience_aware = True

    async def authenticate_token(self, token, audiences):
        if token.count(".") == 2:
            raise AuthenticationError("service account token has been invalidated")
        return None


class FakeRequest:
    def __init__(self, headers: dict[str, str]) -> None:
        self.headers = headers
        self.transport = None


def union(anonymous: bool = True) -> UnionAuthenticator:
    static = StaticTokenAuthenticator({"tok": UserInfo("alice", ("dev",))})
    return UnionAuthenticator(certificates=None, tokens=[static, Refusing()], api_audiences=API,
                              anonymous=AnonymousAuthenticator(anonymous))


async def test_authenticated_users_get_system_authenticated():
    result = await union().authenticate_request(FakeRequest({"Authorization": "Bearer tok"}))
    assert result == Result(UserInfo("alice", ("dev", "system:authenticated")), API)


async def test_no_credential_is_anonymous_or_nothing():
    result = await union().authenticate_request(FakeRequest({}))
    assert result is not None and result.user == UserInfo("system:anonymous", ("system:unauthenticated",))
    assert await union(anonymous=False).authenticate_request(FakeRequest({})) is None
    # Another scheme is no credential at all, as upstream (Basic is not served).
    assert (await union().authenticate_request(FakeRequest({"Authorization": "Basic eDp5"}))).user.username == \
        "system:anonymous"


async def test_a_refused_token_is_never_anonymous():
    with pytest.raises(AuthenticationError, match="^invalid bearer token$"):
        await union().authenticate_request(FakeRequest({"Authorization": "Bearer nope"}))
    with pytest.raises(AuthenticationError, match="invalidated"):
        await union().authenticate_request(FakeRequest({"Authorization": "Bearer a.b.c"}))


async def test_review_wording_and_audience_agnostic_tokens():
    u = union()
    assert await u.review_token("nope") == (None, "invalid bearer token")
    assert await u.review_token("a.b.c") == (None, "[invalid bearer token, service account token has been invalidated]")
    ok, err = await u.review_token("tok", ["vault"])  # a static token is for the API's audiences only
    assert (ok, err) == (None, "invalid bearer token")
    ok, err = await u.review_token("tok", ["vault", API[0]])
    assert err == "" and ok is not None and ok.audiences == API
