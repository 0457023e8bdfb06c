"""One scheduling cycle: snapshot, PreFilter, Filter, Score, select, Reserve, then the binding cycle.

``Scheduler.schedule_pod`` is the synchronous algorithm (nothing awaits
between taking the snapshot and choosing a node, so the snapshot stays
consistent); ``schedule_one`` adds assume/reserve/permit and the awaited
binding cycle and returns a ``CycleOutcome`` value: the caller turns it into
the ``Scheduled``/``FailedScheduling`` event, the ``PodScheduled`` condition
and a requeue.

Filtering follows upstream's adaptive sampling: in big clusters it stops
once ``num_feasible_nodes_to_find`` nodes fit (50% minus 1% per 125 nodes,
at least 5% and at least 100 nodes), starting where the previous cycle
stopped so every node gets its turn.  Ties in the final score are broken at
random.

The failure message is upstream's ``FitError`` text, e.g.
``0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 2 Insufficient cpu. preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod..``
(reasons counted over nodes, sorted as strings; each part closed by ``.``,
which doubles the period after the nested preemption message exactly as
kube-scheduler 1.32 does).  When preemption does find victims its status is a
success with no message, so the text stops after the filter reasons, and the
``FitError`` carries the nomination and the evictions to perform
(``post_filter_result``; see ``plugins.defaultpreemption``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from pyk8s.scheduler.cache import Cache, NodeInfo, Snapshot
from pyk8s.scheduler.framework import interface as fw
from pyk8s.scheduler.framework.runtime import Framework
from pyk8s.scheduler.podinfo import PodInfo, pod_key

MIN_FEASIBLE_NODES_TO_FIND = 100
MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND = 5
NO_NODES_AVAILABLE = "no nodes available to schedule pods"


def num_feasible_nodes_to_find(num_all_nodes: int, percentage: int = 0) -> int:
    if num_all_nodes < MIN_FEASIBLE_NODES_TO_FIND:
        return num_all_nodes
    if percentage <= 0:
        percentage = max(50 - num_all_nodes // 125, MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND)
    return max(num_all_nodes * percentage // 100, MIN_FEASIBLE_NODES_TO_FIND)


@dataclass(slots=True)
class FitError:
    """Why no node fits; ``message()`` is the FailedScheduling text."""

    num_all_nodes: int
    statuses: dict[str, fw.Status] = field(default_factory=dict)
    absent_reasons: list[str] = field(default_factory=list)
    pre_filter_msg: str = ""
    post_filter_msg: str = ""
    # The PostFilter's nomination and API work (preemption), None when it had none.
    post_filter_result: fw.PostFilterResult | None = None
    unschedulable_plugins: set[str] = field(default_factory=set)

    def message(self) -> str:
        msg = f"0/{self.num_all_nodes} nodes are available:"
        if self.pre_filter_msg:
            msg += f" {self.pre_filter_msg}."
        else:
            counts: dict[str, int] = {}
            for status in self.statuses.values():
                for reason in status.reasons:
                    counts[reason] = counts.get(reason, 0) + 1
            absent = self.num_all_nodes - len(self.statuses)
            if absent > 0:
                for reason in self.absent_reasons:
                    counts[reason] = counts.get(reason, 0) + absent
            parts = sorted(f"{n} {reason}" for reason, n in counts.items())
            if parts:
                msg += f" {', '.join(parts)}."
        if self.post_filter_msg:
            msg += f" {self.post_filter_msg}."
        return msg


@dataclass(slots=True)
class ScheduleResult:
    node_name: str
    evaluated_nodes: int
    feasible_nodes: int


@dataclass(slots=True)
class CycleOutcome:
    """What happened to one pod: bound to ``node_name``, or not (``status`` says why)."""

    pod: fw.Pod
    node_name: str | None = None
    status: fw.Status | None = None
    message: str = ""
    unschedulable_plugins: set[str] = field(default_factory=set)
    # Set when preemption nominated the pod to a node ("" when it cleared the nomination).
    nominated_node_name: str | None = None

    @property
    def scheduled(self) -> bool:
        return self.node_name is not None and fw.is_success(self.status)


class Scheduler:
    """The scheduling algorithm for one profile over one cache."""

    def __init__(
        self,
        framework: Framework,
        cache: Cache,
        *,
        percentage_of_nodes_to_score: int = 0,
        rng: random.Random | None = None,
    ) -> None:
        self.framework = framework
        self.cache = cache
        self.snapshot = Snapshot()
        self.percentage = percentage_of_nodes_to_score
        self._rng = rng or random.Random()
        self._next_start = 0

    # -- the algorithm -----------------------------------------------------------
    def schedule_pod(self, state: fw.CycleState, pod: fw.Pod) -> ScheduleResult | FitError:
        snap = self.cache.update_snapshot(self.snapshot)
        state.snapshot = snap
        if state.pod_info is None:
            state.pod_info = PodInfo.of(pod)
        nodes = snap.node_infos
        if not nodes:
            return FitError(0, pre_filter_msg=NO_NODES_AVAILABLE)
        feasible, failure = self._find_nodes_that_fit(state, pod, nodes)
        if failure is not None:
            return failure
        evaluated = len(feasible[1]) + len(feasible[0])
        fits = feasible[0]
        if not fits:
            return self._fit_error(state, pod, feasible[1], len(nodes))
        if len(fits) == 1:
            return ScheduleResult(fits[0].name, evaluated, 1)
        status = self.framework.run_pre_score(state, pod, fits)
        if status is not None and not status.is_success():
            return FitError(len(nodes), pre_filter_msg=status.message())
        scores = self.framework.run_score(state, pod, fits)
        return ScheduleResult(self._select_host(scores), evaluated, len(fits))

    def _find_nodes_that_fit(
        self, state: fw.CycleState, pod: fw.Pod, nodes: list[NodeInfo]
    ) -> tuple[tuple[list[NodeInfo], dict[str, fw.Status]], FitError | None]:
        fwk = self.framework
        result, status = fwk.run_pre_filter(state, pod, nodes)
        if status is not None:
            err = FitError(len(nodes), pre_filter_msg=status.message(), unschedulable_plugins={status.plugin})
            err.statuses = {n.name: status for n in nodes}
            self._post_filter(state, pod, err, err.statuses)
            return ([], {}), err
        candidates = nodes
        restricted = result is not None and result.node_names is not None
        if restricted:
            assert result is not None and result.node_names is not None
            candidates = [n for n in (self.snapshot.get(x) for x in sorted(result.node_names)) if n is not None]
        want = num_feasible_nodes_to_find(len(candidates), self.percentage)
        filters = fwk.filters_for(state)
        fits: list[NodeInfo] = []
        statuses: dict[str, fw.Status] = {}
        total = len(candidates)
        start = 0 if restricted else self._next_start % total if total else 0
        processed = 0
        success, skip = fw.Code.SUCCESS, fw.Code.SKIP
        ordered = candidates[start:] + candidates[:start] if start else candidates
        nominated = fwk.nominator.by_node
        if nominated:
            # Some pods wait for room their preemption freed: nodes holding such
            # nominations are filtered as if those pods ran there (rare path).
            for node in ordered:
                processed += 1
                if node.name in nominated:
                    s = fwk.run_filters_with_nominated_pods(filters, state, pod, node)
                else:
                    s = fwk.run_filters(filters, state, pod, node)
                if s is not None:
                    statuses[node.name] = s
                    continue
                fits.append(node)
                if len(fits) >= want:
                    break
        else:
            # Framework.run_filters inlined: this loop runs once per node per pod.
            for node in ordered:
                processed += 1
                for name, fn in filters:
                    s = fn(state, pod, node)
                    if s is not None and s.code != success and s.code != skip:
                        statuses[node.name] = s.with_plugin(name)
                        break
                else:
                    fits.append(node)
                    if len(fits) >= want:
                        break
        if not restricted and total:
            self._next_start = (start + processed) % total
        return (fits, statuses), None

    def _fit_error(self, state: fw.CycleState, pod: fw.Pod, statuses: dict[str, fw.Status], num_nodes: int) -> FitError:
        err = FitError(num_nodes, statuses=statuses)
        err.unschedulable_plugins = {s.plugin for s in statuses.values() if s.plugin}
        if state.restricted_by:
            plugins = sorted(set(state.restricted_by))
            err.absent_reasons = [f"node(s) didn't satisfy plugin(s) [{' '.join(plugins)}]"]
        all_statuses = dict(statuses)
        for n in self.snapshot.node_infos:
            if n.name not in all_statuses:
                all_statuses[n.name] = fw.Status(fw.Code.UNSCHEDULABLE_AND_UNRESOLVABLE, list(err.absent_reasons))
        self._post_filter(state, pod, err, all_statuses)
        return err

    def _post_filter(self, state: fw.CycleState, pod: fw.Pod, err: FitError, statuses: dict[str, fw.Status]) -> None:
        result, status = self.framework.run_post_filter(state, pod, statuses)
        err.post_filter_msg = status.message() if status is not None else ""
        err.post_filter_result = result

    def _select_host(self, scores: dict[str, int]) -> str:
        """The best-scoring node; ties are broken uniformly at random (one draw, not one per tie)."""
        if not scores:
            return ""
        best = max(scores.values())
        ties = [name for name, score in scores.items() if score == best]
        return ties[self._rng.randrange(len(ties))] if len(ties) > 1 else ties[0]

    # -- a whole cycle -------------------------------------------------------------
    async def schedule_one(self, pod: fw.Pod) -> CycleOutcome:
        """Schedule and bind one pod; never raises for scheduling failures."""
        state = fw.CycleState(PodInfo.of(pod))
        result = self.schedule_pod(state, pod)
        if isinstance(result, FitError):
            code = fw.Code.UNSCHEDULABLE if result.num_all_nodes else fw.Code.UNSCHEDULABLE_AND_UNRESOLVABLE
            outcome = CycleOutcome(pod, None, fw.Status(code, [result.message()]), result.message(), result.unschedulable_plugins)
            pf = result.post_filter_result
            if pf is not None and pf.nominated_node_name is not None:
                assert state.pod_info is not None
                self.framework.nominator.add(state.pod_info, pf.nominated_node_name)
                outcome.nominated_node_name = pf.nominated_node_name
                if pf.prepare is not None:
                    await pf.prepare()
            return outcome
        assumed = self.assume(state, pod, result.node_name)
        if isinstance(assumed, CycleOutcome):
            return assumed
        return await self.bind(state, assumed, result.node_name)

    def assume(self, state: fw.CycleState, pod: fw.Pod, node_name: str) -> fw.Pod | CycleOutcome:
        """Account the pod on the node and run Reserve/Permit (the synchronous tail of the cycle)."""
        assumed = dict(pod)
        assumed["spec"] = dict(pod.get("spec") or {}, nodeName=node_name)
        self.cache.assume_pod(assumed, state.pod_info)
        if self.framework.nominator:
            self.framework.nominator.delete(state.pod_info.key if state.pod_info is not None else pod_key(pod))
        status = self.framework.run_reserve(state, assumed, node_name)
        if status is None:
            status = self.framework.run_permit(state, assumed, node_name)
        if status is not None:
            self.framework.run_unreserve(state, assumed, node_name)
            self.cache.forget_pod(assumed)
            return CycleOutcome(pod, None, status, status.message(), {status.plugin})
        return assumed

    async def bind(self, state: fw.CycleState, assumed: fw.Pod, node_name: str) -> CycleOutcome:
        """The binding cycle: PreBind, Bind, PostBind; on failure forget the assumed pod."""
        fwk = self.framework
        status = await fwk.run_pre_bind(state, assumed, node_name)
        if status is None:
            status = await fwk.run_bind(state, assumed, node_name)
        if status is not None:
            fwk.run_unreserve(state, assumed, node_name)
            self.cache.forget_pod(assumed)
            return CycleOutcome(assumed, None, status, status.message())
        self.cache.finish_binding(assumed)
        fwk.run_post_bind(state, assumed, node_name)
        return CycleOutcome(assumed, node_name)
