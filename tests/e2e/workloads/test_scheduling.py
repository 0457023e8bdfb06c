"""The scheduler's placement decisions and its explanations, read back with the real kubectl.

Besides the cluster's two default simulated nodes (``sim-0``, ``sim-1``:
4 cpu), the module starts two more agents, each its own process stopped by
PID: ``tainted-0`` (``dedicated=infra:NoSchedule``) and a small node
``ssd-0`` (2 cpu, ``disktype=ssd``, zone ``zone-b``); ``sim-0`` and
``sim-1`` are labelled zone ``zone-a`` with kubectl.  The last test starts
a fifth agent (``late-0``) to show that an unschedulable pod is retried
when a node that fits joins.

Expected placements and FailedScheduling messages are derived from the
nodes as the API reports them, following upstream's filter order
(TaintToleration, NodeAffinity, NodeResourcesFit, PodTopologySpread,
InterPodAffinity) and its ``FitError`` text: reasons counted over the
nodes and sorted as strings, then DefaultPreemption's dry-run verdict
(every pod here has priority 0, so there are never victims).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from pyk8s.testing.cluster import ServerProcess
from tests.e2e.helpers import stop_process, wait_until

ZONE = "topology.kubernetes.io/zone"
HOSTNAME = "kubernetes.io/hostname"
TAINT_KEY, TAINT_VALUE = "dedicated", "infra"
NOT_HELPFUL = "Preemption is not helpful for scheduling"
NO_VICTIMS = "No preemption victims found for incoming pod"
SELECTOR_MISMATCH = "node(s) didn't match Pod's node affinity/selector"
ANTI_AFFINITY = "node(s) didn't match pod anti-affinity rules"
UNRESOLVABLE = {SELECTOR_MISMATCH}  # as are untolerated taints: preemption cannot help there

# prefix -> extra agent flags; each agent simulates one node named PREFIX0.
EXTRA_AGENTS = {
    "tainted-": ["--taints", f"{TAINT_KEY}={TAINT_VALUE}:NoSchedule"],
    "ssd-": ["--cpu", "2", "--labels", f"disktype=ssd,{ZONE}=zone-b"],
}
ZONE_A_NODES = ("sim-0", "sim-1")


@dataclass(frozen=True)
class Node:
    name: str
    cpu_m: int  # allocatable cpu in millicores
    labels: dict[str, str]
    taints: tuple[tuple[str, str, str], ...]  # (key, value, effect)

    def untolerated(self) -> str | None:
        """Upstream's reason for the node's first hard taint (the pods here tolerate none)."""
        for key, value, effect in self.taints:
            if effect in ("NoSchedule", "NoExecute"):
                return f"node(s) had untolerated taint {{{key}: {value}}}"
        return None


def cpu_millis(q: str) -> int:
    return int(q[:-1]) if q.endswith("m") else int(float(q) * 1000)


def read_nodes(cluster: ServerProcess) -> list[Node]:
    items = json.loads(cluster.kubectl("get", "nodes", "-o", "json").stdout)["items"]
    return [Node(n["metadata"]["name"], cpu_millis(n["status"]["allocatable"]["cpu"]),
                 dict(n["metadata"].get("labels") or {}),
                 tuple((t["key"], t.get("value") or "", t["effect"]) for t in n["spec"].get("taints") or ()))
            for n in items]


def start_agent(cluster: ServerProcess, prefix: str, flags: list[str], log: Any) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "pyk8s", "agent", "--kubeconfig", cluster.kubeconfig,
                             "--simulate", "1", "--node-name-prefix", prefix, *flags], stdout=log, stderr=log)


def nodes_settled(cluster: ServerProcess, names: set[str]) -> list[Node] | None:
    """The nodes, once exactly ``names`` are registered and Ready with only their configured taints."""
    items = json.loads(cluster.kubectl("get", "nodes", "-o", "json").stdout)["items"]
    if {n["metadata"]["name"] for n in items} != names:
        return None
    for n in items:
        ready = any(c["type"] == "Ready" and c["status"] == "True" for c in n.get("status", {}).get("conditions") or ())
        taints = {t["key"] for t in n["spec"].get("taints") or ()}
        wanted = {TAINT_KEY} if n["metadata"]["name"].startswith("tainted-") else set()
        if not ready or taints != wanted:
            return None
    return read_nodes(cluster)


@pytest.fixture(scope="module")
def nodes(cluster: ServerProcess) -> Iterator[list[Node]]:
    log = open(os.path.join(cluster.root, "scheduling-agents.log"), "ab")  # noqa: SIM115 - closed below
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for prefix, flags in EXTRA_AGENTS.items():
            procs.append(start_agent(cluster, prefix, flags, log))
        expected = {*ZONE_A_NODES, *(p + "0" for p in EXTRA_AGENTS)}
        wait_until(lambda: nodes_settled(cluster, expected) or any(p.poll() is not None for p in procs),
                   timeout=40, interval=0.3, what=f"nodes {sorted(expected)} Ready")
        assert all(p.poll() is None for p in procs), "an agent exited early"
        cluster.kubectl("label", "node", *ZONE_A_NODES, f"{ZONE}=zone-a")
        yield wait_until(lambda: nodes_settled(cluster, expected), timeout=20, what="the labelled nodes")
    finally:
        for proc in procs:
            stop_process(proc)
        log.close()


# -- manifests and kubectl reading --------------------------------------------------------------


def pod_manifest(name: str, suite: str, *, cpu: str | None = None, node_selector: dict[str, str] | None = None,
                 affinity: dict[str, Any] | None = None, tolerations: list[dict[str, str]] | None = None) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "c", "image": "busybox"}
    if cpu:
        container["resources"] = {"requests": {"cpu": cpu}}
    spec: dict[str, Any] = {"containers": [container]}
    if node_selector:
        spec["nodeSelector"] = node_selector
    if affinity:
        spec["affinity"] = affinity
    if tolerations:
        spec["tolerations"] = tolerations
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"suite": suite}}, "spec": spec}


def deployment(name: str, replicas: int, pod_spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "labels": {"suite": name}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name, "suite": name}},
                                  "spec": {"containers": [{"name": "c", "image": "busybox"}], **pod_spec}}}}


def create(cluster: ServerProcess, *objs: dict[str, Any]) -> None:
    cluster.kubectl("create", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": list(objs)}))


def cleanup(cluster: ServerProcess, suite: str) -> None:
    """Delete the suite's deployments (their pods with them) and pods, and wait until they are gone."""
    for kind, extra in (("deployments", ["--cascade=foreground"]), ("pods", [])):
        cluster.kubectl("delete", kind, "-l", f"suite={suite}", *extra, "--wait=true", "--timeout=30s",
                        check=False, timeout=40)


def placements(cluster: ServerProcess, selector: str) -> dict[str, tuple[str, str]]:
    """pod -> (phase, node) as ``kubectl get pods -o custom-columns`` prints them (``<none>``: unbound)."""
    out = cluster.kubectl("get", "pods", "-l", selector, "--no-headers",
                          "-o", "custom-columns=NAME:.metadata.name,STATUS:.status.phase,NODE:.spec.nodeName").stdout
    return {cells[0]: (cells[1], cells[2]) for cells in (ln.split() for ln in out.splitlines() if ln.strip())}


def running(cluster: ServerProcess, selector: str) -> dict[str, str]:
    """pod -> node for the matching pods that are Running on a node."""
    return {name: node for name, (phase, node) in placements(cluster, selector).items()
            if phase == "Running" and node != "<none>"}


def wait_running(cluster: ServerProcess, selector: str, count: int, timeout: float = 30) -> dict[str, str]:
    """pod -> node once exactly ``count`` matching pods are Running."""
    return wait_until(lambda: (got := running(cluster, selector)) and len(got) == count and got, timeout=timeout,
                      interval=0.3, what=f"{count} Running pods {selector}: {placements(cluster, selector)}")


def describe(cluster: ServerProcess, name: str) -> str:
    return cluster.kubectl("describe", "pod", name).stdout


def fit_message(reasons: list[str]) -> str:
    counts = Counter(reasons)
    return f"0/{len(reasons)} nodes are available: " + ", ".join(sorted(f"{n} {r}" for r, n in counts.items())) + "."


def failed_scheduling(nodes: list[Node], reason_of: Callable[[Node], str]) -> str:
    """Upstream's FitError text for these per-node filter reasons, with the preemption dry run."""
    reasons = [reason_of(n) for n in nodes]
    verdicts = [NOT_HELPFUL if r in UNRESOLVABLE or r.startswith("node(s) had untolerated taint") else NO_VICTIMS
                for r in reasons]
    return f"{fit_message(reasons)} preemption: {fit_message(verdicts)}."


def assert_pending_explained(cluster: ServerProcess, name: str, message: str) -> str:
    """The pod stays unbound and ``kubectl describe`` explains why, as upstream does; returns the describe text."""
    event = re.compile(r"^\s+Warning\s+FailedScheduling\s+.*\s+default-scheduler\s+" + re.escape(message) + r"\s*$", re.M)
    condition = 'jsonpath={range .status.conditions[?(@.type=="PodScheduled")]}{.status}/{.reason}/{.message}{end}'

    def explained() -> str | None:
        # The event and the condition are written separately: wait for both.
        out = describe(cluster, name)
        if event.search(out) and re.search(r"^\s+PodScheduled\s+False\s*$", out, re.M):
            return out
        return None

    out = wait_until(explained, timeout=30, interval=0.3,
                     what=f"FailedScheduling {message!r} on {name}: {describe(cluster, name)}")
    assert re.search(r"^Status:\s+Pending$", out, re.M), out
    assert re.search(r"^Node:\s+<none>$", out, re.M), out
    wait_until(lambda: cluster.kubectl("get", "pod", name, "-o", condition).stdout == f"False/Unschedulable/{message}",
               timeout=10, what=f"{name}'s PodScheduled condition: {cluster.kubectl('get', 'pod', name, '-o', condition).stdout}")
    return out


def schedulable(nodes: list[Node]) -> list[Node]:
    """The nodes a pod without tolerations may use."""
    return [n for n in nodes if n.untolerated() is None]


# -- the tests ----------------------------------------------------------------------------------------


def test_requests_keep_a_pod_pending_and_fitting_pods_land_where_there_is_room(cluster: ServerProcess,
                                                                             nodes: list[Node]) -> None:
    suite = "requests"
    biggest = max(n.cpu_m for n in nodes)
    too_big = f"{biggest + 1000}m"
    # More than half the biggest node: at most one such pod per node, and none on the small node.
    half = f"{biggest // 2 + 500}m"
    roomy = sorted(n.name for n in schedulable(nodes) if n.cpu_m >= cpu_millis(half))
    assert len(roomy) >= 2 and any(n.cpu_m < cpu_millis(half) for n in schedulable(nodes)), nodes

    def insufficient(n: Node) -> str:
        return n.untolerated() or "Insufficient cpu"

    try:
        create(cluster, pod_manifest("too-big", suite, cpu=too_big))
        # e.g. "0/4 nodes are available: 1 node(s) had untolerated taint {dedicated: infra}, 3 Insufficient cpu. ..."
        assert_pending_explained(cluster, "too-big", failed_scheduling(nodes, insufficient))

        create(cluster, *(pod_manifest(f"half-{i}", suite, cpu=half) for i in range(len(roomy))))
        got = wait_running(cluster, "suite=requests", len(roomy))
        assert sorted(got.values()) == roomy, got  # one per node with room, none on the small or tainted node
        # Every roomy node is now too full for another: the same explanation, counted over the same nodes.
        create(cluster, pod_manifest("one-too-many", suite, cpu=half))
        assert_pending_explained(cluster, "one-too-many", failed_scheduling(nodes, insufficient))
        # Room made (an assigned pod deleted): the unschedulable pod is retried and takes its place.
        freed = got["half-0"]
        cluster.kubectl("delete", "pod", "half-0", "--timeout=30s")
        got = wait_running(cluster, "suite=requests", len(roomy))
        assert got["one-too-many"] == freed, got
        assert placements(cluster, "suite=requests")["too-big"] == ("Pending", "<none>")
    finally:
        cleanup(cluster, suite)


def test_node_selector_and_required_node_affinity_pick_the_labelled_nodes(cluster: ServerProcess,
                                                                          nodes: list[Node]) -> None:
    ssd = {n.name for n in nodes if n.labels.get("disktype") == "ssd"}
    zone_a = sorted(n.name for n in nodes if n.labels.get(ZONE) == "zone-a")
    assert len(ssd) == 1 and len(zone_a) == 2, nodes

    def required(*exprs: dict[str, Any]) -> dict[str, Any]:
        return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchExpressions": list(exprs)}]}}}

    try:
        create(cluster, deployment("on-ssd", 3, {"nodeSelector": {"disktype": "ssd"}}),
               pod_manifest("affine", "affine", affinity=required(
                   {"key": ZONE, "operator": "In", "values": ["zone-a"]},
                   {"key": HOSTNAME, "operator": "NotIn", "values": [zone_a[0]]})),
               pod_manifest("nowhere", "affine", affinity=required({"key": ZONE, "operator": "In", "values": ["zone-x"]})))
        got = wait_running(cluster, "app=on-ssd", 3)
        assert set(got.values()) == ssd, got
        got = wait_running(cluster, "suite=affine", 1)
        assert got == {"affine": zone_a[1]}, got
        assert_pending_explained(cluster, "nowhere", failed_scheduling(
            nodes, lambda n: n.untolerated() or SELECTOR_MISMATCH))
    finally:
        cleanup(cluster, "on-ssd")
        cleanup(cluster, "affine")


def test_a_taint_keeps_pods_off_unless_tolerated(cluster: ServerProcess, nodes: list[Node]) -> None:
    tainted = [n for n in nodes if n.taints]
    assert len(tainted) == 1, nodes
    target = tainted[0].name
    toleration = [{"key": TAINT_KEY, "operator": "Equal", "value": TAINT_VALUE, "effect": "NoSchedule"}]
    pin = {HOSTNAME: target}
    try:
        create(cluster, pod_manifest("intolerant", "taints", node_selector=pin),
               pod_manifest("tolerant", "taints", node_selector=pin, tolerations=toleration))
        assert wait_running(cluster, "suite=taints", 1) == {"tolerant": target}
        assert_pending_explained(cluster, "intolerant", failed_scheduling(
            nodes, lambda n: n.untolerated() or SELECTOR_MISMATCH))
    finally:
        cleanup(cluster, "taints")


def test_required_pod_anti_affinity_puts_one_replica_per_node(cluster: ServerProcess, nodes: list[Node]) -> None:
    hosts = sorted(n.name for n in schedulable(nodes))
    anti = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "anti"}}, "topologyKey": HOSTNAME}]}}
    try:
        create(cluster, deployment("anti", len(hosts) + 1, {"affinity": anti}))
        got = wait_running(cluster, "app=anti", len(hosts))
        assert sorted(got.values()) == hosts, got  # one per untainted node
        pending = wait_until(lambda: [k for k, (phase, node) in placements(cluster, "app=anti").items()
                                      if phase == "Pending" and node == "<none>"], what="the extra replica")
        assert len(pending) == 1, placements(cluster, "app=anti")
        assert_pending_explained(cluster, pending[0], failed_scheduling(nodes, lambda n: n.untolerated() or ANTI_AFFINITY))
        wait_until(lambda: cluster.kubectl("get", "deploy", "anti", "--no-headers").stdout.split()[1]
                   == f"{len(hosts)}/{len(hosts) + 1}", what="the deployment's READY column")
    finally:
        cleanup(cluster, "anti")


def test_topology_spread_max_skew_one_spreads_evenly_over_zones(cluster: ServerProcess, nodes: list[Node]) -> None:
    zones = Counter(n.labels[ZONE] for n in nodes if ZONE in n.labels)
    assert len(zones) == 2 and len(set(zones.values())) == 2, zones  # uneven: 2 nodes in one zone, 1 in the other
    replicas = 3 * len(zones)
    spread = [{"maxSkew": 1, "topologyKey": ZONE, "whenUnsatisfiable": "DoNotSchedule",
               "labelSelector": {"matchLabels": {"app": "spread"}}}]
    zone_of = {n.name: n.labels.get(ZONE) for n in nodes}
    try:
        create(cluster, deployment("spread", replicas, {"topologySpreadConstraints": spread}))
        got = wait_running(cluster, "app=spread", replicas)
        per_zone = Counter(zone_of[node] for node in got.values())
        assert per_zone == dict.fromkeys(zones, replicas // len(zones)), (per_zone, got)
    finally:
        cleanup(cluster, "spread")


def test_a_pending_pod_is_scheduled_when_a_node_that_fits_joins(cluster: ServerProcess, nodes: list[Node]) -> None:
    biggest = max(n.cpu_m for n in nodes)
    request = f"{biggest + 1000}m"
    log = open(os.path.join(cluster.root, "late-agent.log"), "ab")  # noqa: SIM115 - closed below
    agent: subprocess.Popen[bytes] | None = None
    try:
        create(cluster, pod_manifest("waiting", "late", cpu=request))
        assert_pending_explained(cluster, "waiting", failed_scheduling(
            nodes, lambda n: n.untolerated() or "Insufficient cpu"))
        agent = start_agent(cluster, "late-", ["--cpu", str((biggest + 2000) // 1000)], log)
        got = wait_running(cluster, "suite=late", 1, timeout=40)
        assert got == {"waiting": "late-0"}, got
        out = describe(cluster, "waiting")
        assert re.search(r"^Node:\s+late-0/", out, re.M), out
        assert re.search(r"^\s+PodScheduled\s+True\s*$", out, re.M), out
        assert re.search(r"^\s+Normal\s+Scheduled\s+.*default-scheduler\s+Successfully assigned default/waiting to late-0$",
                         out, re.M), out
    finally:
        cleanup(cluster, "late")
        if agent is not None:
            stop_process(agent)
        log.close()
        cluster.kubectl("delete", "node", "late-0", "--ignore-not-found", "--wait=false", check=False)
