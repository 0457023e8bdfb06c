"""Deployment status and its Available / Progressing / ReplicaFailure conditions.

Follows ``deployment/sync.go`` (``calculateStatus``), ``progress.go``
(``syncRolloutStatus``, ``requeueStuckDeployment``) and the condition helpers
in ``deployment/util``.  Reasons and messages are upstream's:

* Available: ``MinimumReplicasAvailable`` "Deployment has minimum
  availability." / ``MinimumReplicasUnavailable`` "Deployment does not have
  minimum availability.";
* Progressing: ``NewReplicaSetCreated``, ``FoundNewReplicaSet``,
  ``ReplicaSetUpdated`` ("ReplicaSet "x" is progressing."),
  ``NewReplicaSetAvailable`` ("ReplicaSet "x" has successfully progressed."),
  ``ProgressDeadlineExceeded`` (status False, "ReplicaSet "x" has timed out
  progressing."), ``DeploymentPaused`` / ``DeploymentResumed`` (Unknown).

Counts of zero are left out of the status, as Go's ``omitempty`` does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from pyk8s.api.core_v1.helpers import timestamps
from pyk8s.controllers.deployment import rollingmath

Obj = Mapping[str, Any]
MAX_INT32 = 2**31 - 1

NEW_RS_REASON = "NewReplicaSetCreated"
FOUND_NEW_RS_REASON = "FoundNewReplicaSet"
RS_UPDATED_REASON = "ReplicaSetUpdated"
NEW_RS_AVAILABLE_REASON = "NewReplicaSetAvailable"
TIMED_OUT_REASON = "ProgressDeadlineExceeded"
PAUSED_REASON = "DeploymentPaused"
RESUMED_REASON = "DeploymentResumed"
MIN_AVAILABLE_REASON = "MinimumReplicasAvailable"
MIN_UNAVAILABLE_REASON = "MinimumReplicasUnavailable"


def condition(status: Obj, ctype: str) -> dict[str, Any] | None:
    return next((c for c in status.get("conditions") or [] if c.get("type") == ctype), None)


def new_condition(ctype: str, status: str, reason: str, message: str, now: datetime) -> dict[str, Any]:
    stamp = timestamps.format_time(now)
    return {"type": ctype, "status": status, "lastUpdateTime": stamp, "lastTransitionTime": stamp,
            "reason": reason, "message": message}


def set_condition(status: dict[str, Any], cond: dict[str, Any]) -> None:
    """``SetDeploymentCondition``: no-op if status and reason are unchanged."""
    current = condition(status, cond["type"])
    if current is not None and current.get("status") == cond["status"] and current.get("reason") == cond["reason"]:
        return
    if current is not None and current.get("status") == cond["status"]:
        cond = {**cond, "lastTransitionTime": current.get("lastTransitionTime")}
    remove_condition(status, cond["type"])
    status.setdefault("conditions", []).append(cond)


def remove_condition(status: dict[str, Any], ctype: str) -> None:
    kept = [c for c in status.get("conditions") or [] if c.get("type") != ctype]
    if kept:
        status["conditions"] = kept
    else:
        status.pop("conditions", None)


def has_progress_deadline(d: Obj) -> bool:
    value = d.get("spec", {}).get("progressDeadlineSeconds", 600)
    return value is not None and value != MAX_INT32


def calculate_status(d: Obj, all_rss: Sequence[Obj], new_rs: Obj | None, now: datetime) -> dict[str, Any]:
    """``calculateStatus``: counts summed over the sets, plus the Available condition."""
    available = rollingmath.status_total(all_rss, "availableReplicas")
    counts = {
        "observedGeneration": d.get("metadata", {}).get("generation", 0),
        "replicas": rollingmath.status_total(all_rss, "replicas"),
        "updatedReplicas": rollingmath.status_total([new_rs], "replicas"),
        "readyReplicas": rollingmath.status_total(all_rss, "readyReplicas"),
        "availableReplicas": available,
        "unavailableReplicas": max(0, rollingmath.spec_total(all_rss) - available),
        "collisionCount": (d.get("status") or {}).get("collisionCount"),
    }
    status: dict[str, Any] = {k: v for k, v in counts.items() if v}
    if (d.get("status") or {}).get("conditions"):
        status["conditions"] = [dict(c) for c in d["status"]["conditions"]]
    if available >= rollingmath.replicas(d) - rollingmath.max_unavailable(d):
        cond = new_condition("Available", "True", MIN_AVAILABLE_REASON, "Deployment has minimum availability.", now)
    else:
        cond = new_condition("Available", "False", MIN_UNAVAILABLE_REASON,
                             "Deployment does not have minimum availability.", now)
    set_condition(status, cond)
    return status


def _n(status: Obj, key: str) -> int:
    return int(status.get(key) or 0)


def complete(d: Obj, status: Obj) -> bool:
    """``DeploymentComplete``."""
    want = rollingmath.replicas(d)
    return (_n(status, "updatedReplicas") == want and _n(status, "replicas") == want
            and _n(status, "availableReplicas") == want
            and _n(status, "observedGeneration") >= d.get("metadata", {}).get("generation", 0))


def progressing(d: Obj, status: Obj) -> bool:
    """``DeploymentProgressing``: any count moved the right way since the stored status."""
    old = d.get("status") or {}
    old_old = _n(old, "replicas") - _n(old, "updatedReplicas")
    new_old = _n(status, "replicas") - _n(status, "updatedReplicas")
    return (_n(status, "updatedReplicas") > _n(old, "updatedReplicas") or new_old < old_old
            or _n(status, "readyReplicas") > _n(old, "readyReplicas")
            or _n(status, "availableReplicas") > _n(old, "availableReplicas"))


def timed_out(d: Obj, status: Obj, now: datetime) -> bool:
    """``DeploymentTimedOut``."""
    if not has_progress_deadline(d):
        return False
    cond = condition(status, "Progressing")
    if cond is None or cond.get("reason") == NEW_RS_AVAILABLE_REASON:
        return False
    if cond.get("reason") == TIMED_OUT_REASON:
        return True
    since = timestamps.parse_time(cond.get("lastUpdateTime"))
    deadline = d.get("spec", {}).get("progressDeadlineSeconds", 600)
    return since is not None and since + timedelta(seconds=deadline) < now


def _subject(d: Obj, new_rs: Obj | None) -> str:
    if new_rs is not None:
        return f'ReplicaSet "{new_rs["metadata"]["name"]}"'
    return f'Deployment "{d.get("metadata", {}).get("name", "")}"'


def _update_progressing(d: Obj, status: dict[str, Any], new_rs: Obj | None, now: datetime) -> None:
    subject = _subject(d, new_rs)
    if complete(d, status):
        set_condition(status, new_condition("Progressing", "True", NEW_RS_AVAILABLE_REASON,
                                            f"{subject} has successfully progressed.", now))
    elif progressing(d, status):
        cond = new_condition("Progressing", "True", RS_UPDATED_REASON, f"{subject} is progressing.", now)
        current = condition(status, "Progressing")
        if current is not None:
            # Progress refreshes lastUpdateTime even when the reason is unchanged.
            if current.get("status") == "True":
                cond["lastTransitionTime"] = current.get("lastTransitionTime")
            remove_condition(status, "Progressing")
        set_condition(status, cond)
    elif timed_out(d, status, now):
        set_condition(status, new_condition("Progressing", "False", TIMED_OUT_REASON,
                                            f"{subject} has timed out progressing.", now))


def _replica_failure(all_rss: Sequence[Obj], new_rs: Obj | None) -> dict[str, Any] | None:
    ordered = ([new_rs] if new_rs is not None else []) + [rs for rs in all_rss if rs is not new_rs]
    for rs in ordered:
        for cond in (rs.get("status") or {}).get("conditions") or []:
            if cond.get("type") == "ReplicaFailure":
                return {"type": "ReplicaFailure", "status": cond.get("status"), "reason": cond.get("reason"),
                        "message": cond.get("message"), "lastUpdateTime": cond.get("lastTransitionTime"),
                        "lastTransitionTime": cond.get("lastTransitionTime")}
    return None


def rollout_status(d: Obj, all_rss: Sequence[Obj], new_rs: Obj | None, now: datetime) -> dict[str, Any]:
    """``syncRolloutStatus``: the status to store after a rollout step."""
    status = calculate_status(d, all_rss, new_rs, now)
    if not has_progress_deadline(d):
        remove_condition(status, "Progressing")
    current = condition(d.get("status") or {}, "Progressing")
    done = (_n(status, "replicas") == _n(status, "updatedReplicas") and current is not None
            and current.get("reason") == NEW_RS_AVAILABLE_REASON)
    if has_progress_deadline(d) and not done:
        _update_progressing(d, status, new_rs, now)
    failure = _replica_failure(all_rss, new_rs)
    if failure is not None:
        set_condition(status, failure)
    else:
        remove_condition(status, "ReplicaFailure")
    return status


def requeue_after(d: Obj, status: Obj, now: datetime) -> float | None:
    """``requeueStuckDeployment``: when to look again for a progress timeout."""
    current = condition(d.get("status") or {}, "Progressing")
    if not has_progress_deadline(d) or current is None:
        return None
    if complete(d, status) or current.get("reason") == TIMED_OUT_REASON:
        return None
    since = timestamps.parse_time(current.get("lastUpdateTime")) or now
    deadline = d.get("spec", {}).get("progressDeadlineSeconds", 600)
    after = (since + timedelta(seconds=deadline) - now).total_seconds()
    return 0.0 if after < 1 else after


def paused_condition(d: Obj, now: datetime) -> dict[str, Any] | None:
    """``checkPausedConditions``: the Progressing condition to set, if any."""
    if not has_progress_deadline(d):
        return None
    current = condition(d.get("status") or {}, "Progressing")
    if current is not None and current.get("reason") == TIMED_OUT_REASON:
        return None
    paused_exists = current is not None and current.get("reason") == PAUSED_REASON
    if d.get("spec", {}).get("paused") and not paused_exists:
        return new_condition("Progressing", "Unknown", PAUSED_REASON, "Deployment is paused", now)
    if not d.get("spec", {}).get("paused") and paused_exists:
        return new_condition("Progressing", "Unknown", RESUMED_REASON, "Deployment is resumed", now)
    return None
