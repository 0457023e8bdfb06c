"""A kubelet without isolation: the process runtime runs pods as plain processes and says so."""

from __future__ import annotations

import json

from pyk8s.testing.kubelet import KubeletProcess
from pyk8s.testing.nodenet import NodeNetns
from tests.e2e.helpers import row_for, wait_until
from tests.e2e.kubelet.conftest import Cluster

NODE = "proc-node"


def test_process_runtime_node_runs_pods_and_warns(cluster: Cluster) -> None:
    with NodeNetns() as netns:
        netns.route_to(cluster.netns.host_ip)  # this node reaches the API server on the first node's link
        kubelet = KubeletProcess(cluster.server, netns, node_name=NODE, extra_args=["--process-runtime"]).start()
        try:
            kubelet.wait_ready()
            assert "NOT isolated" in kubelet.log_tail(20000)
            events = cluster.kubectl("get", "events", "--field-selector", f"involvedObject.name={NODE}").stdout
            assert "PodsNotIsolated" in events
            node = json.loads(cluster.kubectl("get", "node", NODE, "-o", "json").stdout)
            assert node["status"]["nodeInfo"]["containerRuntimeVersion"].startswith("pyk8s-process://")
            pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "plain"},
                   "spec": {"nodeName": NODE, "containers": [{"name": "app", "image": "busybox:1.36",
                                                              "imagePullPolicy": "IfNotPresent",
                                                              "command": ["sh", "-c", "echo unconfined; sleep 3600"]}]}}
            cluster.kubectl("apply", "-f", "-", input=json.dumps(pod))
            try:
                wait_until(lambda: row_for(cluster.kubectl("get", "pod", "plain").stdout, "plain")[2] == "Running",
                           timeout=60, what="plain Running")
            except AssertionError as exc:
                raise AssertionError(f"{exc}\n{cluster.kubectl('describe', 'pod', 'plain').stdout}\n"
                                     f"{kubelet.log_tail()}") from None
            wait_until(lambda: "unconfined" in cluster.kubectl("logs", "plain", check=False).stdout, timeout=20,
                       what="its log")
            cluster.kubectl("delete", "pod", "plain", "--grace-period=1", timeout=60)
        finally:
            kubelet.close()
            cluster.kubectl("delete", "node", NODE, "--wait=false", check=False)
