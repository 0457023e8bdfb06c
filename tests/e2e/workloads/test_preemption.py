"""Preemption by priority, end to end, read back with the real kubectl.

The two simulated nodes (``sim-0``, ``sim-1``: 4 cpu each) are filled with
four priority-0 pods of 2 cpu.  A pod of PriorityClass ``high`` (value 1000)
asking 2 cpu fits nowhere; the scheduler preempts exactly one filler (the
smallest victim set on the chosen node), nominates the pod there, and binds
it once the simulated kubelet has confirmed the victim's deletion.  Checked:
the victim is gone, it got a ``Preempted`` event worded as upstream
(``Preempted by pod <uid> on node <node>``), the preemptor's FailedScheduling
message is the plain fit message (a successful preemption adds no
``preemption:`` suffix), its ``status.nominatedNodeName`` names the node, and
it runs there.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from pyk8s.testing.cluster import ServerProcess
from tests.e2e.helpers import wait_until

SUITE = "preemption"
FILLERS = [f"filler-{i}" for i in range(4)]


def pod_manifest(name: str, cpu: str, priority_class: str | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "c", "image": "busybox", "resources": {"requests": {"cpu": cpu}}}]}
    if priority_class:
        spec["priorityClassName"] = priority_class
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"suite": SUITE}}, "spec": spec}


def apply(cluster: ServerProcess, *objs: dict[str, Any]) -> None:
    cluster.kubectl("create", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": list(objs)}))


def pods(cluster: ServerProcess) -> dict[str, dict[str, Any]]:
    items = json.loads(cluster.kubectl("get", "pods", "-l", f"suite={SUITE}", "-o", "json").stdout)["items"]
    return {p["metadata"]["name"]: p for p in items}


def events(cluster: ServerProcess, reason: str) -> list[dict[str, Any]]:
    items = json.loads(cluster.kubectl("get", "events", "-o", "json").stdout)["items"]
    return [e for e in items if e.get("reason") == reason]


@pytest.fixture(scope="module")
def priority_class(cluster: ServerProcess) -> str:
    probe = cluster.kubectl("get", "priorityclass", check=False)
    if probe.returncode != 0:
        pytest.fail(f"the server serves no PriorityClass: {probe.stderr.strip()}")
    cluster.kubectl("create", "priorityclass", "high", "--value=1000", "--description=preemption e2e")
    return "high"


def test_high_priority_pod_preempts_one_filler(cluster: ServerProcess, priority_class: str) -> None:
    apply(cluster, *(pod_manifest(name, "2") for name in FILLERS))

    def all_running() -> dict[str, dict[str, Any]] | None:
        current = pods(cluster)
        ok = len(current) == len(FILLERS) and all(p["status"].get("phase") == "Running" for p in current.values())
        return current if ok else None

    fillers = wait_until(all_running, timeout=40, interval=0.3, what="the fillers Running")
    assert sorted(p["spec"]["nodeName"] for p in fillers.values()) == ["sim-0", "sim-0", "sim-1", "sim-1"]
    assert all(p["spec"].get("priority", 0) == 0 for p in fillers.values())

    apply(cluster, pod_manifest("vip", "2", priority_class))
    vip = pods(cluster)["vip"]
    assert vip["spec"]["priority"] == 1000

    def vip_running() -> dict[str, Any] | None:
        p = pods(cluster).get("vip")
        return p if p is not None and p["status"].get("phase") == "Running" else None

    vip = wait_until(vip_running, timeout=60, interval=0.3, what="the high-priority pod Running")
    node = vip["spec"]["nodeName"]
    assert vip["status"].get("nominatedNodeName") == node

    # Exactly one filler went, from the node the preemptor now runs on.
    left = {name: p for name, p in pods(cluster).items() if name != "vip"}
    gone = sorted(set(FILLERS) - set(left))
    assert len(gone) == 1
    victim = fillers[gone[0]]
    assert victim["spec"]["nodeName"] == node
    assert sum(1 for p in left.values() if p["spec"]["nodeName"] == node) == 1

    uid = vip["metadata"]["uid"]
    preempted = wait_until(lambda: [e for e in events(cluster, "Preempted") if e["involvedObject"]["name"] == gone[0]],
                           timeout=20, what="the Preempted event")
    assert preempted[0]["type"] == "Normal"
    assert preempted[0]["message"] == f"Preempted by pod {uid} on node {node}"
    assert preempted[0]["involvedObject"]["uid"] == victim["metadata"]["uid"]

    failed = [e for e in events(cluster, "FailedScheduling") if e["involvedObject"]["name"] == "vip"]
    assert failed and failed[0]["message"] == "0/2 nodes are available: 2 Insufficient cpu."
    scheduled = [e for e in events(cluster, "Scheduled") if e["involvedObject"]["name"] == "vip"]
    assert scheduled and scheduled[-1]["message"] == f"Successfully assigned default/vip to {node}"

    # The nomination shows in kubectl's wide output too.
    wide = cluster.kubectl("get", "pod", "vip", "-o", "wide").stdout.splitlines()
    header, row = wide[0].split(), wide[1].split()
    assert "NOMINATED" in header and row.count(node) == 2

    # A pod of the same priority as the fillers cannot preempt them.
    apply(cluster, pod_manifest("peer", "2"))
    peer_failed = wait_until(lambda: [e for e in events(cluster, "FailedScheduling") if e["involvedObject"]["name"] == "peer"],
                             timeout=20, what="the peer's FailedScheduling")
    assert peer_failed[0]["message"] == (
        "0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes are available: "
        "2 No preemption victims found for incoming pod.."
    )
    assert len(pods(cluster)) == len(FILLERS) + 1  # fillers left + vip + peer

    cluster.kubectl("delete", "pods", "-l", f"suite={SUITE}", "--wait=false")
    cluster.kubectl("delete", "priorityclass", priority_class)
