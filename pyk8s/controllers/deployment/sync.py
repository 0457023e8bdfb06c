"""One Deployment sync as a pure function: ``plan(deployment, replicasets, pods, now)``.

Follows ``pkg/controller/deployment`` (``deployment_controller.go``
``syncDeployment``, ``sync.go``, ``rolling.go``, ``recreate.go``):

1. claim ReplicaSets by selector and controllerRef (adopt / release);
2. a Deployment being deleted, or paused, or whose sets disagree with its
   size (``desired-replicas`` annotation, a *scaling event*) only scales
   (proportionally across active sets) and recomputes status; paused ones
   also get the DeploymentPaused / DeploymentResumed condition and history
   cleanup;
3. otherwise a rollout step: RollingUpdate creates/grows the new set within
   ``maxSurge``, and if it did not scale up, shrinks old ones within
   ``maxUnavailable`` (unhealthy pods first, then oldest sets first);
   Recreate scales every old set to 0, waits for their pods to be gone, then
   creates/grows the new set;
4. once complete, old sets beyond ``revisionHistoryLimit`` that have no
   replicas are deleted, oldest revision first.

The plan works on private copies: each step sees the effect of the ones
before it, as upstream sees its own writes.  Writes come out as actions:
``Create``/``Update``/``Delete`` of replicasets, a merge ``Patch`` of the
Deployment's revision annotation (upstream writes it through UpdateStatus,
whose strategy keeps annotations; a metadata patch needs no such favour),
and an ``Update`` of the status subresource when it changed.  When the
create of the new set fails with AlreadyExists for a different template, the
wiring bumps ``status.collisionCount`` and requeues (upstream does the same).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pyk8s.controllers import actions, podtemplate, replicaset
from pyk8s.controllers.deployment import progress, revision, rollout
from pyk8s.controllers.deployment import rollingmath as rm
from pyk8s.machinery import labels

Obj = Mapping[str, Any]
RS = dict[str, Any]


@dataclass(slots=True)
class DeploymentPlan(actions.Plan):
    status: dict[str, Any] = field(default_factory=dict)
    new_rs_name: str | None = None


class _Sync:
    """Working state of one sync: copies of the Deployment and its sets."""

    def __init__(self, d: Obj, rss: Sequence[Obj], now: datetime) -> None:
        self.d: dict[str, Any] = copy.deepcopy(dict(d))
        self.d.setdefault("status", {})
        self.rss: list[RS] = [copy.deepcopy(dict(rs)) for rs in rss]
        self.now = now
        self.ns = self.d.get("metadata", {}).get("namespace", "")
        self.plan = DeploymentPlan()
        self._creates: list[RS] = []
        self._updates: dict[str, RS] = {}
        self.deletes: list[actions.Delete] = []
        self.revision_patch: str | None = None

    def event(self, reason: str, message: str, kind: str = "Normal") -> None:
        self.plan.events.append(actions.Event(kind, reason, message))

    def scale(self, rs: RS, size: int, operation: str | None = None) -> bool:
        """``scaleReplicaSet``: resize and refresh the replica annotations."""
        old = rm.rs_replicas(rs)
        resized = old != size
        surge = rm.max_surge(self.d)
        touched = revision.set_replicas_annotations(rs, rm.replicas(self.d), rm.replicas(self.d) + surge)
        if resized or touched:
            rs.setdefault("spec", {})["replicas"] = size
            self.touch(rs)
        if resized:
            op = operation or ("up" if old < size else "down")
            self.event("ScalingReplicaSet", f"Scaled {op} replica set {rs['metadata']['name']} to {size} from {old}")
        return resized

    def touch(self, rs: RS) -> None:
        if not any(rs is c for c in self._creates):
            self._updates[rs["metadata"]["name"]] = rs

    def finish(self, original: Obj) -> DeploymentPlan:
        acts = self.plan.actions
        acts.extend(actions.Create("replicasets", self.ns, rs) for rs in self._creates)
        acts.extend(actions.Update("replicasets", self.ns, rs) for rs in self._updates.values())
        acts.extend(self.deletes)
        name = self.d["metadata"]["name"]
        if self.revision_patch is not None:
            acts.append(actions.Patch("deployments", self.ns, name,
                                      {"metadata": {"annotations": {revision.REVISION: self.revision_patch}}},
                                      actions.MERGE))
        if self.plan.status != (original.get("status") or {}):
            body = copy.deepcopy(dict(original))
            body["status"] = self.plan.status
            acts.append(actions.Update("deployments", self.ns, body, subresource="status"))
        return self.plan

    # --- new and old sets -------------------------------------------------

    def split(self) -> tuple[RS | None, list[RS]]:
        new = revision.find_new(self.d, self.rss)
        return new, revision.find_old(self.rss, new)  # type: ignore[return-value]

    def sync_revision(self, create: bool) -> tuple[RS | None, list[RS]]:
        """``getAllReplicaSetsAndSyncRevision``."""
        new, old = self.split()
        new_revision = revision.max_revision(old) + 1
        if new is not None:
            self._refresh_existing(new, new_revision)
        elif create:
            new = self._create_new(old, new_revision)
        return new, old

    def _set_deployment_revision(self, value: str | None) -> None:
        annotations = self.d["metadata"].setdefault("annotations", {}) or {}
        self.d["metadata"]["annotations"] = annotations
        if value and annotations.get(revision.REVISION) != value:
            annotations[revision.REVISION] = value
            self.revision_patch = value

    def _refresh_existing(self, new: RS, new_revision: int) -> None:
        changed = revision.set_new_rs_annotations(self.d, new, new_revision, exists=True,
                                                  max_surge=rm.max_surge(self.d))
        min_ready = self.d["spec"].get("minReadySeconds", 0) or 0
        if changed or (new["spec"].get("minReadySeconds", 0) or 0) != min_ready:
            new["spec"]["minReadySeconds"] = min_ready
            self.touch(new)
        self._set_deployment_revision(revision.annotations_of(new).get(revision.REVISION))
        if progress.condition(self.d["status"], "Progressing") is None and progress.has_progress_deadline(self.d):
            progress.set_condition(self.d["status"], progress.new_condition(
                "Progressing", "True", progress.FOUND_NEW_RS_REASON,
                f'Found new replica set "{new["metadata"]["name"]}"', self.now))

    def _create_new(self, old: list[RS], new_revision: int) -> RS:
        template = copy.deepcopy(self.d["spec"].get("template") or {})
        pod_hash = podtemplate.compute_hash(template, self.d["status"].get("collisionCount"))
        tmeta = template.setdefault("metadata", {})
        tmeta["labels"] = {**(tmeta.get("labels") or {}), podtemplate.POD_TEMPLATE_HASH_LABEL: pod_hash}
        selector = copy.deepcopy(self.d["spec"].get("selector") or {})
        selector["matchLabels"] = {**(selector.get("matchLabels") or {}),
                                   podtemplate.POD_TEMPLATE_HASH_LABEL: pod_hash}
        name = f"{self.d['metadata']['name']}-{pod_hash}"
        new: RS = {
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": name, "namespace": self.ns, "labels": dict(tmeta["labels"]),
                         "ownerReferences": [podtemplate.controller_ref(self.d, api_version="apps/v1",
                                                                        kind="Deployment")]},
            "spec": {"replicas": 0, "minReadySeconds": self.d["spec"].get("minReadySeconds", 0) or 0,
                     "selector": selector, "template": template},
        }
        new["spec"]["replicas"] = rm.new_rs_replicas(self.d, [*old, new], new)
        revision.set_new_rs_annotations(self.d, new, new_revision, exists=False, max_surge=rm.max_surge(self.d))
        self._creates.append(new)
        self.rss.append(new)
        if new["spec"]["replicas"] > 0:
            self.event("ScalingReplicaSet", f"Scaled up replica set {name} to {new['spec']['replicas']}")
        self._set_deployment_revision(str(new_revision))
        if progress.has_progress_deadline(self.d):
            progress.set_condition(self.d["status"], progress.new_condition(
                "Progressing", "True", progress.NEW_RS_REASON, f'Created new replica set "{name}"', self.now))
        return new

    # --- scaling ----------------------------------------------------------

    def is_scaling_event(self) -> bool:
        new, old = self.split()
        for rs in _active([new, *old]):
            desired = revision.int_annotation(rs, revision.DESIRED_REPLICAS)
            if desired is not None and desired != rm.replicas(self.d):
                return True
        return False

    def proportional_scale(self, new: RS | None, old: list[RS]) -> None:
        """``scale``: resize for a changed ``spec.replicas`` without rolling."""
        want = rm.replicas(self.d)
        latest = _active_or_latest(new, old)
        if latest is not None:
            if rm.rs_replicas(latest) != want:
                self.scale(latest, want)
            return
        if _saturated(self.d, new):
            for rs in _active(old):
                self.scale(rs, 0)
            return
        if rm.is_rolling(self.d):
            self._spread(_active([*old, new]))

    def _spread(self, sets: list[RS]) -> None:
        allowed = rm.replicas(self.d) + rm.max_surge(self.d) if rm.replicas(self.d) > 0 else 0
        to_add = allowed - rm.spec_total(sets)
        operation = None
        if to_add > 0:
            sets.sort(key=revision.by_creation, reverse=True)  # newer first among equals
            sets.sort(key=rm.rs_replicas, reverse=True)
            operation = "up"
        elif to_add < 0:
            sets.sort(key=revision.by_creation)
            sets.sort(key=rm.rs_replicas, reverse=True)
            operation = "down"
        sizes, added = [], 0
        for rs in sets:
            share = rm.proportion(rs, self.d, to_add, added) if to_add else 0
            sizes.append(rm.rs_replicas(rs) + share)
            added += share
        if to_add and sets:
            sizes[0] = max(0, sizes[0] + to_add - added)
        for rs, size in zip(sets, sizes, strict=True):
            self.scale(rs, size, operation)


def _active(rss: Sequence[RS | None]) -> list[RS]:
    return [rs for rs in rss if rs is not None and rm.rs_replicas(rs) > 0]


def _active_or_latest(new: RS | None, old: list[RS]) -> RS | None:
    """``FindActiveOrLatest``."""
    if new is None and not old:
        return None
    newest_first = sorted(old, key=revision.by_creation, reverse=True)
    active = _active([*newest_first, new])
    if not active:
        return new if new is not None else newest_first[0]
    return active[0] if len(active) == 1 else None


def _saturated(d: Obj, rs: RS | None) -> bool:
    if rs is None:
        return False
    desired = revision.int_annotation(rs, revision.DESIRED_REPLICAS)
    want = rm.replicas(d)
    return (rm.rs_replicas(rs) == want and desired == want
            and int((rs.get("status") or {}).get("availableReplicas") or 0) == want)


def _selects_everything(d: Obj) -> bool:
    selector = d.get("spec", {}).get("selector")
    return selector is not None and not selector.get("matchLabels") and not selector.get("matchExpressions")


def _claim(s: _Sync, rss: Sequence[Obj]) -> None:
    selector = s.d["spec"].get("selector")
    claimed = replicaset.claim(s.d, rss, matches=lambda o: labels.matches_label_selector(
        selector, o.get("metadata", {}).get("labels") or {}))
    ref = podtemplate.controller_ref(s.d, api_version="apps/v1", kind="Deployment")
    for rs in claimed.adopt:
        s.plan.actions.append(actions.Patch("replicasets", s.ns, rs["metadata"]["name"],
                                            podtemplate.adoption_patch(rs, ref)))
    for rs in claimed.release:
        s.plan.actions.append(actions.Patch("replicasets", s.ns, rs["metadata"]["name"],
                                            podtemplate.release_patch(rs, s.d["metadata"].get("uid", ""))))
    s.rss = [copy.deepcopy(dict(rs)) for rs in claimed.owned]


def plan(d: Obj, rss: Sequence[Obj], pods: Sequence[Obj], now: datetime) -> DeploymentPlan:
    """Decide one sync of Deployment ``d``; ``rss``/``pods`` are those of its namespace."""
    s = _Sync(d, [], now)
    if _selects_everything(d):
        s.event("SelectingAll", "This deployment is selecting all pods. A non-empty selector is required.",
                "Warning")
        status = dict(d.get("status") or {})
        status["observedGeneration"] = max(status.get("observedGeneration", 0), d["metadata"].get("generation", 0))
        s.plan.status = status
        return s.finish(d)
    _claim(s, rss)
    if d.get("metadata", {}).get("deletionTimestamp"):
        rollout.status_only(s)
        return s.finish(d)
    cond = progress.paused_condition(s.d, now)
    if cond is not None:
        progress.set_condition(s.d["status"], cond)
    if s.d["spec"].get("paused") or s.is_scaling_event():
        rollout.scale_only(s)
    elif rm.is_rolling(s.d):
        rollout.rolling(s)
    else:
        rollout.recreate(s, _pods_by_owner(pods))
    return s.finish(d)


def _pods_by_owner(pods: Sequence[Obj]) -> dict[str, list[Obj]]:
    grouped: dict[str, list[Obj]] = {}
    for pod in pods:
        ref = podtemplate.controller_of(pod)
        if ref is not None:
            grouped.setdefault(ref.get("uid", ""), []).append(pod)
    return grouped



def collision_status(d: Obj, existing: Obj) -> dict[str, Any] | None:
    """After a create of the new set failed with AlreadyExists: the status to write, or None.

    None means ``existing`` is ours and has our template (not a collision:
    resync).  Otherwise ``collisionCount`` goes up by one, so the next sync
    hashes to another name (upstream requeues after this status update).
    """
    ref = podtemplate.controller_of(existing)
    if ref is not None and ref.get("uid") == d.get("metadata", {}).get("uid") and revision.equal_ignore_hash(
            d.get("spec", {}).get("template"), existing.get("spec", {}).get("template")):
        return None
    status = copy.deepcopy(dict(d.get("status") or {}))
    status["collisionCount"] = int(status.get("collisionCount") or 0) + 1
    return status


def create_failed_status(d: Obj, rs_name: str, error: str, now: datetime) -> tuple[dict[str, Any], actions.Event]:
    """Another create failure: Progressing False ``ReplicaSetCreateError``, and the warning event."""
    message = f'Failed to create new replica set "{rs_name}": {error}'
    status = copy.deepcopy(dict(d.get("status") or {}))
    if progress.has_progress_deadline(d):
        progress.set_condition(status, progress.new_condition("Progressing", "False", "ReplicaSetCreateError",
                                                              message, now))
    return status, actions.Event("Warning", "ReplicaSetCreateError", message)
