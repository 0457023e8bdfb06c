"""The seeds' nginx Deployment reaches 3/3 with upstream-style ReplicaSet and pod names."""

from __future__ import annotations

import re
import time

from pyk8s.testing.cluster import ServerProcess

MANIFEST = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: nginx-deployment
spec:
  replicas: 3
  selector:
    matchLabels: {app: nginx}
  template:
    metadata:
      labels: {app: nginx}
    spec:
      containers:
      - name: nginx
        image: nginx:1.24
        ports: [{containerPort: 80}]
"""


def test_deployment_three_of_three(cluster: ServerProcess) -> None:
    cluster.kubectl("apply", "-f", "-", input=MANIFEST)
    deadline = time.monotonic() + 20
    out = ""
    while time.monotonic() < deadline:
        out = cluster.kubectl("get", "deploy", "nginx-deployment", "--no-headers").stdout
        if out.split()[1:2] == ["3/3"]:
            break
        time.sleep(0.5)
    assert out.split()[1] == "3/3", out
    rs = cluster.kubectl("get", "rs", "--no-headers").stdout.split()[0]
    assert re.fullmatch(r"nginx-deployment-[a-z0-9]+", rs), rs
    pods = [ln.split()[0] for ln in cluster.kubectl("get", "pods", "-l", "app=nginx", "--no-headers").stdout.splitlines()]
    assert len(pods) == 3 and all(re.fullmatch(re.escape(rs) + r"-[a-z0-9]{5}", p) for p in pods), pods
