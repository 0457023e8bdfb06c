"""The authentication filter's pieces: the compatibility signer and upstream's 403 wording for anonymous users."""

from __future__ import annotations

from aiohttp.test_utils import make_mocked_request

from pyk8s.apiserver.authentication.user import ANONYMOUS_USER
from pyk8s.apiserver.filters.authn import Authenticator, TokenSigner, UserInfo, anonymous_policy, forbidden_message
from pyk8s.machinery.errors import StatusError


def test_token_signer_signs_rs256_with_a_key_id():
    signer = TokenSigner(b"not a pem")
    token = signer.sign({"sub": "x"})
    assert signer.jwks()["keys"][0]["alg"] == "RS256"
    assert signer.jwks()["keys"][0]["kid"] == signer.key.kid
    assert token.count(".") == 2


async def test_authenticator_keeps_static_tokens_and_adds_system_authenticated():
    auth = Authenticator(tokens={"static": UserInfo("admin", ("system:masters",))}, signer=TokenSigner(b"k"))
    result = await auth.authenticate_token("static")
    assert result is not None and result.user.groups == ("system:masters", "system:authenticated")
    assert await auth.authenticate_token("unknown") is None


def _message(method: str, path: str) -> str:
    return forbidden_message(make_mocked_request(method, path), ANONYMOUS_USER)[0]


def test_forbidden_messages_follow_rbac_wording():
    assert _message("GET", "/api/v1/pods") == ('User "system:anonymous" cannot list resource "pods" in API group "" '
                                               "at the cluster scope")
    assert _message("GET", "/api/v1/namespaces/default/pods/web/log") == (
        'User "system:anonymous" cannot get resource "pods/log" in API group "" in the namespace "default"')
    assert _message("POST", "/apis/apps/v1/namespaces/ns/deployments") == (
        'User "system:anonymous" cannot create resource "deployments" in API group "apps" in the namespace "ns"')
    assert _message("GET", "/api/v1/namespaces/kube-system") == (
        'User "system:anonymous" cannot get resource "namespaces" in API group "" in the namespace "kube-system"')
    assert _message("GET", "/api/v1/pods?watch=true") == (
        'User "system:anonymous" cannot watch resource "pods" in API group "" at the cluster scope')
    assert _message("GET", "/openid/v1/jwks") == 'forbidden: User "system:anonymous" cannot get path "/openid/v1/jwks"'


def test_anonymous_policy_allows_health_and_version_only():
    for path in ("/healthz", "/livez", "/readyz", "/readyz/ping", "/version"):
        anonymous_policy(make_mocked_request("GET", path), ANONYMOUS_USER)
    for method, path in (("GET", "/api"), ("GET", "/apis"), ("GET", "/api/v1/namespaces/default/pods/web"),
                         ("POST", "/version")):
        try:
            anonymous_policy(make_mocked_request(method, path), ANONYMOUS_USER)
        except StatusError as exc:
            assert exc.code == 403 and exc.reason == "Forbidden"
        else:
            raise AssertionError(f"{method} {path} allowed")
    try:
        anonymous_policy(make_mocked_request("GET", "/api/v1/namespaces/default/pods/web"), ANONYMOUS_USER)
    except StatusError as exc:
        assert exc.message == ('pods "web" is forbidden: User "system:anonymous" cannot get resource "pods" in API '
                               'group "" in the namespace "default"')
