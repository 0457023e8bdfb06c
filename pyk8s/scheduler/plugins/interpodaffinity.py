"""InterPodAffinity: required and preferred pod (anti-)affinity between pods, per topology domain.

PreFilter counts, per ``(topologyKey, value)`` domain:

* existing pods whose *required anti-affinity* selects the incoming pod
  (a node in such a domain is off limits: symmetry of anti-affinity);
* existing pods matching *all* the incoming pod's required affinity terms;
* existing pods matching each of its required anti-affinity terms.

It works on the snapshot's pod groups (pods with the same namespace and
labels, or the same affinity terms, are one group with per-domain counts),
so a term is matched once per group rather than once per pod, and pods with
identical affinity share parsed terms.  Filter then only looks the node's
labels up in the matching groups' counts.  As upstream,
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
from pyk8s.scheduler.cache import NodeInfo, PodGroups, Snapshot, group_pods
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


_NONE = ParsedAffinity([], [], [], [])
# Parsed terms shared by every pod with the same namespace and affinity (one Deployment's
# pods), so each Term's memo serves them all.  Bounded: cleared when it grows past the cap.
_interned: dict[tuple[str, bytes], ParsedAffinity] = {}
_INTERN_CAP = 4096


def parsed(info: PodInfo) -> ParsedAffinity:
    """The pod's affinity terms, parsed once per distinct affinity and memoised on its PodInfo."""
    cached = info.parsed.get(NAME)
    if cached is not None:
        return cached
    key = info.affinity_key
    if key is None:
        out = _NONE
    else:
        out = _interned.get(key) or _parse(info)
        if len(_interned) >= _INTERN_CAP:
            _interned.clear()
        _interned[key] = out
    info.parsed[NAME] = out
    return out


def _parse(info: PodInfo) -> ParsedAffinity:
    aff = (info.pod.get("spec") or {}).get("affinity") or {}
    pa = aff.get("podAffinity") or {}
    anti = aff.get("podAntiAffinity") or {}
    ns = info.namespace
    req = "requiredDuringSchedulingIgnoredDuringExecution"
    pref = "preferredDuringSchedulingIgnoredDuringExecution"
    try:
        return ParsedAffinity(
            [_term(ns, t) for t in pa.get(req) or ()],
            [_term(ns, t) for t in anti.get(req) or ()],
            [_term(ns, w.get("podAffinityTerm") or {}, int(w.get("weight") or 0)) for w in pa.get(pref) or ()],
            [_term(ns, w.get("podAffinityTerm") or {}, int(w.get("weight") or 0)) for w in anti.get(pref) or ()],
        )
    except sel.SelectorError:
        return ParsedAffinity([], [], [], [])


def _groups(state: fw.CycleState, nodes: Sequence[NodeInfo]) -> tuple[PodGroups, PodGroups, Mapping[str, NodeInfo]]:
    """(pods by labels, pods by affinity terms, node by name): the snapshot's, else built from ``nodes``."""
    snap = state.snapshot
    if snap is None:
        snap = Snapshot(by_name={n.name: n for n in nodes})
        for n in nodes:
            group_pods(snap, n, 1)
    return snap.by_labels, snap.by_affinity, snap.by_name


# Per-domain pod counts of the matching groups, as (topology key, value -> pods): live views
# into the snapshot's groups, valid for the cycle that made them (the snapshot does not
# change within a cycle).  A domain counts when any of its entries for that key is > 0.
DomainCounts = list[tuple[str, Mapping[str, int]]]


def _in_domain(entries: DomainCounts, key: str, value: str) -> bool:
    return any(k == key and counts.get(value, 0) > 0 for k, counts in entries)


@dataclass(slots=True)
class _FilterState:
    existing_anti: DomainCounts
    affinity: DomainCounts
    anti: DomainCounts
    terms: ParsedAffinity
    pod: PodInfo
    # Count changes made by the preemption dry run (pods removed from or added to a node
    # copy), by (kind, topology key, value); None on the normal path, whose filter
    # reads the snapshot's counts alone.
    deltas: dict[tuple[str, str, str], int] | None = None

    def clone(self) -> _FilterState:
        return _FilterState(self.existing_anti, self.affinity, self.anti, self.terms, self.pod, dict(self.deltas or {}))

    def count(self, kind: str, entries: DomainCounts, key: str, value: str) -> int:
        n = sum(counts.get(value, 0) for k, counts in entries if k == key)
        return n + (self.deltas or {}).get((kind, key, value), 0)


def _add_domains(scores: dict[Domain, int], key: str, counts: Mapping[str, int], weight: int) -> None:
    """Add ``weight`` per pod to each ``key`` domain in ``counts`` (pods per label value)."""
    for value, n in counts.items():
        scores[(key, value)] = scores.get((key, value), 0) + n * weight


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
        by_labels, by_affinity, by_name = _groups(state, nodes)
        if not terms.affinity and not terms.anti_affinity and not any(
            g.rep.has_required_anti_affinity for g in by_affinity.values()
        ):
            return None, fw.Status.skip()
        ns_labels = self._ns_labels
        existing: DomainCounts = []
        # Existing pods whose required anti-affinity selects the incoming pod (symmetry).
        for group in by_affinity.values():
            for t in parsed(group.rep).anti_affinity:
                if t.matches(info, ns_labels):
                    existing.append((t.topology_key, group.domain_counts(t.topology_key, by_name)))
        affinity: DomainCounts = []
        anti: DomainCounts = []
        if terms.affinity or terms.anti_affinity:
            for group in by_labels.values():
                other = group.rep
                if terms.affinity and all(t.matches(other, ns_labels) for t in terms.affinity):
                    for t in terms.affinity:
                        affinity.append((t.topology_key, group.domain_counts(t.topology_key, by_name)))
                for t in terms.anti_affinity:
                    if t.matches(other, ns_labels):
                        anti.append((t.topology_key, group.domain_counts(t.topology_key, by_name)))
        state.write(NAME, _FilterState(existing, affinity, anti, terms, info))
        return None, None

    def filter(self, state: fw.CycleState, pod: fw.Pod, node_info: NodeInfo) -> fw.Status | None:
        s: _FilterState = state.read(NAME)
        labels = node_info.labels
        if s.deltas:
            return self._filter_adjusted(s, labels)
        if s.terms.affinity and not self._affinity_ok(s, labels):
            return fw.Status.unschedulable(REASON_AFFINITY, unresolvable=True)
        for key, counts in s.anti:
            value = labels.get(key)
            if value is not None and counts.get(value, 0) > 0:
                return fw.Status.unschedulable(REASON_ANTI_AFFINITY)
        for key, counts in s.existing_anti:
            value = labels.get(key)
            if value is not None and counts.get(value, 0) > 0:
                return fw.Status.unschedulable(REASON_EXISTING_ANTI_AFFINITY)
        return None

    def _filter_adjusted(self, s: _FilterState, labels: Mapping[str, str]) -> fw.Status | None:
        """Filter with the dry run's count changes (upstream's counts after AddPod/RemovePod)."""
        deltas = s.deltas or {}
        if s.terms.affinity:
            pods_exist = True
            for t in s.terms.affinity:
                value = labels.get(t.topology_key)
                if value is None:
                    return fw.Status.unschedulable(REASON_AFFINITY, unresolvable=True)
                if s.count("affinity", s.affinity, t.topology_key, value) <= 0:
                    pods_exist = False
            if not pods_exist:
                total = sum(sum(counts.values()) for _, counts in s.affinity)
                total += sum(n for (kind, _, _), n in deltas.items() if kind == "affinity")
                if total > 0 or not all(t.matches(s.pod, self._ns_labels) for t in s.terms.affinity):
                    return fw.Status.unschedulable(REASON_AFFINITY, unresolvable=True)
        for key in {t.topology_key for t in s.terms.anti_affinity}:
            value = labels.get(key)
            if value is not None and s.count("anti", s.anti, key, value) > 0:
                return fw.Status.unschedulable(REASON_ANTI_AFFINITY)
        keys = {k for k, _ in s.existing_anti} | {k for (kind, k, _) in deltas if kind == "existing"}
        for key in keys:
            value = labels.get(key)
            if value is not None and s.count("existing", s.existing_anti, key, value) > 0:
                return fw.Status.unschedulable(REASON_EXISTING_ANTI_AFFINITY)
        return None

    # PreFilter extensions: the preemption dry run adds and removes pods on a node copy.
    def pre_filter_add_pod(self, state: fw.CycleState, pod: fw.Pod, added: PodInfo, node_info: NodeInfo) -> fw.Status | None:
        self._update(state, added, node_info, 1)
        return None

    def pre_filter_remove_pod(self, state: fw.CycleState, pod: fw.Pod, removed: PodInfo, node_info: NodeInfo) -> fw.Status | None:
        self._update(state, removed, node_info, -1)
        return None

    def _update(self, state: fw.CycleState, other: PodInfo, node_info: NodeInfo, sign: int) -> None:
        s: _FilterState | None = state.get(NAME)
        if s is None:
            return
        if s.deltas is None:
            s.deltas = {}
        deltas, labels, ns_labels = s.deltas, node_info.labels, self._ns_labels

        def bump(kind: str, key: str) -> None:
            value = labels.get(key)
            if value is not None:
                deltas[(kind, key, value)] = deltas.get((kind, key, value), 0) + sign

        for t in parsed(other).anti_affinity:  # its anti-affinity against the incoming pod
            if t.matches(s.pod, ns_labels):
                bump("existing", t.topology_key)
        if s.terms.affinity and all(t.matches(other, ns_labels) for t in s.terms.affinity):
            for t in s.terms.affinity:
                bump("affinity", t.topology_key)
        for t in s.terms.anti_affinity:
            if t.matches(other, ns_labels):
                bump("anti", t.topology_key)

    def _affinity_ok(self, s: _FilterState, labels: Mapping[str, str]) -> bool:
        pods_exist = True
        for t in s.terms.affinity:
            value = labels.get(t.topology_key)
            if value is None:
                return False  # every topology key must exist on the node
            if not _in_domain(s.affinity, t.topology_key, value):
                pods_exist = False
        if pods_exist:
            return True
        # First pod of a self-affine group: allowed when nothing matches yet.
        nothing_matches = not any(counts for _, counts in s.affinity)
        return nothing_matches and all(t.matches(s.pod, self._ns_labels) for t in s.terms.affinity)

    # -- scoring ---------------------------------------------------------------
    def pre_score(self, state: fw.CycleState, pod: fw.Pod, nodes: Sequence[NodeInfo]) -> fw.Status | None:
        info = state.pod_info or PodInfo.of(pod)
        terms = parsed(info)
        has_own = bool(terms.preferred_affinity or terms.preferred_anti_affinity)
        by_labels, by_affinity, by_name = _groups(state, nodes)
        if not has_own and not by_affinity:
            return fw.Status.skip()
        ns_labels = self._ns_labels
        scores: dict[Domain, int] = {}
        if has_own:  # the incoming pod's preferred terms against every existing pod
            for group in by_labels.values():
                for t in terms.preferred_affinity:
                    if t.weight and t.matches(group.rep, ns_labels):
                        _add_domains(scores, t.topology_key, group.domain_counts(t.topology_key, by_name), t.weight)
                for t in terms.preferred_anti_affinity:
                    if t.weight and t.matches(group.rep, ns_labels):
                        _add_domains(scores, t.topology_key, group.domain_counts(t.topology_key, by_name), -t.weight)
        for group in by_affinity.values():  # existing pods' terms against the incoming pod
            theirs = parsed(group.rep)
            weighted = [(t, HARD_POD_AFFINITY_WEIGHT) for t in theirs.affinity]
            weighted += [(t, t.weight) for t in theirs.preferred_affinity]
            weighted += [(t, -t.weight) for t in theirs.preferred_anti_affinity]
            for t, weight in weighted:
                if weight and t.matches(info, ns_labels):
                    _add_domains(scores, t.topology_key, group.domain_counts(t.topology_key, by_name), weight)
        state.write(NAME + "/score", scores)
        return None

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
