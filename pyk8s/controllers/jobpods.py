"""Per-pod facts the Job controller needs: finish times, indexes, back-off.

Follows ``pkg/controller/job`` (``indexed_job_utils.go``, ``backoff_utils.go``):

* a pod's completion index comes from the
  ``batch.kubernetes.io/job-completion-index`` annotation (label as fallback);
  ``completedIndexes`` is rendered as ``"0-2,5"``;
* back-off before creating replacements: 10 s after the first failure since
  the last success, doubling per further failure, capped at 10 minutes
  (``MaxJobPodFailureBackOff`` in the 1.32 source; the user docs still say
  six minutes), counted from the last failure's finish time.  Upstream
  keeps that record in memory; we derive it from the pods (their finish
  times), which gives the same delays while the failed pods exist and
  survives a controller restart.  The first delay can be lowered (the
  ``job_backoff_base`` controller option) for tests;
* ``match_failure_policy``: a failed pod against ``spec.podFailurePolicy``
  (``pod_failure_policy.go``): rules in order, non-zero exit codes of
  terminated containers (then init containers) or pod conditions; the first
  match decides FailJob / Ignore / Count.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from pyk8s.api.core_v1.helpers import timestamps

Pod = Mapping[str, Any]
COMPLETION_INDEX = "batch.kubernetes.io/job-completion-index"
TRACKING_FINALIZER = "batch.kubernetes.io/job-tracking"
BACKOFF_BASE = timedelta(seconds=10)
BACKOFF_MAX = timedelta(minutes=10)


def phase(pod: Pod) -> str:
    return (pod.get("status") or {}).get("phase", "")


def has_finalizer(pod: Pod) -> bool:
    return TRACKING_FINALIZER in (pod.get("metadata", {}).get("finalizers") or [])


def finish_time(pod: Pod) -> datetime | None:
    """``getFinishedTime``: last container finish, else Ready's transition, else deletion/creation."""
    status = pod.get("status") or {}
    finished = [timestamps.parse_time(((s.get("state") or {}).get("terminated") or {}).get("finishedAt"))
                for s in status.get("containerStatuses") or []]
    stamps = [f for f in finished if f is not None]
    if stamps:
        return max(stamps)
    for cond in status.get("conditions") or []:
        if cond.get("type") == "Ready" and cond.get("status") == "False" and cond.get("lastTransitionTime"):
            return timestamps.parse_time(cond["lastTransitionTime"])
    meta = pod.get("metadata", {})
    return timestamps.parse_time(meta.get("deletionTimestamp")) or timestamps.parse_time(meta.get("creationTimestamp"))


def completion_index(pod: Pod) -> int | None:
    meta = pod.get("metadata", {})
    raw = (meta.get("annotations") or {}).get(COMPLETION_INDEX) or (meta.get("labels") or {}).get(COMPLETION_INDEX)
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


def format_indexes(indexes: Iterable[int]) -> str:
    """``"0-2,5"`` for {0, 1, 2, 5} (pairs stay a range, as upstream writes them)."""
    ordered = sorted(set(indexes))
    parts: list[str] = []
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        parts.append(str(ordered[i]) if i == j else f"{ordered[i]}-{ordered[j]}")
        i = j + 1
    return ",".join(parts)


def parse_indexes(text: str | None, limit: int) -> set[int]:
    result: set[int] = set()
    for part in (text or "").split(","):
        if not part:
            continue
        lo, _, hi = part.partition("-")
        try:
            result.update(i for i in range(int(lo), int(hi or lo) + 1) if i < limit)
        except ValueError:
            continue
    return result


def remaining_backoff(pods: Sequence[Pod], now: datetime, base: timedelta = BACKOFF_BASE) -> timedelta:
    """How long to wait before creating more pods, given failures since the last success.

    ``base`` is the first delay (10 s upstream; the controller-manager option
    ``job_backoff_base`` lowers it for tests).
    """
    last_success = max((t for p in pods if phase(p) == "Succeeded" and (t := finish_time(p)) is not None), default=None)
    failures = [t for p in pods if phase(p) == "Failed" and (t := finish_time(p)) is not None
                and (last_success is None or t > last_success)]
    if not failures:
        return timedelta(0)
    delay = base * 2 ** (len(failures) - 1) if len(failures) < 40 else BACKOFF_MAX
    delay = min(delay, BACKOFF_MAX)
    elapsed = now - max(failures)
    return max(timedelta(0), delay - elapsed)


def _exit_code_matches(code: int, requirement: Mapping[str, Any]) -> bool:
    values = requirement.get("values") or []
    operator = requirement.get("operator")
    if operator == "In":
        return code in values
    if operator == "NotIn":
        return code not in values
    return False


def _terminated_match(pod: Pod, requirement: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The first terminated container (then init container) whose non-zero exit code matches."""
    status = pod.get("status") or {}
    wanted = requirement.get("containerName")
    for key in ("containerStatuses", "initContainerStatuses"):
        for cs in status.get(key) or []:
            terminated = (cs.get("state") or {}).get("terminated")
            if terminated is None or (wanted is not None and wanted != cs.get("name")):
                continue
            code = int(terminated.get("exitCode") or 0)
            if code != 0 and _exit_code_matches(code, requirement):
                return cs
    return None


def _condition_match(pod: Pod, patterns: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        for pattern in patterns:
            if cond.get("type") == pattern.get("type") and cond.get("status") == pattern.get("status", "True"):
                return cond
    return None


def match_failure_policy(policy: Mapping[str, Any] | None, pod: Pod) -> tuple[str | None, bool, str | None]:
    """``matchPodFailurePolicy``: (FailJob message, whether the failure counts, matched action).

    Rules are tried in order and the first match decides; no match counts
    the failure.  ``FailIndex`` needs ``backoffLimitPerIndex``, which we do
    not implement, so it counts like ``Count``.
    """
    if not policy:
        return None, True, None
    meta = pod.get("metadata", {})
    where = f"{meta.get('namespace', '')}/{meta.get('name', '')}"
    for index, rule in enumerate(policy.get("rules") or []):
        action = rule.get("action", "")
        message = None
        if rule.get("onExitCodes") is not None:
            cs = _terminated_match(pod, rule["onExitCodes"])
            if cs is None:
                continue
            code = cs["state"]["terminated"].get("exitCode")
            message = (f"Container {cs.get('name')} for pod {where} failed with exit code {code} "
                       f"matching {action} rule at index {index}")
        elif rule.get("onPodConditions") is not None:
            cond = _condition_match(pod, rule["onPodConditions"])
            if cond is None:
                continue
            message = f"Pod {where} has condition {cond.get('type')} matching {action} rule at index {index}"
        else:
            continue
        if action == "Ignore":
            return None, False, action
        if action == "FailJob":
            return message, True, action
        return None, True, action
    return None, True, None
