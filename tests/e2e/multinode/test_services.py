"""Services across two nodes (needs the service proxy on every node, and the cluster DNS).

ClusterIP and DNS names answer from pods on both nodes and from both nodes
themselves, with replicas on both nodes behind one Service; a NodePort keeps
serving, with no failed request, while its Deployment scales up and down and
rolls out a new template.
"""

from __future__ import annotations

import json
from typing import Any

from pyk8s.testing.multinode import MultiNodeCluster
from tests.e2e.helpers import wait_until
from tests.e2e.multinode.kit import Kit, Load, httpd_container


def _deployment(name: str, replicas: int, **template_spec: Any) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": {
                         "terminationGracePeriodSeconds": 1, "containers": [httpd_container()], **template_spec}}}}


def _service(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"selector": {"app": name}, "ports": [{"name": "http", "port": 80, "targetPort": "http"}],
                     **spec}}


def _pods_by_node(kit: Kit, app: str) -> dict[str, list[str]]:
    pods = json.loads(kit.kubectl("get", "pods", "-l", f"app={app}", "-o", "json").stdout)["items"]
    out: dict[str, list[str]] = {}
    for pod in pods:
        out.setdefault(pod["spec"]["nodeName"], []).append(pod["metadata"]["name"])
    return out


def test_cluster_ip_and_dns_from_pods_and_nodes_on_both_nodes(kit: Kit, multinode: MultiNodeCluster) -> None:
    kit.apply(_deployment("web", 4))
    kit.apply(_service("web"))
    kit.kubectl("rollout", "status", "deployment/web", "--timeout=90s", timeout=100)
    assert sorted(_pods_by_node(kit, "web")) == ["node-1", "node-2"]
    cluster_ip = kit.kubectl("get", "service", "web", "-o", "jsonpath={.spec.clusterIP}").stdout.strip()
    for node in ("node-1", "node-2"):
        kit.pod(f"client-{node}", node, {"role": "client"}, server=False)
    kit.wait_ready("client-node-1", "client-node-2")
    names = set(_pods_by_node(kit, "web")["node-1"] + _pods_by_node(kit, "web")["node-2"])
    for node in ("node-1", "node-2"):
        client = f"client-{node}"
        # By ClusterIP: every answer is one of the replicas, and over a few requests both nodes' replicas answer.
        kit.wait_reachable(client, f"http://{cluster_ip}/")
        answers = kit.fetch_many(client, f"http://{cluster_ip}/", 12)
        assert len(answers) == 12 and set(answers) <= names and len(set(answers)) > 1, answers
        # By name: short (search path), svc.ns, and FQDN.
        assert kit.wait_reachable(client, "http://web/") in names
        for host in (f"web.{kit.ns}", f"web.{kit.ns}.svc.cluster.local"):
            assert kit.fetch(client, f"http://{host}/") in names, host
        out = kit.kubectl("exec", client, "--", "nslookup", f"web.{kit.ns}.svc.cluster.local").stdout
        assert cluster_ip in out, out
    for index in (1, 2):
        # From the node itself (its network namespace), through the proxy's rules there.
        out = multinode.on_node(index, "wget", "-qO-", "-T", "3", f"http://{cluster_ip}/")
        assert out.returncode == 0 and out.stdout.strip() in names, out.stderr


def test_node_port_keeps_serving_through_scaling_and_a_rolling_update(kit: Kit, multinode: MultiNodeCluster) -> None:
    # Readiness gates new replicas; the preStop pause lets every proxy drop a terminating replica first.
    spec = json.loads(json.dumps(_deployment("np", 2)))
    pod_spec = spec["spec"]["template"]["spec"]
    pod_spec["terminationGracePeriodSeconds"] = 15
    pod_spec["containers"][0]["readinessProbe"] = {"httpGet": {"path": "/", "port": "http"}, "periodSeconds": 1}
    pod_spec["containers"][0]["lifecycle"] = {"preStop": {"exec": {"command": ["sleep", "4"]}}}
    spec["spec"]["strategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}
    kit.apply(spec)
    kit.apply(_service("np", type="NodePort"))
    kit.kubectl("rollout", "status", "deployment/np", "--timeout=90s", timeout=100)
    node_port = kit.kubectl("get", "service", "np", "-o", "jsonpath={.spec.ports[0].nodePort}").stdout.strip()
    node_ips = [multinode.kubelets[i].netns.node_ip for i in (0, 1)]
    urls = [f"http://{ip}:{node_port}/" for ip in node_ips]
    # Both node IPs serve before the load starts (the rules are in place on both nodes).
    for index in (1, 2):
        wait_until(lambda i=index: all(multinode.on_node(i, "wget", "-qO-", "-T", "2", u).returncode == 0
                                       for u in urls), timeout=30, interval=0.5, what="NodePort on both nodes")
    load = Load(multinode, 1, urls)
    try:
        kit.kubectl("scale", "deployment/np", "--replicas=4")
        kit.kubectl("rollout", "status", "deployment/np", "--timeout=90s", timeout=100)
        kit.kubectl("scale", "deployment/np", "--replicas=2")
        wait_until(lambda: len(json.loads(kit.kubectl("get", "pods", "-l", "app=np", "-o", "json").stdout)["items"]) == 2,
                   timeout=60, interval=0.5, what="scale down to 2")
        kit.kubectl("set", "env", "deployment/np", "VERSION=2")
        kit.kubectl("rollout", "status", "deployment/np", "--timeout=120s", timeout=130)
    finally:
        result = load.stop()
    assert result["failed"] == 0, result
    assert result["ok"] > 50, result
