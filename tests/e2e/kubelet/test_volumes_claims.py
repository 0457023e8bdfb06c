"""Static PersistentVolumes (hostPath, and local with node affinity) bound by claims and used by a pod, and
what a claim that cannot bind shows: FailedBinding without a class, ProvisioningFailed for a class that does
not exist, and the beta ``volume.beta.kubernetes.io/storage-class`` annotation read before
``spec.storageClassName``."""

from __future__ import annotations

import json
import pathlib
import shutil
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.helpers import row_for, wait_until
from tests.e2e.kubelet.conftest import NODE, Cluster
from tests.e2e.kubelet.podkit import Pods, namespace

NS = "volclaims"
PVS = ("vc-hostpath", "vc-local", "vc-beta", "vc-gone", "vc-elsewhere", "vc-tiny")


@pytest.fixture(scope="module")
def pods(cluster: Cluster) -> Iterator[Pods]:
    try:
        yield from namespace(cluster, NS)
    finally:
        cluster.kubectl("delete", "pv", *PVS, "--ignore-not-found", "--wait=false", check=False)


@pytest.fixture(scope="module")
def host_dirs() -> Iterator[dict[str, pathlib.Path]]:
    root = pathlib.Path(tempfile.mkdtemp(prefix="pyk8s-e2e-pv-"))
    dirs = {name: root / name for name in ("hostpath", "local")}
    for name, path in dirs.items():
        path.mkdir()
        path.chmod(0o777)
        (path / "origin").write_text(f"from the {name} volume\n")
    try:
        yield dirs
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _pv(name: str, cls: str, source: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": name},
            "spec": {"capacity": {"storage": "10Mi"}, "accessModes": ["ReadWriteOnce"], "storageClassName": cls,
                     "persistentVolumeReclaimPolicy": "Retain", **source, **spec}}


def _pvc(name: str, cls: str | None, annotations: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "5Mi"}}, **spec}
    if cls is not None:
        body["storageClassName"] = cls
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": name, "annotations": annotations or {}}, "spec": body}


def _pvc_row(pods: Pods, name: str) -> list[str]:
    """NAME STATUS VOLUME CAPACITY ACCESS MODES STORAGECLASS ..."""
    return row_for(pods.kubectl("get", "pvc", name).stdout, name)


def _wait_bound(pods: Pods, name: str) -> list[str]:
    return wait_until(lambda: (row := _pvc_row(pods, name))[1] == "Bound" and row, timeout=60,
                      what=f"claim {name} Bound")


def _on(node: str) -> dict[str, Any]:
    return {"required": {"nodeSelectorTerms": [{"matchExpressions": [
        {"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}]}]}}


def _claim_pod(pods: Pods, name: str, *claims: str) -> None:
    mounts = [{"name": c, "mountPath": f"/{c}"} for c in claims]
    volumes = [{"name": c, "persistentVolumeClaim": {"claimName": c}} for c in claims]
    pods.pod(name, {"name": "app", "command": ["sleep", "3600"], "volumeMounts": mounts}, volumes=volumes)


def test_static_host_path_and_local_volumes(pods: Pods, host_dirs: dict[str, pathlib.Path]) -> None:
    affinity = _on(NODE)
    pods.apply(_pv("vc-hostpath", "manual-hostpath", {"hostPath": {"path": str(host_dirs["hostpath"]),
                                                                   "type": "Directory"}}))
    pods.apply(_pv("vc-local", "manual-local", {"local": {"path": str(host_dirs["local"])}}, nodeAffinity=affinity))
    pods.apply(_pvc("hp-claim", "manual-hostpath"))
    pods.apply(_pvc("local-claim", "manual-local"))
    assert _wait_bound(pods, "hp-claim")[2:6] == ["vc-hostpath", "10Mi", "RWO", "manual-hostpath"]
    assert _wait_bound(pods, "local-claim")[2:6] == ["vc-local", "10Mi", "RWO", "manual-local"]
    pv_row = row_for(pods.c.kubectl("get", "pv", "vc-local").stdout, "vc-local")
    assert pv_row[1:7] == ["10Mi", "RWO", "Retain", "Bound", f"{NS}/local-claim", "manual-local"]
    _claim_pod(pods, "claims", "hp-claim", "local-claim")
    pods.wait_status("claims", "Running", timeout=90)
    assert pods.exec("claims", "cat", "/hp-claim/origin", "/local-claim/origin") == ("from the hostpath volume\n"
                                                                                     "from the local volume\n")
    pods.exec("claims", "sh", "-c", "echo from-pod > /hp-claim/written; echo from-pod > /local-claim/written")
    assert (host_dirs["hostpath"] / "written").read_text() == "from-pod\n"
    assert (host_dirs["local"] / "written").read_text() == "from-pod\n"
    pods.delete("claims")
    # Retain: the claim gone, the volume is Released and the data stays on the node.
    pods.kubectl("delete", "pvc", "hp-claim", "--wait=true", timeout=60)
    wait_until(lambda: row_for(pods.c.kubectl("get", "pv", "vc-hostpath").stdout, "vc-hostpath")[4] == "Released",
               timeout=60, what="vc-hostpath Released")
    assert (host_dirs["hostpath"] / "written").exists()


def test_claim_without_class_or_volume_fails_binding(pods: Pods) -> None:
    # storageClassName "" asks for no class (the default class is not applied); a selector keeps other tests'
    # class-less volumes out of reach.
    pods.apply(_pvc("no-class", "", selector={"matchLabels": {"e2e": "matches-nothing"}}))
    wait_until(lambda: "FailedBinding" in pods.kubectl("describe", "pvc", "no-class").stdout, timeout=60,
               what="FailedBinding")
    described = pods.kubectl("describe", "pvc", "no-class").stdout
    assert "no persistent volumes available for this claim and no storage class is set" in described
    events = pods.kubectl("get", "events", "--field-selector", "involvedObject.name=no-class").stdout
    assert any(line.split()[1:3] == ["Normal", "FailedBinding"] for line in events.splitlines()), events
    assert _pvc_row(pods, "no-class")[1] == "Pending"
    # A claim naming a volume too small for it.
    tiny = _pv("vc-tiny", "manual-tiny", {"hostPath": {"path": "/tmp", "type": "Directory"}})
    tiny["spec"]["capacity"]["storage"] = "1Mi"
    pods.apply(tiny)
    pods.apply(_pvc("named-tiny", "manual-tiny", volumeName="vc-tiny"))
    wait_until(lambda: "VolumeMismatch" in pods.kubectl("describe", "pvc", "named-tiny").stdout, timeout=60,
               what="VolumeMismatch")
    assert 'Cannot bind to requested volume "vc-tiny": requested PV is too small' in pods.kubectl(
        "describe", "pvc", "named-tiny").stdout
    assert _pvc_row(pods, "named-tiny")[1] == "Pending"


def test_beta_class_annotation_wins_over_spec(pods: Pods) -> None:
    # The annotation names a class that does not exist; spec names the default class, which would provision.
    pods.apply(_pvc("beta-missing", "local-path", {"volume.beta.kubernetes.io/storage-class": "no-such-beta"}))
    wait_until(lambda: "ProvisioningFailed" in pods.kubectl("describe", "pvc", "beta-missing").stdout, timeout=60,
               what="ProvisioningFailed")
    assert 'storageclass.storage.k8s.io "no-such-beta" not found' in pods.kubectl(
        "describe", "pvc", "beta-missing").stdout
    row = _pvc_row(pods, "beta-missing")
    assert row[1] == "Pending" and "no-such-beta" in row, row  # STORAGECLASS as kubectl reads it
    # The annotation alone (no default class applied) binds a static volume of that class.
    pods.apply(_pv("vc-beta", "manual-beta", {"hostPath": {"path": "/tmp", "type": "Directory"}}))
    pods.apply(_pvc("beta-static", None, {"volume.beta.kubernetes.io/storage-class": "manual-beta"}))
    assert _wait_bound(pods, "beta-static")[2] == "vc-beta"
    claim = json.loads(pods.kubectl("get", "pvc", "beta-static", "-o", "json").stdout)
    assert "storageClassName" not in claim["spec"]


def test_local_volumes_that_cannot_serve_the_pod(pods: Pods, host_dirs: dict[str, pathlib.Path]) -> None:
    # Its directory is gone from the node: the kubelet's FailedMount names the PV, the pod waits.
    gone = host_dirs["local"].parent / "gone"
    pods.apply(_pv("vc-gone", "manual-gone", {"local": {"path": str(gone)}}, nodeAffinity=_on(NODE)))
    pods.apply(_pvc("gone-claim", "manual-gone"))
    _wait_bound(pods, "gone-claim")
    _claim_pod(pods, "gone", "gone-claim")
    pods.wait_event("gone", f'MountVolume.NewMounter initialization failed for volume "vc-gone" : path "{gone}" '
                            f'does not exist', timeout=60)
    assert pods.status("gone") == "ContainerCreating"
    # Bound to a volume on another node: the pod cannot be scheduled here.
    pods.apply(_pv("vc-elsewhere", "manual-elsewhere", {"local": {"path": str(host_dirs["local"])}},
                   nodeAffinity=_on("some-other-node")))
    pods.apply(_pvc("elsewhere-claim", "manual-elsewhere"))
    _wait_bound(pods, "elsewhere-claim")
    _claim_pod(pods, "elsewhere", "elsewhere-claim")
    pods.wait_event("elsewhere", "1 node(s) had volume node affinity conflict", timeout=60)
    assert pods.status("elsewhere") == "Pending"
    for name in ("gone", "elsewhere"):
        pods.delete(name)
