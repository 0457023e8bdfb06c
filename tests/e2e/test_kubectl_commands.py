"""kubectl explain / api-resources / api-versions / version / auth, the
``create <kind>`` generators (protobuf request bodies) and error output for
invalid manifests."""

from __future__ import annotations

import base64
import ipaddress
import json

import pytest

from pyk8s.testing.cluster import ServerProcess

from .helpers import row_for, table_rows

pytestmark = pytest.mark.e2e

SERVICE_CIDR = ipaddress.ip_network("10.96.0.0/12")


def test_version(server: ServerProcess) -> None:
    out = server.kubectl("version").stdout
    assert "Server Version: v1.32.0" in out
    info = json.loads(server.kubectl("version", "-o", "json").stdout)
    assert info["serverVersion"]["major"] == "1" and info["serverVersion"]["minor"] == "32"


def test_api_resources(server: ServerProcess) -> None:
    out = server.kubectl("api-resources").stdout
    assert table_rows(out)[0] == ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
    assert row_for(out, "pods") == ["pods", "po", "v1", "true", "Pod"]
    assert row_for(out, "deployments") == ["deployments", "deploy", "apps/v1", "true", "Deployment"]
    assert row_for(out, "namespaces") == ["namespaces", "ns", "v1", "false", "Namespace"]
    assert row_for(out, "configmaps") == ["configmaps", "cm", "v1", "true", "ConfigMap"]
    assert row_for(out, "services") == ["services", "svc", "v1", "true", "Service"]
    names = server.kubectl("api-resources", "--namespaced=false", "-o", "name").stdout.split()
    assert "nodes" in names and "pods" not in names


def test_api_versions(server: ServerProcess) -> None:
    versions = server.kubectl("api-versions").stdout.split()
    for gv in ("v1", "apps/v1", "batch/v1", "authorization.k8s.io/v1"):
        assert gv in versions
    assert versions == sorted(versions)


def test_explain(server: ServerProcess) -> None:
    out = server.kubectl("explain", "pod.spec.containers").stdout
    assert "KIND:       Pod" in out
    assert "VERSION:    v1" in out
    assert "FIELD: containers <[]Container>" in out
    assert "FIELDS:" in out
    assert "image\t<string>" in out or "image <string>" in out.replace("\t", " ")
    assert "name\t<string> -required-" in out or "name <string> -required-" in out.replace("\t", " ")
    probe = server.kubectl("explain", "pod.spec.containers.livenessProbe").stdout
    assert "FIELD: livenessProbe <Probe>" in probe
    assert "httpGet" in probe and "periodSeconds" in probe
    missing = server.kubectl("explain", "pod.spec.nope", check=False)
    assert missing.returncode == 1 and 'field "nope" does not exist' in missing.stderr


def test_auth(server: ServerProcess) -> None:
    assert server.kubectl("auth", "can-i", "create", "pods").stdout.strip() == "yes"
    assert server.kubectl("auth", "can-i", "delete", "deployments", "-n", "kube-system").stdout.strip() == "yes"
    who = server.kubectl("auth", "whoami").stdout
    assert table_rows(who)[0] == ["ATTRIBUTE", "VALUE"]
    assert "Username" in who


def test_create_configmap_and_secret(server: ServerProcess) -> None:
    out = server.kubectl("create", "configmap", "cx", "--from-literal=a=b").stdout
    assert out.strip() == "configmap/cx created"
    assert server.kubectl("get", "cm", "cx", "-o", "jsonpath={.data.a}").stdout == "b"
    cm_row = row_for(server.kubectl("get", "cm", "cx").stdout, "cx")
    assert cm_row[1] == "1"
    out = server.kubectl("create", "secret", "generic", "sx", "--from-literal=p=q").stdout
    assert out.strip() == "secret/sx created"
    encoded = server.kubectl("get", "secret", "sx", "-o", "jsonpath={.data.p}").stdout
    assert encoded == base64.b64encode(b"q").decode()
    assert row_for(server.kubectl("get", "secret", "sx").stdout, "sx")[1:3] == ["Opaque", "1"]


def test_create_namespace(server: ServerProcess) -> None:
    assert server.kubectl("create", "namespace", "nx").stdout.strip() == "namespace/nx created"
    assert row_for(server.kubectl("get", "ns").stdout, "nx")[1] == "Active"
    server.kubectl("create", "configmap", "in-nx", "-n", "nx", "--from-literal=k=v")
    assert "in-nx" in server.kubectl("get", "cm", "-n", "nx").stdout


def test_create_deployment(server: ServerProcess) -> None:
    out = server.kubectl("create", "deployment", "dx", "--image=busybox").stdout
    assert out.strip() == "deployment.apps/dx created"
    dep = json.loads(server.kubectl("get", "deploy", "dx", "-o", "json").stdout)
    assert dep["spec"]["selector"] == {"matchLabels": {"app": "dx"}}
    assert dep["spec"]["template"]["spec"]["containers"][0]["image"] == "busybox"
    assert dep["spec"]["replicas"] == 1
    assert dep["spec"]["strategy"]["type"] == "RollingUpdate"


def test_create_service_clusterip(server: ServerProcess) -> None:
    out = server.kubectl("create", "service", "clusterip", "sx", "--tcp=80:8080").stdout
    assert out.strip() == "service/sx created"
    cells = row_for(server.kubectl("get", "svc", "sx").stdout, "sx")
    assert cells[1] == "ClusterIP"
    assert ipaddress.ip_address(cells[2]) in SERVICE_CIDR
    assert cells[3] == "<none>"
    assert cells[4] == "80/TCP"
    target = server.kubectl("get", "svc", "sx", "-o", "jsonpath={.spec.ports[0].targetPort}").stdout
    assert target == "8080"


def test_create_job(server: ServerProcess) -> None:
    out = server.kubectl("create", "job", "jx", "--image=busybox").stdout
    assert out.strip() == "job.batch/jx created"
    header = table_rows(server.kubectl("get", "jobs").stdout)[0]
    assert header == ["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"]
    job = json.loads(server.kubectl("get", "job", "jx", "-o", "json").stdout)
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    assert job["spec"]["backoffLimit"] == 6


INVALID_DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: noimage
spec:
  selector:
    matchLabels: {app: noimage}
  template:
    metadata:
      labels: {app: noimage}
    spec:
      containers:
      - name: c
"""

BAD_NAME = """apiVersion: v1
kind: ConfigMap
metadata:
  name: Bad_Name
data: {a: b}
"""

UNKNOWN_FIELD = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: unknownfield
spec:
  foo: bar
  selector:
    matchLabels: {app: u}
  template:
    metadata:
      labels: {app: u}
    spec:
      containers:
      - name: c
        image: busybox
"""


def test_invalid_deployment_without_image(server: ServerProcess) -> None:
    out = server.kubectl("apply", "-f", "-", input=INVALID_DEPLOYMENT, check=False)
    assert out.returncode == 1
    assert 'The Deployment "noimage" is invalid: spec.template.spec.containers[0].image: Required value' in out.stderr


def test_invalid_name(server: ServerProcess) -> None:
    out = server.kubectl("create", "-f", "-", input=BAD_NAME, check=False)
    assert out.returncode == 1
    assert (
        'The ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain'
        in out.stderr
    )


def test_unknown_field_strict_validation(server: ServerProcess) -> None:
    out = server.kubectl("create", "-f", "-", input=UNKNOWN_FIELD, check=False)
    assert out.returncode == 1
    assert "Error from server (BadRequest)" in out.stderr
    assert 'unknown field "spec.foo"' in out.stderr
    lenient = server.kubectl("create", "--validate=false", "-f", "-", input=UNKNOWN_FIELD, check=False)
    assert lenient.returncode == 0, lenient.stderr
    assert "foo" not in server.kubectl("get", "deploy", "unknownfield", "-o", "json").stdout


def test_not_found_message(server: ServerProcess) -> None:
    out = server.kubectl("get", "pod", "nope", check=False)
    assert out.returncode == 1
    assert out.stderr.strip() == 'Error from server (NotFound): pods "nope" not found'


def test_bind_through_legacy_bindings_collection(server: ServerProcess) -> None:
    server.kubectl("run", "bind-me", "--image=busybox:1.36", "--restart=Never")
    binding = {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "bind-me"},
               "target": {"apiVersion": "v1", "kind": "Node", "name": "node-b1"}}
    status, body = server.request("POST", "/api/v1/namespaces/default/bindings", json.dumps(binding).encode(),
                                  headers={"Content-Type": "application/json"})
    assert status == 201, body
    node = server.kubectl("get", "pod", "bind-me", "-o", "jsonpath={.spec.nodeName}").stdout
    assert node == "node-b1"
    again, body = server.request("POST", "/api/v1/namespaces/default/bindings", json.dumps(binding).encode(),
                                 headers={"Content-Type": "application/json"})
    assert again == 409 and b'already assigned to node' in body, body
    server.kubectl("delete", "pod", "bind-me", "--grace-period=0", "--force", check=False)
