"""The kubelet API through the API server: its serving certificate from the cluster CA, stats and resource metrics.

* the kubelet asked for its serving certificate with a kubelet-serving CSR
  (``kubectl get csr``: requested by ``system:node:node-1``, approved and
  issued), and the API server refuses a "kubelet" that presents a
  certificate from another CA, in Go's words;
* ``kubectl get --raw /api/v1/nodes/<n>/proxy/stats/summary``: node and pod
  figures that are real (CPU rates over time, working sets, filesystems,
  interfaces of the node and of the pod's namespace);
* ``/metrics/resource`` with upstream's metric names.
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from pyk8s.util import pki
from tests.e2e.helpers import wait_until
from tests.e2e.kubelet.conftest import NODE, Cluster
from tests.e2e.kubelet.podkit import BUSYBOX

NS = "node-api"
# A little CPU now and then, so that its usage grows between two readings.
BUSY = "while true; do i=0; while [ $i -lt 3000 ]; do i=$((i+1)); done; sleep 0.3; done"


@pytest.fixture(scope="module")
def busy_pod(cluster: Cluster) -> Iterator[str]:
    cluster.kubectl("create", "namespace", NS)
    try:
        cluster.kubectl("-n", NS, "run", "busy", f"--image={BUSYBOX}", "--image-pull-policy=IfNotPresent",
                        "--", "sh", "-c", BUSY)
        wait_until(lambda: cluster.kubectl("-n", NS, "get", "pod", "busy", "-o",
                                           "jsonpath={.status.phase}").stdout == "Running",
                   timeout=60, what="pod busy Running")
        yield "busy"
    finally:
        cluster.kubectl("delete", "namespace", NS, "--wait=false", check=False)


def raw(cluster: Cluster, path: str) -> str:
    return str(cluster.kubectl("get", "--raw", f"/api/v1/nodes/{NODE}/proxy{path}").stdout)


def test_the_serving_certificate_comes_from_a_kubelet_serving_csr(cluster: Cluster) -> None:
    items = json.loads(cluster.kubectl("get", "csr", "-o", "json").stdout)["items"]
    # The shared cluster may hold other nodes' CSRs too (test_gc.py's second kubelet): this node's are asked.
    serving = [c for c in items if c["spec"]["signerName"] == "kubernetes.io/kubelet-serving"
               and c["spec"]["username"] == f"system:node:{NODE}"]
    assert serving, items
    csr = serving[-1]
    assert sorted(csr["spec"]["usages"]) == ["digital signature", "key encipherment", "server auth"]
    assert [c["type"] for c in csr["status"]["conditions"]] == ["Approved"]
    assert csr["status"]["certificate"]
    # The API server verified that certificate against the cluster CA to get here.
    assert raw(cluster, "/healthz") == "ok"


class _Healthz(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        pass


def test_a_kubelet_with_a_certificate_from_another_ca_is_refused(cluster: Cluster, tmp_path: Path) -> None:
    other = pki.create_ca(tmp_path / "other-ca.crt", tmp_path / "other-ca.key", "not-the-cluster-ca")
    cert = pki.issue_cert(other, tmp_path / "k.crt", tmp_path / "k.key", common_name="rogue",
                          ip_addresses=("127.0.0.1",), server=True)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(cert.cert_path), str(cert.key_path))
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Healthz)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "rogue-kubelet"},
            "spec": {"taints": [{"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}]},
            "status": {"addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
                       "daemonEndpoints": {"kubeletEndpoint": {"Port": port}}}}
    try:
        cluster.kubectl("create", "-f", "-", input=json.dumps(node))
        out = cluster.kubectl("get", "--raw", "/api/v1/nodes/rogue-kubelet/proxy/healthz", check=False)
        assert out.returncode != 0
        assert "tls: failed to verify certificate: x509: certificate signed by unknown authority" in out.stderr
        # The same "kubelet" answers anyone who does not verify it.
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            insecure = ssl._create_unverified_context()
            with insecure.wrap_socket(sock) as tls:
                tls.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
                assert tls.recv(4096).startswith(b"HTTP/1.0 200")
    finally:
        server.shutdown()
        cluster.kubectl("delete", "node", "rogue-kubelet", "--ignore-not-found", check=False)


def _pod_entry(summary: dict[str, Any], name: str) -> dict[str, Any] | None:
    return next((p for p in summary["pods"] if p["podRef"] == {**p["podRef"], "name": name, "namespace": NS}), None)


def test_stats_summary(cluster: Cluster, busy_pod: str) -> None:
    def ready() -> dict[str, Any] | None:
        summary = json.loads(raw(cluster, "/stats/summary"))
        pod = _pod_entry(summary, busy_pod)
        if pod is None or not pod["containers"][0]["cpu"]["usageNanoCores"]:
            return None
        return summary

    summary = wait_until(ready, timeout=60, interval=1, what="the pod's CPU rate in the summary")
    node = summary["node"]
    assert node["nodeName"] == NODE
    assert node["cpu"]["usageCoreNanoSeconds"] > 0 and node["cpu"]["usageNanoCores"] > 0
    assert 0 < node["memory"]["workingSetBytes"] <= node["memory"]["usageBytes"]
    assert node["memory"]["availableBytes"] > 0
    assert node["fs"]["capacityBytes"] > node["fs"]["availableBytes"] > 0 and node["fs"]["inodes"] > 0
    assert node["runtime"]["imageFs"]["capacityBytes"] > 0 and node["runtime"]["imageFs"]["usedBytes"] > 0
    assert node["network"]["interfaces"] and node["network"]["rxBytes"] > 0
    assert node["rlimit"]["maxpid"] > node["rlimit"]["curproc"] > 0
    pod = _pod_entry(summary, busy_pod)
    assert pod is not None
    assert pod["podRef"]["uid"] == cluster.kubectl("-n", NS, "get", "pod", busy_pod, "-o",
                                                   "jsonpath={.metadata.uid}").stdout
    (container,) = pod["containers"]
    assert container["name"] == busy_pod
    assert container["cpu"]["usageCoreNanoSeconds"] > 0 and container["cpu"]["usageNanoCores"] > 0
    assert container["memory"]["workingSetBytes"] > 0
    assert container["rootfs"]["capacityBytes"] > 0 and container["rootfs"]["usedBytes"] >= 0
    assert pod["cpu"]["usageCoreNanoSeconds"] == container["cpu"]["usageCoreNanoSeconds"]
    assert pod["memory"]["workingSetBytes"] == container["memory"]["workingSetBytes"]
    assert pod["network"]["name"] == "eth0" and pod["network"]["rxBytes"] >= 0
    # Cumulative CPU grows between two readings.
    before = container["cpu"]["usageCoreNanoSeconds"]
    wait_until(lambda: (_pod_entry(json.loads(raw(cluster, "/stats/summary")), busy_pod)
                        or {"cpu": {"usageCoreNanoSeconds": 0}})["cpu"]["usageCoreNanoSeconds"] > before,
               timeout=60, interval=1, what="the pod's CPU time to grow")


def test_resource_metrics(cluster: Cluster, busy_pod: str) -> None:
    text = raw(cluster, "/metrics/resource")
    lines = text.splitlines()
    assert "# TYPE node_cpu_usage_seconds_total counter" in lines
    assert "# TYPE container_memory_working_set_bytes gauge" in lines
    assert "resource_scrape_error 0" in lines
    labels = f'container="{busy_pod}",namespace="{NS}",pod="{busy_pod}"'
    samples = {line.split(" ")[0]: float(line.split(" ")[1]) for line in lines if line and not line.startswith("#")}
    assert samples[f"container_cpu_usage_seconds_total{{{labels}}}"] > 0
    assert samples[f"container_memory_working_set_bytes{{{labels}}}"] > 0
    assert samples[f"container_start_time_seconds{{{labels}}}"] > 1.6e9
    assert samples[f'pod_cpu_usage_seconds_total{{namespace="{NS}",pod="{busy_pod}"}}'] > 0
    assert samples[f'pod_memory_working_set_bytes{{namespace="{NS}",pod="{busy_pod}"}}'] > 0
    assert samples["node_cpu_usage_seconds_total"] > 0 and samples["node_memory_working_set_bytes"] > 0
