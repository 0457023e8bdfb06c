"""Runs a profile's plugins at each extension point, in configured order.

A ``Framework`` is built from plugin objects; it sorts them into extension
points by the Protocols they satisfy, so a plugin implements only what it
needs.  Conventions follow upstream:

* PreFilter/PreScore returning SKIP disables that plugin's Filter/Score for
  the rest of the cycle (the fast path for pods that use no affinity, ports...);
* Filter stops at the first plugin that rejects a node;
* Score sums each plugin's (normalized) score times its weight;
* Reserve failures roll back every Reserve plugin with Unreserve (reverse order);
* Bind asks bind plugins in order until one does not SKIP.

The framework also holds the ``Nominator`` (pods waiting on a node their
preemption freed): ``run_filters_with_nominated_pods`` filters a node as if
the nominated pods of equal or higher priority already ran there, and plugins
with a ``set_handle`` method (DefaultPreemption) get the framework itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pyk8s.scheduler.cache import NodeInfo
from pyk8s.scheduler.framework import interface as fw
from pyk8s.scheduler.nominator import Nominator
from pyk8s.scheduler.podinfo import PodInfo

# Upstream's default score-plugin weights (kube-scheduler v1.32 default profile).
DEFAULT_WEIGHTS: dict[str, int] = {
    "TaintToleration": 3,
    "NodeAffinity": 2,
    "PodTopologySpread": 2,
    "InterPodAffinity": 2,
    "NodeResourcesFit": 1,
    "NodeResourcesBalancedAllocation": 1,
    "ImageLocality": 1,
}

FilterFn = Callable[[fw.CycleState, fw.Pod, NodeInfo], "fw.Status | None"]


def _has(plugin: object, method: str) -> bool:
    return callable(getattr(plugin, method, None))


class Framework:
    def __init__(
        self,
        plugins: Sequence[Any],
        *,
        weights: Mapping[str, int] | None = None,
        profile_name: str = "default-scheduler",
        nominator: Nominator | None = None,
    ) -> None:
        self.profile_name = profile_name
        self.nominator = nominator if nominator is not None else Nominator()
        self.plugins = list(plugins)
        w = dict(DEFAULT_WEIGHTS)
        w.update(weights or {})
        self.weights = w
        self.pre_filter_plugins = [p for p in plugins if _has(p, "pre_filter")]
        self.filter_plugins = [p for p in plugins if _has(p, "filter")]
        self.post_filter_plugins = [p for p in plugins if _has(p, "post_filter")]
        self.pre_score_plugins = [p for p in plugins if _has(p, "pre_score")]
        self.score_plugins = [p for p in plugins if _has(p, "score")]
        self.reserve_plugins = [p for p in plugins if _has(p, "reserve")]
        self.permit_plugins = [p for p in plugins if _has(p, "permit")]
        self.pre_bind_plugins = [p for p in plugins if _has(p, "pre_bind")]
        self.bind_plugins = [p for p in plugins if _has(p, "bind")]
        self.post_bind_plugins = [p for p in plugins if _has(p, "post_bind")]
        self.pre_filter_extensions = [p for p in plugins if _has(p, "pre_filter_add_pod")]
        for p in plugins:
            if _has(p, "set_handle"):
                p.set_handle(self)

    def plugin(self, name: str) -> Any:
        for p in self.plugins:
            if p.name == name:
                return p
        raise KeyError(name)

    def events_to_register(self) -> dict[str, list[fw.ClusterEvent]]:
        """Plugin name -> cluster events that may make its rejections stale."""
        out: dict[str, list[fw.ClusterEvent]] = {}
        for p in self.plugins:
            if _has(p, "events_to_register"):
                out[p.name] = list(p.events_to_register())
        return out

    # -- scheduling cycle ----------------------------------------------------
    def run_pre_filter(
        self, state: fw.CycleState, pod: fw.Pod, nodes: Sequence[NodeInfo]
    ) -> tuple[fw.PreFilterResult | None, fw.Status | None]:
        merged: frozenset[str] | None = None
        for p in self.pre_filter_plugins:
            result, status = p.pre_filter(state, pod, nodes)
            if status is not None and status.code == fw.Code.SKIP:
                state.skip_filter.add(p.name)
                continue
            if status is not None and not status.is_success():
                return None, status.with_plugin(p.name)
            if result is not None and result.node_names is not None:
                merged = result.node_names if merged is None else merged & result.node_names
                state.restricted_by.append(p.name)
        return (fw.PreFilterResult(merged) if merged is not None else None), None

    def filters_for(self, state: fw.CycleState) -> list[tuple[str, FilterFn]]:
        """The Filter calls this cycle must make (PreFilter may have skipped some)."""
        return [(p.name, p.filter) for p in self.filter_plugins if p.name not in state.skip_filter]

    @staticmethod
    def run_filters(
        filters: list[tuple[str, FilterFn]], state: fw.CycleState, pod: fw.Pod, node: NodeInfo
    ) -> fw.Status | None:
        for name, fn in filters:
            status = fn(state, pod, node)
            if status is not None and status.code != fw.Code.SUCCESS:
                if status.code == fw.Code.SKIP:
                    continue
                return status.with_plugin(name)
        return None

    def run_pre_filter_extension_add_pod(
        self, state: fw.CycleState, pod: fw.Pod, added: PodInfo, node: NodeInfo
    ) -> fw.Status | None:
        for p in self.pre_filter_extensions:
            if p.name in state.skip_filter:
                continue
            status = p.pre_filter_add_pod(state, pod, added, node)
            if status is not None and not status.is_success():
                return status.with_plugin(p.name)
        return None

    def run_pre_filter_extension_remove_pod(
        self, state: fw.CycleState, pod: fw.Pod, removed: PodInfo, node: NodeInfo
    ) -> fw.Status | None:
        for p in self.pre_filter_extensions:
            if p.name in state.skip_filter:
                continue
            status = p.pre_filter_remove_pod(state, pod, removed, node)
            if status is not None and not status.is_success():
                return status.with_plugin(p.name)
        return None

    def run_filters_with_nominated_pods(
        self, filters: list[tuple[str, FilterFn]], state: fw.CycleState, pod: fw.Pod, node: NodeInfo
    ) -> fw.Status | None:
        """Filter ``node`` twice when pods of equal or higher priority are nominated to it.

        First as if those pods ran there (the pod must not take the room freed
        for them), then, if that passes, without them (pod affinity to them
        must not count: they may still land elsewhere).  As upstream.
        """
        nominated = self.nominator.by_node.get(node.name)
        if nominated:
            info = state.pod_info
            assert info is not None
            added = [p for p in nominated.values() if p.priority >= info.priority and p.key != info.key]
            if added:
                node_with = node.clone()
                state_with = state.clone()
                for p in added:
                    node_with.add_pod(p)
                    status = self.run_pre_filter_extension_add_pod(state_with, pod, p, node_with)
                    if status is not None:
                        return status
                status = self.run_filters(filters, state_with, pod, node_with)
                if status is not None:
                    return status
        return self.run_filters(filters, state, pod, node)

    def run_post_filter(
        self, state: fw.CycleState, pod: fw.Pod, statuses: Mapping[str, fw.Status]
    ) -> tuple[fw.PostFilterResult | None, fw.Status | None]:
        """(the last meaningful result, the status); a success stops at that plugin."""
        reasons: list[str] = []
        result: fw.PostFilterResult | None = None
        for p in self.post_filter_plugins:
            r, status = p.post_filter(state, pod, statuses)
            if status is None or status.is_success():
                return r, status
            if status.code == fw.Code.UNSCHEDULABLE_AND_UNRESOLVABLE:
                return r, status.with_plugin(p.name)
            if r is not None and r.nominated_node_name is not None:
                result = r
            reasons.extend(status.reasons)
        return result, (fw.Status(fw.Code.UNSCHEDULABLE, reasons) if reasons else None)

    def run_pre_score(self, state: fw.CycleState, pod: fw.Pod, nodes: Sequence[NodeInfo]) -> fw.Status | None:
        for p in self.pre_score_plugins:
            status = p.pre_score(state, pod, nodes)
            if status is not None and status.code == fw.Code.SKIP:
                state.skip_score.add(p.name)
            elif status is not None and not status.is_success():
                return status.with_plugin(p.name)
        return None

    def run_score(self, state: fw.CycleState, pod: fw.Pod, nodes: Sequence[NodeInfo]) -> dict[str, int]:
        totals = [0] * len(nodes)
        for p in self.score_plugins:
            if p.name in state.skip_score:
                continue
            weight = self.weights.get(p.name, 1)
            score = p.score
            if _has(p, "normalize_scores"):
                scores = {n.name: score(state, pod, n) for n in nodes}
                p.normalize_scores(state, pod, scores)
                values = list(scores.values())
            else:  # no normalization: skip the per-node dict
                values = [score(state, pod, n) for n in nodes]
            if weight == 1:
                totals = [t + v for t, v in zip(totals, values, strict=True)]
            else:
                totals = [t + v * weight for t, v in zip(totals, values, strict=True)]
        return dict(zip((n.name for n in nodes), totals, strict=True))

    def run_reserve(self, state: fw.CycleState, pod: fw.Pod, node_name: str) -> fw.Status | None:
        for p in self.reserve_plugins:
            status = p.reserve(state, pod, node_name)
            if status is not None and not status.is_success():
                return status.with_plugin(p.name)
        return None

    def run_unreserve(self, state: fw.CycleState, pod: fw.Pod, node_name: str) -> None:
        for p in reversed(self.reserve_plugins):
            p.unreserve(state, pod, node_name)

    def run_permit(self, state: fw.CycleState, pod: fw.Pod, node_name: str) -> fw.Status | None:
        for p in self.permit_plugins:
            status = p.permit(state, pod, node_name)
            if status is not None and status.code not in (fw.Code.SUCCESS, fw.Code.SKIP):
                # Waiting permits (gangs) are not supported yet: treat WAIT as a rejection.
                return status.with_plugin(p.name)
        return None

    # -- binding cycle --------------------------------------------------------
    async def run_pre_bind(self, state: fw.CycleState, pod: fw.Pod, node_name: str) -> fw.Status | None:
        for p in self.pre_bind_plugins:
            status = await p.pre_bind(state, pod, node_name)
            if status is not None and status.code not in (fw.Code.SUCCESS, fw.Code.SKIP):
                return status.with_plugin(p.name)
        return None

    async def run_bind(self, state: fw.CycleState, pod: fw.Pod, node_name: str) -> fw.Status | None:
        for p in self.bind_plugins:
            status = await p.bind(state, pod, node_name)
            if status is not None and status.code == fw.Code.SKIP:
                continue
            return status.with_plugin(p.name) if status is not None and not status.is_success() else None
        return fw.Status.error("no bind plugin bound the pod")

    def run_post_bind(self, state: fw.CycleState, pod: fw.Pod, node_name: str) -> None:
        for p in self.post_bind_plugins:
            p.post_bind(state, pod, node_name)
