"""PodTopologySpread: keep matching pods spread across topology domains.

For each ``DoNotSchedule`` constraint, PreFilter counts matching pods (same
namespace, selector incl. ``matchLabelKeys``, not terminating) per domain
over the nodes the pod could use (its nodeSelector/required node affinity,
``nodeAffinityPolicy: Honor``); Filter allows a node when
``count(domain) + self - min(count) <= maxSkew``, where the minimum is 0 if
fewer than ``minDomains`` domains exist.  ``ScheduleAnyway`` constraints
only score: fewer matching pods in a node's domains is better.  Cluster-level
default constraints (upstream's system defaults for Service/ReplicaSet
owners) are not applied: pods without constraints are skipped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from pyk8s.machinery import labels as sel
from pyk8s.scheduler.cache import NodeInfo
from pyk8s.scheduler.framework import interface as fw
from pyk8s.scheduler.plugins import nodeaffinity
from pyk8s.scheduler.podinfo import PodInfo

NAME = "PodTopologySpread"
REASON = "node(s) didn't match pod topology spread constraints"
REASON_MISSING_LABEL = REASON + " (missing required label)"


@dataclass(frozen=True, slots=True)
class Constraint:
    max_skew: int
    topology_key: str
    selector: sel.Selector
    min_domains: int
    self_match: int


def constraints(info: PodInfo, action: str) -> list[Constraint]:
    out: list[Constraint] = []
    for c in (info.pod.get("spec") or {}).get("topologySpreadConstraints") or ():
        if c.get("whenUnsatisfiable", "DoNotSchedule") != action:
            continue
        raw = dict(c.get("labelSelector") or {})
        keys = [k for k in c.get("matchLabelKeys") or () if k in info.labels]
        if keys:
            exprs = list(raw.get("matchExpressions") or [])
            exprs += [{"key": k, "operator": "In", "values": [info.labels[k]]} for k in keys]
            raw["matchExpressions"] = exprs
        try:
            selector = sel.from_label_selector(raw if c.get("labelSelector") is not None or keys else None)
        except sel.SelectorError:
            continue
        out.append(Constraint(
            max_skew=int(c.get("maxSkew") or 1),
            topology_key=c.get("topologyKey", ""),
            selector=selector,
            min_domains=int(c.get("minDomains") or 1),
            self_match=1 if selector.matches(info.labels) else 0,
        ))
    return out


def _counts(info: PodInfo, cons: list[Constraint], nodes: Sequence[NodeInfo]) -> dict[tuple[str, str], int]:
    counts: dict[tuple[str, str], int] = {}
    keys = [c.topology_key for c in cons]
    for node in nodes:
        labels = node.labels
        if any(k not in labels for k in keys):
            continue
        if not nodeaffinity.pod_matches_node(info.pod, labels, node.name):
            continue
        for c in cons:
            domain = (c.topology_key, labels[c.topology_key])
            n = sum(1 for p in node.pods if _counts_for(p, info, c))
            counts[domain] = counts.get(domain, 0) + n
    return counts


def _counts_for(p: PodInfo, info: PodInfo, c: Constraint) -> bool:
    if p.namespace != info.namespace or (p.pod.get("metadata") or {}).get("deletionTimestamp"):
        return False
    return c.selector.matches(p.labels)


def _minimum(c: Constraint, counts: dict[tuple[str, str], int]) -> int:
    values = [n for (k, _), n in counts.items() if k == c.topology_key]
    return 0 if len(values) < c.min_domains or not values else min(values)


@dataclass(slots=True)
class _State:
    constraints: list[Constraint]
    counts: dict[tuple[str, str], int]
    minimum: list[int]

    def clone(self) -> _State:
        return _State(self.constraints, dict(self.counts), list(self.minimum))


class PodTopologySpread:
    name = NAME

    def pre_filter(
        self, state: fw.CycleState, pod: fw.Pod, nodes: Sequence[NodeInfo]
    ) -> tuple[fw.PreFilterResult | None, fw.Status | None]:
        info = state.pod_info or PodInfo.of(pod)
        cons = constraints(info, "DoNotSchedule")
        if not cons:
            return None, fw.Status.skip()
        counts = _counts(info, cons, nodes)
        state.write(NAME, _State(cons, counts, [_minimum(c, counts) for c in cons]))
        return None, None

    # PreFilter extensions: the preemption dry run adds and removes pods on a node copy.
    def pre_filter_add_pod(self, state: fw.CycleState, pod: fw.Pod, added: PodInfo, node_info: NodeInfo) -> fw.Status | None:
        self._update(state, added, node_info, 1)
        return None

    def pre_filter_remove_pod(self, state: fw.CycleState, pod: fw.Pod, removed: PodInfo, node_info: NodeInfo) -> fw.Status | None:
        self._update(state, removed, node_info, -1)
        return None

    @staticmethod
    def _update(state: fw.CycleState, other: PodInfo, node_info: NodeInfo, sign: int) -> None:
        s: _State | None = state.get(NAME)
        info = state.pod_info
        if s is None or info is None:
            return
        labels = node_info.labels
        if any(c.topology_key not in labels for c in s.constraints):
            return
        if not nodeaffinity.pod_matches_node(info.pod, labels, node_info.name):
            return
        for i, c in enumerate(s.constraints):
            if _counts_for(other, info, c):
                domain = (c.topology_key, labels[c.topology_key])
                s.counts[domain] = s.counts.get(domain, 0) + sign
                s.minimum[i] = _minimum(c, s.counts)

    def filter(self, state: fw.CycleState, pod: fw.Pod, node_info: NodeInfo) -> fw.Status | None:
        s: _State = state.read(NAME)
        for c, low in zip(s.constraints, s.minimum, strict=True):
            value = node_info.labels.get(c.topology_key)
            if value is None:
                return fw.Status.unschedulable(REASON_MISSING_LABEL, unresolvable=True)
            skew = s.counts.get((c.topology_key, value), 0) + c.self_match - low
            if skew > c.max_skew:
                return fw.Status.unschedulable(REASON)
        return None

    def pre_score(self, state: fw.CycleState, pod: fw.Pod, nodes: Sequence[NodeInfo]) -> fw.Status | None:
        info = state.pod_info or PodInfo.of(pod)
        cons = constraints(info, "ScheduleAnyway")
        if not cons:
            return fw.Status.skip()
        all_nodes = state.snapshot.node_infos if state.snapshot is not None else nodes
        counts = _counts(info, cons, all_nodes)
        weights = {}
        for c in cons:
            domains = sum(1 for (k, _) in counts if k == c.topology_key)
            weights[c.topology_key] = math.log(domains + 2)
        state.write(NAME + "/score", (cons, counts, weights))
        return None

    def score(self, state: fw.CycleState, pod: fw.Pod, node_info: NodeInfo) -> int:
        cons, counts, weights = state.read(NAME + "/score")
        total = 0.0
        for c in cons:
            value = node_info.labels.get(c.topology_key)
            if value is None:
                return -1  # ignored node: lowest score after normalisation
            total += (counts.get((c.topology_key, value), 0) + c.self_match) * weights[c.topology_key]
        return round(total)

    def normalize_scores(self, state: fw.CycleState, pod: fw.Pod, scores: dict[str, int]) -> None:
        valid = [v for v in scores.values() if v >= 0]
        high, low = max(valid, default=0), min(valid, default=0)
        for k, v in scores.items():
            if v < 0:
                scores[k] = 0
            elif high == 0:
                scores[k] = fw.MAX_NODE_SCORE
            else:
                scores[k] = fw.MAX_NODE_SCORE * (high + low - v) // high

    def events_to_register(self) -> list[fw.ClusterEvent]:
        return [
            fw.ClusterEvent(fw.EventResource.ASSIGNED_POD, fw.ActionType.ADD | fw.ActionType.DELETE | fw.ActionType.UPDATE_POD_LABEL),
            fw.ClusterEvent(fw.EventResource.NODE, fw.ActionType.ADD | fw.ActionType.DELETE | fw.ActionType.UPDATE_NODE_LABEL),
        ]
