"""Reviews, scale, binding, eviction and token requests."""

from __future__ import annotations

import orjson

from pyk8s.machinery import protobuf
from tests.integration.apiserver.conftest import AUTH

DEPLOY = "/apis/apps/v1/namespaces/default/deployments"
PODS = "/api/v1/namespaces/default/pods"


async def test_self_subject_reviews(api):
    c = api.client
    ssar = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": {"verb": "create", "resource": "pods", "namespace": "default"}}}
    resp = await c.post("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", data=orjson.dumps(ssar), headers=AUTH)
    assert resp.status == 201
    body = await resp.json()
    assert body["status"]["allowed"] is True and body["spec"] == ssar["spec"]
    invalid = await c.post("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
                           data=orjson.dumps({**ssar, "spec": {}}), headers=AUTH)
    assert invalid.status == 422

    rules = await c.post("/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
                         data=orjson.dumps({"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectRulesReview",
                                            "spec": {"namespace": "default"}}), headers=AUTH)
    assert (await rules.json())["status"]["resourceRules"][0]["verbs"] == ["*"]

    who = await c.post("/apis/authentication.k8s.io/v1/selfsubjectreviews",
                       data=orjson.dumps({"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}),
                       headers=AUTH)
    assert (await who.json())["status"]["userInfo"] == {"username": "admin",
                                                        "groups": ["system:masters", "system:authenticated"]}
    assert (await c.get("/apis/authentication.k8s.io/v1/selfsubjectreviews", headers=AUTH)).status == 405


async def test_protobuf_access_review(api):
    attrs = protobuf.encode_field(2, "create") + protobuf.encode_field(5, "pods")
    raw = protobuf.encode_field(2, protobuf.encode_field(1, attrs))
    body = protobuf.envelope("authorization.k8s.io/v1", "SelfSubjectAccessReview", raw)
    resp = await api.client.post("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", data=body,
                                 headers={**AUTH, "Content-Type": "application/vnd.kubernetes.protobuf"})
    assert resp.status == 201, await resp.text()
    assert (await resp.json())["status"]["allowed"] is True


async def test_scale_subresource_reads_and_writes_replicas(api):
    c = api.client
    deploy = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
              "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}}}}
    assert (await c.post(DEPLOY, data=orjson.dumps(deploy), headers=AUTH)).status == 201
    scale = await (await c.get(DEPLOY + "/web/scale", headers=AUTH)).json()
    assert scale["kind"] == "Scale" and scale["apiVersion"] == "autoscaling/v1"
    assert scale["spec"] == {"replicas": 1} and scale["status"]["selector"] == "app=web"
    resp = await c.patch(DEPLOY + "/web/scale", data=b'{"spec":{"replicas":3}}',
                         headers={**AUTH, "Content-Type": "application/merge-patch+json"})
    assert resp.status == 200 and (await resp.json())["spec"]["replicas"] == 3
    assert (await (await c.get(DEPLOY + "/web", headers=AUTH)).json())["spec"]["replicas"] == 3
    negative = await c.patch(DEPLOY + "/web/scale", data=b'{"spec":{"replicas":-1}}',
                             headers={**AUTH, "Content-Type": "application/merge-patch+json"})
    assert negative.status == 422
    put = await c.put(DEPLOY + "/web/scale", data=orjson.dumps({"apiVersion": "autoscaling/v1", "kind": "Scale",
                                                                "metadata": {"name": "web"}, "spec": {"replicas": 2}}),
                      headers=AUTH)
    assert put.status == 200 and (await put.json())["spec"]["replicas"] == 2


async def test_binding_and_eviction(api):
    c = api.client
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "i"}]}}
    await c.post(PODS, data=orjson.dumps(pod), headers=AUTH)
    binding = {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "p"}, "target": {"kind": "Node", "name": "n1"}}
    resp = await c.post(PODS + "/p/binding", data=orjson.dumps(binding), headers=AUTH)
    assert resp.status == 201
    bound = await (await c.get(PODS + "/p", headers=AUTH)).json()
    assert bound["spec"]["nodeName"] == "n1"
    twice = await c.post("/api/v1/namespaces/default/bindings", data=orjson.dumps(binding), headers=AUTH)
    assert twice.status == 409
    log = await c.get(PODS + "/p/log", headers=AUTH)
    assert log.status == 503 and "n1" in (await log.json())["message"]

    eviction = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "p"}, "deleteOptions": {}}
    resp = await c.post(PODS + "/p/eviction", data=orjson.dumps(eviction), headers=AUTH)
    assert resp.status == 201 and (await resp.json())["status"] == "Success"
    assert (await c.get(PODS + "/p", headers=AUTH)).status == 404


async def test_token_request_issues_a_usable_token(api):
    c = api.client
    sa = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "bot"}}
    await c.post("/api/v1/namespaces/default/serviceaccounts", data=orjson.dumps(sa), headers=AUTH)
    req = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}}
    resp = await c.post("/api/v1/namespaces/default/serviceaccounts/bot/token", data=orjson.dumps(req), headers=AUTH)
    assert resp.status == 201
    body = await resp.json()
    token = body["status"]["token"]
    assert body["status"]["expirationTimestamp"].endswith("Z") and body["spec"]["expirationSeconds"] == 3600
    who = await c.post("/apis/authentication.k8s.io/v1/selfsubjectreviews",
                       data=b'{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}',
                       headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    assert (await who.json())["status"]["userInfo"]["username"] == "system:serviceaccount:default:bot"
    missing = await c.post("/api/v1/namespaces/default/serviceaccounts/ghost/token", data=orjson.dumps(req), headers=AUTH)
    assert missing.status == 404
    short = await c.post("/api/v1/namespaces/default/serviceaccounts/bot/token",
                         data=orjson.dumps({**req, "spec": {"expirationSeconds": 60}}), headers=AUTH)
    assert short.status == 422  # upstream's Invalid, not a 400
    assert (await short.json())["message"] == ('TokenRequest.authentication.k8s.io "" is invalid: spec.expirationSeconds: '
                                               "Invalid value: 60: may not specify a duration less than 10 minutes")


async def test_subject_access_reviews_validate_through_the_kind_strategy(api):
    c = api.client
    sar = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
           "spec": {"user": "bob", "resourceAttributes": {"verb": "get", "resource": "pods"}}}
    resp = await c.post("/apis/authorization.k8s.io/v1/subjectaccessreviews", data=orjson.dumps(sar), headers=AUTH)
    assert resp.status == 201 and (await resp.json())["status"]["allowed"] is True
    no_user = await c.post("/apis/authorization.k8s.io/v1/subjectaccessreviews",
                           data=orjson.dumps({**sar, "spec": {"resourceAttributes": {"verb": "get"}}}), headers=AUTH)
    assert no_user.status == 422 and "spec.user" in (await no_user.json())["message"]
    local = {**sar, "kind": "LocalSubjectAccessReview",
             "spec": {"user": "bob", "resourceAttributes": {"verb": "get", "resource": "pods", "namespace": "team"}}}
    resp = await c.post("/apis/authorization.k8s.io/v1/namespaces/team/localsubjectaccessreviews",
                        data=orjson.dumps(local), headers=AUTH)
    assert resp.status == 201, await resp.text()
    assert (await resp.json())["metadata"]["namespace"] == "team"
    cluster_path = await c.post("/apis/authorization.k8s.io/v1/localsubjectaccessreviews", data=orjson.dumps(local),
                                headers=AUTH)
    assert cluster_path.status == 404
