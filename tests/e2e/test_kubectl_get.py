"""kubectl get (tables, -o formats, selectors, -A, --show-labels, -w) and describe."""

from __future__ import annotations

import json
import os
import signal

import pytest
import yaml

from pyk8s.testing.cluster import ServerProcess

from . import manifests
from .helpers import read_output_until, row_for, rows_named, table_rows

pytestmark = pytest.mark.e2e

NODE_STATUS = {
    "status": {
        "conditions": [
            {
                "type": "Ready",
                "status": "True",
                "reason": "KubeletReady",
                "message": "kubelet is posting ready status",
                "lastHeartbeatTime": "2026-01-01T00:00:00Z",
                "lastTransitionTime": "2026-01-01T00:00:00Z",
            }
        ],
        "addresses": [{"type": "InternalIP", "address": "10.1.2.3"}],
        "nodeInfo": {
            "kubeletVersion": "v1.32.0",
            "osImage": "Debian GNU/Linux 12",
            "kernelVersion": "6.1.0",
            "containerRuntimeVersion": "containerd://1.6.20",
            "architecture": "amd64",
            "operatingSystem": "linux",
        },
        "capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"},
        "allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"},
    }
}


@pytest.fixture(scope="module")
def objects(server: ServerProcess) -> ServerProcess:
    """Pods in two namespaces, a deployment, a service and a node with status."""
    server.kubectl("create", "namespace", "other")
    server.kubectl("apply", "-f", "-", input=manifests.pod("web-1", labels={"app": "web", "tier": "fe"}))
    server.kubectl("apply", "-f", "-", input=manifests.pod("db-1", labels={"app": "db"}))
    server.kubectl("apply", "-n", "other", "-f", "-", input=manifests.pod("far-1", labels={"app": "far"}))
    server.kubectl("apply", "-f", "-", input=manifests.bundle("g"))
    server.kubectl("apply", "-f", "-", input=manifests.node("node-g1"))
    server.kubectl("patch", "node", "node-g1", "--subresource=status", "--type=merge", "-p", json.dumps(NODE_STATUS))
    return server


def test_get_pods_table(objects: ServerProcess) -> None:
    out = objects.kubectl("get", "pods").stdout
    rows = table_rows(out)
    assert rows[0] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    web = row_for(out, "web-1")
    assert web[1] == "0/1"
    assert web[2] in ("Pending", "ContainerCreating", "Running")
    assert web[3] == "0"
    assert web[4].endswith("s") or web[4].endswith("m")
    assert "far-1" not in out


def test_get_wide_shows_priority_columns(objects: ServerProcess) -> None:
    out = objects.kubectl("get", "pods", "-o", "wide").stdout
    header = out.splitlines()[0].split()
    assert header == [
        "NAME",
        "READY",
        "STATUS",
        "RESTARTS",
        "AGE",
        "IP",
        "NODE",
        "NOMINATED",
        "NODE",
        "READINESS",
        "GATES",
    ]
    dep = objects.kubectl("get", "deploy", "web-g", "-o", "wide").stdout
    assert dep.splitlines()[0].split() == [
        "NAME",
        "READY",
        "UP-TO-DATE",
        "AVAILABLE",
        "AGE",
        "CONTAINERS",
        "IMAGES",
        "SELECTOR",
    ]
    cells = row_for(dep, "web-g")
    assert cells[1].endswith("/3")
    assert cells[5:] == ["nginx", "nginx:1.15.4", "app=nginx-g"]


def test_get_yaml_json_jsonpath(objects: ServerProcess) -> None:
    doc = yaml.safe_load(objects.kubectl("get", "pod", "web-1", "-o", "yaml").stdout)
    assert doc["kind"] == "Pod" and doc["apiVersion"] == "v1"
    assert doc["metadata"]["labels"] == {"app": "web", "tier": "fe"}
    assert doc["spec"]["containers"][0]["image"] == "nginx:1.24"
    # Defaults applied by the server.
    assert doc["spec"]["restartPolicy"] == "Always"
    assert doc["spec"]["containers"][0]["imagePullPolicy"] == "IfNotPresent"
    lst = json.loads(objects.kubectl("get", "pods", "-o", "json").stdout)
    assert lst["kind"] == "List"
    assert {"web-1", "db-1"} <= {i["metadata"]["name"] for i in lst["items"]}
    names = objects.kubectl("get", "pods", "-o", "jsonpath={.items[*].metadata.name}").stdout.split()
    assert "web-1" in names and "far-1" not in names
    assert objects.kubectl("get", "svc", "web-g", "-o", "jsonpath={.spec.ports[0].protocol}").stdout == "TCP"


def test_label_selector(objects: ServerProcess) -> None:
    out = objects.kubectl("get", "pods", "-l", "app=web").stdout
    assert [r[0] for r in table_rows(out)[1:]] == ["web-1"]
    out = objects.kubectl("get", "pods", "-l", "app in (web,db),tier!=fe").stdout
    assert [r[0] for r in table_rows(out)[1:]] == ["db-1"]
    none = objects.kubectl("get", "pods", "-l", "app=nothing")
    assert none.stdout == "" and "No resources found in default namespace." in none.stderr


def test_all_namespaces_and_show_labels(objects: ServerProcess) -> None:
    out = objects.kubectl("get", "pods", "-A").stdout
    assert table_rows(out)[0][:2] == ["NAMESPACE", "NAME"]
    assert ["other", "far-1"] == row_for(out, "far-1")[:2]
    assert ["default", "web-1"] == row_for(out, "web-1")[:2]
    out = objects.kubectl("get", "pods", "--show-labels").stdout
    assert table_rows(out)[0][-1] == "LABELS"
    assert row_for(out, "web-1")[-1] == "app=web,tier=fe"
    out = objects.kubectl("get", "pods", "-L", "tier").stdout
    assert table_rows(out)[0][-1] == "TIER"


def test_get_multiple_types_and_services(objects: ServerProcess) -> None:
    out = objects.kubectl("get", "deploy,svc,cm", "-l", "app=nginx-g").stdout
    assert "deployment.apps/web-g" in out
    assert "service/web-g" in out
    assert "configmap/conf-g" in out
    svc = row_for(objects.kubectl("get", "svc", "web-g").stdout, "web-g")
    assert svc[1] == "ClusterIP" and svc[3] == "<none>" and svc[4] == "80/TCP"


def test_get_nodes(objects: ServerProcess) -> None:
    out = objects.kubectl("get", "nodes").stdout
    assert table_rows(out)[0] == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    assert row_for(out, "node-g1")[1:3] == ["Ready", "worker"]
    assert row_for(out, "node-g1")[4] == "v1.32.0"


def test_get_watch_sees_update_from_another_command(objects: ServerProcess) -> None:
    objects.kubectl("apply", "-f", "-", input=manifests.pod("watched", labels={"app": "watched"}))
    proc = objects.kubectl_popen("get", "pods", "-l", "app=watched", "-w")
    try:
        first = read_output_until(proc, lambda s: rows_named(s, "watched") >= 1, timeout=15)
        assert first.splitlines()[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
        objects.kubectl("label", "pod", "watched", "stage=two")
        read_output_until(proc, lambda s: rows_named(s, "watched") >= 1, timeout=15)  # the MODIFIED row
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
        objects.kubectl("delete", "pod", "watched", "--wait=false", check=False)


def test_describe_pod(objects: ServerProcess) -> None:
    out = objects.kubectl("describe", "pod", "web-1").stdout
    assert "Name:" in out and "web-1" in out
    assert "Namespace:" in out and "default" in out
    assert "Labels:" in out and "app=web" in out and "tier=fe" in out
    assert "Image:" in out and "nginx:1.24" in out
    assert "Containers:" in out


def test_describe_deployment(objects: ServerProcess) -> None:
    out = objects.kubectl("describe", "deployment", "web-g").stdout
    assert "Name:" in out and "web-g" in out
    assert "Selector:" in out and "app=nginx-g" in out
    assert "Replicas:" in out and "3 desired" in out
    assert "StrategyType:" in out and "RollingUpdate" in out
    assert "nginx:1.15.4" in out


def test_describe_service(objects: ServerProcess) -> None:
    out = objects.kubectl("describe", "service", "web-g").stdout
    assert "Type:" in out and "ClusterIP" in out
    assert "Selector:" in out and "app=nginx-g" in out
    assert "Port:" in out and "80/TCP" in out
    assert "TargetPort:" in out


def test_describe_node(objects: ServerProcess) -> None:
    out = objects.kubectl("describe", "node", "node-g1").stdout
    assert "Name:" in out and "node-g1" in out
    assert "Roles:" in out and "worker" in out
    assert "Ready" in out and "KubeletReady" in out
    assert "InternalIP:" in out and "10.1.2.3" in out
    assert "Kubelet Version:" in out and "v1.32.0" in out
