"""Protobuf request bodies of the kinds and option types clients send (issue 12 §4).

The bodies are built here field number by field number (from k8s.io/api
``generated.proto``), independently of the decoder's tables, so a wrong or missing
table entry shows up as a lost field.  Each test failed before the core/v1 and
meta/v1 numbers were complete: a Pod arrived without its containers (``kubectl
debug --copy-to``), a DeleteOptions body was a 400 (``helm uninstall``), and an
Eviction's deleteOptions were dropped.
"""

from __future__ import annotations

import struct

import orjson
import pytest
from aiohttp.test_utils import TestClient

from pyk8s.machinery.protobuf import encode_field as F
from pyk8s.machinery.protobuf import encode_varint, envelope
from tests.integration.apiserver import realserver
from tests.integration.apiserver.realserver import AUTH, JSON, PB

client, registry = realserver.client, realserver.registry  # fixtures

PODS = "/api/v1/namespaces/default/pods"


def meta(name: str, **labels: str) -> bytes:
    out = F(1, name)
    for k, v in labels.items():
        out += F(11, F(1, k) + F(2, v))
    return out


def quantity_map(num: int, **values: str) -> bytes:
    return b"".join(F(num, F(1, k) + F(2, F(1, v))) for k, v in values.items())


def container(name: str) -> bytes:
    """A container as kubectl debug --copy-to sends one: command, env, a mount, limits, a probe, tty."""
    env = F(7, F(1, "MODE") + F(2, "debug")) + F(7, F(1, "POD") + F(3, F(1, F(1, "v1") + F(2, "metadata.name"))))
    resources = F(8, quantity_map(1, cpu="500m", memory="64Mi"))
    mount = F(9, F(1, "scratch") + F(3, "/scratch") + F(2, 1))
    probe = F(10, F(1, F(1, F(1, "true"))) + F(4, 7))  # exec (inline ProbeHandler, field 1), periodSeconds 7
    security = F(15, F(1, F(1, "NET_ADMIN")) + F(7, 0))  # capabilities.add, allowPrivilegeEscalation: false
    return (F(1, name) + F(2, "busybox:1.36") + F(3, "sleep") + F(4, "3600") + env + resources + mount + probe
            + F(14, "IfNotPresent") + security + F(16, 1) + F(18, 1))


def pod_body(name: str) -> bytes:
    volume = F(1, F(1, "scratch") + F(2, F(2, F(1, "Memory"))))  # volumeSource (inline) -> emptyDir
    toleration = F(22, F(1, "dedicated") + F(2, "Exists") + F(4, "NoSchedule"))
    spec = (volume + F(2, container("debugger")) + F(3, "Never") + F(4, 5) + F(27, 1) + toleration
            + F(7, F(1, "disk") + F(2, "ssd")) + F(14, F(7, F(1, "net.ipv4.ip_forward") + F(2, "1"))))
    return envelope("v1", "Pod", F(1, meta(name, app="dbg")) + F(2, spec))


async def test_protobuf_pod_keeps_every_field(client):
    resp = await client.post(PODS, data=pod_body("copy"), headers=PB)
    assert resp.status == 201, await resp.text()
    pod = await resp.json()
    spec = pod["spec"]
    c = spec["containers"][0]
    assert (c["name"], c["image"], c["command"], c["args"]) == ("debugger", "busybox:1.36", ["sleep"], ["3600"])
    assert c["env"][0] == {"name": "MODE", "value": "debug"}
    assert c["env"][1]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    assert c["resources"]["limits"] == {"cpu": "500m", "memory": "64Mi"}
    # The first mount is the pod's; the ServiceAccount admission adds the default account's token after it.
    assert c["volumeMounts"][0] == {"name": "scratch", "mountPath": "/scratch", "readOnly": True}
    assert c["livenessProbe"]["exec"]["command"] == ["true"] and c["livenessProbe"]["periodSeconds"] == 7
    assert c["securityContext"] == {"capabilities": {"add": ["NET_ADMIN"]}, "allowPrivilegeEscalation": False}
    assert (c["stdin"], c["tty"], c["imagePullPolicy"]) == (True, True, "IfNotPresent")
    assert spec["volumes"][0] == {"name": "scratch", "emptyDir": {"medium": "Memory"}}
    assert (spec["restartPolicy"], spec["terminationGracePeriodSeconds"], spec["shareProcessNamespace"]) == \
        ("Never", 5, True)
    assert spec["tolerations"][0] == {"key": "dedicated", "operator": "Exists", "effect": "NoSchedule"}
    assert spec["nodeSelector"] == {"disk": "ssd"}
    assert spec["securityContext"]["sysctls"] == [{"name": "net.ipv4.ip_forward", "value": "1"}]
    assert pod["metadata"]["labels"] == {"app": "dbg"}


async def create_pod(client: TestClient, name: str) -> None:
    body = {"metadata": {"name": name}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
    resp = await client.post(PODS, data=orjson.dumps(body), headers=JSON)
    assert resp.status == 201, await resp.text()


@pytest.mark.parametrize("api_version", ["v1", "meta.k8s.io/v1", "apps/v1"])
async def test_protobuf_delete_options_are_decoded(client, api_version):
    """Helm and every typed client send DeleteOptions as protobuf under their own group version."""
    await create_pod(client, "victim")
    opts = F(1, 0) + F(4, "Background") + F(5, "All")  # gracePeriodSeconds 0, propagationPolicy, dryRun [All]
    resp = await client.delete(f"{PODS}/victim", data=envelope(api_version, "DeleteOptions", opts), headers=PB)
    assert resp.status == 200, await resp.text()
    assert (await client.get(f"{PODS}/victim", headers=AUTH)).status == 200  # dryRun=All: still there
    resp = await client.delete(f"{PODS}/victim", data=envelope(api_version, "DeleteOptions", F(1, 0)), headers=PB)
    assert resp.status == 200, await resp.text()
    assert (await client.get(f"{PODS}/victim", headers=AUTH)).status == 404


async def test_protobuf_delete_options_preconditions(client):
    await create_pod(client, "guarded")
    opts = F(2, F(1, "not-the-uid"))
    resp = await client.delete(f"{PODS}/guarded", data=envelope("v1", "DeleteOptions", opts), headers=PB)
    body = await resp.json()
    assert (resp.status, body["reason"]) == (409, "Conflict"), body
    assert "Precondition failed: UID in precondition: not-the-uid" in body["message"]


async def test_protobuf_eviction_honours_its_delete_options(client):
    await create_pod(client, "evictee")
    dry = envelope("policy/v1", "Eviction", F(1, meta("evictee")) + F(2, F(5, "All")))
    resp = await client.post(f"{PODS}/evictee/eviction", data=dry, headers=PB)
    assert resp.status == 201, await resp.text()
    assert (await client.get(f"{PODS}/evictee", headers=AUTH)).status == 200  # dryRun in deleteOptions
    real = envelope("policy/v1", "Eviction", F(1, meta("evictee")) + F(2, F(1, 0)))
    resp = await client.post(f"{PODS}/evictee/eviction", data=real, headers=PB)
    assert resp.status == 201, await resp.text()
    assert (await client.get(f"{PODS}/evictee", headers=AUTH)).status == 404


async def test_protobuf_scale_update(client):
    dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
           "spec": {"replicas": 1, "selector": {"matchLabels": {"a": "b"}},
                    "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}}
    url = "/apis/apps/v1/namespaces/default/deployments"
    assert (await client.post(url, data=orjson.dumps(dep), headers=JSON)).status == 201
    body = envelope("autoscaling/v1", "Scale", F(1, meta("web")) + F(2, F(1, 4)))
    resp = await client.put(f"{url}/web/scale", data=body, headers=PB)
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["spec"]["replicas"] == 4
    got = await (await client.get(f"{url}/web", headers=AUTH)).json()
    assert got["spec"]["replicas"] == 4


async def test_protobuf_namespace_teardown(client):
    """The conformance framework deletes each test namespace with an empty protobuf DeleteOptions."""
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "e2e-teardown"}}
    assert (await client.post("/api/v1/namespaces", data=orjson.dumps(ns), headers=JSON)).status == 201
    resp = await client.delete("/api/v1/namespaces/e2e-teardown", data=envelope("v1", "DeleteOptions", b""), headers=PB)
    assert resp.status == 200, await resp.text()
    got = await resp.json()
    assert (got["kind"], got["status"]["phase"]) == ("Namespace", "Terminating")


def _double(num: int, value: float) -> bytes:
    return encode_varint(num << 3 | 1) + struct.pack("<d", value)


def _schema_body() -> bytes:
    """A JSONSchemaProps: type object, properties.spec{size: integer >= 1 default 3, tags: [string], labels map},
    a CEL rule, preserve-unknown-fields on status."""
    size = F(5, "integer") + _double(11, 1.0) + F(8, F(1, b"3"))  # minimum 1, default 3 (JSON raw)
    tags = F(5, "array") + F(24, F(1, F(5, "string"))) + F(42, "set")  # items: a schema; list-type set
    labels = F(5, "object") + F(30, F(2, F(5, "string")))  # additionalProperties: a schema
    free = F(5, "object") + F(30, F(1, 1))  # additionalProperties: true
    spec = (F(5, "object") + F(29, F(1, "size") + F(2, size)) + F(29, F(1, "tags") + F(2, tags))
            + F(29, F(1, "labels") + F(2, labels)) + F(29, F(1, "free") + F(2, free)) + F(23, "size")
            + F(44, F(1, "self.size <= 10") + F(2, "too big")) + F(20, F(1, b'"x"')))
    status = F(5, "object") + F(38, 1)
    return F(5, "object") + F(29, F(1, "spec") + F(2, spec)) + F(29, F(1, "status") + F(2, status))


async def test_protobuf_crd_keeps_its_schema(client):
    """The conformance framework's apiextensions client creates CRDs as protobuf."""
    names = F(1, "widgets") + F(2, "widget") + F(4, "Widget") + F(3, "wd")
    scale = F(1, ".spec.replicas") + F(2, ".status.replicas")
    version = (F(1, "v1") + F(2, 1) + F(3, 1) + F(4, F(1, _schema_body())) + F(5, F(1, b"") + F(2, scale))
               + F(6, F(1, "Size") + F(2, "integer") + F(6, ".spec.size")))
    spec = F(1, "example.com") + F(3, names) + F(4, "Namespaced") + F(7, version) + F(9, F(1, "None"))
    body = envelope("apiextensions.k8s.io/v1", "CustomResourceDefinition", F(1, meta("widgets.example.com")) + F(2, spec))
    resp = await client.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", data=body, headers=PB)
    assert resp.status == 201, await resp.text()
    crd = await resp.json()
    v = crd["spec"]["versions"][0]
    assert (crd["spec"]["group"], crd["spec"]["scope"], crd["spec"]["names"]["shortNames"]) == \
        ("example.com", "Namespaced", ["wd"])
    assert (v["name"], v["served"], v["storage"]) == ("v1", True, True)
    assert v["subresources"] == {"status": {}, "scale": {"specReplicasPath": ".spec.replicas",
                                                         "statusReplicasPath": ".status.replicas"}}
    assert v["additionalPrinterColumns"] == [{"name": "Size", "type": "integer", "jsonPath": ".spec.size"}]
    schema = v["schema"]["openAPIV3Schema"]
    spec_schema = schema["properties"]["spec"]
    assert spec_schema["properties"]["size"] == {"type": "integer", "minimum": 1.0, "default": 3}
    assert spec_schema["properties"]["tags"] == {"type": "array", "items": {"type": "string"},
                                                 "x-kubernetes-list-type": "set"}
    assert spec_schema["properties"]["labels"] == {"type": "object", "additionalProperties": {"type": "string"}}
    assert spec_schema["properties"]["free"] == {"type": "object", "additionalProperties": True}
    assert spec_schema["required"] == ["size"] and spec_schema["enum"] == ["x"]
    assert spec_schema["x-kubernetes-validations"] == [{"rule": "self.size <= 10", "message": "too big"}]
    assert schema["properties"]["status"] == {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
