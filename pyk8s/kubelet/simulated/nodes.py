"""Simulated Node objects: what a kubelet registers and reports.

``NodeTemplate`` is the shape every simulated node shares (capacity, labels,
roles, taints); ``SimNode`` is one node's mutable state in the agent (IP,
uid, pod CIDR once the API server tells us one, stopped or not).
``describe`` turns both into the ``NodeDescription`` the shared
``pyk8s.kubelet.nodestatus`` registers and reports, as for a real node.
Node IPs come from 172.16.0.0/12 by index, so they are stable across agent
restarts for the same prefix and count.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from pyk8s.kubelet.nodestatus import NodeDescription, default_labels

Obj = dict[str, Any]

KUBELET_VERSION = "v1.32.0"
SIMULATED_ANNOTATION = "sim.pyk8s.io/simulated"
NODE_IP_BASE = int(ipaddress.IPv4Address("172.16.0.0"))
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")


@dataclass(frozen=True)
class NodeTemplate:
    cpu: str = "4"
    memory: str = "8Gi"
    pods: int = 110
    labels: dict[str, str] = field(default_factory=dict)
    taints: tuple[Obj, ...] = ()
    roles: tuple[str, ...] = ()
    kubelet_version: str = KUBELET_VERSION


@dataclass
class SimNode:
    name: str
    index: int
    ip: str
    uid: str = ""
    pod_cidr: str = ""
    cidr_checked: float = float("-inf")  # monotonic time the podCIDR was last read from the API
    stopped: bool = False


def node_ip(index: int) -> str:
    """172.16.0.2, 172.16.0.3, ... (one address per node index)."""
    return str(ipaddress.IPv4Address(NODE_IP_BASE + 2 + index))


def parse_taints(text: str) -> tuple[Obj, ...]:
    """``key=value:Effect,key:Effect`` as kubectl taint writes them."""
    taints: list[Obj] = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        spec, sep, effect = item.rpartition(":")
        if not sep or effect not in TAINT_EFFECTS or not spec:
            raise ValueError(f"invalid taint {item!r}: want key[=value]:{'|'.join(TAINT_EFFECTS)}")
        key, _, value = spec.partition("=")
        taint: Obj = {"key": key, "effect": effect}
        if value:
            taint["value"] = value
        taints.append(taint)
    return tuple(taints)


def parse_labels(text: str) -> dict[str, str]:
    labels: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"invalid label {item!r}: want key=value")
        labels[key] = value
    return labels


def node_labels(name: str, template: NodeTemplate) -> dict[str, str]:
    labels = {**default_labels(name), "type": "simulated"}
    for role in template.roles:
        labels[f"node-role.kubernetes.io/{role}"] = ""
    labels.update(template.labels)
    return labels


def describe(node: SimNode, template: NodeTemplate) -> NodeDescription:
    """What a simulated kubelet reports about its node (the Node itself is ``nodestatus``'s)."""
    resources = {"cpu": template.cpu, "memory": template.memory, "pods": str(template.pods),
                 "ephemeral-storage": "100Gi", "hugepages-1Gi": "0", "hugepages-2Mi": "0"}
    info = {"machineID": f"sim-{node.index:08d}", "systemUUID": f"sim-{node.index:08d}",
            "bootID": f"sim-boot-{node.index:08d}", "kernelVersion": "6.1.0-simulated",
            "osImage": "pyk8s simulated node", "containerRuntimeVersion": "sim://1.0.0",
            "kubeletVersion": template.kubelet_version, "kubeProxyVersion": template.kubelet_version,
            "operatingSystem": "linux", "architecture": "amd64"}
    return NodeDescription(
        name=node.name, addresses=(("InternalIP", node.ip), ("Hostname", node.name)),
        capacity=resources, allocatable=resources, node_info=info, labels=node_labels(node.name, template),
        annotations={"node.alpha.kubernetes.io/ttl": "0", SIMULATED_ANNOTATION: "true"},
        taints=template.taints)
