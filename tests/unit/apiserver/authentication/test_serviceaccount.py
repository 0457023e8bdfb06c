from __future__ import annotations

import base64

import pytest

from pyk8s.api.core_v1.helpers import satokens
from pyk8s.apiserver.authentication.getters import DictGetter
from pyk8s.apiserver.authentication.issuer import TokenIssuer
from pyk8s.apiserver.authentication.serviceaccount import ServiceAccountTokenAuthenticator
from pyk8s.apiserver.authentication.user import AuthenticationError
from pyk8s.util import jwtsign

NOW = 1_800_000_000.0
API = ("https://kubernetes.default.svc.cluster.local",)


@pytest.fixture(scope="module")
def issuer() -> TokenIssuer:
    return TokenIssuer(jwtsign.generate())


def sa(uid: str = "sa-uid") -> dict:
    return {"metadata": {"name": "bot", "namespace": "team", "uid": uid}}


def pod(uid: str = "pod-uid", **meta) -> dict:
    return {"metadata": {"name": "web", "namespace": "team", "uid": uid, **meta},
            "spec": {"serviceAccountName": "bot", "nodeName": "n1"}}


NODE = {"metadata": {"name": "n1", "uid": "node-uid"}}


def world(**objs) -> DictGetter:
    """objs: sa=, pod=, secret= (None leaves the object out)."""
    out = {}
    if objs.get("sa", True) is not None:
        out[("serviceaccounts", "team", "bot")] = objs.get("sa") or sa()
    if objs.get("pod") is not None:
        out[("pods", "team", "web")] = objs["pod"]
    if objs.get("secret") is not None:
        out[("secrets", "team", objs["secret"]["metadata"]["name"])] = objs["secret"]
    return DictGetter(out)


def authn(issuer: TokenIssuer, getter: DictGetter, now: float = NOW) -> ServiceAccountTokenAuthenticator:
    return ServiceAccountTokenAuthenticator(keys=issuer.public_keys, issuers=(issuer.issuer,), api_audiences=API,
                                            getter=getter, clock=lambda: now)


def bound(issuer: TokenIssuer, *, seconds: int = 3600, audiences: list[str] | None = None, **kw) -> str:
    claims = satokens.bound_claims(issuer=issuer.issuer, audiences=audiences or list(API), service_account=sa(),
                                   seconds=seconds, now=NOW, **kw)
    return issuer.sign(claims)


async def test_pod_bound_token_is_the_service_account_with_pod_and_node_extras(issuer):
    token = bound(issuer, pod=pod(), node=NODE)
    result = await authn(issuer, world(pod=pod())).authenticate_token(token, API)
    assert result is not None
    user = result.user
    assert (user.username, user.uid) == ("system:serviceaccount:team:bot", "sa-uid")
    assert user.groups == ("system:serviceaccounts", "system:serviceaccounts:team")
    assert user.extra["authentication.kubernetes.io/pod-name"] == ["web"]
    assert user.extra["authentication.kubernetes.io/pod-uid"] == ["pod-uid"]
    assert user.extra["authentication.kubernetes.io/node-name"] == ["n1"]
    assert user.extra["authentication.kubernetes.io/credential-id"][0].startswith("JTI=")
    assert result.audiences == API


@pytest.mark.parametrize(("objects", "reason"), [
    ({"pod": None}, "service account token has been invalidated"),
    ({"pod": pod("recreated")}, "pod UID (recreated) does not match service account pod ref claim (pod-uid)"),
    ({"pod": pod(deletionTimestamp="2020-01-01T00:00:00Z")}, "service account token has been invalidated"),
    ({"pod": pod(), "sa": None}, 'serviceaccounts "bot" not found'),
    ({"pod": pod(), "sa": sa("other")}, "service account UID (other) does not match claim (sa-uid)"),
])
async def test_a_token_dies_with_its_pod_or_account(issuer, objects, reason):
    token = bound(issuer, pod=pod(), node=NODE)
    with pytest.raises(AuthenticationError) as exc:
        await authn(issuer, world(**objects)).authenticate_token(token, API)
    assert str(exc.value) == reason


async def test_a_pod_in_graceful_deletion_keeps_its_token_for_the_leeway(issuer):
    token = bound(issuer, pod=pod())
    soon = pod(deletionTimestamp="2027-01-15T08:00:00Z")  # NOW is 2027-01-15T08:00:00Z
    assert await authn(issuer, world(pod=soon), now=NOW + 30).authenticate_token(token, API) is not None
    with pytest.raises(AuthenticationError):
        await authn(issuer, world(pod=soon), now=NOW + 61).authenticate_token(token, API)


async def test_secret_bound_token_dies_with_the_secret(issuer):
    secret = {"metadata": {"name": "s", "namespace": "team", "uid": "s-uid"}}
    token = bound(issuer, secret=secret)
    assert await authn(issuer, world(secret=secret)).authenticate_token(token, API) is not None
    with pytest.raises(AuthenticationError, match="has been invalidated"):
        await authn(issuer, world()).authenticate_token(token, API)


async def test_expiry_has_go_joses_minute_of_leeway(issuer):
    token = bound(issuer, seconds=600)
    assert await authn(issuer, world(), now=NOW + 650).authenticate_token(token, API) is not None
    with pytest.raises(AuthenticationError, match="^service account token has expired$"):
        await authn(issuer, world(), now=NOW + 661).authenticate_token(token, API)


async def test_audiences_must_meet(issuer):
    token = bound(issuer, audiences=["vault"])
    with pytest.raises(AuthenticationError) as exc:
        await authn(issuer, world()).authenticate_token(token, API)
    assert str(exc.value) == ('token audiences ["vault"] is invalid for the target audiences '
                              '["https://kubernetes.default.svc.cluster.local"]')
    result = await authn(issuer, world()).authenticate_token(token, ("vault", "other"))
    assert result is not None and result.audiences == ("vault",)


async def test_foreign_tokens_are_not_ours_and_forged_ones_are_refused(issuer):
    auth = authn(issuer, world())
    assert await auth.authenticate_token("not-a-jwt", API) is None
    other = TokenIssuer(jwtsign.generate(), issuer="https://elsewhere.example")
    assert await auth.authenticate_token(bound(other), API) is None  # another issuer: another authenticator's
    forged = TokenIssuer(jwtsign.generate())
    with pytest.raises(AuthenticationError, match="cryptographic primitive"):
        await auth.authenticate_token(bound(forged), API)


async def test_legacy_token_works_while_its_secret_holds_it(issuer):
    token = issuer.sign(satokens.legacy_claims(namespace="team", service_account="bot", service_account_uid="sa-uid",
                                               secret_name="bot-token"))
    secret = {"metadata": {"name": "bot-token", "namespace": "team", "uid": "s1"},
              "type": "kubernetes.io/service-account-token",
              "data": {"token": base64.b64encode(token.encode()).decode()}}
    result = await authn(issuer, world(secret=secret)).authenticate_token(token, API)
    assert result is not None and result.user.username == "system:serviceaccount:team:bot"
    assert result.audiences == API  # legacy tokens carry the API's audiences
    with pytest.raises(AuthenticationError, match="^token has been invalidated$"):
        await authn(issuer, world()).authenticate_token(token, API)
    other = {**secret, "data": {"token": base64.b64encode(b"x.y.z").decode()}}
    with pytest.raises(AuthenticationError, match="^token does not match server's copy$"):
        await authn(issuer, world(secret=other)).authenticate_token(token, API)
    with pytest.raises(AuthenticationError, match='serviceaccounts "bot" not found'):
        await authn(issuer, world(secret=secret, sa=None)).authenticate_token(token, API)


async def test_legacy_token_use_is_tracked_and_an_invalid_since_label_refuses_it(issuer):
    token = issuer.sign(satokens.legacy_claims(namespace="team", service_account="bot", service_account_uid="sa-uid",
                                               secret_name="bot-token"))
    secret = {"metadata": {"name": "bot-token", "namespace": "team", "uid": "s1"},
              "type": "kubernetes.io/service-account-token",
              "data": {"token": base64.b64encode(token.encode()).decode()}}
    getter = world(secret=secret)
    assert await authn(issuer, getter).authenticate_token(token, API) is not None
    assert secret["metadata"]["labels"] == {"kubernetes.io/legacy-token-last-used": "2027-01-15"}
    secret["metadata"]["labels"]["kubernetes.io/legacy-token-invalid-since"] = "2027-01-01"
    with pytest.raises(AuthenticationError) as exc:
        await authn(issuer, getter).authenticate_token(token, API)
    assert str(exc.value).startswith("the token in secret team/bot-token for service account team/bot has been "
                                     "marked invalid.")


async def test_node_bound_token_dies_with_its_node(issuer):
    token = bound(issuer, node=NODE)
    getter = world()
    getter.objects[("nodes", "", "n1")] = NODE
    result = await authn(issuer, getter).authenticate_token(token, API)
    assert result is not None and result.user.extra["authentication.kubernetes.io/node-name"] == ["n1"]
    getter.objects[("nodes", "", "n1")] = {"metadata": {"name": "n1", "uid": "replaced"}}
    with pytest.raises(AuthenticationError, match=r"^node UID \(replaced\) does not match"):
        await authn(issuer, getter).authenticate_token(token, API)
    del getter.objects[("nodes", "", "n1")]
    with pytest.raises(AuthenticationError, match="has been invalidated"):
        await authn(issuer, getter).authenticate_token(token, API)
