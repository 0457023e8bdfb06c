"""Pod volumes as a container sees them: memory emptyDirs of a bounded size, optional and required
configMap/secret volumes, a projected ServiceAccount token for another audience, the namespace's
``kube-root-ca.crt`` and subPath/subPathExpr mounts.

One pod (``vols``) carries most checks, read through ``kubectl exec``; a second (``strict``) shows the
failure path of required volumes whose objects are missing.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.helpers import wait_until
from tests.e2e.kubelet.conftest import Cluster
from tests.e2e.kubelet.podkit import BUSYBOX, Pods, namespace

NS = "volpod"
AUDIENCE = "vault.example.com"
SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


@pytest.fixture(scope="module")
def pods(cluster: Cluster) -> Iterator[Pods]:
    yield from namespace(cluster, NS)


def _vols_pod() -> dict[str, Any]:
    mounts = [{"name": "mem", "mountPath": "/mem"}, {"name": "mem-unsized", "mountPath": "/mem-unsized"},
              {"name": "optcm", "mountPath": "/optcm"}, {"name": "optsec", "mountPath": "/optsec"},
              {"name": "vault", "mountPath": "/var/run/secrets/vault"},
              {"name": "conf", "mountPath": "/etc/app.conf", "subPath": "app.conf"},
              {"name": "scratch", "mountPath": "/scratch"},
              {"name": "scratch", "mountPath": "/logs", "subPath": "logs"},
              {"name": "scratch", "mountPath": "/per-pod", "subPathExpr": "$(POD_NAME)"}]
    volumes = [{"name": "mem", "emptyDir": {"medium": "Memory", "sizeLimit": "4Mi"}},
               {"name": "mem-unsized", "emptyDir": {"medium": "Memory"}},
               {"name": "optcm", "configMap": {"name": "not-there", "optional": True}},
               {"name": "optsec", "secret": {"secretName": "not-there", "optional": True}},
               {"name": "vault", "projected": {"sources": [{"serviceAccountToken": {
                   "audience": AUDIENCE, "expirationSeconds": 600, "path": "token"}}]}},
               {"name": "conf", "configMap": {"name": "appconf"}},
               {"name": "scratch", "emptyDir": {}}]
    app = {"name": "app", "image": BUSYBOX, "imagePullPolicy": "IfNotPresent", "command": ["sleep", "3600"],
           "env": [{"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
           "resources": {"limits": {"memory": "48Mi"}}, "volumeMounts": mounts}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "vols"},
            "spec": {"terminationGracePeriodSeconds": 1, "volumes": volumes, "containers": [app]}}


@pytest.fixture(scope="module")
def vols(pods: Pods) -> Pods:
    pods.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "appconf"},
                "data": {"app.conf": "listen 8080", "other": "not mounted"}})
    pods.apply(_vols_pod())
    pods.wait_status("vols", "Running", timeout=90)
    return pods


def _sh(pods: Pods, script: str) -> str:
    """What the script prints, without the final newline."""
    return pods.exec("vols", "sh", "-c", script).removesuffix("\n")


def _df_kib(pods: Pods, path: str) -> tuple[str, int]:
    """(filesystem, size in KiB) of the mount at ``path`` as ``df`` in the container reports it."""
    fields = _sh(pods, f"df -k {path} | tail -1").split()
    return fields[0], int(fields[1])


def test_memory_empty_dir_is_a_tmpfs_of_its_size_limit(vols: Pods) -> None:
    assert _df_kib(vols, "/mem") == ("tmpfs", 4096)
    # Without sizeLimit the tmpfs is as large as the pod may use: its memory limit.
    assert _df_kib(vols, "/mem-unsized") == ("tmpfs", 48 * 1024)
    assert _sh(vols, "dd if=/dev/zero of=/mem/fits bs=1024 count=2048 2>&1; echo rc=$?").endswith("rc=0")
    out = _sh(vols, "dd if=/dev/zero of=/mem/spill bs=1024 count=4096 2>&1; echo rc=$?")
    assert "No space left on device" in out and out.endswith("rc=1"), out


def test_optional_missing_objects_mount_empty_directories(vols: Pods) -> None:
    assert _sh(vols, "ls /optcm /optsec") == "/optcm:\n\n/optsec:"
    assert "FailedMount" not in vols.events("vols")


def test_required_missing_objects_fail_the_mount_until_created(pods: Pods) -> None:
    volumes = [{"name": "cfg", "configMap": {"name": "absent-cm"}},
               {"name": "sec", "secret": {"secretName": "absent-secret"}}]
    mounts = [{"name": "cfg", "mountPath": "/cfg"}, {"name": "sec", "mountPath": "/sec"}]
    pods.pod("strict", {"name": "app", "command": ["sleep", "3600"], "volumeMounts": mounts}, volumes=volumes)
    pods.wait_event("strict", 'MountVolume.SetUp failed for volume "cfg" : configmap "absent-cm" not found',
                     timeout=60)
    events = pods.wait_event("strict", 'MountVolume.SetUp failed for volume "sec" : secret "absent-secret" '
                                       'not found', timeout=60)
    assert any(line.split()[1:3] == ["Warning", "FailedMount"] for line in events.splitlines()), events
    assert pods.status("strict") == "ContainerCreating"
    assert pods.container("strict", "app")["state"]["waiting"]["reason"] == "ContainerCreating"
    # Once the objects exist the next retry mounts them and the pod starts.
    pods.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "absent-cm"}, "data": {"k": "cm"}})
    pods.apply({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "absent-secret"},
                "stringData": {"k": "sec"}})
    pods.wait_status("strict", "Running", timeout=120)
    assert pods.exec("strict", "cat", "/cfg/k", "/sec/k") == "cmsec"
    pods.delete("strict")


def _claims(token: str) -> dict[str, Any]:
    body = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))


def _review(cluster: Cluster, token: str, audiences: list[str] | None) -> dict[str, Any]:
    spec: dict[str, Any] = {"token": token}
    if audiences is not None:
        spec["audiences"] = audiences
    review = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": spec}
    return json.loads(cluster.kubectl("create", "--validate=false", "-f", "-", "-o", "json",
                                      input=json.dumps(review)).stdout)["status"]


def test_projected_token_for_an_audience(vols: Pods, cluster: Cluster) -> None:
    token = _sh(vols, "cat /var/run/secrets/vault/token")
    claims = _claims(token)
    assert claims["aud"] == [AUDIENCE]
    assert claims["exp"] - claims["iat"] == 600
    assert claims["sub"] == f"system:serviceaccount:{NS}:default"
    assert claims["kubernetes.io"]["pod"]["name"] == "vols"
    accepted = _review(cluster, token, [AUDIENCE])
    assert accepted["authenticated"] is True and accepted["audiences"] == [AUDIENCE]
    assert accepted["user"]["username"] == f"system:serviceaccount:{NS}:default"
    # For the API server's own audience the token is not valid.
    refused = _review(cluster, token, None)
    assert not refused.get("authenticated") and "audiences" in refused.get("error", ""), refused
    # The atomic-writer layout a refresh relies on: the visible name is a link into ..data, which points at a
    # timestamped directory that a refresh replaces in one rename.
    assert _sh(vols, "readlink /var/run/secrets/vault/token") == "..data/token"
    assert _sh(vols, "readlink /var/run/secrets/vault/..data").startswith("..20")
    assert _sh(vols, "ls /var/run/secrets/vault") == "token"


def test_namespace_root_ca_matches_the_cluster_ca(vols: Pods, cluster: Cluster) -> None:
    with open(os.path.join(cluster.server.data_dir, "pki", "ca.crt")) as f:
        ca = f.read()
    cm = json.loads(vols.kubectl("get", "configmap", "kube-root-ca.crt", "-o", "json").stdout)
    assert cm["data"]["ca.crt"] == ca
    assert cm["metadata"]["annotations"]["kubernetes.io/description"].startswith("Contains a CA bundle")
    assert vols.exec("vols", "cat", f"{SA_DIR}/ca.crt") == ca
    # Deleted, it comes back (the publisher keeps it in every namespace).
    uid = cm["metadata"]["uid"]
    vols.kubectl("delete", "configmap", "kube-root-ca.crt")
    wait_until(lambda: (r := vols.kubectl("get", "configmap", "kube-root-ca.crt", "-o", "json", check=False))
               .returncode == 0 and json.loads(r.stdout)["metadata"]["uid"] != uid, timeout=60,
               what="kube-root-ca.crt re-created")


def test_sub_paths(vols: Pods) -> None:
    # A file of a configMap, alone at its path.
    assert _sh(vols, "cat /etc/app.conf") == "listen 8080"
    assert _sh(vols, "test -e /etc/other || echo absent") == "absent"
    # A directory of an emptyDir, made by the kubelet, shared with the whole volume.
    _sh(vols, "echo line > /logs/app.log")
    assert _sh(vols, "cat /scratch/logs/app.log") == "line"
    # subPathExpr expands the container's env: a directory named after the pod.
    _sh(vols, "echo mine > /per-pod/f")
    assert _sh(vols, "cat /scratch/vols/f") == "mine"


def test_sub_path_expr_with_an_unknown_variable_fails_the_container(pods: Pods) -> None:
    mount = {"name": "scratch", "mountPath": "/x", "subPathExpr": "$(NOT_SET)/dir"}
    pods.pod("badexpr", {"name": "app", "command": ["sleep", "3600"], "volumeMounts": [mount]},
             volumes=[{"name": "scratch", "emptyDir": {}}])
    pods.wait_status("badexpr", "CreateContainerConfigError", timeout=60)
    assert pods.container("badexpr", "app")["state"]["waiting"]["message"] == "missing value for NOT_SET"
    pods.delete("badexpr")
