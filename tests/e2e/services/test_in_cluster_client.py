"""A Python ``kubernetes`` client inside a pod lists pods through the ``kubernetes`` Service (10.96.0.1).

The client finds the API server as every in-cluster client does: the
``KUBERNETES_SERVICE_HOST``/``_PORT`` variables the kubelet sets, and the
ServiceAccount token and CA mounted at /var/run/secrets/kubernetes.io/serviceaccount.
The packets go pod -> ClusterIP (DNAT by the proxy to the API server's
address on the machine's end of the node's veth) -> back.

No Python image is built offline, so the pod is busybox with this machine's
interpreter and the project's virtualenv (which has the ``kubernetes``
package) mounted read-only from the host.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pyk8s.testing.proxy import ProxyProcess
from tests.e2e.helpers import wait_until
from tests.e2e.services.conftest import Cluster

NS = "svc-client"
VENV = Path(sys.prefix)  # the project's .venv
BASE = Path(sys.base_prefix)  # the interpreter it was made from
PROGRAM = """
import os
from kubernetes import client, config
config.load_incluster_config()
pods = client.CoreV1Api().list_namespaced_pod(os.environ["NS"])
print(os.environ["KUBERNETES_SERVICE_HOST"], sorted(p.metadata.name for p in pods.items))
"""


def _host_mounts() -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    paths = {"venv": (str(VENV), str(VENV)), "python": (str(BASE), str(BASE)),
             "libs": ("/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu"), "loader": ("/usr/lib64", "/lib64")}
    volumes = [{"name": n, "hostPath": {"path": src, "type": "Directory"}} for n, (src, _) in paths.items()]
    mounts = [{"name": n, "mountPath": dst, "readOnly": True} for n, (_, dst) in paths.items()]
    return volumes, mounts


def _objects() -> list[dict[str, object]]:
    volumes, mounts = _host_mounts()
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
            "metadata": {"name": "pod-reader", "namespace": NS},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}]}
    binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
               "metadata": {"name": "pod-reader", "namespace": NS},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "pod-reader"},
               "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": NS}]}
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "pyclient", "namespace": NS},
           "spec": {"terminationGracePeriodSeconds": 1, "volumes": volumes,
                    "containers": [{"name": "py", "image": "busybox:1.36", "imagePullPolicy": "IfNotPresent",
                                    "command": ["sleep", "3600"], "env": [{"name": "NS", "value": NS}],
                                    "volumeMounts": mounts}]}}
    return [role, binding, pod]


@pytest.fixture(scope="module")
def pyclient(cluster: Cluster) -> Iterator[Cluster]:
    cluster.kubectl("create", "namespace", NS)
    try:
        cluster.kubectl("apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": _objects()}))
        cluster.kubectl("-n", NS, "wait", "--for=condition=Ready", "pod/pyclient", "--timeout=90s", timeout=100)
        yield cluster
    finally:
        cluster.kubectl("delete", "namespace", NS, "--wait=false", check=False)


def test_python_client_in_a_pod_lists_pods_through_the_kubernetes_service(pyclient: Cluster,
                                                                          proxy: ProxyProcess) -> None:
    def run() -> str:
        out = pyclient.kubectl("-n", NS, "exec", "pyclient", "--", str(VENV / "bin" / "python3"), "-c", PROGRAM,
                               check=False, timeout=60)
        return out.stdout.strip() if out.returncode == 0 else ""

    assert wait_until(run, timeout=30, interval=1, what="the in-cluster client's answer") == \
        "10.96.0.1 ['pyclient']"
