"""Simulated Node objects: what a kubelet registers and reports.

``NodeTemplate`` is the shape every simulated node shares (capacity, labels,
roles, taints); ``SimNode`` is one node's mutable state in the agent (IP,
uid, pod CIDR once the API server tells us one, stopped or not, and the
transition time of its Ready condition).  ``node_object`` builds the Node
sent at registration; ``node_status`` the status reported at registration
and at each heartbeat.  Node IPs come from 172.16.0.0/12 by index, so they
are stable across agent restarts for the same prefix and count.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass, field
from typing import Any

Obj = dict[str, Any]

KUBELET_VERSION = "v1.32.0"
KUBELET_PORT = 10250
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
    ready_since: str = ""


def format_time(t: datetime.datetime) -> str:
    return t.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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
    labels = {"kubernetes.io/arch": "amd64", "kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
              "beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux", "type": "simulated"}
    for role in template.roles:
        labels[f"node-role.kubernetes.io/{role}"] = ""
    labels.update(template.labels)
    return labels


def node_object(node: SimNode, template: NodeTemplate, now: datetime.datetime) -> Obj:
    """The Node a simulated kubelet registers (status included: nodes accept status on create)."""
    spec: Obj = {}
    if template.taints:
        spec["taints"] = [dict(t) for t in template.taints]
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": node.name, "labels": node_labels(node.name, template),
                         "annotations": {"node.alpha.kubernetes.io/ttl": "0",
                                         "sim.pyk8s.io/simulated": "true"}},
            "spec": spec, "status": node_status(node, template, now)}


def _condition(kind: str, status: str, reason: str, message: str, heartbeat: str, transition: str) -> Obj:
    return {"type": kind, "status": status, "lastHeartbeatTime": heartbeat, "lastTransitionTime": transition,
            "reason": reason, "message": message}


def node_conditions(node: SimNode, now: datetime.datetime) -> list[Obj]:
    """The four kubelet conditions, all healthy (a stopped node simply stops reporting)."""
    beat = format_time(now)
    since = node.ready_since or beat
    node.ready_since = since
    return [
        _condition("MemoryPressure", "False", "KubeletHasSufficientMemory",
                   "kubelet has sufficient memory available", beat, since),
        _condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure", beat, since),
        _condition("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available",
                   beat, since),
        _condition("Ready", "True", "KubeletReady", "kubelet is posting ready status", beat, since),
    ]


def node_status(node: SimNode, template: NodeTemplate, now: datetime.datetime) -> Obj:
    resources = {"cpu": template.cpu, "memory": template.memory, "pods": str(template.pods),
                 "ephemeral-storage": "100Gi", "hugepages-1Gi": "0", "hugepages-2Mi": "0"}
    return {
        "capacity": dict(resources),
        "allocatable": dict(resources),
        "conditions": node_conditions(node, now),
        "addresses": [{"type": "InternalIP", "address": node.ip}, {"type": "Hostname", "address": node.name}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": KUBELET_PORT}},
        "nodeInfo": {"machineID": f"sim-{node.index:08d}", "systemUUID": f"sim-{node.index:08d}",
                     "bootID": f"sim-boot-{node.index:08d}", "kernelVersion": "6.1.0-simulated",
                     "osImage": "pyk8s simulated node", "containerRuntimeVersion": "sim://1.0.0",
                     "kubeletVersion": template.kubelet_version, "kubeProxyVersion": template.kubelet_version,
                     "operatingSystem": "linux", "architecture": "amd64"},
    }
