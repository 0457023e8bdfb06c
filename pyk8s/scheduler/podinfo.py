"""``PodInfo``: a pod dict plus the facts the scheduler derives from it once.

Parsing requests, host ports and affinity on every Filter call would cost
more than the checks themselves, so each pod is digested when it enters the
cache or the queue and the digest travels with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from pyk8s.scheduler import resources

HostPort = tuple[str, str, int]  # (hostIP, protocol, hostPort)
ANY_IP = "0.0.0.0"


def pod_key(pod: dict[str, Any]) -> str:
    meta = pod.get("metadata") or {}
    return meta.get("uid") or f"{meta.get('namespace', '')}/{meta.get('name', '')}"


def host_ports(pod: dict[str, Any]) -> list[HostPort]:
    out: list[HostPort] = []
    spec = pod.get("spec") or {}
    # Regular containers and restartable (sidecar) init containers keep their ports.
    sidecars = [c for c in spec.get("initContainers") or () if c.get("restartPolicy") == "Always"]
    for c in sidecars + (spec.get("containers") or []):
        for p in c.get("ports") or ():
            hp = p.get("hostPort") or 0
            if hp > 0:
                out.append((p.get("hostIP") or ANY_IP, p.get("protocol") or "TCP", int(hp)))
    return out


def _affinity(pod: dict[str, Any]) -> dict[str, Any]:
    return (pod.get("spec") or {}).get("affinity") or {}


@dataclass(slots=True)
class PodInfo:
    pod: dict[str, Any]
    key: str = ""
    namespace: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    requests: resources.Resources = field(default_factory=dict)
    non_zero_cpu: int = 0
    non_zero_memory: int = 0
    ports: list[HostPort] = field(default_factory=list)
    has_affinity: bool = False
    has_required_anti_affinity: bool = False
    priority: int = 0
    # Plugins may memoise parsed forms of this pod here (keyed by plugin name).
    parsed: dict[str, Any] = field(default_factory=dict)
    # Hashable (namespace, labels) identity: selectors' verdicts are memoised on it.
    label_key: tuple[str, tuple[tuple[str, str], ...]] = ("", ())
    # Hashable (namespace, pod (anti-)affinity) identity, None without one: pods from one
    # template share it, so their parsed terms (and the terms' memos) are shared too.
    affinity_key: tuple[str, bytes] | None = None

    @classmethod
    def of(cls, pod: dict[str, Any]) -> PodInfo:
        meta = pod.get("metadata") or {}
        aff = _affinity(pod)
        cpu, mem = resources.non_zero_requests(pod)
        anti = aff.get("podAntiAffinity") or {}
        namespace = meta.get("namespace") or "default"
        labels = meta.get("labels") or {}
        pod_aff = aff.get("podAffinity")
        affinity_key = None
        if pod_aff or anti:
            affinity_key = (namespace, orjson.dumps({"a": pod_aff, "n": anti}, option=orjson.OPT_SORT_KEYS))
        return cls(
            pod=pod,
            key=pod_key(pod),
            namespace=namespace,
            labels=labels,
            label_key=(namespace, tuple(sorted(labels.items()))),
            requests=resources.pod_requests(pod),
            non_zero_cpu=cpu,
            non_zero_memory=mem,
            ports=host_ports(pod),
            has_affinity=bool(pod_aff or anti),
            affinity_key=affinity_key,
            has_required_anti_affinity=bool(anti.get("requiredDuringSchedulingIgnoredDuringExecution")),
            priority=int((pod.get("spec") or {}).get("priority") or 0),
        )

    def same_digest(self, other: PodInfo) -> bool:
        """Whether ``other`` (a newer version of this pod) is accounted and matched exactly like this one.

        Status-only updates (the kubelet reporting Running, a binding
        confirming an assumed pod) keep the digest: the cache then swaps the
        pod dict in place instead of re-accounting the node, so its snapshot
        clone stays valid.
        """
        return (
            self.key == other.key
            and self.node_name == other.node_name
            and self.label_key == other.label_key
            and self.requests == other.requests
            and self.non_zero_cpu == other.non_zero_cpu
            and self.non_zero_memory == other.non_zero_memory
            and self.ports == other.ports
            and self.affinity_key == other.affinity_key
            and self.priority == other.priority
            and self.terminating == other.terminating
        )

    @property
    def terminating(self) -> bool:
        return bool((self.pod.get("metadata") or {}).get("deletionTimestamp"))

    @property
    def node_name(self) -> str:
        return (self.pod.get("spec") or {}).get("nodeName") or ""
