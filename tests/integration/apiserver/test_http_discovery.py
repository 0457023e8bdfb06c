"""Discovery, OpenAPI and version documents as kubectl reads them."""

from __future__ import annotations

from tests.integration.apiserver.conftest import AUTH

AGGREGATED = ("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
              "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json")


async def test_legacy_roots(api):
    c = api.client
    api_doc = await (await c.get("/api", headers=AUTH)).json()
    assert api_doc["kind"] == "APIVersions" and api_doc["versions"] == ["v1"]
    groups = await (await c.get("/apis", headers=AUTH)).json()
    assert groups["kind"] == "APIGroupList"
    apps = next(g for g in groups["groups"] if g["name"] == "apps")
    assert apps["preferredVersion"] == {"groupVersion": "apps/v1", "version": "v1"}
    group = await (await c.get("/apis/apps", headers=AUTH)).json()
    assert group["kind"] == "APIGroup" and group["name"] == "apps"
    assert (await c.get("/apis/nope.example.com", headers=AUTH)).status == 404


async def test_aggregated_only_when_asked(api):
    c = api.client
    resp = await c.get("/apis", headers={**AUTH, "Accept": AGGREGATED})
    assert resp.headers["Content-Type"] == "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
    doc = await resp.json()
    assert doc["kind"] == "APIGroupDiscoveryList" and doc["apiVersion"] == "apidiscovery.k8s.io/v2"
    apps = next(i for i in doc["items"] if i["metadata"]["name"] == "apps")
    deploy = next(r for r in apps["versions"][0]["resources"] if r["resource"] == "deployments")
    assert deploy["scope"] == "Namespaced" and "deploy" in deploy["shortNames"] and deploy["categories"] == ["all"]
    scale = next(s for s in deploy["subresources"] if s["subresource"] == "scale")
    assert scale["responseKind"] == {"group": "autoscaling", "version": "v1", "kind": "Scale"}

    old = await c.get("/api", headers={**AUTH, "Accept": "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"})
    assert "v=v2beta1" in old.headers["Content-Type"]
    core = (await old.json())["items"]
    assert [i["metadata"]["name"] for i in core] == [""]
    pods = next(r for r in core[0]["versions"][0]["resources"] if r["resource"] == "pods")
    assert pods["shortNames"] == ["po"]


async def test_resource_lists_with_subresources(api):
    c = api.client
    core = await (await c.get("/api/v1", headers=AUTH)).json()
    assert core["kind"] == "APIResourceList" and core["groupVersion"] == "v1"
    by_name = {r["name"]: r for r in core["resources"]}
    assert by_name["pods"]["shortNames"] == ["po"] and by_name["pods"]["namespaced"] is True
    assert by_name["pods/eviction"]["group"] == "policy" and by_name["pods/eviction"]["kind"] == "Eviction"
    assert by_name["pods/log"]["verbs"] == ["get"]
    assert by_name["serviceaccounts/token"]["kind"] == "TokenRequest"
    assert by_name["serviceaccounts/token"]["group"] == "authentication.k8s.io"
    assert by_name["namespaces"]["namespaced"] is False
    apps = await (await c.get("/apis/apps/v1", headers=AUTH)).json()
    scale = next(r for r in apps["resources"] if r["name"] == "deployments/scale")
    assert (scale["group"], scale["version"], scale["kind"]) == ("autoscaling", "v1", "Scale")
    authz = await (await c.get("/apis/authorization.k8s.io/v1", headers=AUTH)).json()
    assert {r["name"] for r in authz["resources"]} >= {"selfsubjectaccessreviews", "selfsubjectrulesreviews"}
    assert (await c.get("/apis/apps/v9", headers=AUTH)).status == 404
    assert (await c.post("/api/v1", headers=AUTH)).status == 405


async def test_openapi_v3_index_and_documents(api):
    c = api.client
    index = await (await c.get("/openapi/v3", headers=AUTH)).json()
    url = index["paths"]["apis/apps/v1"]["serverRelativeURL"]
    resp = await c.get(url, headers=AUTH)
    assert resp.status == 200 and resp.headers["Cache-Control"] == "public, immutable"
    doc = await resp.json()
    op = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
    assert op["x-kubernetes-group-version-kind"] == {"group": "apps", "version": "v1", "kind": "Deployment"}
    assert any(p["name"] == "fieldValidation" for p in op["parameters"])
    again = await c.get(url, headers={**AUTH, "If-None-Match": resp.headers["ETag"]})
    assert again.status == 304
    assert (await c.get("/openapi/v3/apis/nope/v1", headers=AUTH)).status == 404
    v2 = await c.get("/openapi/v2", headers={**AUTH, "Accept": "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"})
    assert v2.status == 200 and v2.headers["Content-Type"].startswith("application/com.github.proto-openapi.spec.v2")
    assert (await v2.read()).startswith(b"\x0a\x032.0")  # gnostic Document field 1: swagger "2.0"
    v2json = await c.get("/openapi/v2", headers=AUTH)
    assert (await v2json.json())["swagger"] == "2.0"
