"""The StatefulSet controller: pods with stable names, ordinals and storage.

Follows ``pkg/controller/statefulset`` (``stateful_set_control.go``,
``stateful_set_utils.go``, ``history``):

* Identity: pod ``<set>-<ordinal>`` for ordinals ``[start, start+replicas)``
  (``spec.ordinals.start``), ``hostname`` = pod name, ``subdomain`` =
  ``serviceName``, labels ``statefulset.kubernetes.io/pod-name``,
  ``apps.kubernetes.io/pod-index`` and ``controller-revision-hash`` (the
  ControllerRevision's name).  Each ``volumeClaimTemplates`` entry becomes
  PVC ``<claim>-<set>-<ordinal>`` (labels: template's + selector's) mounted
  under the claim's name.  Repairing a pod's identity (``updateIdentity``,
  once it is Running and Ready) restores the labels only: hostname and
  subdomain are immutable after creation.
* Claiming (``ClaimPods`` with ``isMemberOf``): orphans matching the
  selector and named ``<set>-<n>`` are adopted, owned pods that stop
  matching are released (``Patch`` actions first in the plan).
* Revisions: a ControllerRevision holds the patch ``{"spec":{"template":
  {..., "$patch":"replace"}}}`` as compact sorted-key JSON, named
  ``<set>-<hash>`` where hash is FNV-32 (FNV-1, not 1a, as upstream) of that
  JSON plus the collision count in decimal, in the SafeEncodeString
  alphabet (also its label ``controller.kubernetes.io/hash``).  Parity with
  upstream names holds only where our JSON of the template equals Go's (Go
  also writes e.g. ``creationTimestamp: null``).
  An existing revision with equal data is reused (a rollback renumbers it).
  Revisions neither current, updated nor used by a pod are kept up to
  ``revisionHistoryLimit``.
* OrderedReady (default): one pod at a time, in ordinal order, each must be
  Running and Ready (and available past ``minReadySeconds``) before the next
  is created; scale-down deletes the highest ordinal first, only when all
  others are healthy.  Parallel: create and delete all at once.  Failed or
  Succeeded pods are deleted and recreated.
* RollingUpdate: after the set is at size and healthy, delete the highest
  ordinal ``>= partition`` whose revision is not the update revision, one at
  a time, waiting for health between.  OnDelete: only replace pods the user
  deleted.  New pods below the partition (or below ``currentReplicas``) use
  the current revision's template.
* ``persistentVolumeClaimRetentionPolicy``: PVC ownerReferences to the set
  (``whenDeleted: Delete``) and/or to the condemned pod (``whenScaled:
  Delete``), for the garbage collector; Retain removes them.
* Status: replicas, readyReplicas, availableReplicas, currentReplicas,
  updatedReplicas, currentRevision, updateRevision, observedGeneration;
  a finished rolling update makes the update revision current.

Not implemented: ``maxUnavailable`` for rolling updates (alpha upstream).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from pyk8s.api.core_v1.helpers import podready
from pyk8s.controllers import actions, podstate, podtemplate, replicaset
from pyk8s.machinery import labels

Obj = Mapping[str, Any]
POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"
REVISION_LABEL = "controller-revision-hash"
HASH_LABEL = "controller.kubernetes.io/hash"  # on the ControllerRevision (``history.NewControllerRevision``)
_ORDINAL = re.compile(r"^(.*)-([0-9]+)$")
_FNV1_PRIME = 0x01000193


def fnv32(data: bytes) -> int:
    """FNV-1 32-bit (Go's ``fnv.New32``): multiply, then xor."""
    state = 0x811C9DC5
    for byte in data:
        state = ((state * _FNV1_PRIME) & 0xFFFFFFFF) ^ byte
    return state


def _name(obj: Obj) -> str:
    return obj.get("metadata", {}).get("name", "")


def ordinal_of(pod: Obj) -> tuple[str, int]:
    """(parent name, ordinal) parsed from a pod name; ordinal -1 if none."""
    match = _ORDINAL.match(_name(pod))
    return (match.group(1), int(match.group(2))) if match else ("", -1)


def start_ordinal(sts: Obj) -> int:
    return int(((sts.get("spec", {}).get("ordinals") or {}).get("start")) or 0)


def replicas(sts: Obj) -> int:
    value = sts.get("spec", {}).get("replicas", 1)
    return 1 if value is None else int(value)


def claim_name(claim: str, set_name: str, ordinal: int) -> str:
    return f"{claim}-{set_name}-{ordinal}"


# --- revisions ---------------------------------------------------------------

def revision_data(sts: Obj) -> dict[str, Any]:
    template = copy.deepcopy(sts.get("spec", {}).get("template") or {})
    template["$patch"] = "replace"
    return {"spec": {"template": template}}


def revision_hash(data: Obj, collision_count: int | None = None) -> str:
    raw = orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
    if collision_count is not None:
        raw += str(collision_count).encode()
    return podtemplate.safe_encode(str(fnv32(raw)))


def template_of(revision: Obj) -> dict[str, Any]:
    template = copy.deepcopy(((revision.get("data") or {}).get("spec") or {}).get("template") or {})
    template.pop("$patch", None)
    return template


def new_revision(sts: Obj, number: int) -> dict[str, Any]:
    data = revision_data(sts)
    collision = (sts.get("status") or {}).get("collisionCount")
    meta = sts.get("metadata", {})
    rev_hash = revision_hash(data, collision)
    name = f"{meta.get('name', '')[:223]}-{rev_hash}"
    tlabels = ((sts.get("spec", {}).get("template") or {}).get("metadata") or {}).get("labels") or {}
    return {"apiVersion": "apps/v1", "kind": "ControllerRevision",
            "metadata": {"name": name, "namespace": meta.get("namespace", ""),
                         "labels": {**tlabels, HASH_LABEL: rev_hash},
                         "ownerReferences": [podtemplate.controller_ref(sts, api_version="apps/v1",
                                                                        kind="StatefulSet")]},
            "data": data, "revision": number}


# --- pods and claims ---------------------------------------------------------

def _claims(sts: Obj, ordinal: int) -> list[dict[str, Any]]:
    selector_labels = (sts.get("spec", {}).get("selector") or {}).get("matchLabels") or {}
    result = []
    for template in sts.get("spec", {}).get("volumeClaimTemplates") or []:
        claim = copy.deepcopy(dict(template))
        meta = claim.setdefault("metadata", {})
        meta["name"] = claim_name(_name(template), _name(sts), ordinal)
        meta["namespace"] = sts.get("metadata", {}).get("namespace", "")
        meta["labels"] = {**(meta.get("labels") or {}), **selector_labels}
        claim.update(apiVersion="v1", kind="PersistentVolumeClaim")
        claim.pop("status", None)
        result.append(claim)
    return result


def new_pod(sts: Obj, template: Obj, revision_name: str, ordinal: int) -> dict[str, Any]:
    """``newVersionedStatefulSetPod``: the pod for ``ordinal`` at a revision."""
    ref = podtemplate.controller_ref(sts, api_version="apps/v1", kind="StatefulSet")
    pod = podtemplate.pod_from_template(template, sts, ref)
    meta = pod["metadata"]
    name = f"{_name(sts)}-{ordinal}"
    del meta["generateName"]
    meta["name"] = name
    meta["labels"] = {**(meta.get("labels") or {}), POD_NAME_LABEL: name, POD_INDEX_LABEL: str(ordinal),
                      REVISION_LABEL: revision_name}
    pod["spec"]["hostname"] = name
    if sts.get("spec", {}).get("serviceName"):
        pod["spec"]["subdomain"] = sts["spec"]["serviceName"]
    volumes = {v.get("name"): v for v in pod["spec"].get("volumes") or []}
    for template_claim, claim in zip(sts.get("spec", {}).get("volumeClaimTemplates") or [], _claims(sts, ordinal),
                                     strict=True):
        volumes[_name(template_claim)] = {"name": _name(template_claim),
                                          "persistentVolumeClaim": {"claimName": _name(claim)}}
    if volumes:
        pod["spec"]["volumes"] = list(volumes.values())
    return pod


def identity_matches(sts: Obj, pod: Obj) -> bool:
    parent, ordinal = ordinal_of(pod)
    pod_labels = pod.get("metadata", {}).get("labels") or {}
    return (parent == _name(sts) and pod.get("metadata", {}).get("namespace", "") == sts["metadata"].get("namespace", "")
            and pod_labels.get(POD_NAME_LABEL) == _name(pod) and pod_labels.get(POD_INDEX_LABEL) == str(ordinal))


def fix_identity(sts: Obj, pod: Obj) -> dict[str, Any]:
    """``updateIdentity``: the pod with its identity labels restored.

    Only labels: hostname and subdomain are set at creation (``initIdentity``)
    and a pod's spec may not change them afterwards.
    """
    fixed = copy.deepcopy(dict(pod))
    _, ordinal = ordinal_of(pod)
    meta = fixed["metadata"]
    meta["labels"] = {**(meta.get("labels") or {}), POD_NAME_LABEL: _name(pod), POD_INDEX_LABEL: str(ordinal)}
    return fixed


def claim_owner_refs(sts: Obj, claim: Obj, pod: Obj | None, ordinal: int) -> list[dict[str, Any]]:
    """The ownerReferences a PVC should carry under the retention policy."""
    policy = sts.get("spec", {}).get("persistentVolumeClaimRetentionPolicy") or {}
    deleted, scaled = policy.get("whenDeleted", "Retain"), policy.get("whenScaled", "Retain")
    condemned = ordinal >= start_ordinal(sts) + replicas(sts)
    set_uid = sts.get("metadata", {}).get("uid")
    pod_uid = None if pod is None else pod.get("metadata", {}).get("uid")
    refs = [r for r in claim.get("metadata", {}).get("ownerReferences") or []
            if r.get("uid") not in (set_uid, pod_uid)]
    want_set = deleted == "Delete" and not (scaled == "Delete" and condemned)
    want_pod = scaled == "Delete" and condemned and pod is not None
    if want_set:
        refs.append({"apiVersion": "apps/v1", "kind": "StatefulSet", "name": _name(sts), "uid": set_uid})
    if want_pod and pod is not None:
        refs.append({"apiVersion": "v1", "kind": "Pod", "name": _name(pod), "uid": pod_uid})
    return refs


# --- the sync ------------------------------------------------------------------

@dataclass(slots=True)
class StatefulSetPlan(actions.Plan):
    status: dict[str, Any] = field(default_factory=dict)
    current_revision: str = ""
    update_revision: str = ""


def _revisions(sts: Obj, revisions: Sequence[Obj], result: StatefulSetPlan) -> tuple[Obj, Obj]:
    """``getStatefulSetRevisions``: (current, update), creating or renumbering the update one."""
    ordered = sorted(revisions, key=lambda r: (int(r.get("revision") or 0), _name(r)))
    latest = max((int(r.get("revision") or 0) for r in ordered), default=0)
    data = revision_data(sts)
    equal = [r for r in ordered if r.get("data") == data]
    ns = sts.get("metadata", {}).get("namespace", "")
    if equal and equal[-1] is ordered[-1]:
        update: Obj = equal[-1]
    elif equal:
        update = {**copy.deepcopy(dict(equal[-1])), "revision": latest + 1}
        result.actions.append(actions.Update("controllerrevisions", ns, update))
    else:
        update = new_revision(sts, latest + 1)
        result.actions.append(actions.Create("controllerrevisions", ns, update))
    current_name = (sts.get("status") or {}).get("currentRevision")
    current = next((r for r in ordered if _name(r) == current_name), update)
    return current, update


def _is_created(pod: Obj) -> bool:
    return bool((pod.get("status") or {}).get("phase"))


def _running_ready(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") == "Running" and podready.is_pod_ready(pod)


def _available(pod: Obj, min_ready: int, now: datetime) -> bool:
    return _running_ready(pod) and podready.is_pod_available(pod, min_ready, now)


class _Sync:
    def __init__(self, sts: Obj, now: datetime, result: StatefulSetPlan) -> None:
        self.sts, self.now, self.plan = sts, now, result
        self.ns = sts.get("metadata", {}).get("namespace", "")
        self.min_ready = int(sts.get("spec", {}).get("minReadySeconds") or 0)
        self.monotonic = sts.get("spec", {}).get("podManagementPolicy", "OrderedReady") != "Parallel"

    def delete(self, pod: Obj) -> None:
        self.plan.actions.append(actions.Delete("pods", self.ns, _name(pod), uid=pod["metadata"].get("uid")))
        self.plan.events.append(actions.Event(
            "Normal", "SuccessfulDelete", f"delete Pod {_name(pod)} in StatefulSet {_name(self.sts)} successful"))

    def create(self, pod: dict[str, Any], pvcs: Mapping[str, Obj]) -> None:
        _, ordinal = ordinal_of(pod)
        for claim in _claims(self.sts, ordinal):
            if _name(claim) not in pvcs:
                claim["metadata"]["ownerReferences"] = claim_owner_refs(self.sts, claim, None, ordinal) or None
                if not claim["metadata"]["ownerReferences"]:
                    del claim["metadata"]["ownerReferences"]
                self.plan.actions.append(actions.Create("persistentvolumeclaims", self.ns, claim))
        self.plan.actions.append(actions.Create("pods", self.ns, pod))
        self.plan.events.append(actions.Event(
            "Normal", "SuccessfulCreate", f"create Pod {_name(pod)} in StatefulSet {_name(self.sts)} successful"))

    def process_replica(self, pod: Obj, pvcs: Mapping[str, Obj]) -> bool:
        """One replica; True when a monotonic sync must stop here."""
        phase = (pod.get("status") or {}).get("phase")
        if phase in ("Failed", "Succeeded"):
            if not podstate.is_terminating(pod):
                self.delete(pod)
            return True
        if not _is_created(pod):
            if any((pvcs.get(_name(c)) or {}).get("metadata", {}).get("deletionTimestamp")
                   for c in _claims(self.sts, ordinal_of(pod)[1])):
                return True  # a stale claim is still going away
            self.create(dict(pod), pvcs)
            return self.monotonic
        if self.monotonic and (podstate.is_terminating(pod) or not _available(pod, self.min_ready, self.now)):
            return True
        if not identity_matches(self.sts, pod):
            self.plan.actions.append(actions.Update("pods", self.ns, fix_identity(self.sts, pod)))
        return False

    def process_condemned(self, pod: Obj, first_unhealthy: Obj | None) -> bool:
        if podstate.is_terminating(pod):
            return self.monotonic
        if self.monotonic and pod is not first_unhealthy and not _available(pod, self.min_ready, self.now):
            return True
        self.delete(pod)
        return self.monotonic


def _rev(pod: Obj) -> str:
    return (pod.get("metadata", {}).get("labels") or {}).get(REVISION_LABEL, "")


def _slots(sts: Obj, pods: Sequence[Obj], current: Obj, update: Obj) -> tuple[list[Obj], list[Obj]]:
    start, count = start_ordinal(sts), replicas(sts)
    slots: list[Obj | None] = [None] * count
    condemned: list[Obj] = []
    for pod in pods:
        _, ordinal = ordinal_of(pod)
        if start <= ordinal < start + count:
            slots[ordinal - start] = pod
        elif ordinal >= 0:
            condemned.append(pod)
    strategy = sts.get("spec", {}).get("updateStrategy") or {}
    partition = (strategy.get("rollingUpdate") or {}).get("partition")
    current_count = int((sts.get("status") or {}).get("currentReplicas") or 0)
    for i, slot in enumerate(slots):
        if slot is None:
            ordinal = start + i
            use_current = strategy.get("type", "RollingUpdate") == "RollingUpdate" and (
                ordinal < start + current_count if partition is None else ordinal < partition)
            rev = current if use_current else update
            slots[i] = new_pod(sts, template_of(rev), _name(rev), ordinal)
    condemned.sort(key=lambda p: ordinal_of(p)[1], reverse=True)
    return [p for p in slots if p is not None], condemned


def _status(s: _Sync, pods: Sequence[Obj], current: Obj, update: Obj) -> dict[str, Any]:
    status = copy.deepcopy(dict(s.sts.get("status") or {}))
    counts = dict.fromkeys(("replicas", "readyReplicas", "availableReplicas", "currentReplicas",
                            "updatedReplicas"), 0)
    for pod in pods:
        created = _is_created(pod)
        counts["replicas"] += created
        if _running_ready(pod):
            counts["readyReplicas"] += 1
            counts["availableReplicas"] += podready.is_pod_available(pod, s.min_ready, s.now)
        if created and not podstate.is_terminating(pod):
            counts["currentReplicas"] += _rev(pod) == _name(current)
            counts["updatedReplicas"] += _rev(pod) == _name(update)
    status.update(counts, currentRevision=_name(current), updateRevision=_name(update),
                  observedGeneration=s.sts.get("metadata", {}).get("generation", 0))
    rolling = (s.sts.get("spec", {}).get("updateStrategy") or {}).get("type", "RollingUpdate") == "RollingUpdate"
    if rolling and counts["updatedReplicas"] == counts["replicas"] == counts["readyReplicas"]:
        status["currentReplicas"] = counts["updatedReplicas"]
        status["currentRevision"] = _name(update)
    for key in ("readyReplicas", "currentReplicas", "updatedReplicas"):  # omitempty upstream
        if not status[key]:
            del status[key]
    return status


def _rolling_update(s: _Sync, slots: Sequence[Obj], update: Obj) -> None:
    strategy = s.sts.get("spec", {}).get("updateStrategy") or {}
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        return  # OnDelete: pods change only when someone deletes them
    partition = int((strategy.get("rollingUpdate") or {}).get("partition") or 0)
    start = start_ordinal(s.sts)
    for pod in reversed(slots):
        if ordinal_of(pod)[1] - start < partition or not _is_created(pod):
            return
        if _rev(pod) != _name(update) and not podstate.is_terminating(pod):
            s.delete(pod)
            return
        if not _running_ready(pod) or podstate.is_terminating(pod):
            return


def _claim_pods(sts: Obj, pods: Sequence[Obj], result: StatefulSetPlan) -> list[Obj]:
    """``ClaimPods`` with ``isMemberOf``: adopt matching orphans named ``<set>-<n>``, release strays."""
    selector = sts.get("spec", {}).get("selector")

    def member(pod: Obj) -> bool:
        return ordinal_of(pod)[0] == _name(sts) and labels.matches_label_selector(
            selector, pod.get("metadata", {}).get("labels") or {})

    claimed = replicaset.claim(sts, pods, matches=member)
    ns = sts.get("metadata", {}).get("namespace", "")
    ref = podtemplate.controller_ref(sts, api_version="apps/v1", kind="StatefulSet")
    for pod in claimed.adopt:
        result.actions.append(actions.Patch("pods", ns, _name(pod), podtemplate.adoption_patch(pod, ref)))
    for pod in claimed.release:
        result.actions.append(actions.Patch(
            "pods", ns, _name(pod), podtemplate.release_patch(pod, sts.get("metadata", {}).get("uid", ""))))
    return claimed.owned


def plan(sts: Obj, pods: Sequence[Obj], revisions: Sequence[Obj], pvcs: Sequence[Obj],
         now: datetime) -> StatefulSetPlan:
    """Decide one sync of StatefulSet ``sts``; the lists are its namespace's objects."""
    result = StatefulSetPlan()
    owned = _claim_pods(sts, pods, result)
    owned_revs = [r for r in revisions if podtemplate.is_controlled_by(r, sts)]
    current, update = _revisions(sts, owned_revs, result)
    result.current_revision, result.update_revision = _name(current), _name(update)
    s = _Sync(sts, now, result)
    slots, condemned = _slots(sts, owned, current, update)
    claims = {_name(c): c for c in pvcs}
    if not sts.get("metadata", {}).get("deletionTimestamp"):
        _converge(s, slots, condemned, claims, update)
    result.status = _status(s, [*slots, *condemned], current, update)
    _retention(s, [*slots, *condemned], claims)
    _truncate_history(s, owned_revs, owned, current, update)
    if s.min_ready and result.status.get("readyReplicas", 0) != result.status["availableReplicas"]:
        result.requeue_after = float(s.min_ready)
    if result.status != (sts.get("status") or {}):
        body = copy.deepcopy(dict(sts))
        body["status"] = result.status
        result.actions.append(actions.Update("statefulsets", s.ns, body, subresource="status"))
    return result


def _converge(s: _Sync, slots: list[Obj], condemned: list[Obj], claims: Mapping[str, Obj], update: Obj) -> None:
    stop = False
    for pod in slots:
        if s.process_replica(pod, claims) and s.monotonic:
            stop = True
            break
    if stop:
        return
    unhealthy = next((p for p in [*slots, *condemned] if not _running_ready(p) or podstate.is_terminating(p)), None)
    for pod in condemned:
        if s.process_condemned(pod, unhealthy) and s.monotonic:
            return
    _rolling_update(s, slots, update)


def _retention(s: _Sync, pods: Sequence[Obj], claims: Mapping[str, Obj]) -> None:
    for pod in pods:
        if not _is_created(pod):
            continue
        ordinal = ordinal_of(pod)[1]
        for template_claim in _claims(s.sts, ordinal):
            claim = claims.get(_name(template_claim))
            if claim is None:
                continue
            want = claim_owner_refs(s.sts, claim, pod, ordinal)
            if want != (claim.get("metadata", {}).get("ownerReferences") or []):
                fixed = copy.deepcopy(dict(claim))
                fixed["metadata"]["ownerReferences"] = want
                s.plan.actions.append(actions.Update("persistentvolumeclaims", s.ns, fixed))


def _truncate_history(s: _Sync, revisions: Sequence[Obj], pods: Sequence[Obj], current: Obj, update: Obj) -> None:
    live = {_name(current), _name(update), *(_rev(p) for p in pods)}
    limit = s.sts.get("spec", {}).get("revisionHistoryLimit", 10)
    limit = 10 if limit is None else limit
    history = sorted((r for r in revisions if _name(r) not in live), key=lambda r: int(r.get("revision") or 0))
    for rev in history[: max(0, len(history) - limit)]:
        s.plan.actions.append(actions.Delete("controllerrevisions", s.ns, _name(rev), uid=rev["metadata"].get("uid")))
