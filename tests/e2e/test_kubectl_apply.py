"""kubectl apply / create -f / delete -f against a real pyk8s server."""

from __future__ import annotations

import json
import re

import pytest

from pyk8s.testing.cluster import ServerProcess

from . import manifests

pytestmark = pytest.mark.e2e


def write(srv: ServerProcess, name: str, text: str) -> str:
    path = f"{srv.root}/{name}"
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def uid(srv: ServerProcess, ref: str) -> str:
    return srv.kubectl("get", ref, "-o", "jsonpath={.metadata.uid}").stdout


def test_apply_multi_document_then_update_then_unchanged(server: ServerProcess) -> None:
    path = write(server, "bundle-a.yaml", manifests.bundle("a"))
    out = server.kubectl("apply", "-f", path).stdout
    assert "deployment.apps/web-a created" in out
    assert "service/web-a created" in out
    assert "configmap/conf-a created" in out
    before = uid(server, "deployment/web-a")
    assert re.fullmatch(r"[0-9a-f-]{36}", before)

    write(server, "bundle-a.yaml", manifests.bundle("a", replicas=2, image="nginx:1.26"))
    out = server.kubectl("apply", "-f", path).stdout
    assert "deployment.apps/web-a configured" in out
    assert "service/web-a unchanged" in out
    assert "configmap/conf-a unchanged" in out
    assert uid(server, "deployment/web-a") == before
    spec = json.loads(server.kubectl("get", "deployment/web-a", "-o", "json").stdout)["spec"]
    assert spec["replicas"] == 2
    assert spec["template"]["spec"]["containers"][0]["image"] == "nginx:1.26"

    out = server.kubectl("apply", "-f", path).stdout
    assert "deployment.apps/web-a unchanged" in out


def test_apply_records_last_applied_and_generation(server: ServerProcess) -> None:
    path = write(server, "bundle-g.yaml", manifests.bundle("g"))
    server.kubectl("apply", "-f", path)
    dep = json.loads(server.kubectl("get", "deployment/web-g", "-o", "json").stdout)
    meta = dep["metadata"]
    assert "kubectl.kubernetes.io/last-applied-configuration" in meta["annotations"]
    assert meta["generation"] == 1
    assert meta["creationTimestamp"].endswith("Z")
    write(server, "bundle-g.yaml", manifests.bundle("g", replicas=5))
    server.kubectl("apply", "-f", path)
    dep = json.loads(server.kubectl("get", "deployment/web-g", "-o", "json").stdout)
    assert dep["metadata"]["generation"] == 2
    assert int(dep["metadata"]["resourceVersion"]) > int(meta["resourceVersion"])


def test_apply_server_side(server: ServerProcess) -> None:
    path = write(server, "bundle-s.yaml", manifests.bundle("s"))
    out = server.kubectl("apply", "--server-side", "-f", path).stdout
    assert "deployment.apps/web-s serverside-applied" in out
    assert "service/web-s serverside-applied" in out
    assert "configmap/conf-s serverside-applied" in out
    write(server, "bundle-s.yaml", manifests.bundle("s", value="off"))
    server.kubectl("apply", "--server-side", "-f", path)
    assert server.kubectl("get", "configmap/conf-s", "-o", "jsonpath={.data.gzip}").stdout == "off"
    managers = server.kubectl("get", "configmap/conf-s", "-o", "json", "--show-managed-fields").stdout
    assert '"manager": "kubectl"' in managers


def test_create_then_already_exists_then_delete_file(server: ServerProcess) -> None:
    path = write(server, "bundle-c.yaml", manifests.bundle("c"))
    out = server.kubectl("create", "-f", path).stdout
    assert "deployment.apps/web-c created" in out
    again = server.kubectl("create", "-f", path, check=False)
    assert again.returncode == 1
    assert 'Error from server (AlreadyExists): error when creating "' in again.stderr
    assert 'deployments.apps "web-c" already exists' in again.stderr
    out = server.kubectl("delete", "-f", path).stdout
    assert 'deployment.apps "web-c" deleted' in out
    assert 'service "web-c" deleted' in out
    assert 'configmap "conf-c" deleted' in out
    gone = server.kubectl("get", "deployment/web-c", check=False)
    assert gone.returncode == 1
    assert 'Error from server (NotFound): deployments.apps "web-c" not found' in gone.stderr


def test_delete_by_name_and_by_label(server: ServerProcess) -> None:
    server.kubectl("create", "configmap", "del-one", "--from-literal=a=1")
    assert 'configmap "del-one" deleted' in server.kubectl("delete", "configmap", "del-one").stdout
    for i in range(3):
        server.kubectl("create", "configmap", f"del-l{i}", "--from-literal=a=1")
        server.kubectl("label", "configmap", f"del-l{i}", "batch=gone")
    out = server.kubectl("delete", "configmap", "-l", "batch=gone").stdout
    for i in range(3):
        assert f'configmap "del-l{i}" deleted' in out
    left = server.kubectl("get", "configmap", "-l", "batch=gone")
    assert left.stdout == ""
    assert "No resources found in default namespace." in left.stderr
