"""Request bodies and what gets stored, over the real registry on memory storage.

Each test is a regression test for issue 9: small bodies that grew into huge
objects (JSON patch copies, YAML aliases), bodies nested deeply enough to exhaust
the stack, values other clients cannot decode, and warnings that broke the response.
"""

from __future__ import annotations

import resource
from collections.abc import AsyncIterator

import orjson
import pytest
from aiohttp.test_utils import TestClient, TestServer

import pyk8s.api  # noqa: F401  (fills the scheme)
from pyk8s.apiserver.bootstrap import bootstrap
from pyk8s.apiserver.config import ServerConfig
from pyk8s.apiserver.endpoints.system import Readiness
from pyk8s.apiserver.filters.authn import Authenticator, TokenSigner, UserInfo
from pyk8s.apiserver.registry import build_registry
from pyk8s.apiserver.server import build_app
from pyk8s.machinery.scheme import SCHEME
from pyk8s.storage import open_storage

TOKEN = "bodies-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
JSON = {**AUTH, "Content-Type": "application/json"}
YAML = {**AUTH, "Content-Type": "application/yaml"}
JSON_PATCH = {**AUTH, "Content-Type": "application/json-patch+json"}
MERGE_PATCH = {**AUTH, "Content-Type": "application/merge-patch+json"}
SMP = {**AUTH, "Content-Type": "application/strategic-merge-patch+json"}
APPLY = {**AUTH, "Content-Type": "application/apply-patch+yaml"}
CM = "/api/v1/namespaces/default/configmaps"
DEPLOY = "/apis/apps/v1/namespaces/default/deployments"


@pytest.fixture
async def client(tmp_path) -> AsyncIterator[TestClient]:
    storage = open_storage("memory://")
    await storage.start()
    registry = build_registry(SCHEME, storage)
    await bootstrap(registry, api_address="127.0.0.1", api_port=6443)
    signer = TokenSigner(b"k" * 32)
    auth = Authenticator(tokens={TOKEN: UserInfo("admin", ("system:masters", "system:authenticated"))}, signer=signer)
    app = build_app(config=ServerConfig(data_dir=tmp_path), registry=registry, authenticator=auth,
                    readiness=Readiness(()), token_signer=signer)
    c = TestClient(TestServer(app))
    await c.start_server()
    try:
        yield c
    finally:
        await c.close()
        await registry.close()
        await storage.close()


def cm(name: str, **extra: object) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, **extra}


async def status(resp, code: int, reason: str) -> str:
    body = await resp.json()
    assert (resp.status, body.get("kind"), body.get("reason")) == (code, "Status", reason), body
    return body["message"]


async def create_cm(client: TestClient, name: str, **extra: object) -> None:
    resp = await client.post(CM, data=orjson.dumps(cm(name, **extra)), headers=JSON)
    assert resp.status == 201, await resp.text()


def max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- JSON patch: copies and operation count -------------------------------------------------

async def test_json_patch_copy_bomb_is_refused_without_growing(client):
    await create_cm(client, "bomb")
    ops = [{"op": "add", "path": "/x", "value": [0] * 1000}]
    ops += [{"op": "copy", "from": "/x", "path": "/x/-"}] * 22  # doubles the list each time
    body = orjson.dumps(ops)
    assert len(body) < 3000
    rss_before = max_rss_mb()
    resp = await client.patch(CM + "/bomb", data=body, headers=JSON_PATCH)
    body = await resp.json()
    assert (resp.status, body["reason"]) == (422, "Invalid")
    assert body["message"] == "the server rejected our request due to an error in our request"
    assert "the accumulated size increase of copy is" in body["details"]["causes"][0]["message"]
    assert "exceeding the limit 3145728" in body["details"]["causes"][0]["message"]
    # Memory: the copies stop at 3 MiB of JSON (today's code took 700 MB before answering).
    assert max_rss_mb() - rss_before < 200


async def test_json_patch_with_more_than_10000_operations_is_413(client):
    await create_cm(client, "many")
    ops = [{"op": "test", "path": "/metadata/name", "value": "many"}] * 10_001
    resp = await client.patch(CM + "/many", data=orjson.dumps(ops), headers=JSON_PATCH)
    message = await status(resp, 413, "RequestEntityTooLarge")
    assert message == "Request entity too large: The allowed maximum operations in a JSON patch is 10000, got 10001"
    ok = await client.patch(CM + "/many", data=orjson.dumps(ops[:10_000]), headers=JSON_PATCH)
    assert ok.status == 200


# --- YAML aliases and stored size ------------------------------------------------------------

def alias_bomb(levels: int = 8) -> str:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    fields = "\n".join("      " + line for line in lines)
    return ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aliases\n  managedFields:\n"
            "  - manager: m\n    operation: Update\n    fieldsV1:\n" + fields + "\n")


async def test_yaml_alias_bomb_is_400_excessive_aliasing(client):
    body = alias_bomb()
    assert len(body) < 700
    resp = await client.post(CM, data=body, headers=YAML)
    message = await status(resp, 400, "BadRequest")
    assert message.endswith("yaml: document contains excessive aliasing")
    assert (await client.get(CM + "/aliases", headers=AUTH)).status == 404


async def test_apply_patch_alias_bomb_is_400(client):
    resp = await client.patch(CM + "/aliases?fieldManager=m", data=alias_bomb().replace("  managedFields:\n  - manager: m\n    operation: Update\n    fieldsV1:\n", "data:\n  k: v\nx:\n"), headers=APPLY)
    message = await status(resp, 400, "BadRequest")
    assert "document contains excessive aliasing" in message


async def test_yaml_aliases_within_limits_expand_into_independent_values(client):
    body = ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shared\n  labels: &l {app: web}\n"
            "  annotations: *l\ndata: {a: &v hello, b: *v}\n")
    resp = await client.post(CM, data=body, headers=YAML)
    assert resp.status == 201, await resp.text()
    got = await resp.json()
    assert got["metadata"]["labels"] == got["metadata"]["annotations"] == {"app": "web"}
    assert got["data"] == {"a": "hello", "b": "hello"}


async def test_stored_object_is_capped_even_when_the_body_is_small(client):
    # 300 aliases of a 10 KB field set in managedFields (which no size validation covers): a 15 KB body
    # that would store 3 MB.
    field_set = ", ".join(f"f:{c * 900}: {{}}" for c in "abcdefghijk")  # 10 KB
    body = ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\n  managedFields:\n  - manager: m\n"
            "    operation: Update\n    fieldsType: FieldsV1\n    fieldsV1:\n"
            f"      f:k0: &s {{{field_set}}}\n" + "".join(f"      f:k{i}: *s\n" for i in range(1, 300)))
    assert len(body) < 16_000
    resp = await client.post(CM, data=body, headers=YAML)
    message = await status(resp, 413, "RequestEntityTooLarge")
    assert message == "Request entity too large: etcdserver: request is too large"
    assert (await client.get(CM + "/big", headers=AUTH)).status == 404


async def test_a_merge_patch_cannot_grow_an_object_past_the_storage_limit(client):
    await create_cm(client, "grow", data={"a": "x" * 900_000})
    entry = {"manager": "m", "operation": "Update", "fieldsType": "FieldsV1", "fieldsV1": {"f:" + "y" * 800_000: {}}}
    resp = await client.patch(CM + "/grow", data=orjson.dumps({"metadata": {"managedFields": [entry]}}),
                              headers=MERGE_PATCH)
    message = await status(resp, 413, "RequestEntityTooLarge")
    assert message == "Request entity too large: etcdserver: request is too large"


async def test_managed_fields_are_validated(client):
    bad = cm("mf", metadata={"name": "mf", "managedFields": [
        {"manager": "m", "operation": "Delete", "fieldsType": "FieldsV2", "fieldsV1": [1, 2]}]})
    resp = await client.post(CM, data=orjson.dumps(bad), headers=JSON)
    body = await resp.json()
    assert (resp.status, body["reason"]) == (422, "Invalid"), body
    fields = {c["field"]: c["message"] for c in body["details"]["causes"]}
    assert fields["metadata.managedFields[0].operation"] == 'Unsupported value: "Delete": must be `Apply` or `Update`' \
        or fields["metadata.managedFields[0].operation"] == 'Invalid value: "Delete": must be `Apply` or `Update`'
    assert fields["metadata.managedFields[0].fieldsType"] == 'Invalid value: "FieldsV2": must be `FieldsV1`'
    assert "metadata.managedFields[0].fieldsV1" in fields
    good = cm("mf", metadata={"name": "mf", "managedFields": [
        {"manager": "m", "operation": "Update", "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {}}}]})
    assert (await client.post(CM, data=orjson.dumps(good), headers=JSON)).status == 201


# --- nesting -------------------------------------------------------------------------------

def nested(depth: int) -> object:
    value: object = "leaf"
    for _ in range(depth):
        value = {"a": value}
    return value


@pytest.mark.parametrize("depth", [150, 900, 5000])
async def test_deeply_nested_json_body_is_400(client, depth):
    body = cm("deep", metadata={"name": "deep", "annotations": {"x": "y"}}, data={"k": "v"}, x=nested(depth))
    raw = b'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"deep"},"x":' + b'{"a":' * depth + b'1' + b'}' * depth + b'}'
    del body
    resp = await client.post(CM, data=raw, headers=JSON)
    message = await status(resp, 400, "BadRequest")
    assert message.endswith("exceeded max depth")


async def test_deeply_nested_yaml_body_and_apply_patch_are_400(client):
    deep = "[" * 3000 + "]" * 3000
    resp = await client.post(CM, data="apiVersion: v1\nkind: ConfigMap\nmetadata: {name: y}\nx: " + deep,
                             headers=YAML)
    assert "exceeded max depth" in await status(resp, 400, "BadRequest")
    resp = await client.patch(CM + "/y?fieldManager=m",
                              data="apiVersion: v1\nkind: ConfigMap\nmetadata: {name: y}\ndata: " + deep,
                              headers=APPLY)
    assert "exceeded max depth" in await status(resp, 400, "BadRequest")


@pytest.mark.parametrize("headers", [MERGE_PATCH, SMP])
async def test_deeply_nested_patch_is_400(client, headers):
    await create_cm(client, "p")
    raw = b'{"metadata":{"annotations":' + b'{"a":' * 2000 + b'"x"' + b'}' * 2000 + b'}}'
    resp = await client.patch(CM + "/p", data=raw, headers=headers)
    assert "exceeded max depth" in await status(resp, 400, "BadRequest")


async def test_nesting_just_under_the_limit_is_not_a_500(client):
    # A free-form field (a CRD-like raw value) nested 95 levels: accepted or refused, never a 500.
    body = cm("ok", data={"k": "v"}, x=nested(95))
    resp = await client.post(CM, data=orjson.dumps(body), headers=JSON)
    assert resp.status == 201, await resp.text()
    patch = await client.patch(CM + "/ok", data=orjson.dumps({"y": nested(95)}), headers=MERGE_PATCH)
    assert patch.status == 200, await patch.text()


# --- types as the typed decoder checks them ------------------------------------------------

async def test_wrong_types_in_a_create_body_are_400_worded_as_upstream(client):
    resp = await client.post(CM, data=orjson.dumps(cm("t", data={"k": 1})), headers=JSON)
    assert await status(resp, 400, "BadRequest") == (
        'ConfigMap in version "v1" cannot be handled as a ConfigMap: '
        "json: cannot unmarshal number into Go struct field ConfigMap.data of type string")
    resp = await client.post(CM, data=orjson.dumps(cm("t", metadata={"name": "t", "labels": "x"})), headers=JSON)
    assert await status(resp, 400, "BadRequest") == (
        'ConfigMap in version "v1" cannot be handled as a ConfigMap: '
        "json: cannot unmarshal string into Go struct field ObjectMeta.metadata.labels of type map[string]string")


def deployment(name: str, replicas: object) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}}


async def test_int32_fields_refuse_values_out_of_range(client):
    resp = await client.post(DEPLOY, data=orjson.dumps(deployment("d", 2147483648)), headers=JSON)
    assert await status(resp, 400, "BadRequest") == (
        'Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal number 2147483648 '
        "into Go struct field DeploymentSpec.spec.replicas of type int32")
    resp = await client.post(DEPLOY, data=orjson.dumps(deployment("d", 2147483647)), headers=JSON)
    assert resp.status == 201, await resp.text()
    resp = await client.patch(DEPLOY + "/d", data=orjson.dumps({"spec": {"replicas": 2**40}}), headers=MERGE_PATCH)
    message = await status(resp, 422, "Invalid")
    assert message.startswith(' "" is invalid: patch: Invalid value: "{')
    assert message.endswith("json: cannot unmarshal number 1099511627776 into Go struct field "
                            "DeploymentSpec.spec.replicas of type int32")


async def test_a_merge_patch_cannot_store_a_list_in_configmap_data(client):
    await create_cm(client, "m", data={"a": "b"})
    resp = await client.patch(CM + "/m", data=orjson.dumps({"data": ["x"]}), headers=MERGE_PATCH)
    body = await resp.json()
    assert (resp.status, body["reason"]) == (422, "Invalid"), body
    assert body["message"].endswith(
        "json: cannot unmarshal array into Go struct field ConfigMap.data of type map[string]string")
    assert body["details"]["causes"][0]["field"] == "patch"
    got = await (await client.get(CM + "/m", headers=AUTH)).json()
    assert got["data"] == {"a": "b"}


async def test_json_patch_and_apply_cannot_store_wrong_types(client):
    await create_cm(client, "j", data={"a": "b"})
    resp = await client.patch(CM + "/j", data=orjson.dumps([{"op": "add", "path": "/data/n", "value": 5}]),
                              headers=JSON_PATCH)
    assert (await status(resp, 422, "Invalid")).endswith(
        "json: cannot unmarshal number into Go struct field ConfigMap.data of type string")
    resp = await client.patch(CM + "/j?fieldManager=m", data="apiVersion: v1\nkind: ConfigMap\nmetadata: {name: j}\n"
                                                            "data: {n: 5}\n", headers=APPLY)
    assert await status(resp, 400, "BadRequest") == (
        "failed to create typed patch object (/v1, Kind=ConfigMap): .data.n: expected string, got 5")


# --- warnings and media types ----------------------------------------------------------------

async def test_unknown_field_with_control_characters_still_gets_an_answer(client):
    body = b'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"w"},"bad\\r\\nfield":1}'
    resp = await client.post(CM, data=body, headers=JSON)
    assert resp.status == 201, await resp.text()
    # The field name quoted as Go's %q quotes it, then escaped for the header.
    assert resp.headers.getall("Warning") == ['299 - "unknown field \\"bad\\\\r\\\\nfield\\""']


@pytest.mark.parametrize("ctype", [";;;", "json", "application/json; x", "/"])
async def test_malformed_content_type_is_415(client, ctype):
    resp = await client.post(CM, data=orjson.dumps(cm("ct")), headers={**AUTH, "Content-Type": ctype})
    await status(resp, 415, "UnsupportedMediaType")


async def test_well_formed_content_types_still_decode(client):
    for i, ctype in enumerate(["application/json;", "application/json; charset=utf-8", ""]):
        resp = await client.post(CM, data=orjson.dumps(cm(f"ok{i}")), headers={**AUTH, "Content-Type": ctype})
        assert resp.status == 201, (ctype, await resp.text())


async def test_body_over_the_limit_is_worded_as_upstream(client):
    resp = await client.post(CM, data=b" " * (3 * 1024 * 1024 + 1), headers=JSON)
    assert await status(resp, 413, "RequestEntityTooLarge") == "Request entity too large: limit is 3145728"


async def test_deeply_nested_json_in_an_hpa_annotation_is_ignored_not_a_500(client):
    deep = "[" * 3000 + "]" * 3000
    hpa = {"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
           "metadata": {"name": "h", "annotations": {"autoscaling.alpha.kubernetes.io/metrics": deep,
                                                     "autoscaling.alpha.kubernetes.io/behavior": '{"scaleUp": 5}'}},
           "spec": {"maxReplicas": 3, "scaleTargetRef": {"kind": "Deployment", "name": "d", "apiVersion": "apps/v1"}}}
    resp = await client.post("/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers",
                             data=orjson.dumps(hpa), headers=JSON)
    assert resp.status == 201, await resp.text()
    got = await client.get("/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers/h", headers=AUTH)
    spec = (await got.json())["spec"]
    # Neither annotation decodes into its type: both are dropped, as upstream's conversion drops them.
    assert "behavior" not in spec
    assert all(m.get("type") == "Resource" for m in spec.get("metrics", []))


async def test_a_merge_patch_turning_metadata_into_a_string_is_422_not_500(client):
    await create_cm(client, "meta")
    resp = await client.patch(CM + "/meta", data=orjson.dumps({"metadata": "x"}), headers=MERGE_PATCH)
    assert (await status(resp, 422, "Invalid")).endswith(
        "json: cannot unmarshal string into Go struct field ConfigMap.metadata of type v1.ObjectMeta")


async def test_scale_refuses_replicas_past_int32(client):
    assert (await client.post(DEPLOY, data=orjson.dumps(deployment("s", 1)), headers=JSON)).status == 201
    scale = {"apiVersion": "autoscaling/v1", "kind": "Scale", "metadata": {"name": "s"}, "spec": {"replicas": 2**40}}
    resp = await client.put(DEPLOY + "/s/scale", data=orjson.dumps(scale), headers=JSON)
    assert await status(resp, 400, "BadRequest") == (
        'Scale in version "v1" cannot be handled as a Scale: json: cannot unmarshal number 1099511627776 into Go '
        "struct field ScaleSpec.spec.replicas of type int32")
    got = await (await client.get(DEPLOY + "/s", headers=AUTH)).json()
    assert got["spec"]["replicas"] == 1


# --- found by the API fuzz guard (tests/fuzz): bodies of other kinds, and undescribed Go structs ----------


async def test_subresource_bodies_are_decoded_as_their_kinds(client):
    await client.post(CM, json=cm("x"), headers=JSON)
    sa = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "robot"}}
    assert (await client.post("/api/v1/namespaces/default/serviceaccounts", json=sa, headers=JSON)).status == 201
    cases = [
        ("/api/v1/namespaces/default/bindings",
         {"apiVersion": "v1", "kind": "Binding", "metadata": [True], "target": {}},
         'Binding in version "v1" cannot be handled as a Binding: json: cannot unmarshal array into Go struct '
         'field Binding.metadata of type v1.ObjectMeta'),
        ("/api/v1/namespaces/default/serviceaccounts/robot/token",
         {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "metadata": {"name": "robot"}, "spec": 1},
         'TokenRequest in version "v1" cannot be handled as a TokenRequest: json: cannot unmarshal number into Go '
         'struct field TokenRequest.spec of type v1.TokenRequestSpec'),
    ]
    for path, body, message in cases:
        resp = await client.post(path, json=body, headers=JSON)
        status = await resp.json()
        assert (resp.status, status["reason"], status["message"]) == (400, "BadRequest", message)
    finalize = await client.put("/api/v1/namespaces/default/finalize", headers=JSON,
                                data=b'{"apiVersion":"v1","kind":"Namespace","metadata":1}')
    assert finalize.status == 400
    assert "cannot unmarshal number into Go struct field Namespace.metadata" in (await finalize.json())["message"]


async def test_undescribed_volume_sources_must_still_be_objects(client):
    body = {"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": "t"},
            "template": {"spec": {"containers": [{"name": "c", "image": "busybox"}]}}}
    assert (await client.post("/api/v1/namespaces/default/podtemplates", json=body, headers=JSON)).status == 201
    patch = {"template": {"spec": {"volumes": [{"name": "v", "cinder": []}]}}}
    resp = await client.patch("/api/v1/namespaces/default/podtemplates/t", json=patch, headers=MERGE_PATCH)
    assert resp.status == 422, await resp.text()
    assert ("cannot unmarshal array into Go struct field Volume.template.spec.volumes.cinder of type "
            "v1.CinderVolumeSource") in (await resp.json())["message"]


async def test_token_request_past_two_to_the_32_seconds_is_refused(client):
    sa = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "timeless"}}
    assert (await client.post("/api/v1/namespaces/default/serviceaccounts", json=sa, headers=JSON)).status == 201
    body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"expirationSeconds": 537552360989359}}
    resp = await client.post("/api/v1/namespaces/default/serviceaccounts/timeless/token", json=body, headers=JSON)
    assert resp.status == 422  # upstream's Invalid
    assert "may not specify a duration larger than 2^32 seconds" in (await resp.json())["message"]


async def test_apply_with_a_string_metadata_and_a_null_metadata_patch_are_client_errors(client):
    apply = {**AUTH, "Content-Type": "application/apply-patch+yaml"}
    resp = await client.patch("/api/v1/namespaces/fresh-ns?fieldManager=t", headers=apply,
                              data=b'{"apiVersion": "v1", "kind": "Namespace", "metadata": "a=b"}')
    assert resp.status == 400, await resp.text()
    assert "failed to create typed patch object (/v1, Kind=Namespace)" in (await resp.json())["message"]
    await client.post(CM, json=cm("nulled"), headers=JSON)
    resp = await client.patch(f"{CM}/nulled", headers=JSON_PATCH,
                              data=b'[{"op": "add", "path": "/metadata", "value": null}]')
    # Go decodes a null metadata to an empty ObjectMeta; what the update keeps then is the store's business,
    # but it is never a crash.
    assert resp.status < 500, await resp.text()
    assert (await (await client.get(f"{CM}/nulled", headers=AUTH)).json())["metadata"]["name"] == "nulled"
