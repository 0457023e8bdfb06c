"""A node dies: it turns NotReady, is tainted unreachable:NoExecute, and its pods move elsewhere.

A bare server (``--disable controller-manager,scheduler``) with every
component as its own process: ``pyk8s scheduler``, ``pyk8s
controller-manager --controllers *`` with short node-monitor timings, and two
separate ``pyk8s agent --simulate 1`` processes (nodes ``a-0`` and ``b-0``) so
that one node can die alone: its agent is SIGKILLed by PID, and its Lease stops
being renewed.  Every process is stopped by PID at teardown.

The simulated kubelet renews its Lease every 10 s (as the kubelet does), so the
grace period must stay well above that: 20 s here instead of 40 s.

Eviction delays: the API server's DefaultTolerationSeconds admission gives
every pod that does not tolerate ``node.kubernetes.io/not-ready`` /
``unreachable`` a 300 s toleration for them, as upstream does.  The
Deployment's pods therefore carry their own short tolerations (what a user
does to fail over faster); one extra pod pinned to the dying node tolerates
``unreachable`` for an hour and must stay put for the whole test.  The
server runs with ``--default-not-ready-toleration-seconds`` set (as
kube-apiserver's flag), and the pinned pod shows that value on the toleration
admission added for it.

Checked with kubectl: the node's STATUS turns NotReady with the unreachable
NoSchedule and NoExecute taints; each replica on it is deleted no sooner than
its tolerationSeconds after the taint's ``timeAdded`` (from its
``deletionTimestamp`` minus the grace period), carries the ``DisruptionTarget``
condition and a ``TaintManagerEviction`` event, and stays Terminating (its
kubelet is dead); the Deployment is back to 4/4 available, all Running on the
surviving node.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from pyk8s.testing.cluster import REPO_ROOT, ServerProcess
from tests.e2e.helpers import stop_process, wait_until

pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")]

GRACE = 20  # --node-monitor-grace-period, seconds
SERVER_NOT_READY_SECONDS = 1234  # pyk8s server --default-not-ready-toleration-seconds
TOLERATION = 6  # the Deployment pods' tolerationSeconds for unreachable / not-ready
LONG_TOLERATION = 3600  # the stubborn pod's: far beyond this test's window
REPLICAS = 4
UNREACHABLE = "node.kubernetes.io/unreachable"
NOT_READY = "node.kubernetes.io/not-ready"

DEPLOYMENT = f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web}}
spec:
  replicas: {REPLICAS}
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      topologySpreadConstraints:
      - {{maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: ScheduleAnyway,
          labelSelector: {{matchLabels: {{app: web}}}}}}
      tolerations:
      - {{key: {UNREACHABLE}, operator: Exists, effect: NoExecute, tolerationSeconds: {TOLERATION}}}
      - {{key: {NOT_READY}, operator: Exists, effect: NoExecute, tolerationSeconds: {TOLERATION}}}
      containers:
      - name: web
        image: nginx:1.15.4
        resources: {{requests: {{cpu: 100m, memory: 64Mi}}}}
"""


def stubborn_pod(node: str) -> str:
    return f"""
apiVersion: v1
kind: Pod
metadata: {{name: stubborn, labels: {{app: stubborn}}}}
spec:
  nodeName: {node}
  tolerations:
  - {{key: {UNREACHABLE}, operator: Exists, effect: NoExecute, tolerationSeconds: {LONG_TOLERATION}}}
  containers: [{{name: c, image: busybox, command: [sleep, "3600"]}}]
"""


def parse_time(value: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))


@dataclass
class Cluster:
    server: ServerProcess
    agents: dict[str, subprocess.Popen[bytes]]  # node name -> the agent process running it

    def kubectl(self, *args: str, **kw: Any) -> subprocess.CompletedProcess[str]:
        return self.server.kubectl(*args, **kw)

    def get_json(self, *args: str) -> Any:
        return json.loads(self.kubectl("get", *args, "-o", "json").stdout)

    def pods(self, app: str) -> list[dict[str, Any]]:
        return list(self.get_json("pods", "-l", f"app={app}")["items"])

    def node_row(self, name: str) -> list[str]:
        return self.kubectl("get", "node", name, "--no-headers").stdout.split()

    def log_tail(self) -> str:
        with open(os.path.join(self.server.root, "components.log"), "rb") as f:
            return f.read()[-4000:].decode(errors="replace")


def running_live(pod: dict[str, Any]) -> bool:
    return ((pod.get("status") or {}).get("phase") == "Running" and bool(pod["spec"].get("nodeName"))
            and not pod["metadata"].get("deletionTimestamp"))


@pytest.fixture(scope="module")
def two_node_cluster() -> Iterator[Cluster]:
    server = ServerProcess(extra_args=["--disable", "controller-manager,scheduler", "--default-not-ready-toleration-seconds",
                                       str(SERVER_NOT_READY_SECONDS)]).start()
    log = open(os.path.join(server.root, "components.log"), "ab")  # noqa: SIM115 - closed below
    pyk8s = [sys.executable, "-m", "pyk8s"]
    kc = ["--kubeconfig", server.kubeconfig]
    procs: list[subprocess.Popen[bytes]] = []

    def spawn(*args: str) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen([*pyk8s, *args], stdout=log, stderr=log, cwd=str(REPO_ROOT))
        procs.append(proc)
        return proc

    try:
        spawn("scheduler", *kc)
        spawn("controller-manager", *kc, "--controllers", "*",
              "--node-monitor-grace-period", f"{GRACE}s", "--node-monitor-period", "1s")
        agents = {f"{prefix}0": spawn("agent", *kc, "--simulate", "1", "--node-name-prefix", prefix)
                  for prefix in ("a-", "b-")}
        cluster = Cluster(server, agents)

        def up() -> bool:
            if any(p.poll() is not None for p in procs):
                raise AssertionError(f"a component exited early:\n{cluster.log_tail()}")
            leases = server.kubectl("get", "leases", "-n", "kube-system", "-o", "json", check=False)
            nodes = server.kubectl("get", "nodes", "--no-headers", check=False)
            if leases.returncode != 0 or nodes.returncode != 0:
                return False
            holders = {i["metadata"]["name"]: (i.get("spec") or {}).get("holderIdentity")
                       for i in json.loads(leases.stdout)["items"]}
            ready = {row.split()[0] for row in nodes.stdout.splitlines() if row.split()[1:2] == ["Ready"]}
            return (bool(holders.get("kube-controller-manager")) and bool(holders.get("kube-scheduler"))
                    and ready == set(agents))

        try:
            wait_until(up, timeout=45, what="scheduler, controller manager and nodes a-0, b-0")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{cluster.log_tail()}") from None
        yield cluster
    finally:
        for proc in procs:
            stop_process(proc)
        log.close()
        server.close()


def test_dead_node_is_tainted_and_its_pods_are_recreated_elsewhere(two_node_cluster: Cluster) -> None:
    c = two_node_cluster
    c.kubectl("apply", "-f", "-", input=DEPLOYMENT)
    wait_until(lambda: (rows := c.kubectl("get", "deploy", "web", "--no-headers").stdout.split())[1:4]
               == [f"{REPLICAS}/{REPLICAS}", str(REPLICAS), str(REPLICAS)] and rows,
               timeout=40, what="web 4/4 ready")
    live = [p for p in c.pods("web") if running_live(p)]
    assert len(live) == REPLICAS
    per_node: dict[str, list[str]] = {}
    for pod in live:
        per_node.setdefault(pod["spec"]["nodeName"], []).append(pod["metadata"]["name"])
    # The victim is where most replicas landed (with the spread constraint, normally 2 and 2).
    victim = max(sorted(per_node), key=lambda n: len(per_node[n]))
    (survivor,) = set(c.agents) - {victim}
    doomed = set(per_node[victim])
    assert doomed, per_node

    c.kubectl("apply", "-f", "-", input=stubborn_pod(victim))
    wait_until(lambda: running_live(c.get_json("pod", "stubborn")), timeout=20, what="stubborn pod Running")
    pod = c.get_json("pod", "stubborn")
    tolerations = {(t["key"], t.get("tolerationSeconds")) for t in pod["spec"]["tolerations"]}
    # Its own unreachable toleration is kept; admission adds the default one for not-ready only.
    assert tolerations == {(UNREACHABLE, LONG_TOLERATION), (NOT_READY, SERVER_NOT_READY_SECONDS)}, tolerations

    # The node dies: no more lease renewals or status reports.
    stop_process(c.agents[victim], signal.SIGKILL)
    killed = time.monotonic()

    def tainted() -> dict[str, Any] | None:
        node = c.get_json("node", victim)
        taints = {(t["key"], t["effect"]): t for t in node["spec"].get("taints") or []}
        return taints.get((UNREACHABLE, "NoExecute")) if (UNREACHABLE, "NoSchedule") in taints else None

    taint = wait_until(tainted, timeout=GRACE + 25, what=f"{victim} tainted unreachable")
    noticed = time.monotonic() - killed
    assert noticed > GRACE - 11, f"{victim} marked unreachable {noticed:.1f}s after its agent died"
    row = c.node_row(victim)
    assert row[:2] == [victim, "NotReady"], row
    node = c.get_json("node", victim)
    ready = next(cond for cond in node["status"]["conditions"] if cond["type"] == "Ready")
    assert (ready["status"], ready["reason"]) == ("Unknown", "NodeStatusUnknown"), ready
    described = c.kubectl("describe", "node", victim).stdout
    assert f"{UNREACHABLE}:NoExecute" in described, described
    assert c.node_row(survivor)[:2] == [survivor, "Ready"]
    assert not c.get_json("node", survivor)["spec"].get("taints")
    tainted_at = parse_time(taint["timeAdded"])

    # The replicas on the dead node are evicted once their toleration runs out; the dead kubelet never
    # confirms, so they stay Terminating (or vanish), and the ReplicaSet replaces them on the survivor.
    def evicted() -> tuple[dict[str, Any], ...] | None:
        pods = {p["metadata"]["name"]: p for p in c.pods("web")}
        if any(n in pods and not pods[n]["metadata"].get("deletionTimestamp") for n in doomed):
            return None
        return (*(pods[n] for n in doomed if n in pods), {})  # never empty, so truthy

    evictions = wait_until(evicted, timeout=TOLERATION + 20, what="the dead node's web pods evicted")
    for pod in evictions[:-1]:
        meta, name = pod["metadata"], pod["metadata"]["name"]
        # deletionTimestamp is when the delete was asked plus the grace period.
        asked = parse_time(meta["deletionTimestamp"]) - datetime.timedelta(
            seconds=int(meta.get("deletionGracePeriodSeconds") or 0))
        waited = (asked - tainted_at).total_seconds()
        assert TOLERATION <= waited <= TOLERATION + 15, f"{name} evicted {waited}s after the taint"
        # As upstream's taint eviction controller: the pod is marked as a disruption target first.
        marked = [(cond["status"], cond.get("reason")) for cond in pod["status"].get("conditions") or []
                  if cond["type"] == "DisruptionTarget"]
        assert marked == [("True", "DeletionByTaintManager")], pod["status"]

    def eviction_events() -> set[str]:
        items = c.get_json("events")["items"]
        return {e["involvedObject"]["name"] for e in items if e.get("reason") == "TaintManagerEviction"
                and e.get("message") == f"Marking for deletion Pod default/{e['involvedObject']['name']}"}

    wait_until(lambda: doomed <= eviction_events(), timeout=10, what="a TaintManagerEviction event per evicted pod")

    def recovered() -> list[dict[str, Any]] | None:
        row = c.kubectl("get", "deploy", "web", "--no-headers").stdout.split()
        live = [p for p in c.pods("web") if running_live(p)]
        if row[1:4] != [f"{REPLICAS}/{REPLICAS}", str(REPLICAS), str(REPLICAS)] or len(live) != REPLICAS:
            return None
        return live

    live = wait_until(recovered, timeout=40, what="web back to 4 available replicas")
    assert {p["spec"]["nodeName"] for p in live} == {survivor}
    assert not doomed & {p["metadata"]["name"] for p in live}
    table = c.kubectl("get", "pods", "-l", "app=web", "-o", "wide", "--no-headers").stdout
    for line in table.splitlines():
        cells = line.split()
        if cells[0] in doomed:
            assert cells[2] == "Terminating", line
        else:
            assert cells[2] == "Running" and cells[6] == survivor, line

    # The pod tolerating the unreachable taint for an hour is still there, bound to the dead node.
    pod = c.get_json("pod", "stubborn")
    assert not pod["metadata"].get("deletionTimestamp"), pod["metadata"]
    assert pod["spec"]["nodeName"] == victim
    ready = next(cond for cond in pod["status"]["conditions"] if cond["type"] == "Ready")
    assert ready["status"] == "False", ready  # the node lifecycle controller marked it not ready
    assert c.node_row(victim)[1] == "NotReady"
