"""ReplicaSet and ReplicationController: keep ``spec.replicas`` pods alive.

Follows ``pkg/controller/replicaset/replica_set.go`` (the RC controller
upstream is the same code behind an adapter):

* Pods are listed in the namespace, terminal and terminating ones dropped
  (``FilterActivePods``), then *claimed*: a pod controlled by this set stays
  if the selector still matches and is released (orphaned) otherwise; an
  orphan whose labels match is adopted, unless the set or the pod is being
  deleted.  Pods controlled by someone else are never touched.
* ``diff = active - spec.replicas``.  Missing pods are created in slow-start
  batches (1, 2, 4, ... stopping at the first failure), at most 500 per sync
  (``burstReplicas``); extra pods are deleted in ``podstate.deletion_order``
  with ranks counting the pods of related sets on the same node.  Nothing is
  created or deleted until the expectations for the key are satisfied, or
  while the set is being deleted.
* Status: replicas (active owned pods), fullyLabeledReplicas (pods carrying
  every template label), readyReplicas, availableReplicas (``minReadySeconds``),
  observedGeneration, and a ``ReplicaFailure`` condition (``FailedCreate`` /
  ``FailedDelete``) while create/delete calls fail, removed once they succeed.
* A sync whose pods are all ready but not yet available requeues after
  ``minReadySeconds``, so availability is noticed without a watch event.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pyk8s.api.core_v1.helpers import podready, timestamps
from pyk8s.controllers import actions, podstate, podtemplate
from pyk8s.machinery import labels

BURST_REPLICAS = 500
SLOW_START_INITIAL_BATCH = 1
Obj = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Kind:
    api_version: str
    kind: str
    resource: str


REPLICA_SET = Kind("apps/v1", "ReplicaSet", "replicasets")
REPLICATION_CONTROLLER = Kind("v1", "ReplicationController", "replicationcontrollers")


def selector_matches(owner: Obj, pod_labels: Mapping[str, str] | None, kind: Kind = REPLICA_SET) -> bool:
    """Whether the owner's selector selects ``pod_labels`` (an empty selector selects nothing)."""
    selector = owner.get("spec", {}).get("selector")
    if kind is REPLICATION_CONTROLLER:
        # An RC selector is a plain map; absent means "the template labels".
        wanted = selector or ((owner.get("spec", {}).get("template") or {}).get("metadata") or {}).get("labels") or {}
        return bool(wanted) and all((pod_labels or {}).get(k) == v for k, v in wanted.items())
    if not selector or (not selector.get("matchLabels") and not selector.get("matchExpressions")):
        return False
    return labels.matches_label_selector(selector, pod_labels or {})


@dataclass(slots=True)
class Claim:
    owned: list[Obj] = field(default_factory=list)
    adopt: list[Obj] = field(default_factory=list)
    release: list[Obj] = field(default_factory=list)


def claim(owner: Obj, objects: Sequence[Obj], *, kind: Kind = REPLICA_SET,
          matches: Callable[[Obj], bool] | None = None) -> Claim:
    """``ClaimObjects``: split ``objects`` into kept, to-adopt and to-release.

    ``owned`` includes the adopted objects (upstream counts them once the
    adoption patch succeeds; the wiring drops any whose patch fails).
    """
    matches = matches or (lambda o: selector_matches(owner, o.get("metadata", {}).get("labels"), kind))
    owner_uid = owner.get("metadata", {}).get("uid")
    owner_deleting = bool(owner.get("metadata", {}).get("deletionTimestamp"))
    result = Claim()
    for obj in objects:
        ref = podtemplate.controller_of(obj)
        if ref is not None:
            if ref.get("uid") != owner_uid:
                continue
            if matches(obj):
                result.owned.append(obj)
            elif not owner_deleting:
                result.release.append(obj)
            continue
        if owner_deleting or not matches(obj) or obj.get("metadata", {}).get("deletionTimestamp"):
            continue
        result.adopt.append(obj)
        result.owned.append(obj)
    return result


def slow_start_batches(count: int, initial: int = SLOW_START_INITIAL_BATCH) -> list[int]:
    """Batch sizes ``slowStartBatch`` would use for ``count`` calls: 1, 2, 4, ..."""
    sizes: list[int] = []
    remaining, size = count, min(count, initial)
    while size > 0:
        sizes.append(size)
        remaining -= size
        size = min(2 * size, remaining)
    return sizes


async def slow_start(count: int, call: Callable[[], Awaitable[None]],
                     initial: int = SLOW_START_INITIAL_BATCH) -> tuple[int, BaseException | None]:
    """Run ``call`` ``count`` times in growing batches; stop after a batch with a failure.

    Returns (successes, first error).  Calls inside a batch run concurrently.
    """
    successes = 0
    for size in slow_start_batches(count, initial):
        results = await asyncio.gather(*(call() for _ in range(size)), return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        successes += size - len(errors)
        if errors:
            return successes, errors[0]
    return successes, None


def pods_to_delete(pods: Sequence[Obj], related: Sequence[Obj], count: int, now: datetime | None) -> list[Obj]:
    """``getPodsToDelete``: the ``count`` best deletion candidates, best first."""
    if count >= len(pods):
        return list(pods)
    ranks = podstate.ranks_by_node(pods, related)
    return podstate.deletion_order(pods, ranks, now)[:count]


def _fully_labeled(pod: Obj, template_labels: Mapping[str, str]) -> bool:
    pod_labels = pod.get("metadata", {}).get("labels") or {}
    return all(pod_labels.get(k) == v for k, v in template_labels.items())


def calculate_status(owner: Obj, pods: Sequence[Obj], now: datetime, *, diff: int = 0,
                     manage_error: str | None = None) -> dict[str, Any]:
    """``calculateStatus`` + observedGeneration, for the owned active ``pods``."""
    spec = owner.get("spec", {})
    template_labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    min_ready = spec.get("minReadySeconds", 0) or 0
    status = copy.deepcopy(dict(owner.get("status") or {}))
    status["replicas"] = len(pods)
    status["fullyLabeledReplicas"] = sum(1 for p in pods if _fully_labeled(p, template_labels))
    status["readyReplicas"] = sum(1 for p in pods if podready.is_pod_ready(p))
    status["availableReplicas"] = sum(1 for p in pods if podready.is_pod_available(p, min_ready, now))
    status["observedGeneration"] = owner.get("metadata", {}).get("generation", 0)
    conditions = [c for c in status.get("conditions") or [] if c.get("type") != "ReplicaFailure"]
    existing = next((c for c in status.get("conditions") or [] if c.get("type") == "ReplicaFailure"), None)
    if manage_error is not None:
        if existing is not None:
            conditions.append(existing)
        else:
            reason = "FailedCreate" if diff < 0 else "FailedDelete"
            conditions.append({"type": "ReplicaFailure", "status": "True", "lastTransitionTime": timestamps.format_time(now),
                               "reason": reason, "message": manage_error})
    if conditions:
        status["conditions"] = conditions
    else:
        status.pop("conditions", None)
    return status


@dataclass(slots=True)
class ReplicaSetPlan(actions.Plan):
    """What one sync of a ReplicaSet decided.

    ``create`` copies of ``pod`` go out through ``slow_start``; then the
    wiring records ``expect_adds``/``expect_deletes`` with ``Expectations``
    *before* issuing the calls (as upstream does), lowering them for creations
    skipped after a failure.
    """

    owned: list[Obj] = field(default_factory=list)
    create: int = 0
    pod: dict[str, Any] | None = None
    delete: list[Obj] = field(default_factory=list)
    diff: int = 0
    status: dict[str, Any] = field(default_factory=dict)


def plan(rs: Obj, pods: Sequence[Obj], now: datetime, *, satisfied: bool = True,
         related: Sequence[Obj] | None = None, kind: Kind = REPLICA_SET) -> ReplicaSetPlan:
    """Decide one sync of ``rs`` given all pods of its namespace.

    ``satisfied`` is ``Expectations.satisfied(key, now)``; ``related`` are the
    active pods of sibling sets (same controller) for deletion ranking.
    """
    result = ReplicaSetPlan()
    ns = rs.get("metadata", {}).get("namespace", "")
    ref = podtemplate.controller_ref(rs, api_version=kind.api_version, kind=kind.kind)
    claimed = claim(rs, [p for p in pods if podstate.is_active(p)], kind=kind)
    for pod in claimed.adopt:
        result.actions.append(actions.Patch("pods", ns, pod["metadata"]["name"], podtemplate.adoption_patch(pod, ref)))
    for pod in claimed.release:
        result.actions.append(actions.Patch(
            "pods", ns, pod["metadata"]["name"], podtemplate.release_patch(pod, rs["metadata"].get("uid", ""))))
    result.owned = claimed.owned
    replicas = rs.get("spec", {}).get("replicas", 1)
    replicas = 1 if replicas is None else replicas
    result.diff = len(claimed.owned) - replicas
    if satisfied and not rs.get("metadata", {}).get("deletionTimestamp"):
        if result.diff < 0:
            result.create = min(-result.diff, BURST_REPLICAS)
            result.pod = podtemplate.pod_from_template(rs.get("spec", {}).get("template") or {}, rs, ref)
        elif result.diff > 0:
            count = min(result.diff, BURST_REPLICAS)
            result.delete = pods_to_delete(claimed.owned, related if related is not None else claimed.owned,
                                           count, now)
            result.actions.extend(actions.Delete("pods", ns, p["metadata"]["name"], uid=p["metadata"].get("uid"))
                                  for p in result.delete)
    result.status = calculate_status(rs, claimed.owned, now, diff=result.diff)
    min_ready = rs.get("spec", {}).get("minReadySeconds", 0) or 0
    if min_ready > 0 and result.status["readyReplicas"] == replicas and result.status["availableReplicas"] != replicas:
        result.requeue_after = float(min_ready)
    return result
