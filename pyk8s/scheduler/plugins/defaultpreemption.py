"""DefaultPreemption: evict lower-priority pods so a pod that fits nowhere can run.

The PostFilter of the default profile, as upstream's (``preemption.Evaluator``
with the ``DefaultPreemption`` interface):

1. **Eligibility.**  ``preemptionPolicy: Never`` -> ``not eligible due to
   preemptionPolicy=Never.``.  A pod already nominated to a node that still
   holds lower-priority pods terminating because of preemption (deleted, with
   a ``DisruptionTarget`` condition whose reason is ``PreemptionByScheduler``)
   waits for them: ``not eligible due to a terminating pod on the nominated
   node.`` (unless the filters now call that node UnschedulableAndUnresolvable).
2. **Candidates.**  Only nodes whose filter status was Unschedulable (not
   UnschedulableAndUnresolvable) are tried, from a random offset, until
   ``max(10% of them, 100)`` candidates are found.  On a copy of the node and
   of the cycle state, every pod of lower priority is removed (PreFilter
   state follows through the plugins' ``pre_filter_remove_pod``); if the pod
   then passes the filters, the removed pods are put back one at a time, most
   important first (higher priority, then earlier start), and each one whose
   return makes the pod fail again is a victim.
3. **Choice.**  Upstream's ``pickOneNodeForPreemption``: fewest PDB
   violations, then the lowest highest-victim priority, the smallest sum of
   victim priorities, the fewest victims, the latest start time of the
   highest-priority victims, then the first candidate.
4. **Action.**  The cycle cannot await, so the plugin returns a
   ``PostFilterResult`` nominating the node, whose ``prepare`` the scheduler
   runs right after the cycle: each victim gets ``DisruptionTarget=True``
   (``PreemptionByScheduler``), is deleted and gets a ``Preempted`` event
   (``Preempted by pod <preemptor uid> on node <node>``); lower-priority pods
   nominated to the same node lose their nomination.  The status is a success
   without message, so FailedScheduling stops after the filter reasons, as
   upstream.  The preemptor then waits in the queue; the victims' deletion
   events move it back, and the nomination keeps others off the freed room.

PodDisruptionBudgets (``pdb_lister``, the scheduler's PDB informer) steer the
dry run as upstream's ``filterPodsWithPDBViolation``: a potential victim whose
removal would take a selecting budget's ``disruptionsAllowed`` below zero
(counting the other victims on the node first, and not pods already in the
budget's ``disruptedPods``; an empty selector selects nothing here) is
violating; violating pods are reprieved first, those that cannot be count as
PDB violations, and candidates with fewer violations win.  The evictions
themselves are deletes, as upstream's preemption (budgets are best effort).
When no candidate exists the message is upstream's nested FitError:
``preemption: 0/N nodes are available: ...`` with one verdict per node
(``No preemption victims found for incoming pod``, the filter reasons that
remain with every lower-priority pod gone, or ``Preemption is not helpful
for scheduling``).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pyk8s.api.core_v1.helpers.timestamps import parse_time
from pyk8s.machinery import labels
from pyk8s.scheduler import schedule_one
from pyk8s.scheduler.cache import NodeInfo
from pyk8s.scheduler.framework import interface as fw
from pyk8s.scheduler.nominator import nominated_node_name
from pyk8s.scheduler.podinfo import PodInfo

NAME = "DefaultPreemption"
NOT_HELPFUL = "Preemption is not helpful for scheduling"
NO_VICTIMS = "No preemption victims found for incoming pod"
NOT_ELIGIBLE_NEVER = "not eligible due to preemptionPolicy=Never."
NOT_ELIGIBLE_TERMINATING = "not eligible due to a terminating pod on the nominated node."
MIN_CANDIDATE_NODES_PERCENTAGE = 10
MIN_CANDIDATE_NODES_ABSOLUTE = 100
REASON_PREEMPTION_BY_SCHEDULER = "PreemptionByScheduler"


def fit_message(num_nodes: int, statuses: Mapping[str, fw.Status], absent_reasons: list[str] | None = None) -> str:
    return schedule_one.FitError(num_all_nodes=num_nodes, statuses=dict(statuses), absent_reasons=absent_reasons or []).message()


def start_time(pod: fw.Pod) -> float:
    """status.startTime as a timestamp; a pod that has not started counts as starting now (the latest)."""
    started = parse_time((pod.get("status") or {}).get("startTime"))
    return started.timestamp() if started is not None else math.inf


def importance(p: PodInfo) -> tuple[int, float]:
    """Sort key putting the more important pod first (upstream's MoreImportantPod)."""
    return (-p.priority, start_time(p.pod))


def terminating_by_preemption(pod: fw.Pod) -> bool:
    if not (pod.get("metadata") or {}).get("deletionTimestamp"):
        return False
    for c in (pod.get("status") or {}).get("conditions") or ():
        if c.get("type") == "DisruptionTarget":
            return c.get("status") == "True" and c.get("reason") == REASON_PREEMPTION_BY_SCHEDULER
    return False


@dataclass(slots=True)
class Candidate:
    node_name: str
    victims: list[PodInfo] = field(default_factory=list)  # most important first
    num_pdb_violations: int = 0


def _selects_something(selector: Any) -> bool:
    return isinstance(selector, dict) and bool(selector.get("matchLabels") or selector.get("matchExpressions"))


def split_by_pdb_violation(pods: list[PodInfo], pdbs: list[dict[str, Any]]) -> tuple[list[PodInfo], list[PodInfo]]:
    """(violating, non-violating), each in the given order: upstream's filterPodsWithPDBViolation."""
    allowed = [int((b.get("status") or {}).get("disruptionsAllowed") or 0) for b in pdbs]
    violating: list[PodInfo] = []
    non_violating: list[PodInfo] = []
    for info in pods:
        meta = info.pod.get("metadata") or {}
        pod_labels = meta.get("labels") or {}
        broken = False
        for i, pdb in enumerate(pdbs):
            selector = (pdb.get("spec") or {}).get("selector")
            if not pod_labels or (pdb.get("metadata") or {}).get("namespace") != meta.get("namespace") or \
                    not _selects_something(selector) or not labels.matches_label_selector(selector, pod_labels):
                continue
            if meta.get("name") in ((pdb.get("status") or {}).get("disruptedPods") or {}):
                continue  # the API server has taken this one into account already
            allowed[i] -= 1
            broken = broken or allowed[i] < 0
        (violating if broken else non_violating).append(info)
    return violating, non_violating


def pick_one_node_for_preemption(candidates: list[Candidate]) -> Candidate | None:
    """Upstream's ordered tie-breaks; the first candidate wins a full tie."""
    if not candidates:
        return None

    def earliest_top_start(c: Candidate) -> float:
        top = c.victims[0].priority
        return min(start_time(v.pod) for v in c.victims if v.priority == top)

    scores = (
        lambda c: -c.num_pdb_violations,
        lambda c: -c.victims[0].priority,
        lambda c: -sum(v.priority + 2**31 for v in c.victims),
        lambda c: -len(c.victims),
        earliest_top_start,
    )
    remaining = candidates
    for score in scores:
        values = [score(c) for c in remaining]
        best = max(values)
        remaining = [c for c, v in zip(remaining, values, strict=True) if v == best]
        if len(remaining) == 1:
            break
    return remaining[0]


class DefaultPreemption:
    name = NAME

    def __init__(
        self,
        evictor: fw.Evictor | None = None,
        *,
        min_candidate_nodes_percentage: int = MIN_CANDIDATE_NODES_PERCENTAGE,
        min_candidate_nodes_absolute: int = MIN_CANDIDATE_NODES_ABSOLUTE,
        rng: random.Random | None = None,
        pdb_lister: Callable[[], list[dict[str, Any]]] | None = None,
    ) -> None:
        self._evictor = evictor
        self._pdbs = pdb_lister
        self._pct = min_candidate_nodes_percentage
        self._abs = min_candidate_nodes_absolute
        self._rng = rng or random.Random()
        self._fwk: Any = None  # the Framework, via set_handle

    def set_handle(self, handle: Any) -> None:
        self._fwk = handle

    # -- PostFilter ----------------------------------------------------------------
    def post_filter(
        self, state: fw.CycleState, pod: fw.Pod, statuses: Mapping[str, fw.Status]
    ) -> tuple[fw.PostFilterResult | None, fw.Status | None]:
        info = state.pod_info or PodInfo.of(pod)
        snap = state.snapshot
        nodes = snap.node_infos if snap is not None else []
        ok, why = self.eligible(info, statuses, snap)
        if not ok:
            return None, fw.Status(fw.Code.UNSCHEDULABLE, ["preemption: " + why])
        candidates, verdicts = self.find_candidates(state, pod, info, nodes, statuses)
        if not candidates:
            message = fit_message(len(nodes), verdicts, [NOT_HELPFUL])
            return fw.PostFilterResult(""), fw.Status(fw.Code.UNSCHEDULABLE, ["preemption: " + message])
        best = pick_one_node_for_preemption(candidates)
        assert best is not None
        return fw.PostFilterResult(best.node_name, self._prepare(pod, info, best)), None

    def eligible(self, info: PodInfo, statuses: Mapping[str, fw.Status], snap: Any) -> tuple[bool, str]:
        pod = info.pod
        if (pod.get("spec") or {}).get("preemptionPolicy") == "Never":
            return False, NOT_ELIGIBLE_NEVER
        nominator = self._fwk.nominator if self._fwk is not None else None
        nominated = (nominator.node_of(info.key) if nominator is not None else "") or nominated_node_name(pod)
        if nominated:
            status = statuses.get(nominated)
            if status is not None and status.code == fw.Code.UNSCHEDULABLE_AND_UNRESOLVABLE:
                return True, ""
            node = snap.get(nominated) if snap is not None else None
            if node is not None:
                for p in node.pods:
                    if p.priority < info.priority and terminating_by_preemption(p.pod):
                        return False, NOT_ELIGIBLE_TERMINATING
        return True, ""

    def num_candidates(self, num_nodes: int) -> int:
        return min(max(num_nodes * self._pct // 100, self._abs), num_nodes)

    def find_candidates(
        self, state: fw.CycleState, pod: fw.Pod, info: PodInfo, nodes: list[NodeInfo], statuses: Mapping[str, fw.Status]
    ) -> tuple[list[Candidate], dict[str, fw.Status]]:
        """The dry run: candidates (non-violating first) and the verdict for each node that is not one."""
        potential = [n for n in nodes if (s := statuses.get(n.name)) is not None and s.code == fw.Code.UNSCHEDULABLE]
        verdicts: dict[str, fw.Status] = {}
        if not potential:
            return [], verdicts
        offset = self._rng.randrange(len(potential))
        want = self.num_candidates(len(potential))
        non_violating: list[Candidate] = []
        violating: list[Candidate] = []
        for i in range(len(potential)):
            node = potential[(offset + i) % len(potential)]
            if not any(p.priority < info.priority for p in node.pods):
                # Nothing to remove: spare the copies (most nodes, when priorities are all equal).
                verdicts[node.name] = fw.Status.unschedulable(NO_VICTIMS, unresolvable=True)
                continue
            victims, violations, status = self.select_victims_on_node(state.clone(), pod, info, node.clone())
            if status is None and victims:
                (violating if violations else non_violating).append(Candidate(node.name, victims, violations))
                if non_violating and len(non_violating) + len(violating) >= want:
                    break
                continue
            if status is None:
                status = fw.Status.error(f'expected at least one victim pod on node "{node.name}"')
            verdicts[node.name] = status
        return non_violating + violating, verdicts

    def select_victims_on_node(
        self, state: fw.CycleState, pod: fw.Pod, info: PodInfo, node: NodeInfo
    ) -> tuple[list[PodInfo], int, fw.Status | None]:
        """The fewest pods to remove from ``node`` (a copy) for ``pod`` to fit; ``state`` is a copy too."""
        fwk = self._fwk
        potential = [p for p in node.pods if p.priority < info.priority]
        if not potential:
            return [], 0, fw.Status.unschedulable(NO_VICTIMS, unresolvable=True)
        for p in potential:
            node.remove_pod(p.key)
            status = fwk.run_pre_filter_extension_remove_pod(state, pod, p, node)
            if status is not None:
                return [], 0, status
        filters = fwk.filters_for(state)
        status = fwk.run_filters_with_nominated_pods(filters, state, pod, node)
        if status is not None:
            return [], 0, status
        # Reprieve the pods whose eviction would break a budget first, then the others,
        # the most important first in each group.
        potential.sort(key=importance)
        violating, non_violating = split_by_pdb_violation(potential, self._pdbs() if self._pdbs else [])
        victims: list[PodInfo] = []
        num_violating = 0
        for group in (violating, non_violating):
            for p in group:
                node.add_pod(p)
                status = fwk.run_pre_filter_extension_add_pod(state, pod, p, node)
                if status is not None:
                    return [], 0, status
                if fwk.run_filters_with_nominated_pods(filters, state, pod, node) is not None:
                    node.remove_pod(p.key)
                    status = fwk.run_pre_filter_extension_remove_pod(state, pod, p, node)
                    if status is not None:
                        return [], 0, status
                    victims.append(p)
                    num_violating += group is violating
        victims.sort(key=importance)
        return victims, num_violating, None

    # -- acting -------------------------------------------------------------------
    def _prepare(self, pod: fw.Pod, info: PodInfo, best: Candidate) -> Any:
        """The API work for ``best``, to run after the cycle (and the nominator updated now)."""
        evictor = self._evictor
        node_name = best.node_name
        nominator = self._fwk.nominator if self._fwk is not None else None
        lower: list[PodInfo] = []
        if nominator is not None:
            lower = [p for p in nominator.pods_for_node(node_name) if p.priority < info.priority]
            for p in lower:
                nominator.delete(p.key)
        victims = [v.pod for v in best.victims if not v.terminating]

        async def prepare() -> None:
            if evictor is None:
                return
            for victim in victims:
                await evictor.preempt(pod, victim, node_name)
            for p in lower:
                if nominated_node_name(p.pod):
                    try:
                        await evictor.clear_nominated_node_name(p.pod)
                    except Exception:  # noqa: BLE001, S110 - not critical, as upstream
                        pass

        return prepare
