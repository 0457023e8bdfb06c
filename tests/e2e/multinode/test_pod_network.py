"""Pod networking across two nodes: host-gw routes keep the client's address, and pods spread over both nodes."""

from __future__ import annotations

import json

from pyk8s.testing.multinode import MultiNodeCluster
from tests.e2e.helpers import wait_until
from tests.e2e.multinode.kit import BUSYBOX, Kit, httpd_container


def test_each_node_routes_the_other_nodes_pod_cidr_via_its_ip(multinode: MultiNodeCluster) -> None:
    nodes = json.loads(multinode.kubectl("get", "nodes", "-o", "json").stdout)["items"]
    cidrs = {n["metadata"]["name"]: (n["spec"]["podCIDR"], next(a["address"] for a in n["status"]["addresses"]
                                                                if a["type"] == "InternalIP")) for n in nodes}
    assert len(cidrs) == 2
    for index in (1, 2):
        other = cidrs[multinode.node_name(3 - index)]
        routes = wait_until(lambda i=index, o=other: f"{o[0]} via {o[1]}" in (
            out := multinode.on_node(i, "ip", "route", "show", "proto", "231").stdout) and out,
            timeout=20, what=f"route to {other[0]} on node {index}")
        assert f"{cidrs[multinode.node_name(index)][0]}" not in routes  # never a route to its own pods


def test_cross_node_pod_to_pod_keeps_the_client_source_ip(kit: Kit) -> None:
    kit.pod("server", "node-1", {"app": "server"}, server=True)
    kit.pod("client", "node-2", {"app": "client"}, server=False)
    kit.pod("local", "node-1", {"app": "client"}, server=False)
    kit.wait_ready("server", "client", "local")
    server = kit.ip("server")
    for client in ("client", "local"):
        seen = kit.wait_reachable(client, f"http://{server}:8080/cgi-bin/ip")
        assert seen.strip("[]").removeprefix("::ffff:") == kit.ip(client)


def test_node_reaches_pods_on_the_other_node(kit: Kit, multinode: MultiNodeCluster) -> None:
    kit.pod("web", "node-2", {"app": "web"}, server=True)
    kit.wait_ready("web")
    out = multinode.on_node(1, "wget", "-qO-", "-T", "3", f"http://{kit.ip('web')}:8080/")
    assert out.returncode == 0 and out.stdout.strip() == "web", out.stderr


def test_scheduler_spreads_a_deployment_over_both_nodes(kit: Kit) -> None:
    kit.apply({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "spread"},
               "spec": {"replicas": 4, "selector": {"matchLabels": {"app": "spread"}},
                        "template": {"metadata": {"labels": {"app": "spread"}},
                                     "spec": {"terminationGracePeriodSeconds": 1,
                                              "containers": [httpd_container(image=BUSYBOX)]}}}})
    kit.kubectl("rollout", "status", "deployment/spread", "--timeout=90s", timeout=100)
    pods = json.loads(kit.kubectl("get", "pods", "-l", "app=spread", "-o", "json").stdout)["items"]
    nodes = [p["spec"]["nodeName"] for p in pods]
    assert sorted(set(nodes)) == ["node-1", "node-2"], nodes
