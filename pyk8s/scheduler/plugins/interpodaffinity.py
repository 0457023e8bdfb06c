"""InterPodAffinity: required and preferred pod (anti-)affinity between pods, per topology domain.

PreFilter counts, per ``(topologyKey, value)`` domain:

* existing pods whose *required anti-affinity* selects the incoming pod
  (a node in such a domain is off limits: symmetry of anti-affinity);
* existing pods matching *all* the incoming pod's required affinity terms;
* existing pods matching each of its required anti-affinity terms.

Filter then only looks the node's labels up in those counts.  As upstream,
a pod whose affinity selects itself may land anywhere the topology exists
when no matching pod exists yet (the first pod of a group).  Namespaces
default to the pod's own; ``namespaceSelector`` needs namespace labels,
which an injected ``namespace_labels`` lookup provides.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pyk8s.machinery import labels as sel
from pyk8s.scheduler.cache import NodeInfo
from pyk8s.scheduler.framework import interface as fw
from pyk8s.scheduler.podinfo import PodInfo

NAME = "InterPodAffinity"
REASON_AFFINITY = "node(s) didn't match pod affinity rules"
REASON_ANTI_AFFINITY = "node(s) didn't match pod anti-affinity rules"
REASON_EXISTING_ANTI_AFFINITY = "node(s) didn't satisfy existing pods anti-affinity rules"
HARD_POD_AFFINITY_WEIGHT = 1

NamespaceLabels = Callable[[str], Mapping[str, str] | None]
Domain = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Term:
    selector: sel.Selector
    namespaces: frozenset[str]
    namespace_selector: sel.Selector | None
    topology_key: str
    weight: int = 0
    # Verdicts by (namespace, labels): thousands of pods share a few label sets.
    # Only terms without a namespaceSelector memoise, since namespace labels can change.
    _memo: dict[Any, bool] = field(default_factory=dict, compare=False, hash=False, repr=False)

    def matches(self, pod: PodInfo, ns_labels: NamespaceLabels) -> bool:
        if self.namespace_selector is None:
            hit = self._memo.get(pod.label_key)
            if hit is None:
                hit = self._memo[pod.label_key] = pod.namespace in self.namespaces and self.selector.matches(pod.labels)
                if len(self._memo) > 4096:
                    self._memo.clear()
            return hit
        if pod.namespace not in self.namespaces:
            if self.namespace_selector is None:
                return False
            if not self.namespace_selector.matches(ns_labels(pod.namespace) or {}):
                return False
        return self.selector.matches(pod.labels)


def _term(owner_ns: str, raw: Mapping[str, Any], weight: int = 0) -> Term:
    ns_sel_raw = raw.get("namespaceSelector")
    namespaces = frozenset(raw.get("namespaces") or ())
    if not namespaces and ns_sel_raw is None:
        namespaces = frozenset((owner_ns,))
    return Term(
        selector=sel.from_label_selector(raw.get("labelSelector")),
        namespaces=namespaces,
        namespace_selector=sel.from_label_selector(ns_sel_raw) if ns_sel_raw is not None else None,
        topology_key=raw.get("topologyKey", ""),
        weight=weight,
    )


@dataclass(slots=True)
class ParsedAffinity:
    affinity: list[Term]
    anti_affinity: list[Term]
    preferred_affinity: list[Term]
    preferred_anti_affinity: list[Term]


def parsed(info: PodInfo) -> ParsedAffinity:
    """The pod's affinity terms, parsed once and memoised on its PodInfo."""
    cached = info.parsed.get(NAME)
    if cached is not None:
        return cached
    aff = (info.pod.get("spec") or {}).get("affinity") or {}
    pa = aff.get("podAffinity") or {}
    anti = aff.get("podAntiAffinity") or {}
    ns = info.namespace
    req = "requiredDuringSchedulingIgnoredDuringExecution"
    pref = "preferredDuringSchedulingIgnoredDuringExecution"
    try:
        out = ParsedAffinity(
            [_term(ns, t) for t in pa.get(req) or ()],
            [_term(ns, t) for t in anti.get(req) or ()],
            [_term(ns, w.get("podAffinityTerm") or {}, int(w.get("weight") or 0)) for w in pa.get(pref) or ()],
            [_term(ns, w.get("podAffinityTerm") or {}, int(w.get("weight") or 0)) for w in anti.get(pref) or ()],
        )
    except sel.SelectorError:
        out = ParsedAffinity([], [], [], [])
    info.parsed[NAME] = out
    return out


@dataclass(slots=True)
class _FilterState:
    existing_anti: dict[Domain, int]
    affinity: dict[Domain, int]
    anti: dict[Domain, int]
    terms: ParsedAffinity
    pod: PodInfo


def _no_labels(namespace: str) -> Mapping[str, str] | None:
    return None


class InterPodAffinity:
    name = NAME

    def __init__(self, namespace_labels: NamespaceLabels | None = None) -> None:
        self._ns_labels = namespace_labels or _no_labels

    def pre_filter(
        self, state: fw.CycleState, pod: fw.Pod, nodes: Sequence[NodeInfo]
    ) -> tuple[fw.PreFilterResult | None, fw.Status | None]:
        info = state.pod_info or PodInfo.of(pod)
        terms = parsed(info)
        snap = state.snapshot
        anti_nodes = snap.with_required_anti_affinity if snap is not None else [n for n in nodes if n.pods_with_required_anti_affinity]
        if not terms.affinity and not terms.anti_affinity and not anti_nodes:
            return None, fw.Status.skip()
        existing: dict[Domain, int] = {}
        for node in anti_nodes:
            for other in node.pods_with_required_anti_affinity:
                for t in parsed(other).anti_affinity:
                    value = node.labels.get(t.topology_key)
                    if value is not None and t.matches(info, self._ns_labels):
                        existing[(t.topology_key, value)] = existing.get((t.topology_key, value), 0) + 1
        affinity: dict[Domain, int] = {}
        anti: dict[Domain, int] = {}
        if terms.affinity or terms.anti_affinity:
            for node in nodes:
                if node.pods:
                    self._count_node(node, terms, affinity, anti)
        state.write(NAME, _FilterState(existing, affinity, anti, terms, info))
        return None, None

    def _count_node(self, node: NodeInfo, terms: ParsedAffinity, affinity: dict[Domain, int], anti: dict[Domain, int]) -> None:
        for other in node.pods:
            if terms.affinity and all(t.matches(other, self._ns_labels) for t in terms.affinity):
                for t in terms.affinity:
                    value = node.labels.get(t.topology_key)
                    if value is not None:
                        affinity[(t.topology_key, value)] = affinity.get((t.topology_key, value), 0) + 1
            for t in terms.anti_affinity:
                value = node.labels.get(t.topology_key)
                if value is not None and t.matches(other, self._ns_labels):
                    anti[(t.topology_key, value)] = anti.get((t.topology_key, value), 0) + 1

    def filter(self, state: fw.CycleState, pod: fw.Pod, node_info: NodeInfo) -> fw.Status | None:
        s: _FilterState = state.read(NAME)
        labels = node_info.labels
        if s.terms.affinity and not self._affinity_ok(s, labels):
            return fw.Status.unschedulable(REASON_AFFINITY, unresolvable=True)
        for t in s.terms.anti_affinity:
            value = labels.get(t.topology_key)
            if value is not None and s.anti.get((t.topology_key, value), 0) > 0:
                return fw.Status.unschedulable(REASON_ANTI_AFFINITY)
        if s.existing_anti:
            for item in labels.items():
                if s.existing_anti.get(item, 0) > 0:
                    return fw.Status.unschedulable(REASON_EXISTING_ANTI_AFFINITY)
        return None

    def _affinity_ok(self, s: _FilterState, labels: Mapping[str, str]) -> bool:
        pods_exist = True
        for t in s.terms.affinity:
            value = labels.get(t.topology_key)
            if value is None:
                return False  # every topology key must exist on the node
            if s.affinity.get((t.topology_key, value), 0) <= 0:
                pods_exist = False
        if pods_exist:
            return True
        # First pod of a self-affine group: allowed when nothing matches yet.
        return not s.affinity and all(t.matches(s.pod, self._ns_labels) for t in s.terms.affinity)

    # -- scoring ---------------------------------------------------------------
    def pre_score(self, state: fw.CycleState, pod: fw.Pod, nodes: Sequence[NodeInfo]) -> fw.Status | None:
        info = state.pod_info or PodInfo.of(pod)
        terms = parsed(info)
        has_own = bool(terms.preferred_affinity or terms.preferred_anti_affinity)
        snap = state.snapshot
        with_aff = snap.with_affinity if snap is not None else [n for n in nodes if n.pods_with_affinity]
        if not has_own and not with_aff:
            return fw.Status.skip()
        scores: dict[Domain, int] = {}
        source = (snap.node_infos if snap is not None else nodes) if has_own else with_aff
        for node in source:
            for other in node.pods if has_own else node.pods_with_affinity:
                self._score_pair(info, terms, other, node.labels, scores)
        state.write(NAME + "/score", scores)
        return None

    def _score_pair(self, info: PodInfo, terms: ParsedAffinity, other: PodInfo, labels: Mapping[str, str], out: dict[Domain, int]) -> None:
        def bump(t: Term, target: PodInfo, weight: int) -> None:
            value = labels.get(t.topology_key)
            if value is not None and weight and t.matches(target, self._ns_labels):
                out[(t.topology_key, value)] = out.get((t.topology_key, value), 0) + weight

        for t in terms.preferred_affinity:
            bump(t, other, t.weight)
        for t in terms.preferred_anti_affinity:
            bump(t, other, -t.weight)
        if other.has_affinity:
            theirs = parsed(other)
            for t in theirs.affinity:
                bump(t, info, HARD_POD_AFFINITY_WEIGHT)
            for t in theirs.preferred_affinity:
                bump(t, info, t.weight)
            for t in theirs.preferred_anti_affinity:
                bump(t, info, -t.weight)

    def score(self, state: fw.CycleState, pod: fw.Pod, node_info: NodeInfo) -> int:
        scores: dict[Domain, int] = state.read(NAME + "/score")
        if not scores:
            return 0
        return sum(scores.get(item, 0) for item in node_info.labels.items())

    def normalize_scores(self, state: fw.CycleState, pod: fw.Pod, scores: dict[str, int]) -> None:
        if not scores:
            return
        low, high = min(scores.values()), max(scores.values())
        span = high - low
        for k, v in scores.items():
            scores[k] = int(fw.MAX_NODE_SCORE * (v - low) / span) if span > 0 else 0

    def events_to_register(self) -> list[fw.ClusterEvent]:
        return [
            fw.ClusterEvent(fw.EventResource.ASSIGNED_POD, fw.ActionType.ADD | fw.ActionType.DELETE | fw.ActionType.UPDATE_POD_LABEL),
            fw.ClusterEvent(fw.EventResource.NODE, fw.ActionType.ADD | fw.ActionType.UPDATE_NODE_LABEL),
        ]
