"""kubectl apply / create -f with ``apiVersion: v1, kind: List`` manifests against a real pyk8s server.

kubectl validates a List on the client against ``GET /openapi/v2`` fetched as gnostic protobuf
(the server-side ``fieldValidation`` check does not cover ``v1/List``), so these commands only
work when the server serves that form.
"""

from __future__ import annotations

import json

import pytest

from pyk8s.testing.cluster import ServerProcess

pytestmark = pytest.mark.e2e

PB = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"


def list_manifest(suffix: str, *, replicas: str = "1", extra_spec: str = "", value: str = "1") -> str:
    return f"""apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata:
    name: list-cm-{suffix}
  data:
    key: "{value}"
- apiVersion: apps/v1
  kind: Deployment
  metadata:
    name: list-dep-{suffix}
  spec:
    replicas: {replicas}{extra_spec}
    selector:
      matchLabels: {{app: list-{suffix}}}
    template:
      metadata:
        labels: {{app: list-{suffix}}}
      spec:
        containers:
        - name: web
          image: nginx
"""


def write(srv: ServerProcess, name: str, text: str) -> str:
    path = f"{srv.root}/{name}"
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def exists(srv: ServerProcess, ref: str) -> bool:
    return srv.kubectl("get", ref, "--ignore-not-found", "-o", "name", check=False).stdout.strip() != ""


def test_openapi_v2_is_served_as_protobuf(server: ServerProcess) -> None:
    status, body = server.request("GET", "/openapi/v2", headers={"Accept": PB})
    assert status == 200
    assert body.startswith(b"\x0a\x032.0")  # Document.swagger = "2.0"
    status, text = server.request("GET", "/openapi/v2", headers={"Accept": "application/json"})
    assert status == 200 and json.loads(text)["swagger"] == "2.0"
    status, _ = server.request("GET", "/openapi/v2", headers={"Accept": "application/yaml"})
    assert status == 406


def test_apply_list_creates_every_item_then_is_unchanged(server: ServerProcess) -> None:
    path = write(server, "list-a.yaml", list_manifest("a"))
    out = server.kubectl("apply", "-f", path).stdout
    assert "configmap/list-cm-a created" in out
    assert "deployment.apps/list-dep-a created" in out
    assert server.kubectl("get", "configmap/list-cm-a", "-o", "jsonpath={.data.key}").stdout == "1"
    assert server.kubectl("get", "deployment/list-dep-a", "-o", "jsonpath={.spec.replicas}").stdout == "1"

    out = server.kubectl("apply", "-f", path).stdout
    assert "configmap/list-cm-a unchanged" in out
    assert "deployment.apps/list-dep-a unchanged" in out

    write(server, "list-a.yaml", list_manifest("a", replicas="3", value="2"))
    out = server.kubectl("apply", "-f", path).stdout
    assert "configmap/list-cm-a configured" in out
    assert "deployment.apps/list-dep-a configured" in out
    assert server.kubectl("get", "deployment/list-dep-a", "-o", "jsonpath={.spec.replicas}").stdout == "3"
    assert server.kubectl("get", "configmap/list-cm-a", "-o", "jsonpath={.data.key}").stdout == "2"

    out = server.kubectl("delete", "-f", path).stdout
    assert 'configmap "list-cm-a" deleted' in out


def test_create_list_creates_every_item(server: ServerProcess) -> None:
    path = write(server, "list-c.yaml", list_manifest("c"))
    out = server.kubectl("create", "-f", path).stdout
    assert "configmap/list-cm-c created" in out
    assert "deployment.apps/list-dep-c created" in out
    assert exists(server, "configmap/list-cm-c") and exists(server, "deployment/list-dep-c")
    again = server.kubectl("create", "-f", path, check=False)
    assert again.returncode == 1
    assert 'configmaps "list-cm-c" already exists' in again.stderr


def test_unknown_field_in_a_list_item_is_rejected_by_client_side_validation(server: ServerProcess) -> None:
    path = write(server, "list-u.yaml", list_manifest("u", extra_spec="\n    bogus: 2"))
    for verb in (("apply", "--validate=strict"), ("apply",), ("create",)):
        result = server.kubectl(*verb, "-f", path, check=False)
        assert result.returncode == 1
        assert result.stderr.strip() == (
            f'error: error validating "{path}": error validating data: ValidationError(Deployment.spec): '
            'unknown field "bogus" in io.k8s.api.apps.v1.DeploymentSpec; '
            "if you choose to ignore these errors, turn validation off with --validate=false")
    assert not exists(server, "configmap/list-cm-u")
    assert not exists(server, "deployment/list-dep-u")


def test_mistyped_and_missing_required_fields_in_a_list_item(server: ServerProcess) -> None:
    path = write(server, "list-t.yaml", list_manifest("t", replicas="two"))
    result = server.kubectl("apply", "-f", path, check=False)
    assert result.returncode == 1
    assert ('error validating data: ValidationError(Deployment.spec.replicas): invalid type for '
            'io.k8s.api.apps.v1.DeploymentSpec.replicas: got "string", expected "integer"') in result.stderr

    path = write(server, "list-n.yaml", list_manifest("n").replace("- name: web\n          image", "- image"))
    result = server.kubectl("create", "-f", path, check=False)
    assert result.returncode == 1
    assert ('error validating data: ValidationError(Deployment.spec.template.spec.containers[0]): '
            'missing required field "name" in io.k8s.api.core.v1.Container') in result.stderr
    assert not exists(server, "configmap/list-cm-t") and not exists(server, "configmap/list-cm-n")


def test_validate_false_and_warn_leave_the_check_to_the_server(server: ServerProcess) -> None:
    path = write(server, "list-w.yaml", list_manifest("w", extra_spec="\n    bogus: 2"))
    result = server.kubectl("create", "--validate=warn", "-f", path)
    assert "deployment.apps/list-dep-w created" in result.stdout
    assert 'unknown field "spec.bogus"' in result.stderr
    path = write(server, "list-f.yaml", list_manifest("f", extra_spec="\n    bogus: 2"))
    result = server.kubectl("apply", "--validate=false", "-f", path)
    assert "deployment.apps/list-dep-f created" in result.stdout


def test_explain_still_works(server: ServerProcess) -> None:
    out = server.kubectl("explain", "deployment.spec.replicas").stdout
    assert "FIELD: replicas <integer>" in out
    out = server.kubectl("explain", "configmap").stdout
    assert "KIND:       ConfigMap" in out
