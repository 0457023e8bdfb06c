"""Generic ephemeral volumes and local ephemeral storage limits, through kubectl on the shared real-kubelet node.

* A pod with ``volumes[].ephemeral.volumeClaimTemplate`` on ``local-path``: the ephemeral-volume
  controller makes the claim ``<pod>-<volume>`` from the template, owned by the pod; the scheduler binds
  it on the node (WaitForFirstConsumer), the pod writes to it, and deleting the pod deletes the claim.
  A claim of that name the pod does not own blocks the pod with upstream's message.
* Pods above their limits are evicted (every 10 s, upstream's eviction monitoring interval): a disk
  emptyDir past its ``sizeLimit``, and a container writing past its ``ephemeral-storage`` limit.
  kubectl shows the pod Failed with reason Evicted and the message in ``describe``, and an Evicted event.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.helpers import row_for, wait_until
from tests.e2e.kubelet.conftest import Cluster
from tests.e2e.kubelet.podkit import Pods, namespace

NS = "volephemeral"


@pytest.fixture(scope="module")
def pods(cluster: Cluster) -> Iterator[Pods]:
    yield from namespace(cluster, NS)


def _template(**meta: Any) -> dict[str, Any]:
    return {"volumeClaimTemplate": {"metadata": meta, "spec": {
        "accessModes": ["ReadWriteOnce"], "storageClassName": "local-path",
        "resources": {"requests": {"storage": "8Mi"}}}}}


def _claim(pods: Pods, name: str) -> dict[str, Any] | None:
    out = pods.kubectl("get", "pvc", name, "-o", "json", check=False)
    return json.loads(out.stdout) if out.returncode == 0 else None


def _sh(name: str, script: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "command": ["sh", "-c", script], **extra}


@pytest.fixture(scope="module")
def evictions(pods: Pods) -> Pods:
    """The pods that outgrow their limits, started together so that one check period serves both."""
    pods.pod("fill-cache", _sh("app", "dd if=/dev/zero of=/cache/big bs=1M count=3 && sleep 3600",
                               volumeMounts=[{"name": "cache", "mountPath": "/cache"}]),
             volumes=[{"name": "cache", "emptyDir": {"sizeLimit": "2Mi"}}])
    pods.pod("fill-rootfs", _sh("app", "dd if=/dev/zero of=/big bs=1M count=4 && sleep 3600",
                                resources={"limits": {"ephemeral-storage": "1Mi"}}))
    return pods


def test_ephemeral_volume_claim_follows_the_pod(pods: Pods) -> None:
    pods.pod("eph", _sh("app", "echo written > /scratch/f && sleep 3600",
                        volumeMounts=[{"name": "scratch", "mountPath": "/scratch"}]),
             volumes=[{"name": "scratch", "ephemeral": _template(labels={"team": "a"},
                                                                 annotations={"note": "from-template"})}])
    pods.wait_status("eph", "Running", timeout=90)
    assert pods.exec("eph", "cat", "/scratch/f").strip() == "written"
    claim = _claim(pods, "eph-scratch")
    assert claim is not None
    owner = claim["metadata"]["ownerReferences"]
    assert [(o["kind"], o["name"], o.get("controller")) for o in owner] == [("Pod", "eph", True)]
    assert owner[0]["uid"] == pods.json("eph")["metadata"]["uid"]
    assert claim["metadata"]["labels"] == {"team": "a"}
    assert claim["metadata"]["annotations"]["note"] == "from-template"
    row = row_for(pods.kubectl("get", "pvc", "eph-scratch").stdout, "eph-scratch")
    assert row[1] == "Bound" and row[3] == "8Mi" and row[5] == "local-path", row
    # The volume is the claim's sized filesystem, not the node's disk.
    assert int(pods.exec("eph", "df", "-k", "/scratch").splitlines()[-1].split()[1]) <= 8 * 1024
    pods.delete("eph", timeout=90)
    wait_until(lambda: _claim(pods, "eph-scratch") is None, timeout=90, what="claim eph-scratch deleted with its pod")


def test_claim_not_owned_by_the_pod_blocks_it(pods: Pods) -> None:
    pods.apply({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "taken-data"},
                "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "local-path",
                         "resources": {"requests": {"storage": "8Mi"}}}})
    pods.pod("taken", _sh("app", "sleep 3600", volumeMounts=[{"name": "data", "mountPath": "/data"}]),
             volumes=[{"name": "data", "ephemeral": _template()}])
    message = f"PVC {NS}/taken-data was not created for pod {NS}/taken (pod is not owner)"
    events = pods.wait_event("taken", message, timeout=60)
    assert "FailedBinding" in events and f"ephemeral volume data: {message}" in events.replace("\n", " ")
    assert pods.status("taken") == "Pending"
    assert "ownerReferences" not in _claim(pods, "taken-data")["metadata"]  # type: ignore[index]
    pods.delete("taken")
    pods.kubectl("delete", "pvc", "taken-data", "--wait=false")


def _evicted(pods: Pods, name: str) -> dict[str, Any]:
    return wait_until(lambda: (s := pods.json(name)["status"]).get("reason") == "Evicted" and s, timeout=90,
                      what=f"{name} evicted")


def test_empty_dir_past_its_size_limit_is_evicted(evictions: Pods) -> None:
    pods = evictions
    status = _evicted(pods, "fill-cache")
    message = 'Usage of EmptyDir volume "cache" exceeds the limit "2Mi". '
    assert status["phase"] == "Failed" and status["message"] == message
    events = pods.wait_event("fill-cache", "Evicted")
    assert "Warning" in events and message.strip() in events
    described = pods.describe("fill-cache")
    assert re.search(r"^Status:\s+Failed$", described, re.M), described
    assert re.search(r"^Reason:\s+Evicted$", described, re.M), described
    assert re.search(rf"^Message:\s+{re.escape(message.strip())}\s*$", described, re.M), described
    # The container was killed (exit 137), not left running, and nothing restarts in a Failed pod.  kubectl 1.32
    # prints a stopped container's terminated reason over the pod's, so STATUS reads Error (after a moment of
    # Evicted), as upstream's evicted pods do (kubernetes/kubernetes#105467).
    wait_until(lambda: pods.row("fill-cache")[1:3] == ["0/1", "Error"], timeout=60, what="fill-cache stopped")
    assert pods.container("fill-cache", "app")["state"]["terminated"]["exitCode"] == 137
    assert pods.restarts("fill-cache") == 0
    # The kubelet's later reports of the stopped pod keep the reason and message of its phase.
    final = pods.json("fill-cache")["status"]
    assert (final["phase"], final["reason"], final["message"]) == ("Failed", "Evicted", message)


def test_container_past_its_ephemeral_storage_limit_is_evicted(evictions: Pods) -> None:
    pods = evictions
    status = _evicted(pods, "fill-rootfs")
    # The writable layer counts for the pod before the container (upstream checks the pod's total first).
    assert status["phase"] == "Failed"
    assert status["message"] == "Pod ephemeral local storage usage exceeds the total limit of containers 1Mi. "
    assert "Evicted" in pods.wait_event("fill-rootfs", "Evicted")
