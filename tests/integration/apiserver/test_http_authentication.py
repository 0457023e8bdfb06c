"""Authentication through the HTTP stack over a real registry (memory storage): bound ServiceAccount tokens
die with their pod or account, TokenRequest validation, TokenReview, OIDC discovery, anonymous requests,
static, bootstrap and legacy tokens."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator

import jwt
import pytest
from aiohttp.test_utils import TestClient, TestServer

import pyk8s.api  # noqa: F401
from pyk8s.api.core_v1.helpers import satokens
from pyk8s.apiserver.config import ServerConfig
from pyk8s.apiserver.endpoints.system import Readiness
from pyk8s.apiserver.filters.authn import Authenticator, TokenSigner, UserInfo
from pyk8s.apiserver.registry import build_registry
from pyk8s.apiserver.server import build_app
from pyk8s.machinery.scheme import SCHEME
from pyk8s.storage import open_storage
from pyk8s.util import jwtsign

ADMIN = {"Authorization": "Bearer admin-token"}
ISSUER = "https://kubernetes.default.svc.cluster.local"


async def _client(tmp_path, *, anonymous: bool = True, max_expiration: int = 0,
                  key: jwtsign.SigningKey | None = None) -> AsyncIterator[TestClient]:
    storage = open_storage("memory://")
    await storage.start()
    registry = build_registry(SCHEME, storage)
    signer = TokenSigner(key or b"test", max_expiration_seconds=max_expiration)
    auth = Authenticator(tokens={"admin-token": UserInfo("admin", ("system:masters",)),
                                 "alice-token": UserInfo("alice", ("dev",), "1001")},
                         signer=signer, anonymous=anonymous)
    app = build_app(config=ServerConfig(data_dir=tmp_path), registry=registry, authenticator=auth,
                    readiness=Readiness(()), token_signer=signer)
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        for ns in ("default", "kube-system", "team"):
            await client.post("/api/v1/namespaces", json={"apiVersion": "v1", "kind": "Namespace",
                                                          "metadata": {"name": ns}}, headers=ADMIN)
        yield client
    finally:
        await client.close()
        await registry.close()
        await storage.close()


@pytest.fixture
async def api(tmp_path) -> AsyncIterator[TestClient]:
    async for c in _client(tmp_path):
        yield c


async def create(c: TestClient, path: str, body: dict, headers: dict | None = None) -> dict:
    resp = await c.post(path, json=body, headers=headers or ADMIN)
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def account_and_pod(c: TestClient) -> tuple[dict, dict]:
    sa = await create(c, "/api/v1/namespaces/team/serviceaccounts",
                      {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "bot"}})
    pod = await create(c, "/api/v1/namespaces/team/pods", {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
        "spec": {"serviceAccountName": "bot", "containers": [{"name": "c", "image": "busybox"}]}})
    return sa, pod


async def token_request(c: TestClient, spec: dict, account: str = "bot") -> tuple[int, dict]:
    resp = await c.post(f"/api/v1/namespaces/team/serviceaccounts/{account}/token", headers=ADMIN,
                        json={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec})
    return resp.status, await resp.json()


async def whoami(c: TestClient, token: str) -> tuple[int, dict]:
    resp = await c.post("/apis/authentication.k8s.io/v1/selfsubjectreviews",
                        json={"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
                        headers={"Authorization": f"Bearer {token}"})
    return resp.status, await resp.json()


async def review(c: TestClient, token: str, audiences: list[str] | None = None) -> dict:
    spec: dict = {"token": token, **({"audiences": audiences} if audiences else {})}
    body = await create(c, "/apis/authentication.k8s.io/v1/tokenreviews",
                        {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": spec})
    return body["status"]


def pod_ref(pod: dict) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "name": "web", "uid": pod["metadata"]["uid"]}


async def test_a_pod_bound_token_stops_working_when_its_pod_is_deleted(api):
    sa, pod = await account_and_pod(api)
    status, tr = await token_request(api, {"boundObjectRef": pod_ref(pod)})
    assert status == 201 and tr["spec"]["boundObjectRef"]["uid"] == pod["metadata"]["uid"]
    token = tr["status"]["token"]
    status, me = await whoami(api, token)
    assert status == 201
    info = me["status"]["userInfo"]
    assert info["username"] == "system:serviceaccount:team:bot" and info["uid"] == sa["metadata"]["uid"]
    assert info["groups"] == ["system:serviceaccounts", "system:serviceaccounts:team", "system:authenticated"]
    assert info["extra"]["authentication.kubernetes.io/pod-name"] == ["web"]
    resp = await api.delete("/api/v1/namespaces/team/pods/web?gracePeriodSeconds=0", headers=ADMIN)
    assert resp.status == 200
    status, body = await whoami(api, token)
    assert (status, body["message"], body["reason"]) == (401, "Unauthorized", "Unauthorized")  # nothing leaked
    assert await review(api, token) == {"user": {}, "error": "[invalid bearer token, service account token has "
                                                              "been invalidated]"}


async def test_a_token_stops_working_when_its_account_is_deleted_or_recreated(api):
    await account_and_pod(api)
    _, tr = await token_request(api, {})
    token = tr["status"]["token"]
    assert (await whoami(api, token))[0] == 201
    assert (await api.delete("/api/v1/namespaces/team/serviceaccounts/bot", headers=ADMIN)).status == 200
    assert (await whoami(api, token))[0] == 401
    assert (await review(api, token))["error"] == '[invalid bearer token, serviceaccounts "bot" not found]'
    await create(api, "/api/v1/namespaces/team/serviceaccounts",
                 {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "bot"}})
    assert (await whoami(api, token))[0] == 401  # same name, another uid


async def test_token_request_validation_and_bound_object_checks(api):
    _, pod = await account_and_pod(api)
    status, body = await token_request(api, {"expirationSeconds": 10_000_000_000})
    assert status == 422 and body["message"] == (
        'TokenRequest.authentication.k8s.io "" is invalid: spec.expirationSeconds: Invalid value: 10000000000: '
        "may not specify a duration larger than 2^32 seconds")
    status, body = await token_request(api, {"boundObjectRef": {**pod_ref(pod), "uid": "stale"}})
    assert status == 409 and "the UID in the bound object reference (stale) does not match" in body["message"]
    await create(api, "/api/v1/namespaces/team/serviceaccounts",
                 {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "other"}})
    status, body = await token_request(api, {"boundObjectRef": pod_ref(pod)}, account="other")
    assert status == 400 and body["message"] == ('cannot bind token for serviceaccount "other" to pod running with '
                                                 "different serviceaccount name.")
    status, body = await token_request(api, {"boundObjectRef": {"apiVersion": "v1", "kind": "ConfigMap", "name": "x"}})
    assert status == 400 and body["message"] == "cannot bind token to object of type /v1, Kind=ConfigMap"
    status, body = await token_request(api, {"boundObjectRef": {**pod_ref(pod), "name": "ghost", "uid": ""}})
    assert status == 404


async def test_kubelet_tokens_are_extended_and_long_requests_capped(tmp_path):
    async for api in _client(tmp_path, max_expiration=7200):
        _, pod = await account_and_pod(api)
        status, tr = await token_request(api, {"expirationSeconds": 3607, "boundObjectRef": pod_ref(pod)})
        claims = jwt.decode(tr["status"]["token"], options={"verify_signature": False})
        assert claims["exp"] - claims["iat"] == 365 * 24 * 3600  # upstream's safe-rollout extension
        assert claims["kubernetes.io"]["warnafter"] - claims["iat"] == 3607
        resp = await api.post("/api/v1/namespaces/team/serviceaccounts/bot/token", headers=ADMIN,
                              json={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                                    "spec": {"expirationSeconds": 86400}})
        assert resp.status == 201 and (await resp.json())["spec"]["expirationSeconds"] == 7200
        assert "requested expiration of 86400 seconds shortened to 7200 seconds" in resp.headers["Warning"]


async def test_token_review_reports_audiences(api):
    await account_and_pod(api)
    _, tr = await token_request(api, {"audiences": ["vault"]})
    token = tr["status"]["token"]
    assert (await whoami(api, token))[0] == 401  # not for the API server
    ok = await review(api, token, ["vault"])
    assert ok["authenticated"] is True and ok["audiences"] == ["vault"]
    assert ok["user"]["username"] == "system:serviceaccount:team:bot"
    bad = await review(api, token)
    assert bad["error"] == (f'[invalid bearer token, token audiences ["vault"] is invalid for the target audiences '
                            f'["{ISSUER}"]]')
    static = await review(api, "alice-token")
    assert static == {"authenticated": True, "audiences": [ISSUER],
                      "user": {"username": "alice", "uid": "1001", "groups": ["dev", "system:authenticated"]}}
    assert await review(api, "nonsense") == {"user": {}, "error": "invalid bearer token"}


async def test_oidc_discovery_documents_verify_issued_tokens(api):
    await account_and_pod(api)
    doc = await (await api.get("/.well-known/openid-configuration", headers=ADMIN)).json()
    assert doc == {"issuer": ISSUER, "jwks_uri": f"{ISSUER}/openid/v1/jwks", "response_types_supported": ["id_token"],
                   "subject_types_supported": ["public"], "id_token_signing_alg_values_supported": ["RS256"]}
    resp = await api.get("/openid/v1/jwks", headers=ADMIN)
    assert resp.headers["Content-Type"] == "application/jwk-set+json"
    keys = (await resp.json())["keys"]
    _, tr = await token_request(api, {})
    token = tr["status"]["token"]
    key = jwt.PyJWK(keys[0])
    assert jwt.get_unverified_header(token)["kid"] == keys[0]["kid"]
    claims = jwt.decode(token, key.key, algorithms=["RS256"], audience=ISSUER, issuer=ISSUER)
    assert claims["sub"] == "system:serviceaccount:team:bot"


async def test_anonymous_requests(api, tmp_path):
    assert (await api.get("/version")).status == 200
    resp = await api.get("/api/v1/pods")
    assert resp.status == 403
    assert (await resp.json())["message"] == ('pods is forbidden: User "system:anonymous" cannot list resource "pods" '
                                              'in API group "" at the cluster scope')
    bad = await api.get("/version", headers={"Authorization": "Bearer wrong"})
    assert bad.status == 401  # a refused credential never falls back to anonymous
    async for closed in _client(tmp_path / "off", anonymous=False):
        resp = await closed.get("/api/v1/pods")
        assert resp.status == 401 and (await resp.json())["message"] == "Unauthorized"


async def test_bootstrap_token(api):
    def b64(text: str) -> str:
        return base64.b64encode(text.encode()).decode()

    await create(api, "/api/v1/namespaces/kube-system/secrets", {
        "apiVersion": "v1", "kind": "Secret", "type": "bootstrap.kubernetes.io/token",
        "metadata": {"name": "bootstrap-token-abcdef"},
        "data": {"token-id": b64("abcdef"), "token-secret": b64("0123456789abcdef"),
                 "usage-bootstrap-authentication": b64("true"),
                 "auth-extra-groups": b64("system:bootstrappers:kubeadm:default-node-token")}})
    status, me = await whoami(api, "abcdef.0123456789abcdef")
    assert status == 201
    assert me["status"]["userInfo"] == {"username": "system:bootstrap:abcdef", "groups": [
        "system:bootstrappers", "system:bootstrappers:kubeadm:default-node-token", "system:authenticated"]}
    assert (await whoami(api, "abcdef.0123456789abcdeg"))[0] == 401
    await api.delete("/api/v1/namespaces/kube-system/secrets/bootstrap-token-abcdef", headers=ADMIN)
    assert (await whoami(api, "abcdef.0123456789abcdef"))[0] == 401


async def test_legacy_token_works_until_its_secret_is_deleted(api):
    sa, _ = await account_and_pod(api)
    signer = TokenSigner(b"test")  # the same per-process key the fixture's server signs with
    token = signer.sign(satokens.legacy_claims(namespace="team", service_account="bot",
                                               service_account_uid=sa["metadata"]["uid"], secret_name="bot-token"))
    await create(api, "/api/v1/namespaces/team/secrets", {
        "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
        "metadata": {"name": "bot-token", "annotations": {"kubernetes.io/service-account.name": "bot"}},
        "data": {"token": base64.b64encode(token.encode()).decode()}})
    status, me = await whoami(api, token)
    assert status == 201, json.dumps(me)
    assert me["status"]["userInfo"]["username"] == "system:serviceaccount:team:bot"
    stored = await (await api.get("/api/v1/namespaces/team/secrets/bot-token", headers=ADMIN)).json()
    assert "kubernetes.io/legacy-token-last-used" in stored["metadata"]["labels"]  # upstream's tracking
    await api.delete("/api/v1/namespaces/team/secrets/bot-token", headers=ADMIN)
    assert (await whoami(api, token))[0] == 401


async def test_an_ecdsa_signing_key_works_end_to_end(tmp_path):
    from cryptography.hazmat.primitives.asymmetric import ec

    async for api in _client(tmp_path, key=jwtsign.SigningKey(ec.generate_private_key(ec.SECP256R1()))):
        await account_and_pod(api)
        _, tr = await token_request(api, {})
        assert jwt.get_unverified_header(tr["status"]["token"])["alg"] == "ES256"
        assert (await whoami(api, tr["status"]["token"]))[0] == 201
        keys = (await (await api.get("/openid/v1/jwks", headers=ADMIN)).json())["keys"]
        assert (keys[0]["kty"], keys[0]["crv"], keys[0]["alg"]) == ("EC", "P-256", "ES256")
