import hashlib

import orjson
import pytest

from pyk8s.machinery import openapi
from pyk8s.machinery.scheme import ResourceType, Scheme, Strategy


@pytest.fixture
def scheme():
    s = Scheme()
    s.add(ResourceType("apps", "v1", "Deployment", "deployments", "deployment", True, schema="io.test.Deployment",
                       subresources=("status", "scale")))
    s.add(ResourceType("x", "v1", "Free", "frees", "free", False, schema="io.test.Free",
                       verbs=("get", "list", "create")))
    return s


def test_index_hash_matches_document(scheme, registry):
    idx = openapi.v3_index(scheme, registry)
    assert set(idx["paths"]) == {"apis/apps/v1", "apis/x/v1"}
    url = idx["paths"]["apis/apps/v1"]["serverRelativeURL"]
    body, digest = openapi.v3_document_bytes("apps", "v1", scheme, registry)
    assert url == f"/openapi/v3/apis/apps/v1?hash={digest}"
    assert digest == hashlib.sha512(body).hexdigest().upper()
    assert openapi.find_v3("apis/apps/v1", scheme, registry) == (body, digest)
    assert openapi.find_v3("apis/nope/v1", scheme, registry) is None
    assert openapi.gv_key("", "v1") == "api/v1"


def test_patch_operation_has_what_kubectl_needs(scheme, registry):
    doc = openapi.v3_document("apps", "v1", scheme, registry)
    item = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]
    patch = item["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {"group": "apps", "version": "v1", "kind": "Deployment"}
    names = [p["name"] for p in patch["parameters"]]
    assert {"fieldValidation", "dryRun", "fieldManager", "force"} <= set(names)
    assert set(patch["requestBody"]["content"]) == set(openapi.PATCH_TYPES)
    assert {"get", "put", "delete", "parameters"} <= set(item)
    assert doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments"]["post"]["operationId"] == \
        "createAppsV1NamespacedDeployment"
    assert "get" in doc["paths"]["/apis/apps/v1/deployments"]
    assert "/apis/apps/v1/namespaces/{namespace}/deployments/{name}/status" in doc["paths"]
    # No Scale schema in this registry: the scale path is left out.
    assert "/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale" not in doc["paths"]


def test_component_schemas(scheme, registry):
    schemas = openapi.v3_document("apps", "v1", scheme, registry)["components"]["schemas"]
    dep = schemas["io.test.Deployment"]
    assert dep["x-kubernetes-group-version-kind"] == [{"group": "apps", "kind": "Deployment", "version": "v1"}]
    assert dep["properties"]["spec"] == {"allOf": [{"$ref": "#/components/schemas/io.test.DeploymentSpec"}],
                                         "description": "Spec."}
    assert dep["properties"]["metadata"] == {"$ref": "#/components/schemas/io.test.ObjectMeta"}
    pod = schemas["io.test.PodSpec"]
    containers = pod["properties"]["containers"]
    assert containers["type"] == "array"
    assert containers["x-kubernetes-patch-merge-key"] == "name"
    assert containers["x-kubernetes-patch-strategy"] == "merge"
    assert containers["x-kubernetes-list-type"] == "map"
    assert containers["x-kubernetes-list-map-keys"] == ["name"]
    assert containers["items"]["allOf"] == [{"$ref": "#/components/schemas/io.test.Container"}]
    assert pod["required"] == ["containers"]
    assert schemas[openapi.TIME]["format"] == "date-time"
    ru = schemas["io.test.RollingUpdate"]["properties"]["maxSurge"]
    assert ru == {"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.util.intstr.IntOrString"}
    assert schemas["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]["x-kubernetes-int-or-string"] is True
    # Every $ref resolves inside the document.
    text = orjson.dumps(schemas).decode()
    for name in {part.split('"')[0] for part in text.split("#/components/schemas/")[1:]}:
        assert name in schemas, name


def test_verbs_limit_operations(scheme, registry):
    doc = openapi.v3_document("x", "v1", scheme, registry)
    coll = doc["paths"]["/apis/x/v1/frees"]
    assert set(coll) == {"get", "post", "parameters"}
    assert set(doc["paths"]["/apis/x/v1/frees/{name}"]) == {"get", "parameters"}


def test_no_strategic_patch_when_strategy_says_so(registry):
    class CRDStrategy(Strategy):
        strategic_merge = False

    s = Scheme()
    s.add(ResourceType("x", "v1", "Free", "frees", "free", True, strategy=CRDStrategy(), schema="io.test.Free"))
    patch = openapi.v3_document("x", "v1", s, registry)["paths"]["/apis/x/v1/namespaces/{namespace}/frees/{name}"]["patch"]
    assert "application/strategic-merge-patch+json" not in patch["requestBody"]["content"]


def test_v2_document(scheme, registry):
    doc = openapi.v2_document(scheme, registry)
    assert doc["swagger"] == "2.0"
    patch = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
    assert "application/strategic-merge-patch+json" in patch["consumes"]
    assert patch["parameters"][0]["in"] == "body"
    assert any(p["name"] == "fieldValidation" for p in patch["parameters"])
    spec = doc["definitions"]["io.test.Deployment"]["properties"]["spec"]
    assert spec == {"$ref": "#/definitions/io.test.DeploymentSpec", "description": "Spec."}


def test_every_subresource_has_its_paths():
    """Each subresource a kind declares is documented, as upstream's OpenAPI does (binding, eviction, log,
    exec... were missing, so clients and the API fuzzer could not reach them from the documents)."""
    import pyk8s.api  # noqa: F401 - registers the kinds
    from pyk8s.machinery.schema import REGISTRY
    from pyk8s.machinery.scheme import SCHEME

    paths = openapi.v3_document("", "v1", SCHEME, REGISTRY)["paths"]
    pod = "/api/v1/namespaces/{namespace}/pods/{name}"
    assert paths[f"{pod}/eviction"]["post"]["requestBody"]["content"]["*/*"]["schema"] == {
        "$ref": "#/components/schemas/io.k8s.api.policy.v1.Eviction"}
    assert paths[f"{pod}/eviction"]["post"]["x-kubernetes-group-version-kind"] == {
        "group": "policy", "version": "v1", "kind": "Eviction"}
    assert paths[f"{pod}/binding"]["post"]["operationId"] == "createCoreV1NamespacedPodBinding"
    assert paths[f"{pod}/log"]["get"]["operationId"] == "readCoreV1NamespacedPodLog"
    assert {p["name"] for p in paths[f"{pod}/log"]["get"]["parameters"]} >= {"container", "follow", "tailLines"}
    assert set(paths[f"{pod}/ephemeralcontainers"]) == {"get", "put", "patch", "parameters"}
    assert paths[f"{pod}/exec"]["post"]["x-kubernetes-action"] == "connect"
    assert paths[f"{pod}/exec"]["get"]["operationId"] == "connectCoreV1GetNamespacedPodExec"
    assert paths["/api/v1/nodes/{name}/proxy/{path}"]["get"]["operationId"] == "connectCoreV1GetNodeProxyWithPath"
    assert paths["/api/v1/namespaces/{name}/finalize"]["put"]["operationId"] == "replaceCoreV1NamespaceFinalize"
    token = paths["/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token"]["post"]
    assert token["operationId"] == "createCoreV1NamespacedServiceAccountToken"
    for rt in SCHEME.resources("", "v1"):
        base = (f"/api/v1/namespaces/{{namespace}}/{rt.plural}" if rt.namespaced else f"/api/v1/{rt.plural}")
        for sub in rt.subresources:
            assert f"{base}/{{name}}/{sub}" in paths, f"{rt.plural}/{sub}"
