"""`kubectl run nginx --image=nginx` works offline: pulled (policy Always) from the node's local registry,
serving its page on the pod IP; a Deployment's replicas each serve it."""

from __future__ import annotations

import json

from tests.e2e.helpers import row_for, wait_until
from tests.e2e.kubelet.conftest import Cluster


def pod_ip(c: Cluster, name: str) -> str:
    return str(json.loads(c.kubectl("get", "pod", name, "-o", "json").stdout)["status"].get("podIP", ""))


def test_run_nginx_pulls_from_the_local_registry_and_serves(cluster: Cluster) -> None:
    cluster.kubectl("run", "nginx", "--image=nginx")
    wait_until(lambda: row_for(cluster.kubectl("get", "pod", "nginx").stdout, "nginx")[2] == "Running", timeout=90,
               what="nginx Running")
    events = cluster.kubectl("get", "events", "--field-selector", "involvedObject.name=nginx").stdout
    assert 'Pulling image "nginx"' in events and 'Successfully pulled image "nginx"' in events
    page = cluster.kubelet.node("busybox", "wget", "-qO-", f"http://{pod_ip(cluster, 'nginx')}/")
    assert "Welcome to nginx!" in page.stdout, page.stderr
    listing = cluster.kubectl("exec", "nginx", "--", "ls", "/usr/share/nginx/html", check=False)
    if listing.returncode == 0:  # exec arrives with the streaming work
        assert "index.html" in listing.stdout


def test_deployment_replicas_each_serve_the_page(cluster: Cluster) -> None:
    cluster.kubectl("create", "deployment", "web", "--image=nginx:1.15.4", "--replicas=2")
    cluster.kubectl("rollout", "status", "deployment/web", "--timeout=120s", timeout=150)
    pods = json.loads(cluster.kubectl("get", "pods", "-l", "app=web", "-o", "json").stdout)["items"]
    assert len(pods) == 2
    for pod in pods:
        page = cluster.kubelet.node("busybox", "wget", "-qO-", f"http://{pod['status']['podIP']}/")
        assert "Welcome to nginx!" in page.stdout, page.stderr
