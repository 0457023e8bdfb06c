"""API details clients trip on (issue 12 §4): each test failed on the code before its fix."""

from __future__ import annotations

import base64
import copy
import textwrap

import orjson

from pyk8s.apiserver.registry.rest import WriteOptions
from pyk8s.machinery.scheme import SCHEME
from tests.integration.apiserver import realserver
from tests.integration.apiserver.realserver import AUTH, JSON, MERGE_PATCH, SMP, YAML

client, registry = realserver.client, realserver.registry  # fixtures

SECRETS = "/api/v1/namespaces/default/secrets"


# --- Secret data wrapped over several lines ---------------------------------------------------

def wrapped(data: bytes) -> str:
    return "\n".join(textwrap.wrap(base64.b64encode(data).decode(), 64)) + "\n"


async def test_secret_data_wrapped_over_lines_is_accepted(client):
    """The kubernetes.io/tls example of the Secret docs: base64 in a YAML block, 64 columns a line."""
    crt, key = b"-----BEGIN CERTIFICATE-----\n" + bytes(range(256)) * 3, b"-----BEGIN PRIVATE KEY-----\n" + b"k" * 300
    doc = (
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: secret-tls\ntype: kubernetes.io/tls\ndata:\n"
        "  tls.crt: |\n" + textwrap.indent(wrapped(crt), "    ")
        + "  tls.key: |\n" + textwrap.indent(wrapped(key), "    ")
    )
    resp = await client.post(SECRETS, data=doc.encode(), headers=YAML)
    assert resp.status == 201, await resp.text()
    got = await (await client.get(f"{SECRETS}/secret-tls", headers=AUTH)).json()
    # Stored as bytes, read back unwrapped, as Go encodes []byte.
    assert got["data"] == {"tls.crt": base64.b64encode(crt).decode(), "tls.key": base64.b64encode(key).decode()}


async def test_secret_data_that_is_not_base64_is_still_refused(client):
    doc = b"apiVersion: v1\nkind: Secret\nmetadata:\n  name: bad\ndata:\n  a: |\n    not*base64\n    !!\n"
    resp = await client.post(SECRETS, data=doc, headers=YAML)
    assert resp.status in (400, 422), await resp.text()


# --- PATCH /scale right after a write -----------------------------------------------------------

DEPLOYS = "/apis/apps/v1/namespaces/default/deployments"


def deployment(name: str, replicas: int = 1) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}}


async def test_scale_patch_without_precondition_never_conflicts(client, registry, monkeypatch):
    """Another write lands between the scale handler's read and its write (as after a write whose
    watch event the cache has not seen yet): with no resourceVersion in the patch it retries, never 409."""
    assert (await client.post(DEPLOYS, data=orjson.dumps(deployment("racy")), headers=JSON)).status == 201
    store = registry.storage_for(SCHEME.get("apps", "v1", "deployments"))
    real_get, raced = store.get, []

    async def get_then_someone_writes(namespace, name, *args, **kwargs):
        obj = await real_get(namespace, name, *args, **kwargs)
        if not raced:
            raced.append(name)
            other = copy.deepcopy(obj)
            other["metadata"].setdefault("labels", {})["touched"] = "yes"
            await store.update(namespace, name, other, WriteOptions())
        return obj

    monkeypatch.setattr(store, "get", get_then_someone_writes)
    resp = await client.patch(f"{DEPLOYS}/racy/scale", data=orjson.dumps({"spec": {"replicas": 3}}), headers=MERGE_PATCH)
    assert raced and resp.status == 200, await resp.text()
    got = await (await client.get(f"{DEPLOYS}/racy", headers=AUTH)).json()
    assert (got["spec"]["replicas"], got["metadata"]["labels"]["touched"]) == (3, "yes")


async def test_scale_patch_with_stale_precondition_conflicts(client):
    assert (await client.post(DEPLOYS, data=orjson.dumps(deployment("pinned")), headers=JSON)).status == 201
    resp = await client.patch(f"{DEPLOYS}/pinned/scale", headers=MERGE_PATCH,
                              data=orjson.dumps({"metadata": {"resourceVersion": "1"}, "spec": {"replicas": 3}}))
    assert resp.status == 409, await resp.text()


async def test_scale_writes_record_managed_fields(client):
    assert (await client.post(DEPLOYS, data=orjson.dumps(deployment("managed")), headers=JSON)).status == 201
    resp = await client.patch(f"{DEPLOYS}/managed/scale", data=orjson.dumps({"spec": {"replicas": 5}}),
                              headers={**MERGE_PATCH, "User-Agent": "kubectl/v1.32.0 (linux/amd64) kubernetes/abc"})
    assert resp.status == 200, await resp.text()
    got = await (await client.get(f"{DEPLOYS}/managed", headers=AUTH)).json()
    entries = [m for m in got["metadata"].get("managedFields", []) if m.get("subresource") == "scale"]
    assert len(entries) == 1, got["metadata"].get("managedFields")
    entry = entries[0]
    assert (entry["manager"], entry["operation"], entry["apiVersion"]) == ("kubectl", "Update", "apps/v1")
    assert entry["fieldsV1"] == {"f:spec": {"f:replicas": {}}}
    # An explicit fieldManager wins over the User-Agent.
    resp = await client.put(f"{DEPLOYS}/managed/scale?fieldManager=hpa", headers=JSON, data=orjson.dumps(
        {"apiVersion": "autoscaling/v1", "kind": "Scale", "metadata": {"name": "managed"}, "spec": {"replicas": 2}}))
    assert resp.status == 200, await resp.text()
    got = await (await client.get(f"{DEPLOYS}/managed", headers=AUTH)).json()
    managers = {(m["manager"], m.get("subresource", "")) for m in got["metadata"]["managedFields"]}
    assert ("hpa", "scale") in managers and ("kubectl", "scale") not in managers  # hpa took spec.replicas over


# --- DELETE answers and error Status bodies ---------------------------------------------------

CMS = "/api/v1/namespaces/default/configmaps"


async def test_delete_answers_a_success_status_when_the_object_is_gone(client):
    created = await (await client.post(CMS, data=orjson.dumps({"metadata": {"name": "gone"}}), headers=JSON)).json()
    resp = await client.delete(f"{CMS}/gone", headers=AUTH)
    body = await resp.json()
    assert resp.status == 200
    assert body == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                    "details": {"name": "gone", "kind": "configmaps", "uid": created["metadata"]["uid"]}}
    assert (await client.post(DEPLOYS, data=orjson.dumps(deployment("d")), headers=JSON)).status == 201
    body = await (await client.delete(f"{DEPLOYS}/d", headers=AUTH)).json()
    assert (body["kind"], body["details"]["group"], body["details"]["kind"]) == ("Status", "apps", "deployments")


async def test_delete_answers_the_object_while_finalizers_hold_it(client):
    body = {"metadata": {"name": "held", "finalizers": ["example.com/hold"]}}
    assert (await client.post(CMS, data=orjson.dumps(body), headers=JSON)).status == 201
    resp = await client.delete(f"{CMS}/held", headers=AUTH)
    got = await resp.json()
    assert (resp.status, got["kind"]) == (200, "ConfigMap")
    assert got["metadata"]["deletionTimestamp"] and got["metadata"]["finalizers"] == ["example.com/hold"]


async def test_delete_answers_the_object_for_return_deleted_object_stores(client):
    """Pods (like services, service accounts, PVs, PVCs, storage classes) answer with the object."""
    pod = {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
    assert (await client.post("/api/v1/namespaces/default/pods", data=orjson.dumps(pod), headers=JSON)).status == 201
    got = await (await client.delete("/api/v1/namespaces/default/pods/p?gracePeriodSeconds=0", headers=AUTH)).json()
    assert (got["kind"], got["metadata"]["name"]) == ("Pod", "p")


async def test_error_status_fields_in_upstreams_order(client):
    resp = await client.get(f"{DEPLOYS}/missing", headers=AUTH)
    text = await resp.text()
    assert list(orjson.loads(text)) == ["kind", "apiVersion", "metadata", "status", "message", "reason", "details", "code"]
    assert text.endswith('"details":{"name":"missing","group":"apps","kind":"deployments"},"code":404}')


# --- objects as Go serialises them --------------------------------------------------------------

async def test_pod_templates_carry_creation_timestamp_null(client):
    assert (await client.post(DEPLOYS, data=orjson.dumps(deployment("tmpl")), headers=JSON)).status == 201
    got = await (await client.get(f"{DEPLOYS}/tmpl", headers=AUTH)).json()
    assert got["spec"]["template"]["metadata"] == {"creationTimestamp": None, "labels": {"app": "tmpl"}}
    assert got["metadata"]["creationTimestamp"]  # the object's own is set
    # As kubectl get -o yaml prints it (the YAML form of the same JSON).
    assert "creationTimestamp" in str(got["spec"]["template"]["metadata"])
    # A template written without metadata still reads back with it, as Go's struct is never omitted.
    sts = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db"},
           "spec": {"serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
                    "template": {"metadata": {"labels": {"app": "db"}},
                                 "spec": {"containers": [{"name": "c", "image": "i"}]}},
                    "volumeClaimTemplates": [{"metadata": {"name": "data"},
                                              "spec": {"accessModes": ["ReadWriteOnce"],
                                                       "resources": {"requests": {"storage": "1Gi"}}}}]}}
    resp = await client.post("/apis/apps/v1/namespaces/default/statefulsets?fieldManager=kubectl-create",
                             data=orjson.dumps(sts), headers=JSON)
    assert resp.status == 201, await resp.text()
    got = await resp.json()
    assert got["spec"]["volumeClaimTemplates"][0]["metadata"] == {"name": "data", "creationTimestamp": None}
    # Upstream's managedFields of an Update own the template's null creationTimestamp too.
    assert b'"f:creationTimestamp":{}' in orjson.dumps(got["metadata"]["managedFields"])


async def test_times_are_normalised_as_go_writes_them(client):
    event = {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e1"},
             "involvedObject": {"kind": "Pod", "name": "p", "namespace": "default"}, "reason": "Test",
             "firstTimestamp": "2024-05-01T12:00:00.123456+02:00", "lastTimestamp": "2024-05-01T10:00:01Z",
             "eventTime": "2024-05-01T10:00:00.5+00:00", "reportingComponent": "test", "reportingInstance": "x",
             "action": "Testing", "type": "Normal"}
    resp = await client.post("/api/v1/namespaces/default/events", data=orjson.dumps(event), headers=JSON)
    assert resp.status == 201, await resp.text()
    got = await resp.json()
    assert got["firstTimestamp"] == "2024-05-01T10:00:00Z"  # UTC, Z, whole seconds
    assert got["lastTimestamp"] == "2024-05-01T10:00:01Z"
    assert got["eventTime"] == "2024-05-01T10:00:00.500000Z"  # MicroTime: six digits
    # Conditions in a status written by a Python client.
    dep = await (await client.post(DEPLOYS, data=orjson.dumps(deployment("conds")), headers=JSON)).json()
    dep["status"] = {"conditions": [{"type": "Available", "status": "True", "reason": "R", "message": "m",
                                     "lastUpdateTime": "2024-05-01T10:00:00.999999+00:00",
                                     "lastTransitionTime": "2024-05-01T10:00:00.000001+00:00"}]}
    resp = await client.put(f"{DEPLOYS}/conds/status", data=orjson.dumps(dep), headers=JSON)
    assert resp.status == 200, await resp.text()
    cond = (await resp.json())["status"]["conditions"][0]
    assert (cond["lastUpdateTime"], cond["lastTransitionTime"]) == ("2024-05-01T10:00:00Z", "2024-05-01T10:00:00Z")


# --- conformance behaviours -------------------------------------------------------------------

async def test_strategic_patch_adds_a_container_where_upstream_puts_it(client):
    """The StatefulSet and ReplicaSet conformance tests patch in a container and read Containers[0]."""
    sts = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "ss"},
           "spec": {"serviceName": "ss", "selector": {"matchLabels": {"app": "ss"}},
                    "template": {"metadata": {"labels": {"app": "ss"}},
                                 "spec": {"containers": [{"name": "webserver", "image": "httpd"}]}}}}
    url = "/apis/apps/v1/namespaces/default/statefulsets"
    assert (await client.post(url, data=orjson.dumps(sts), headers=JSON)).status == 201
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "ss", "image": "nginx:patched"}]}}}}
    resp = await client.patch(f"{url}/ss", data=orjson.dumps(patch), headers=SMP)
    assert resp.status == 200, await resp.text()
    cs = (await resp.json())["spec"]["template"]["spec"]["containers"]
    assert [(c["name"], c["image"]) for c in cs] == [("ss", "nginx:patched"), ("webserver", "httpd")]

    rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "rs"},
          "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "rs"}},
                   "template": {"metadata": {"labels": {"app": "rs"}},
                                "spec": {"containers": [{"name": "httpd", "image": "httpd"}]}}}}
    url = "/apis/apps/v1/namespaces/default/replicasets"
    assert (await client.post(url, data=orjson.dumps(rs), headers=JSON)).status == 201
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "rs", "image": "nginx:patched"}]}}}}
    cs = (await (await client.patch(f"{url}/rs", data=orjson.dumps(patch), headers=SMP)).json())["spec"]["template"]["spec"]["containers"]
    assert cs[0]["image"] == "nginx:patched" and [c["name"] for c in cs] == ["rs", "httpd"]


async def test_deployment_status_patch_leaves_labels_alone(client):
    dep = deployment("st")
    dep["metadata"]["labels"] = {"keep": "me"}
    assert (await client.post(DEPLOYS, data=orjson.dumps(dep), headers=JSON)).status == 201
    patch = {"metadata": {"labels": {"keep": "changed", "added": "x"}, "annotations": {"patchedstatus": "true"}},
             "status": {"replicas": 1, "readyReplicas": 1}}
    resp = await client.patch(f"{DEPLOYS}/st/status", data=orjson.dumps(patch), headers=SMP)
    assert resp.status == 200, await resp.text()
    got = await resp.json()
    assert got["metadata"]["labels"] == {"keep": "me"}
    assert got["metadata"]["annotations"] == {"patchedstatus": "true"}  # other metadata still changes, as upstream
    assert got["status"]["readyReplicas"] == 1


async def test_table_without_fallback_from_a_handler_without_tables_is_406(client):
    """The conformance test posts a SelfSubjectAccessReview accepting only a Table."""
    sar = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
           "spec": {"nonResourceAttributes": {"path": "/", "verb": "get"}}}
    url = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
    resp = await client.post(url, data=orjson.dumps(sar), headers={
        **JSON, "Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"})
    body = await resp.json()
    assert (resp.status, body["reason"], body["code"]) == (406, "NotAcceptable", 406), body
    # With a JSON fallback the review is answered.
    resp = await client.post(url, data=orjson.dumps(sar), headers={
        **JSON, "Accept": "application/json;as=Table;v=v1;g=meta.k8s.io, application/json"})
    assert resp.status == 201, await resp.text()


async def test_pod_sysctl_names_are_validated(client):
    """As the Sysctls conformance test: invalid names are 422 naming them, valid ones are not mentioned."""
    pod = {"metadata": {"name": "sysctl"}, "spec": {
        "containers": [{"name": "c", "image": "busybox"}],
        "securityContext": {"sysctls": [{"name": "foo-", "value": "bar"}, {"name": "kernel.shmmax", "value": "1"},
                                        {"name": "safe-and-unsafe", "value": "1"}, {"name": "bar..", "value": "42"}]}}}
    resp = await client.post("/api/v1/namespaces/default/pods", data=orjson.dumps(pod), headers=JSON)
    body = await resp.json()
    assert (resp.status, body["reason"]) == (422, "Invalid"), body
    message = body["message"]
    assert 'spec.securityContext.sysctls[0].name: Invalid value: "foo-": must have at most 253 characters and ' \
           'match regex ^([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\\./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?$' in message
    assert 'Invalid value: "bar.."' in message
    assert "safe-and-unsafe" not in message and "kernel.shmmax" not in message
    pod["spec"]["securityContext"]["sysctls"] = [{"name": "net.ipv4.ip_forward", "value": "1"}]
    pod["spec"]["hostNetwork"] = True
    body = await (await client.post("/api/v1/namespaces/default/pods", data=orjson.dumps(pod), headers=JSON)).json()
    assert "may not be specified when 'hostNetwork' is true" in body["message"], body
