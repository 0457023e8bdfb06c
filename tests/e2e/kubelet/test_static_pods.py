"""Static pods: run from a manifest file, mirrored in the API, surviving the mirror's deletion."""

from __future__ import annotations

import json

import yaml

from tests.e2e.helpers import row_for, wait_until
from tests.e2e.kubelet.conftest import NODE, Cluster

MANIFEST = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "static-web", "labels": {"app": "static"}},
            "spec": {"containers": [{"name": "web", "image": "busybox:1.36", "imagePullPolicy": "IfNotPresent",
                                     "command": ["sleep", "3600"]}]}}
NAME = f"static-web-{NODE}"


def mirror(c: Cluster) -> dict | None:  # type: ignore[type-arg]
    out = c.kubectl("get", "pod", NAME, "-o", "json", check=False)
    return json.loads(out.stdout) if out.returncode == 0 else None


def test_static_pod_runs_and_is_mirrored(cluster: Cluster) -> None:
    path = cluster.kubelet.manifests_dir / "web.yaml"
    path.write_text(yaml.safe_dump(MANIFEST))
    wait_until(lambda: (m := mirror(cluster)) is not None and m["status"].get("phase") == "Running", timeout=60,
               what="the mirror pod Running")
    pod = mirror(cluster)
    assert pod is not None
    annotations = pod["metadata"]["annotations"]
    assert annotations["kubernetes.io/config.source"] == "file"
    assert annotations["kubernetes.io/config.mirror"] == annotations["kubernetes.io/config.hash"]
    assert pod["metadata"]["ownerReferences"][0]["kind"] == "Node"
    assert pod["spec"]["nodeName"] == NODE
    container_id = pod["status"]["containerStatuses"][0]["containerID"]

    # Deleting the mirror does not stop the static pod: the kubelet mirrors it again.
    cluster.kubectl("delete", "pod", NAME, "--wait=false")
    wait_until(lambda: (m := mirror(cluster)) is not None and m["metadata"]["uid"] != pod["metadata"]["uid"]
               and m["status"].get("phase") == "Running", timeout=60, what="a new mirror pod")
    again = mirror(cluster)
    assert again is not None
    assert again["status"]["containerStatuses"][0]["containerID"] == container_id
    assert row_for(cluster.kubectl("get", "pod", NAME).stdout, NAME)[3] == "0"

    # Removing the manifest stops the pod and removes its mirror.
    path.unlink()
    wait_until(lambda: mirror(cluster) is None, timeout=60, what="the mirror pod gone")
