"""The seeds' nginx DaemonSet end to end on simulated nodes.

One pod per node (bound by the scheduler from the controller's node
affinity), a node joining later (an extra ``pyk8s agent --simulate 1``
process, stopped by PID), a tainted node skipped unless tolerated, and a
rolling update with ``kubectl rollout``.  The seed names the set
``nginx-daemonSet``, which the API rejects (names are lowercase); it is
applied as ``nginx-daemonset``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from pyk8s.testing.cluster import ServerProcess
from tests.e2e.helpers import stop_process

SEED = """
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: nginx-daemonSet
  labels:
    app: nginx
spec:
  selector:
    matchLabels:
      app: nginx
  template:
    metadata:
      labels:
        app: nginx
    spec:
      containers:
      - name: nginx
        image: nginx:1.15.4
        ports:
        - containerPort: 80
"""

TAINT = "dedicated=db:NoSchedule"


def daemon(name: str, tolerate: bool) -> str:
    tolerations = "      tolerations: [{key: dedicated, operator: Exists, effect: NoSchedule}]\n" if tolerate else ""
    return f"""
apiVersion: apps/v1
kind: DaemonSet
metadata: {{name: {name}}}
spec:
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
{tolerations}      containers: [{{name: c, image: busybox}}]
"""


def wait_for(check: Callable[[], Any], timeout: float = 30, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}: {value!r}")


def running_by_node(cluster: ServerProcess, app: str) -> dict[str, str]:
    """node -> pod name, for the app's pods that are Running and bound."""
    pods = json.loads(cluster.kubectl("get", "pods", "-l", f"app={app}", "-o", "json").stdout)["items"]
    return {p["spec"]["nodeName"]: p["metadata"]["name"] for p in pods
            if p["spec"].get("nodeName") and (p.get("status") or {}).get("phase") == "Running"
            and not p["metadata"].get("deletionTimestamp")}


def node_names(cluster: ServerProcess) -> set[str]:
    return {n.split("/", 1)[1] for n in cluster.kubectl("get", "nodes", "-o", "name").stdout.split()}


@pytest.fixture(scope="module")
def sim_nodes(cluster: ServerProcess) -> set[str]:
    def two() -> set[str] | None:
        names = {n for n in node_names(cluster) if n.startswith("sim-")}
        return names if len(names) == 2 else None

    return wait_for(two, what="the 2 simulated nodes")


@pytest.fixture
def late_agent(cluster: ServerProcess) -> Iterator[subprocess.Popen[bytes]]:
    log = open(os.path.join(cluster.root, "late-agent.log"), "ab")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([sys.executable, "-m", "pyk8s", "agent", "--kubeconfig", cluster.kubeconfig,
                             "--simulate", "1", "--node-name-prefix", "late-"], stdout=log, stderr=log)
    try:
        yield proc
    finally:
        stop_process(proc)
        log.close()
        cluster.kubectl("delete", "node", "late-0", "--ignore-not-found", "--wait=false")


def test_seed_daemonset_on_every_node_and_a_late_node(cluster: ServerProcess, sim_nodes: set[str],
                                                      late_agent: subprocess.Popen[bytes]) -> None:
    rejected = cluster.kubectl("apply", "-f", "-", input=SEED, check=False)
    assert rejected.returncode != 0 and "nginx-daemonSet" in rejected.stderr
    cluster.kubectl("apply", "-f", "-", input=SEED.replace("nginx-daemonSet", "nginx-daemonset"))
    # The extra agent was started with the test: its node may already be there; wait for all three.
    wait_for(lambda: running_by_node(cluster, "nginx").keys() == sim_nodes | {"late-0"}, what="a pod per node")
    out = cluster.kubectl("get", "ds", "nginx-daemonset", "--no-headers").stdout.split()
    assert out[1:6] == ["3", "3", "3", "3", "3"], out  # DESIRED CURRENT READY UP-TO-DATE AVAILABLE
    pod = json.loads(cluster.kubectl("get", "pod", running_by_node(cluster, "nginx")["late-0"], "-o", "json").stdout)
    assert pod["metadata"]["ownerReferences"][0]["kind"] == "DaemonSet"
    affinity = pod["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert affinity["nodeSelectorTerms"][0]["matchFields"][0]["values"] == ["late-0"]

    # The node leaves: the set stops counting it; its bound pod is PodGC's to remove (checked at the end).
    late_pod = running_by_node(cluster, "nginx")["late-0"]
    os.kill(late_agent.pid, signal.SIGTERM)
    late_agent.wait(10)
    cluster.kubectl("delete", "node", "late-0")
    wait_for(lambda: cluster.kubectl("get", "ds", "nginx-daemonset", "--no-headers").stdout.split()[1:3] == [
        "2", "2"], what="desired 2")

    # A rolling update replaces the pods; kubectl reads the revisions.
    cluster.kubectl("set", "image", "ds/nginx-daemonset", "nginx=nginx:1.16")
    out = cluster.kubectl("rollout", "status", "ds/nginx-daemonset", "--timeout=60s", timeout=70).stdout
    assert "successfully rolled out" in out, out
    pods = json.loads(cluster.kubectl("get", "pods", "-l", "app=nginx", "-o", "json").stdout)["items"]
    live = [p for p in pods if not p["metadata"].get("deletionTimestamp") and p["spec"].get("nodeName") != "late-0"]
    assert len(live) == 2 and {p["spec"]["containers"][0]["image"] for p in live} == {"nginx:1.16"}
    history = cluster.kubectl("rollout", "history", "ds/nginx-daemonset").stdout
    assert [ln.split()[0] for ln in history.splitlines() if ln.strip()[:1].isdigit()] == ["1", "2"], history
    # Undo applies revision 1's template again; that revision is renumbered 3.
    cluster.kubectl("rollout", "undo", "ds/nginx-daemonset")
    out = cluster.kubectl("rollout", "status", "ds/nginx-daemonset", "--timeout=60s", timeout=70).stdout
    assert "successfully rolled out" in out, out
    pods = json.loads(cluster.kubectl("get", "pods", "-l", "app=nginx", "-o", "json").stdout)["items"]
    assert {p["spec"]["containers"][0]["image"] for p in pods if not p["metadata"].get("deletionTimestamp")
            and p["spec"].get("nodeName") != "late-0"} == {"nginx:1.15.4"}
    history = cluster.kubectl("rollout", "history", "ds/nginx-daemonset").stdout
    assert [ln.split()[0] for ln in history.splitlines() if ln.strip()[:1].isdigit()] == ["2", "3"], history
    wait_for(lambda: not cluster.kubectl("get", "pod", late_pod, "--ignore-not-found", "-o", "name").stdout,
             timeout=45, what="PodGC removing the pod of the deleted node")
    cluster.kubectl("delete", "ds", "nginx-daemonset")


def test_tainted_node_skipped_unless_tolerated(cluster: ServerProcess, sim_nodes: set[str]) -> None:
    tainted, free = sorted(sim_nodes)[:2]
    cluster.kubectl("taint", "node", tainted, TAINT)
    try:
        cluster.kubectl("apply", "-f", "-", input=daemon("plain", tolerate=False))
        cluster.kubectl("apply", "-f", "-", input=daemon("tolerant", tolerate=True))
        wait_for(lambda: running_by_node(cluster, "tolerant").keys() == sim_nodes, what="tolerant everywhere")
        wait_for(lambda: running_by_node(cluster, "plain").keys() == {free}, what="plain on the untainted node")
        time.sleep(1)
        assert running_by_node(cluster, "plain").keys() == {free}
        assert cluster.kubectl("get", "ds", "plain", "--no-headers").stdout.split()[1] == "1"
    finally:
        cluster.kubectl("taint", "node", tainted, "dedicated-", check=False)
    # The taint gone, the plain set follows onto that node.
    wait_for(lambda: running_by_node(cluster, "plain").keys() == sim_nodes, what="plain everywhere")
    cluster.kubectl("delete", "ds", "plain", "tolerant")
