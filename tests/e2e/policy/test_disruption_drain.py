"""PodDisruptionBudgets through real kubectl: status kept by the disruption controller, eviction
refused with 429 while the budget allows nothing, and ``kubectl drain`` blocked by a budget, retrying
as upstream, and completing once the budget allows it."""

from __future__ import annotations

import subprocess
import time

from pyk8s.testing.cluster import ServerProcess
from tests.e2e.helpers import stop_process, wait_until

from .conftest import apply, get

DEPLOY = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: pdb}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      affinity:  # both on NODE, replacements elsewhere once it is cordoned
        nodeAffinity:
          preferredDuringSchedulingIgnoredDuringExecution:
          - weight: 100
            preference: {matchExpressions: [{key: kubernetes.io/hostname, operator: In, values: [NODE]}]}
      containers: [{name: web, image: nginx}]
"""


def pdb_status(srv: ServerProcess) -> dict:
    return get(srv, "pdb", "web", "-n", "pdb").get("status") or {}


def test_drain_waits_for_the_budget(policy_cluster: ServerProcess) -> None:
    srv = policy_cluster
    nodes = sorted(n["metadata"]["name"] for n in get(srv, "nodes")["items"])
    node = nodes[0]
    srv.kubectl("create", "namespace", "pdb")
    apply(srv, DEPLOY.replace("NODE", node))
    srv.kubectl("create", "pdb", "web", "-n", "pdb", "--selector=app=web", "--min-available=2")
    wait_until(lambda: pdb_status(srv).get("currentHealthy") == 2, timeout=60, what="two healthy pods")
    placed = {p["spec"].get("nodeName") for p in get(srv, "pods", "-n", "pdb")["items"]}
    assert placed == {node}
    status = pdb_status(srv)
    assert (status["expectedPods"], status["desiredHealthy"], status["disruptionsAllowed"]) == (2, 2, 0)
    cond = next(c for c in status["conditions"] if c["type"] == "DisruptionAllowed")
    assert (cond["status"], cond["reason"]) == ("False", "InsufficientPods")
    row = srv.kubectl("get", "pdb", "web", "-n", "pdb").stdout.splitlines()[1].split()
    assert row[:4] == ["web", "2", "N/A", "0"]

    pod = get(srv, "pods", "-n", "pdb", "-l", "app=web")["items"][0]["metadata"]["name"]
    status_code, body = srv.request("POST", f"/api/v1/namespaces/pdb/pods/{pod}/eviction",
                                    f'{{"apiVersion":"policy/v1","kind":"Eviction","metadata":{{"name":"{pod}"}}}}'
                                    .encode(), headers={"Content-Type": "application/json"})
    assert status_code == 429
    assert b"Cannot evict pod as it would violate the pod's disruption budget." in body
    assert b'"reason":"DisruptionBudget"' in body.replace(b" ", b"")

    drain = subprocess.Popen(srv.kubectl_args("drain", node, "--ignore-daemonsets", "--delete-emptydir-data",
                                              "--timeout=120s"),
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=srv.kubectl_env(), text=True)
    try:
        time.sleep(8)  # kubectl retries every 5 s while the budget refuses
        assert drain.poll() is None, drain.stdout.read() if drain.stdout else ""
        # Let the budget allow one disruption at a time: the drain goes through pod by pod.
        srv.kubectl("patch", "pdb", "web", "-n", "pdb", "--type=merge", "-p", '{"spec":{"minAvailable":1}}')
        out, _ = drain.communicate(timeout=150)
    finally:
        if drain.poll() is None:
            stop_process(drain)  # type: ignore[arg-type]
    assert drain.returncode == 0, out
    assert "Cannot evict pod as it would violate the pod's disruption budget." in out
    assert f"node/{node} drained" in out
    assert get(srv, "node", node)["spec"].get("unschedulable") is True
