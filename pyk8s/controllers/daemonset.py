"""The DaemonSet controller: one pod on every eligible node.

Follows ``pkg/controller/daemon`` (``daemon_controller.go``, ``update.go``,
``util``):

* A node is eligible (``NodeShouldRunDaemonPod``) when the pod built for it
  fits its name, ``nodeSelector`` and required node affinity, and tolerates
  its NoSchedule/NoExecute taints.  A pod already running stays while only
  NoSchedule taints are untolerated (``shouldContinueRunning``).
* Pods get the default DaemonSet tolerations upstream adds: ``not-ready`` and
  ``unreachable`` NoExecute without ``tolerationSeconds``, ``disk-pressure``,
  ``memory-pressure``, ``pid-pressure``, ``unschedulable`` NoSchedule, and
  ``network-unavailable`` NoSchedule for ``hostNetwork`` pods.  They are
  pinned with required node affinity ``matchFields metadata.name In
  [node]`` (replacing any required terms), never ``nodeName``: the scheduler
  binds them.  Labels: ``controller-revision-hash`` (the template hash) and
  ``pod-template-generation``.
* Per node: create when missing; delete Failed/Succeeded pods; keep the
  oldest of duplicates (with surge: at most one old and one new); delete
  all from nodes that should not run one; delete unscheduled pods pinned
  to nodes that no longer exist (bound ones are left to PodGC, as upstream).
* RollingUpdate, ``maxSurge`` 0: delete old pods so that at most
  ``maxUnavailable`` nodes are unavailable (old unavailable pods are always
  replaced); with ``maxSurge``: create new pods beside available old ones,
  up to ``maxSurge`` at a time, deleting the old once the new is available.
  Both percentages round up over the desired count; both 0 means 1
  unavailable.  OnDelete: nothing until pods are deleted.
* Status: desired/current/updated NumberScheduled, numberMisscheduled,
  numberReady, numberAvailable, numberUnavailable, observedGeneration.
* Claiming: orphans matching the selector are adopted and owned pods that
  stopped matching are released (``Patch`` actions first in ``actions``).
* History (``history``): ControllerRevision ``<ds>-<hash>`` whose data is
  the patch replacing ``spec.template``, labelled ``controller-revision-hash``;
  a rollback renumbers the matching revision; old ones past
  ``revisionHistoryLimit`` not used by a live pod are deleted.  ``kubectl
  rollout history/undo ds`` read and apply them.

Not implemented: the back-off between killing failed pods on one node
(upstream 1 s doubling to 15 min; the wiring's rate-limited requeue stands
in), deduplication of several revisions equal to the template.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pyk8s.api.core_v1.helpers import podready, timestamps
from pyk8s.api.core_v1.helpers.nodeaffinity import pod_matches_node
from pyk8s.api.core_v1.helpers.tolerations import find_untolerated
from pyk8s.controllers import actions, podstate, podtemplate, replicaset
from pyk8s.controllers.deployment import rollingmath
from pyk8s.machinery import labels

Obj = Mapping[str, Any]
REVISION_LABEL = "controller-revision-hash"
GENERATION_LABEL = "pod-template-generation"
GENERATION_ANNOTATION = "deprecated.daemonset.template.generation"
_NODE = "node.kubernetes.io/"
DEFAULT_TOLERATIONS = (
    {"key": _NODE + "not-ready", "operator": "Exists", "effect": "NoExecute"},
    {"key": _NODE + "unreachable", "operator": "Exists", "effect": "NoExecute"},
    {"key": _NODE + "disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": _NODE + "memory-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": _NODE + "pid-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": _NODE + "unschedulable", "operator": "Exists", "effect": "NoSchedule"},
)
NETWORK_UNAVAILABLE = {"key": _NODE + "network-unavailable", "operator": "Exists", "effect": "NoSchedule"}


def _name(obj: Obj) -> str:
    return obj.get("metadata", {}).get("name", "")


def with_default_tolerations(pod_spec: dict[str, Any]) -> None:
    """``AddOrUpdateDaemonPodTolerations``: add (or overwrite by key+effect) the defaults."""
    wanted = list(DEFAULT_TOLERATIONS)
    if pod_spec.get("hostNetwork"):
        wanted.append(NETWORK_UNAVAILABLE)
    tolerations = list(pod_spec.get("tolerations") or [])
    for default in wanted:
        tolerations = [t for t in tolerations
                       if not (t.get("key") == default["key"] and t.get("effect") == default["effect"])]
        tolerations.append(dict(default))
    pod_spec["tolerations"] = tolerations


def pin_to_node(pod_spec: dict[str, Any], node_name: str) -> None:
    """``ReplaceDaemonSetPodNodeNameNodeAffinity``."""
    term = {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node_name]}]}
    affinity = pod_spec.setdefault("affinity", {}) or {}
    pod_spec["affinity"] = affinity
    node_affinity = affinity.setdefault("nodeAffinity", {}) or {}
    affinity["nodeAffinity"] = node_affinity
    required = node_affinity.get("requiredDuringSchedulingIgnoredDuringExecution") or {}
    required["nodeSelectorTerms"] = [term]
    node_affinity["requiredDuringSchedulingIgnoredDuringExecution"] = required


def target_node(pod: Obj) -> str | None:
    """``GetTargetNodeName``: nodeName, else the pinned ``metadata.name``."""
    spec = pod.get("spec") or {}
    if spec.get("nodeName"):
        return spec["nodeName"]
    required = ((spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution") or {}
    for term in required.get("nodeSelectorTerms") or []:
        for req in term.get("matchFields") or []:
            if req.get("key") == "metadata.name" and req.get("operator") == "In" and len(req.get("values") or []) == 1:
                return req["values"][0]
    return None


def template_generation(ds: Obj) -> str | None:
    return (ds.get("metadata", {}).get("annotations") or {}).get(GENERATION_ANNOTATION)


def template_hash(ds: Obj) -> str:
    return podtemplate.compute_hash(ds.get("spec", {}).get("template") or {},
                                    (ds.get("status") or {}).get("collisionCount"))


def new_pod(ds: Obj, node_name: str, pod_hash: str) -> dict[str, Any]:
    ref = podtemplate.controller_ref(ds, api_version="apps/v1", kind="DaemonSet")
    pod = podtemplate.pod_from_template(ds.get("spec", {}).get("template") or {}, ds, ref)
    pod_labels = pod["metadata"].setdefault("labels", {})
    pod_labels[REVISION_LABEL] = pod_hash
    generation = template_generation(ds)
    if generation is not None:
        pod_labels[GENERATION_LABEL] = generation
    with_default_tolerations(pod["spec"])
    pin_to_node(pod["spec"], node_name)
    return pod


def judged_spec(ds: Obj) -> dict[str, Any]:
    """The pod spec upstream judges nodes by (``NewPod``): the template with the default tolerations."""
    spec = copy.deepcopy((ds.get("spec", {}).get("template") or {}).get("spec") or {})
    with_default_tolerations(spec)  # the pin to the node comes later
    return spec


def should_run(ds: Obj, node: Obj, spec: Obj | None = None) -> tuple[bool, bool]:
    """``NodeShouldRunDaemonPod``: (should run, should continue running); ``spec`` is ``judged_spec(ds)``."""
    spec = judged_spec(ds) if spec is None else spec
    if spec.get("nodeName") and spec["nodeName"] != _name(node):
        return False, False
    if not pod_matches_node(spec, node):
        return False, False
    taints = (node.get("spec") or {}).get("taints") or []
    tolerations = spec.get("tolerations") or []
    if find_untolerated(taints, tolerations, ("NoSchedule", "NoExecute")) is not None:
        return False, find_untolerated(taints, tolerations, ("NoExecute",)) is None
    return True, True


def is_updated(pod: Obj, pod_hash: str, generation: str | None) -> bool:
    pod_labels = pod.get("metadata", {}).get("labels") or {}
    return (bool(pod_hash) and pod_labels.get(REVISION_LABEL) == pod_hash) or (
        generation is not None and pod_labels.get(GENERATION_LABEL) == generation)


def _by_age(a: Obj, b: Obj) -> int:
    sa, sb = bool((a.get("spec") or {}).get("nodeName")), bool((b.get("spec") or {}).get("nodeName"))
    if sa != sb:
        return -1 if sa else 1
    ta = timestamps.parse_time(a.get("metadata", {}).get("creationTimestamp"))
    tb = timestamps.parse_time(b.get("metadata", {}).get("creationTimestamp"))
    if ta == tb or ta is None or tb is None:
        return (_name(a) > _name(b)) - (_name(a) < _name(b))
    return -1 if ta < tb else 1


oldest_first = functools.cmp_to_key(_by_age)


@dataclass(slots=True)
class DaemonSetPlan(actions.Plan):
    create_on: list[str] = field(default_factory=list)  # node names; bodies in ``create``
    create: list[dict[str, Any]] = field(default_factory=list)
    delete: list[Obj] = field(default_factory=list)
    status: dict[str, Any] = field(default_factory=dict)
    hash: str = ""


def _surge_counts(ds: Obj, desired: int) -> tuple[int, int]:
    strategy = ds.get("spec", {}).get("updateStrategy") or {}
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        return 0, 0
    ru = strategy.get("rollingUpdate") or {}
    surge = rollingmath.scaled_value(ru.get("maxSurge", 0), desired, round_up=True)
    unavailable = rollingmath.scaled_value(ru.get("maxUnavailable", 1), desired, round_up=True)
    return (surge, 1) if surge == 0 and unavailable == 0 else (surge, unavailable)


class _Sync:
    def __init__(self, ds: Obj, nodes: Sequence[Obj], pods: Sequence[Obj], now: datetime) -> None:
        self.ds, self.nodes, self.now = ds, nodes, now
        self.plan = DaemonSetPlan(hash=template_hash(ds))
        self.generation = template_generation(ds)
        self.min_ready = int(ds.get("spec", {}).get("minReadySeconds") or 0)
        selector = ds.get("spec", {}).get("selector")
        claimed = replicaset.claim(ds, pods, matches=lambda p: labels.matches_label_selector(
            selector, p.get("metadata", {}).get("labels") or {}))
        owned = claimed.owned
        self._claim_patches(claimed)
        self.by_node: dict[str, list[Obj]] = {}
        self.orphaned: list[Obj] = []
        names = {_name(n) for n in nodes}
        for pod in owned:
            node = target_node(pod)
            if node in names:
                self.by_node.setdefault(node, []).append(pod)
            elif not podstate.is_terminating(pod) and not (pod.get("spec") or {}).get("nodeName"):
                # ``getUnscheduledPodsWithoutNode``: bound pods of a vanished node are PodGC's.
                self.orphaned.append(pod)
        spec = judged_spec(ds)  # judged once per sync: thousands of nodes are cheap to check
        self.verdicts = {_name(n): should_run(ds, n, spec) for n in nodes}
        self.surge, self.unavailable = _surge_counts(ds, sum(run for run, _ in self.verdicts.values()))

    def _claim_patches(self, claimed: replicaset.Claim) -> None:
        """``ClaimPods``: adopt matching orphans, release pods that stopped matching."""
        ns = self.ds.get("metadata", {}).get("namespace", "")
        ref = podtemplate.controller_ref(self.ds, api_version="apps/v1", kind="DaemonSet")
        for pod in claimed.adopt:
            self.plan.actions.append(actions.Patch("pods", ns, _name(pod), podtemplate.adoption_patch(pod, ref)))
        for pod in claimed.release:
            self.plan.actions.append(actions.Patch(
                "pods", ns, _name(pod), podtemplate.release_patch(pod, self.ds.get("metadata", {}).get("uid", ""))))

    def delete(self, pod: Obj) -> None:
        if all(pod is not d for d in self.plan.delete):
            self.plan.delete.append(pod)

    def available(self, pod: Obj) -> bool:
        return podready.is_pod_available(pod, self.min_ready, self.now)

    def manage_node(self, node: Obj) -> None:
        """``podsShouldBeOnNode``."""
        run, keep = self.verdicts[_name(node)]
        pods = self.by_node.get(_name(node), [])
        if run and not pods:
            self.plan.create_on.append(_name(node))
        elif keep:
            running = []
            for pod in pods:
                if podstate.is_terminating(pod):
                    continue
                if (pod.get("status") or {}).get("phase") in ("Failed", "Succeeded"):
                    self.plan.events.append(actions.Event("Warning", "FailedDaemonPod", (
                        f"Found failed daemon pod {pod['metadata'].get('namespace', '')}/{_name(pod)} "
                        f"on node {_name(node)}, will try to kill it")))
                    self.delete(pod)
                else:
                    running.append(pod)
            self._prune(node, sorted(running, key=oldest_first), run)
        elif pods:
            for pod in pods:
                if not podstate.is_terminating(pod):
                    self.delete(pod)

    def _prune(self, node: Obj, running: list[Obj], run: bool) -> None:
        if not self.surge:
            for pod in running[1:]:
                self.delete(pod)
            return
        if not running:
            if run:
                self.plan.create_on.append(_name(node))
            return
        newest: Obj | None = None
        oldest: Obj | None = None
        for pod in running:
            if is_updated(pod, self.plan.hash, self.generation):
                if newest is None:
                    newest = pod
                    continue
            elif oldest is None:
                oldest = pod
                continue
            self.delete(pod)
        if newest is not None and oldest is not None and (not podready.is_pod_ready(oldest) or self.available(newest)):
            self.delete(oldest)

    def split(self, pods: Sequence[Obj]) -> tuple[Obj | None, Obj | None, bool]:
        """``findUpdatedPodsOnNode``: (new, old, ok)."""
        new = old = None
        for pod in pods:
            if podstate.is_terminating(pod):
                continue
            if is_updated(pod, self.plan.hash, self.generation):
                if new is not None:
                    return None, None, False
                new = pod
            else:
                if old is not None:
                    return None, None, False
                old = pod
        return new, old, True


def _rolling_no_surge(s: _Sync) -> None:
    unavailable, replace, candidates = 0, [], []
    # ``updatedDesiredNodeCounts``: an eligible node without any pod counts as unavailable too.
    eligible = {name for name, (run, _) in s.verdicts.items() if run}
    for node in sorted(eligible | set(s.by_node)):
        new, old, ok = s.split(s.by_node.get(node, []))
        if not ok or (new is None) == (old is None):
            unavailable += 1
        elif new is not None:
            unavailable += not s.available(new)
        elif old is not None and not s.available(old):
            replace.append(old)
        elif unavailable < s.unavailable and old is not None:
            candidates.append(old)
    room = min(max(0, s.unavailable - unavailable), len(candidates))
    for pod in [*replace, *candidates[:room]]:
        s.delete(pod)


def _rolling_surge(s: _Sync) -> None:
    surged, allowed, candidates = 0, [], []
    for node_name in sorted(s.by_node):
        new, old, ok = s.split(s.by_node[node_name])
        if not ok or old is None:
            continue
        if new is None:
            if not s.available(old):
                if s.verdicts[node_name][0]:
                    allowed.append(node_name)
            elif surged < s.surge:
                candidates.append(node_name)
        elif not s.available(new):
            surged += 1
        else:
            s.delete(old)
    room = min(max(0, s.surge - surged), len(candidates))
    for node_name in [*allowed, *candidates[:room]]:
        if node_name not in s.plan.create_on:
            s.plan.create_on.append(node_name)


def _status(s: _Sync) -> dict[str, Any]:
    counts = dict.fromkeys(("desiredNumberScheduled", "currentNumberScheduled", "numberMisscheduled", "numberReady",
                            "updatedNumberScheduled", "numberAvailable"), 0)
    for node in s.nodes:
        run, _ = s.verdicts[_name(node)]
        pods = sorted(s.by_node.get(_name(node), []), key=oldest_first)
        if not run:
            counts["numberMisscheduled"] += bool(pods)
            continue
        counts["desiredNumberScheduled"] += 1
        if not pods:
            continue
        counts["currentNumberScheduled"] += 1
        pod = pods[0]
        if podready.is_pod_ready(pod):
            counts["numberReady"] += 1
            counts["numberAvailable"] += s.available(pod)
        counts["updatedNumberScheduled"] += is_updated(pod, s.plan.hash, s.generation)
    status = copy.deepcopy(dict(s.ds.get("status") or {}))
    status.update(counts, observedGeneration=s.ds.get("metadata", {}).get("generation", 0))
    unavailable = counts["desiredNumberScheduled"] - counts["numberAvailable"]
    if unavailable:
        status["numberUnavailable"] = unavailable
    else:
        status.pop("numberUnavailable", None)
    for key in ("numberAvailable", "updatedNumberScheduled"):
        if not status[key]:
            del status[key]
    return status


def plan(ds: Obj, nodes: Sequence[Obj], pods: Sequence[Obj], now: datetime, *,
         satisfied: bool = True) -> DaemonSetPlan:
    """Decide one sync of DaemonSet ``ds`` over all ``nodes`` and its namespace's ``pods``."""
    s = _Sync(ds, nodes, pods, now)
    ns = ds.get("metadata", {}).get("namespace", "")
    if ds.get("metadata", {}).get("deletionTimestamp"):
        return s.plan
    if satisfied:
        for node in nodes:
            s.manage_node(node)
        for pod in s.orphaned:
            s.delete(pod)
        if (ds.get("spec", {}).get("updateStrategy") or {}).get("type", "RollingUpdate") == "RollingUpdate":
            (_rolling_surge if s.surge else _rolling_no_surge)(s)
        s.plan.create = [new_pod(ds, n, s.plan.hash) for n in s.plan.create_on]
        s.plan.actions.extend(actions.Delete("pods", ns, _name(p), uid=p["metadata"].get("uid")) for p in s.plan.delete)
    s.plan.status = _status(s)
    if s.min_ready and s.plan.status.get("numberReady", 0) != s.plan.status.get("numberAvailable", 0):
        s.plan.requeue_after = float(s.min_ready)
    if s.plan.status != (ds.get("status") or {}):
        body = copy.deepcopy(dict(ds))
        body["status"] = s.plan.status
        s.plan.actions.append(actions.Update("daemonsets", ns, body, subresource="status"))
    return s.plan


# --- history ---------------------------------------------------------------------

def revision_data(ds: Obj) -> dict[str, Any]:
    """``getPatch``: the revision's data, a patch replacing ``spec.template``."""
    template = copy.deepcopy(ds.get("spec", {}).get("template") or {})
    template["$patch"] = "replace"
    return {"spec": {"template": template}}


def new_revision(ds: Obj, number: int) -> dict[str, Any]:
    """``snapshot``: ControllerRevision ``<ds>-<hash>`` labelled with the hash, carrying the DS annotations."""
    meta = ds.get("metadata", {})
    pod_hash = template_hash(ds)
    tlabels = ((ds.get("spec", {}).get("template") or {}).get("metadata") or {}).get("labels") or {}
    rev_meta: dict[str, Any] = {
        "name": f"{meta.get('name', '')}-{pod_hash}", "namespace": meta.get("namespace", ""),
        "labels": {**tlabels, REVISION_LABEL: pod_hash},
        "ownerReferences": [podtemplate.controller_ref(ds, api_version="apps/v1", kind="DaemonSet")]}
    if meta.get("annotations"):
        rev_meta["annotations"] = dict(meta["annotations"])
    return {"apiVersion": "apps/v1", "kind": "ControllerRevision", "metadata": rev_meta,
            "data": revision_data(ds), "revision": number}


@dataclass(slots=True)
class History:
    actions: list[actions.Action] = field(default_factory=list)
    current: dict[str, Any] = field(default_factory=dict)


def history(ds: Obj, revisions: Sequence[Obj], pods: Sequence[Obj], *, cleanup: bool = True) -> History:
    """``constructHistory`` + ``cleanupHistory`` over the namespace's ControllerRevisions.

    The revision whose data equals the template's patch is current: created
    (number max+1) when missing, renumbered to max+1 when an older one is
    reused (a rollback).  With ``cleanup`` (upstream: when expectations are
    satisfied), old revisions beyond ``revisionHistoryLimit`` whose hash no
    live pod carries are deleted, oldest first.
    """
    result = History()
    ns = ds.get("metadata", {}).get("namespace", "")
    owned = [r for r in revisions if podtemplate.is_controlled_by(r, ds)]
    data = revision_data(ds)
    matching = [r for r in owned if r.get("data") == data]
    old = [r for r in owned if r.get("data") != data]
    number = max((int(r.get("revision") or 0) for r in old), default=0) + 1
    if not matching:
        result.current = new_revision(ds, number)
        result.actions.append(actions.Create("controllerrevisions", ns, result.current))
    else:
        current = max(matching, key=lambda r: int(r.get("revision") or 0))
        result.current = copy.deepcopy(dict(current))
        if int(current.get("revision") or 0) < number:
            result.current["revision"] = number
            result.actions.append(actions.Update("controllerrevisions", ns, result.current))
    if cleanup:
        limit = ds.get("spec", {}).get("revisionHistoryLimit", 10)
        excess = len(old) - (10 if limit is None else int(limit))
        live = {(p.get("metadata", {}).get("labels") or {}).get(REVISION_LABEL) for p in pods
                if podtemplate.is_controlled_by(p, ds)}
        for rev in sorted(old, key=lambda r: int(r.get("revision") or 0)):
            if excess <= 0:
                break
            if (rev.get("metadata", {}).get("labels") or {}).get(REVISION_LABEL) in live:
                continue
            result.actions.append(actions.Delete("controllerrevisions", ns, _name(rev),
                                                 uid=rev.get("metadata", {}).get("uid")))
            excess -= 1
    return result
