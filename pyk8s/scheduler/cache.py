"""The scheduler cache: what every node holds, including pods still being bound.

``NodeInfo`` aggregates one node: its pods, the resources they request
(with a ``pods`` count), the host ports they use and the node's images.  The
``Cache`` keeps one per node, fed by node and assigned-pod events, plus
*assumed* pods: a pod is assumed onto a node the moment the scheduler
reserves it there, so the next cycle already sees the space taken while the
binding is still in flight; the binding's success confirms it
(``finish_binding``, then the informer's add event), failure ``forget``s it.
Assumed pods whose confirmation never arrives expire after ``assumed_ttl``
seconds (0 = never, upstream's current default).

Each cycle works on a ``Snapshot``.  Rebuilding 5,000 NodeInfos per pod
would dominate the cycle, so, as upstream, every NodeInfo carries a
generation and ``update_snapshot`` clones only the ones that changed since
the previous snapshot.

The snapshot also groups every pod by what inter-pod affinity looks at
(``by_labels``: namespace and labels; ``by_affinity``: the pod's own
affinity terms), with a count per node.  Pods of one Deployment are
interchangeable there, so InterPodAffinity evaluates a term once per group
and adds the per-node counts, instead of once per pod (upstream walks every
pod, in parallel goroutines; one Python thread cannot).  The groups are
kept up to date from the same diff as the clones.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pyk8s.scheduler import resources
from pyk8s.scheduler.podinfo import ANY_IP, HostPort, PodInfo, pod_key
from pyk8s.util.clock import REAL_CLOCK, Clock

_generation = itertools.count(1)


def normalized_image_name(name: str) -> str:
    """Images without a tag or digest mean ``:latest`` (as ImageLocality compares them)."""
    last = name.rsplit("/", 1)[-1]
    if ":" in last or "@" in name:
        return name
    return name + ":latest"


@dataclass(slots=True)
class NodeInfo:
    node: dict[str, Any]
    name: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    taints: list[dict[str, Any]] = field(default_factory=list)
    unschedulable: bool = False  # spec.unschedulable (cordoned)
    allocatable: resources.Resources = field(default_factory=dict)
    pods: list[PodInfo] = field(default_factory=list)
    pods_with_affinity: list[PodInfo] = field(default_factory=list)
    pods_with_required_anti_affinity: list[PodInfo] = field(default_factory=list)
    requested: resources.Resources = field(default_factory=dict)
    non_zero_cpu: int = 0
    non_zero_memory: int = 0
    used_ports: set[HostPort] = field(default_factory=set)
    images: dict[str, int] = field(default_factory=dict)  # normalized name -> size bytes
    generation: int = 0

    @classmethod
    def of(cls, node: dict[str, Any] | None, name: str = "") -> NodeInfo:
        info = cls(node={})
        info.set_node(node or {"metadata": {"name": name}})
        return info

    def set_node(self, node: dict[str, Any]) -> None:
        meta = node.get("metadata") or {}
        spec = node.get("spec") or {}
        status = node.get("status") or {}
        self.node = node
        self.name = meta.get("name", "")
        self.labels = meta.get("labels") or {}
        self.taints = spec.get("taints") or []
        self.unschedulable = bool(spec.get("unschedulable"))
        self.allocatable = resources.to_resources(status.get("allocatable"))
        self.images = {}
        for image in status.get("images") or ():
            for n in image.get("names") or ():
                self.images[normalized_image_name(n)] = int(image.get("sizeBytes") or 0)
        self.generation = next(_generation)

    def add_pod(self, info: PodInfo) -> None:
        self.pods.append(info)
        if info.has_affinity:
            self.pods_with_affinity.append(info)
        if info.has_required_anti_affinity:
            self.pods_with_required_anti_affinity.append(info)
        self._account(info, 1)

    def remove_pod(self, key: str) -> bool:
        for i, p in enumerate(self.pods):
            if p.key == key:
                del self.pods[i]
                self.pods_with_affinity = [q for q in self.pods_with_affinity if q.key != key]
                self.pods_with_required_anti_affinity = [q for q in self.pods_with_required_anti_affinity if q.key != key]
                self._account(p, -1)
                return True
        return False

    def _account(self, info: PodInfo, sign: int) -> None:
        req = self.requested
        for k, v in info.requests.items():
            req[k] = req.get(k, 0) + sign * v
        req[resources.PODS] = req.get(resources.PODS, 0) + sign
        self.non_zero_cpu += sign * info.non_zero_cpu
        self.non_zero_memory += sign * info.non_zero_memory
        if sign > 0:
            self.used_ports.update(info.ports)
        elif info.ports:
            self.used_ports = {p for q in self.pods for p in q.ports}
        self.generation = next(_generation)

    def port_conflicts(self, wanted: list[HostPort]) -> bool:
        for ip, proto, port in wanted:
            for uip, uproto, uport in self.used_ports:
                if uport == port and uproto == proto and (ip == ANY_IP or uip == ANY_IP or ip == uip):
                    return True
        return False

    def clone(self) -> NodeInfo:
        return NodeInfo(
            node=self.node,
            name=self.name,
            labels=self.labels,
            taints=self.taints,
            unschedulable=self.unschedulable,
            allocatable=self.allocatable,
            pods=list(self.pods),
            pods_with_affinity=list(self.pods_with_affinity),
            pods_with_required_anti_affinity=list(self.pods_with_required_anti_affinity),
            requested=dict(self.requested),
            non_zero_cpu=self.non_zero_cpu,
            non_zero_memory=self.non_zero_memory,
            used_ports=set(self.used_ports),
            images=self.images,
            generation=self.generation,
        )


@dataclass(slots=True)
class PodGroup:
    """Pods that are interchangeable for affinity matching, and how many of them each node holds.

    ``rep`` is any one of them (it may since have left; only its namespace,
    labels and affinity are read, which every member shares).  ``domains``
    holds, per topology key asked for so far, the pod count per value of
    that node label; it is kept up to date with ``nodes`` from then on.
    """

    rep: PodInfo
    nodes: dict[str, int] = field(default_factory=dict)
    domains: dict[str, dict[str, int]] = field(default_factory=dict)

    def domain_counts(self, key: str, by_name: Mapping[str, NodeInfo]) -> dict[str, int]:
        """Pods of the group per value of node label ``key`` (nodes without it are left out)."""
        counts = self.domains.get(key)
        if counts is None:
            counts = self.domains[key] = {}
            for name, n in self.nodes.items():
                node = by_name.get(name)
                value = node.labels.get(key) if node is not None else None
                if value is not None:
                    counts[value] = counts.get(value, 0) + n
        return counts


PodGroups = dict[Any, PodGroup]


def _count_pods(groups: PodGroups, key: Any, info: PodInfo, node: NodeInfo, sign: int) -> None:
    group = groups.get(key)
    if group is None:
        if sign < 0:
            return
        group = groups[key] = PodGroup(info)
    n = group.nodes.get(node.name, 0) + sign
    if n > 0:
        group.nodes[node.name] = n
    else:
        group.nodes.pop(node.name, None)
        if not group.nodes:
            del groups[key]
            return
    for topology_key, counts in group.domains.items():
        value = node.labels.get(topology_key)
        if value is not None:
            left = counts.get(value, 0) + sign
            if left > 0:
                counts[value] = left
            else:
                counts.pop(value, None)


def regroup_pods(snap: Snapshot, old: NodeInfo, new: NodeInfo) -> None:
    """Move the snapshot's pod groups from ``old`` to ``new`` (two clones of one node).

    Clones share PodInfo objects, so only pods that came or went are counted;
    a relabelled node is counted out and in again in full.
    """
    if old.labels is not new.labels and old.labels != new.labels:
        group_pods(snap, old, -1)
        group_pods(snap, new, 1)
        return
    by_labels, by_affinity = snap.by_labels, snap.by_affinity
    old_ids, new_ids = set(map(id, old.pods)), set(map(id, new.pods))
    for pods, others, sign, node in ((old.pods, new_ids, -1, old), (new.pods, old_ids, 1, new)):
        for p in pods:
            if id(p) not in others:
                _count_pods(by_labels, p.label_key, p, node, sign)
                if p.affinity_key is not None:
                    _count_pods(by_affinity, p.affinity_key, p, node, sign)


def group_pods(snap: Snapshot, node: NodeInfo, sign: int) -> None:
    """Add (sign 1) or take away (-1) the pods of ``node`` (as cloned into the snapshot) in its pod groups."""
    by_labels, by_affinity = snap.by_labels, snap.by_affinity
    for p in node.pods:
        _count_pods(by_labels, p.label_key, p, node, sign)
        if p.affinity_key is not None:
            _count_pods(by_affinity, p.affinity_key, p, node, sign)


@dataclass(slots=True)
class Snapshot:
    """A consistent view of every node for one cycle (``node_infos`` in a stable order)."""

    node_infos: list[NodeInfo] = field(default_factory=list)
    by_name: dict[str, NodeInfo] = field(default_factory=dict)
    image_nodes: dict[str, int] = field(default_factory=dict)  # image -> number of nodes holding it
    position: dict[str, int] = field(default_factory=dict)
    by_labels: PodGroups = field(default_factory=dict)  # label_key -> pods with those labels
    by_affinity: PodGroups = field(default_factory=dict)  # affinity_key -> pods with those terms
    generation: int = -1

    def get(self, name: str) -> NodeInfo | None:
        return self.by_name.get(name)

    # Computed on demand: rebuilding them every cycle cost ~0.8 ms at 5,000 nodes,
    # and the hot path only asks whether any exist (``by_affinity`` answers that).
    @property
    def with_affinity(self) -> list[NodeInfo]:
        return [i for i in self.node_infos if i.pods_with_affinity]

    @property
    def with_required_anti_affinity(self) -> list[NodeInfo]:
        return [i for i in self.node_infos if i.pods_with_required_anti_affinity]


@dataclass(slots=True)
class _PodState:
    info: PodInfo
    node_name: str
    deadline: float | None = None
    binding_finished: bool = False


class Cache:
    def __init__(self, *, clock: Clock = REAL_CLOCK, assumed_ttl: float = 0.0) -> None:
        self._clock = clock
        self._ttl = assumed_ttl
        self._nodes: dict[str, NodeInfo] = {}
        self._pods: dict[str, _PodState] = {}
        self._assumed: set[str] = set()
        self._changed = 0  # bumped on any change that alters the node list or images
        self._dirty: set[str] = set()  # nodes touched since the last snapshot

    # -- nodes -------------------------------------------------------------
    def add_node(self, node: dict[str, Any]) -> NodeInfo:
        name = (node.get("metadata") or {}).get("name", "")
        info = self._nodes.get(name)
        if info is None or not info.node:
            if info is None:
                info = self._nodes[name] = NodeInfo.of(node)
            else:
                info.set_node(node)
            self._changed += 1
        else:
            old_images = info.images
            info.set_node(node)
            if info.images != old_images:
                self._changed += 1  # image spread counts must be recomputed
        self._dirty.add(name)
        return info

    update_node = add_node

    def remove_node(self, name: str) -> None:
        info = self._nodes.get(name)
        if info is None:
            return
        if info.pods:
            # Pods still point at a deleted node; keep them accounted on a
            # placeholder until their own delete events arrive (as upstream).
            info.set_node({"metadata": {"name": name}})
            info.node = {}
        else:
            del self._nodes[name]
        self._changed += 1

    def node_count(self) -> int:
        return sum(1 for n in self._nodes.values() if n.node)

    def node_info(self, name: str) -> NodeInfo | None:
        return self._nodes.get(name)

    # -- pods --------------------------------------------------------------
    def _place(self, info: PodInfo, node_name: str) -> None:
        node = self._nodes.get(node_name)
        if node is None:
            node = self._nodes[node_name] = NodeInfo.of(None, node_name)
            node.node = {}
        node.add_pod(info)
        self._dirty.add(node_name)

    def _unplace(self, key: str, node_name: str) -> None:
        node = self._nodes.get(node_name)
        if node is not None:
            node.remove_pod(key)
            self._dirty.add(node_name)
            if not node.node and not node.pods:
                del self._nodes[node_name]
                self._changed += 1

    def assume_pod(self, pod: dict[str, Any], info: PodInfo | None = None) -> None:
        """Account ``pod`` (its ``spec.nodeName`` already set) before the binding lands.

        ``info``, the digest of the same pod before its nodeName was set, saves digesting it again.
        """
        key = pod_key(pod)
        if key in self._pods:
            raise ValueError(f"pod {key} is in the cache, so can't be assumed")
        info = dataclasses.replace(info, pod=pod) if info is not None else PodInfo.of(pod)
        self._place(info, info.node_name)
        self._pods[key] = _PodState(info, info.node_name)
        self._assumed.add(key)

    def finish_binding(self, pod: dict[str, Any]) -> None:
        state = self._pods.get(pod_key(pod))
        if state is not None and pod_key(pod) in self._assumed:
            state.binding_finished = True
            if self._ttl > 0:
                state.deadline = self._clock.monotonic() + self._ttl

    def forget_pod(self, pod: dict[str, Any]) -> None:
        key = pod_key(pod)
        state = self._pods.get(key)
        if state is None or key not in self._assumed:
            return
        self._unplace(key, state.node_name)
        del self._pods[key]
        self._assumed.discard(key)

    def is_assumed(self, pod: dict[str, Any]) -> bool:
        return pod_key(pod) in self._assumed

    def add_pod(self, pod: dict[str, Any]) -> None:
        """An assigned pod seen by the informer (confirms an assumed one)."""
        key = pod_key(pod)
        state = self._pods.get(key)
        info = PodInfo.of(pod)
        if state is not None and state.info.same_digest(info):
            # Same node, requests, labels...: only the dict changed (status, resourceVersion).
            # Swap it in place (snapshot clones share the PodInfo) and spare the node a
            # re-accounting, a new generation and a clone in the next cycle.
            state.info.pod = pod
            self._assumed.discard(key)
            state.binding_finished, state.deadline = False, None
            return
        if state is not None:
            self._unplace(key, state.node_name)
            self._assumed.discard(key)
        self._place(info, info.node_name)
        self._pods[key] = _PodState(info, info.node_name)

    update_pod = add_pod

    def remove_pod(self, pod: dict[str, Any]) -> None:
        key = pod_key(pod)
        state = self._pods.pop(key, None)
        if state is not None:
            self._unplace(key, state.node_name)
            self._assumed.discard(key)

    def cleanup_expired(self) -> list[str]:
        """Drop assumed pods whose binding finished but whose add event never came."""
        now = self._clock.monotonic()
        expired = [
            k for k in self._assumed
            if self._pods[k].binding_finished and (deadline := self._pods[k].deadline) is not None and deadline <= now
        ]
        for k in expired:
            state = self._pods.pop(k)
            self._unplace(k, state.node_name)
            self._assumed.discard(k)
        return expired

    # -- snapshots ---------------------------------------------------------
    def update_snapshot(self, snap: Snapshot) -> Snapshot:
        """Bring ``snap`` up to date, cloning only the NodeInfos touched since last time.

        A cache feeds one snapshot: the set of touched nodes is reset here.
        """
        rebuild = snap.generation != self._changed
        replaced: list[tuple[NodeInfo, NodeInfo]] = []
        for name in self._dirty:
            info = self._nodes.get(name)
            if info is None or not info.node:
                rebuild = True
                continue
            old = snap.by_name.get(name)
            if old is not None and old.generation == info.generation:
                continue
            clone = info.clone()
            snap.by_name[name] = clone
            pos = snap.position.get(name)
            if pos is None:
                rebuild = True
            else:
                snap.node_infos[pos] = clone
                if old is not None:
                    replaced.append((old, clone))
        self._dirty.clear()
        if rebuild:
            self._rebuild(snap)
        else:
            for old, clone in replaced:
                regroup_pods(snap, old, clone)
        return snap

    def _rebuild(self, snap: Snapshot) -> None:
        by_name: dict[str, NodeInfo] = {}
        for name, info in self._nodes.items():
            if not info.node:
                continue
            old = snap.by_name.get(name)
            by_name[name] = old if old is not None and old.generation == info.generation else info.clone()
        snap.by_name = by_name
        snap.node_infos = list(by_name.values())
        snap.position = {name: i for i, name in enumerate(by_name)}
        counts: dict[str, int] = {}
        for info in snap.node_infos:
            for image in info.images:
                counts[image] = counts.get(image, 0) + 1
        snap.image_nodes = counts
        snap.by_labels, snap.by_affinity = {}, {}
        for info in snap.node_infos:
            group_pods(snap, info, 1)
        snap.generation = self._changed
