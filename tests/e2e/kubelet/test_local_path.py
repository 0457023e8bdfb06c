"""Storage nobody set up: the seeds' StatefulSet with volumeClaimTemplates on the default class local-path.

Claims bind to volumes provisioned on the node for the scheduler's choice; each volume is a
filesystem of the claimed size, so writing past it fails with ENOSPC in the container; data survives
a pod's replacement; deleting a claim deletes its volume and the data on the node.  A claim of a
class that does not exist shows ProvisioningFailed in ``kubectl describe pvc``.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess

from tests.e2e.helpers import row_for, wait_until
from tests.e2e.kubelet.conftest import Cluster

STORAGE_DIR = pathlib.Path("/var/lib/pyk8s/storage")  # the provisioner's default nodePath
SIZE = "16Mi"

# The seeds' StatefulSet (003: headless Service nginx, StatefulSet web with a www claim per pod), on the
# default class rather than "my-storage-class", and with a small claim so that filling it is quick.
SEED = f"""
apiVersion: v1
kind: Service
metadata:
  name: nginx
  labels:
    app: nginx
spec:
  ports:
  - port: 80
    name: web
  clusterIP: None
  selector:
    app: nginx
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: web
spec:
  selector:
    matchLabels:
      app: nginx
  serviceName: "nginx"
  replicas: 3
  template:
    metadata:
      labels:
        app: nginx
    spec:
      terminationGracePeriodSeconds: 10
      containers:
      - name: nginx
        image: k8s.gcr.io/nginx-slim:0.8
        ports:
        - containerPort: 80
          name: web
        volumeMounts:
        - name: www
          mountPath: /usr/share/nginx/html
  volumeClaimTemplates:
  - metadata:
      name: www
    spec:
      accessModes: [ "ReadWriteOnce" ]
      resources:
        requests:
          storage: {SIZE}
"""

MISSING_CLASS_PVC = """
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: lost-class
spec:
  accessModes: [ "ReadWriteOnce" ]
  storageClassName: no-such-class
  resources:
    requests:
      storage: 1Mi
"""


def _pvc_rows(c: Cluster) -> dict[str, list[str]]:
    out = c.kubectl("get", "pvc", "--no-headers", check=False).stdout
    return {line.split()[0]: line.split() for line in out.splitlines() if line.startswith("www-web-")}


def _volume(c: Cluster, claim: str) -> dict:  # type: ignore[type-arg]
    name = c.kubectl("get", "pvc", claim, "-o", "jsonpath={.spec.volumeName}").stdout.strip()
    return json.loads(c.kubectl("get", "pv", name, "-o", "json").stdout)


def _row(out: str, name: str) -> list[str]:
    try:
        return row_for(out, name)
    except AssertionError:
        return []


def _running(c: Cluster, pod: str) -> bool:
    row = _row(c.kubectl("get", "pods", check=False).stdout, pod)
    return bool(row) and row[1] == "1/1" and row[2] == "Running"


def _mount_points_under(root: pathlib.Path) -> list[str]:
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4] for line in f]
    return [p for p in points if p.startswith(str(root) + "/")]


def _loops_backing(paths: list[str]) -> list[str]:
    out = subprocess.run(["losetup", "-a"], capture_output=True, text=True, check=False).stdout
    return [line for line in out.splitlines() if any(p in line for p in paths)]


def _first_missing(path: pathlib.Path) -> pathlib.Path | None:
    """The topmost directory of ``path`` that does not exist yet (None: it all exists)."""
    missing = None
    while not path.exists():
        missing, path = path, path.parent
    return missing


def _cleanup(c: Cluster, paths: list[str], made: pathlib.Path | None) -> None:
    c.kubectl("delete", "statefulset", "web", "--ignore-not-found", "--wait=true", check=False, timeout=90)
    c.kubectl("delete", "service", "nginx", "--ignore-not-found", check=False)
    c.kubectl("delete", "pvc", "lost-class", "www-web-0", "www-web-1", "www-web-2", "--ignore-not-found",
              "--wait=false", check=False)
    for point in sorted(set(_mount_points_under(STORAGE_DIR)), key=len, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True, check=False)
    for path in paths:
        subprocess.run(["rm", "-rf", path, path + ".img"], check=False)
    # The node's data directory, if this test brought it into being (and it is empty).
    path = STORAGE_DIR
    while made is not None and path.is_dir() and not any(path.iterdir()) and made in (path, *path.parents):
        path.rmdir()
        if path == made:
            break
        path = path.parent


def test_statefulset_on_local_path_sized_volumes(cluster: Cluster) -> None:
    c = cluster
    paths: list[str] = []
    made = _first_missing(STORAGE_DIR)
    try:
        c.kubectl("apply", "-f", "-", input=SEED)
        wait_until(lambda: all(_running(c, f"web-{i}") for i in range(3)), timeout=150, what="web-0..2 Running")
        rows = _pvc_rows(c)  # NAME STATUS VOLUME CAPACITY ACCESS MODES STORAGECLASS ...
        assert sorted(rows) == ["www-web-0", "www-web-1", "www-web-2"]
        for row in rows.values():
            assert row[1] == "Bound" and row[3] == SIZE and row[4] == "RWO" and row[5] == "local-path", row
        pv = _volume(c, "www-web-0")
        paths = [_volume(c, f"www-web-{i}")["spec"]["hostPath"]["path"] for i in range(3)]
        assert pv["spec"]["persistentVolumeReclaimPolicy"] == "Delete"
        assert pv["spec"]["claimRef"]["name"] == "www-web-0"
        assert pv["metadata"]["finalizers"] == ["kubernetes.io/pv-protection"]
        assert pv["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"][0]["matchExpressions"][0]["values"] == \
            ["node-1"]
        claim = json.loads(c.kubectl("get", "pvc", "www-web-0", "-o", "json").stdout)
        assert claim["metadata"]["annotations"]["volume.kubernetes.io/selected-node"] == "node-1"
        assert claim["metadata"]["finalizers"] == ["kubernetes.io/pvc-protection"]
        described = c.kubectl("describe", "pvc", "www-web-0").stdout
        assert "ProvisioningSucceeded" in described and "Successfully provisioned volume" in described

        # The volume is a filesystem of the claimed size: a write past it fails inside the container.
        df = c.kubectl("exec", "web-0", "--", "df", "-k", "/usr/share/nginx/html").stdout.splitlines()[-1].split()
        assert 8 * 1024 < int(df[1]) <= 16 * 1024, df
        fill = c.kubectl("exec", "web-0", "--", "sh", "-c",
                         "dd if=/dev/zero of=/usr/share/nginx/html/big bs=1M count=64 2>&1; echo rc=$?",
                         check=False)
        assert "No space left on device" in fill.stdout + fill.stderr, fill
        assert "rc=0" not in fill.stdout
        c.kubectl("exec", "web-0", "--", "sh", "-c",
                  "rm /usr/share/nginx/html/big && echo web-0-data > /usr/share/nginx/html/index.html")

        # Data survives the pod: the StatefulSet's replacement mounts the same volume.
        uid = c.kubectl("get", "pod", "web-0", "-o", "jsonpath={.metadata.uid}").stdout
        c.kubectl("delete", "pod", "web-0")
        wait_until(lambda: _running(c, "web-0") and
                   c.kubectl("get", "pod", "web-0", "-o", "jsonpath={.metadata.uid}").stdout != uid,
                   timeout=90, what="web-0 back")
        assert c.kubectl("exec", "web-0", "--", "cat", "/usr/share/nginx/html/index.html").stdout == "web-0-data\n"

        # The claims outlive the set; deleting them removes the volumes and the data on the node.
        c.kubectl("delete", "statefulset", "web", "--wait=true", timeout=90)
        wait_until(lambda: not any(_row(c.kubectl("get", "pods", check=False).stdout, f"web-{i}")
                                   for i in range(3)), timeout=60, what="pods gone")
        c.kubectl("delete", "pvc", "www-web-0", "www-web-1", "www-web-2", timeout=90)
        names = [p.rsplit("/", 1)[1].split("_", 1)[0] for p in paths]
        wait_until(lambda: not any(n in c.kubectl("get", "pv", check=False).stdout for n in names),
                   timeout=90, what="volumes deleted")
        for path in paths:
            assert not os.path.exists(path) and not os.path.exists(path + ".img"), path
        assert not _mount_points_under(STORAGE_DIR)
        assert not _loops_backing(paths)
        helpers = c.kubectl("get", "pods", "-n", "kube-system", "--no-headers", check=False).stdout
        assert "helper-pod-delete" not in helpers or "Terminating" in helpers
    finally:
        _cleanup(c, paths, made)


def test_default_class_as_kubectl_shows_it(cluster: Cluster) -> None:
    # NAME PROVISIONER RECLAIMPOLICY VOLUMEBINDINGMODE ALLOWVOLUMEEXPANSION AGE
    row = row_for(cluster.kubectl("get", "storageclass").stdout, "local-path")
    assert row[:6] == ["local-path", "(default)", "rancher.io/local-path", "Delete", "WaitForFirstConsumer", "false"]


def test_claim_of_missing_class_shows_provisioning_failed(cluster: Cluster) -> None:
    c = cluster
    try:
        c.kubectl("apply", "-f", "-", input=MISSING_CLASS_PVC)
        wait_until(lambda: "ProvisioningFailed" in c.kubectl("describe", "pvc", "lost-class").stdout,
                   timeout=30, what="ProvisioningFailed")
        described = c.kubectl("describe", "pvc", "lost-class").stdout
        assert 'storageclass.storage.k8s.io "no-such-class" not found' in described
        assert "Pending" in row_for(c.kubectl("get", "pvc").stdout, "lost-class")
    finally:
        c.kubectl("delete", "pvc", "lost-class", "--ignore-not-found", check=False)
