"""Node-pressure eviction on a node of its own, under memory pressure by configuration.

This module starts a second kubelet, ``pressure-node``, in a network
namespace of its own against the shared control plane, with
``--eviction-hard=memory.available<X`` where X is twice the machine's
MemTotal: available memory is always below it, so the node is under memory
pressure without a byte of memory used for it.  Then, as upstream:

* the Node reports MemoryPressure True (``KubeletHasInsufficientMemory``),
  and the node lifecycle controller taints it
  ``node.kubernetes.io/memory-pressure:NoSchedule``;
* a BestEffort pod bound to it is refused by the eviction admit handler:
  Failed, reason Evicted, "Pod was rejected: The node had condition: [MemoryPressure]. ";
* a Burstable pod (admitted under memory pressure alone) runs and is then
  evicted by the eviction manager with upstream's message ("The node was low
  on resource: memory. Threshold quantity: ..., available: ...Ki. Container
  c was using ...Ki, request is 1, has larger consumption of memory. "), an
  Evicted event and the DisruptionTarget condition; the Node gets an
  EvictionThresholdMet event.

The node is cordoned (only pods naming it run there) and deleted at the end.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest

from pyk8s.machinery import quantity
from pyk8s.testing.kubelet import KubeletProcess
from tests.e2e.helpers import wait_until
from tests.e2e.kubelet.conftest import Cluster
from tests.e2e.kubelet.podkit import extra_node

NODE = "pressure-node"
NS = "kubelet-pressure"
IMAGE = "busybox:1.36"


def threshold() -> str:
    """Twice the machine's memory, in Mi: ``memory.available`` is always below it."""
    with open("/proc/meminfo") as f:
        total_kib = next(int(line.split()[1]) for line in f if line.startswith("MemTotal:"))
    return quantity.canonicalize(f"{2 * total_kib // 1024 + 1}Mi")


@pytest.fixture(scope="module")
def pressure_node(cluster: Cluster) -> Iterator[KubeletProcess]:
    yield from extra_node(cluster, NODE, NS, (f"--eviction-hard=memory.available<{threshold()}", "--registry-port=5000"))


def pod(name: str, requests: dict[str, str] | None = None) -> str:
    container: dict[str, object] = {"name": "c", "image": IMAGE, "imagePullPolicy": "IfNotPresent",
                                    "command": ["sleep", "3600"]}
    if requests:
        container["resources"] = {"requests": requests}
    return json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": NS},
                       "spec": {"nodeName": NODE, "terminationGracePeriodSeconds": 1, "containers": [container]}})


def condition(cluster: Cluster, kind: str) -> str:
    path = f'{{.status.conditions[?(@.type=="{kind}")].status}}'
    return str(cluster.kubectl("get", "node", NODE, "-o", f"jsonpath={path}").stdout).strip()


def pod_status(cluster: Cluster, name: str) -> dict[str, str]:
    out = cluster.kubectl("-n", NS, "get", "pod", name, "-o", "json").stdout
    status = json.loads(out).get("status") or {}
    return {k: str(status.get(k, "")) for k in ("phase", "reason", "message")}


def test_memory_pressure_condition_taint_admission_and_eviction(cluster: Cluster,
                                                                pressure_node: KubeletProcess) -> None:
    wait_until(lambda: condition(cluster, "MemoryPressure") == "True", timeout=120, interval=1,
               what="MemoryPressure True")
    assert condition(cluster, "DiskPressure") == "False"  # only memory.available is configured
    described = cluster.kubectl("describe", "node", NODE).stdout
    assert re.search(r"MemoryPressure\s+True\s.*KubeletHasInsufficientMemory\s+kubelet has insufficient memory "
                     r"available", described), described
    wait_until(lambda: "node.kubernetes.io/memory-pressure" in cluster.kubectl(
        "get", "node", NODE, "-o", "jsonpath={.spec.taints[*].key}").stdout, timeout=60, interval=1,
        what="the memory-pressure taint")

    # BestEffort: refused at admission, nothing started.
    cluster.kubectl("apply", "-f", "-", input=pod("besteffort"))
    wait_until(lambda: pod_status(cluster, "besteffort")["phase"] == "Failed", timeout=60, interval=0.5,
               what="BestEffort pod refused")
    assert pod_status(cluster, "besteffort") == {
        "phase": "Failed", "reason": "Evicted",
        "message": "Pod was rejected: The node had condition: [MemoryPressure]. "}
    listed = cluster.kubectl("-n", NS, "get", "pod", "besteffort").stdout
    assert re.search(r"besteffort\s+0/1\s+Evicted\s", listed), listed

    # Burstable: admitted under memory pressure alone, then evicted as the pod using more than it requests.
    cluster.kubectl("apply", "-f", "-", input=pod("burstable", {"memory": "1"}))
    wait_until(lambda: pod_status(cluster, "burstable")["reason"] == "Evicted", timeout=90, interval=0.5,
               what="Burstable pod evicted")
    status = pod_status(cluster, "burstable")
    assert status["phase"] == "Failed", status
    expected = (rf"The node was low on resource: memory\. Threshold quantity: {re.escape(threshold())}, "
                r"available: \d+[KMG]i\. Container c was using \d+([KMG]i)?, request is 1, "
                r"has larger consumption of memory\. $")
    assert re.fullmatch(expected, status["message"]), status
    events = cluster.kubectl("-n", NS, "get", "events", "--field-selector", "involvedObject.name=burstable",
                             "-o", "jsonpath={range .items[*]}{.type} {.reason}: {.message}{'\\n'}{end}").stdout
    assert f"Warning Evicted: {status['message']}" in events, events
    path = '{.status.conditions[?(@.type=="DisruptionTarget")].reason}'
    assert cluster.kubectl("-n", NS, "get", "pod", "burstable", "-o", f"jsonpath={path}").stdout == \
        "TerminationByKubelet"
    node_events = cluster.kubectl("get", "events", "-A", "--field-selector",
                                  f"involvedObject.kind=Node,involvedObject.name={NODE},reason=EvictionThresholdMet",
                                  "-o", "jsonpath={.items[*].message}").stdout
    assert "Attempting to reclaim memory" in node_events, node_events
