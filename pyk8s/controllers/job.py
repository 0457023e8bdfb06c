"""The Job controller: run pods until enough succeed, or give up.

Follows ``pkg/controller/job/job_controller.go`` of v1.32:

* Pods carry the ``batch.kubernetes.io/job-tracking`` finalizer.  A pod that
  finishes is first recorded in ``status.uncountedTerminatedPods`` and its
  finalizer removed; the next sync moves it into ``succeeded``/``failed``.
  So a pod is counted exactly once even if the pod is deleted right away.
* NonIndexed: ``completions`` unset means "done when any pod succeeded and
  none are active" (work queue); otherwise want ``min(parallelism,
  completions - succeeded)`` active pods.  Indexed: each index in
  ``[0, completions)`` needs one success; pods get the completion-index
  annotation and label, ``hostname = <job>-<index>``, ``JOB_COMPLETION_INDEX``
  env, and the lowest pending indexes are created first; duplicates of an
  active index are removed.
* Replacements wait out an exponential back-off (``jobpods.remaining_backoff``).
* ``failed > backoffLimit`` (or, for ``restartPolicy: OnFailure``, container
  restarts reaching it) fails the Job with ``BackoffLimitExceeded`` "Job has
  reached the specified backoff limit"; running longer than
  ``activeDeadlineSeconds`` fails it with ``DeadlineExceeded`` "Job was
  active longer than specified deadline".  As 1.32 does, the controller first
  adds the interim ``FailureTarget`` (or ``SuccessCriteriaMet`` with reason
  ``CompletionsReached``) condition, deletes active pods, and only adds the
  terminal ``Failed`` / ``Complete`` condition once no pod is terminating and
  none is uncounted.  ``completionTime`` is set with ``Complete``.
* ``suspend: true`` deletes active pods and sets ``Suspended`` True
  (``JobSuspended`` / "Job suspended"); resuming sets it False
  (``JobResumed`` / "Job resumed") and restarts ``startTime``.
* ``ttlSecondsAfterFinished`` is handled by ``ttl_plan`` (the TTL-after-
  finished controller: foreground delete with a UID precondition).
* ``podFailurePolicy``: a failed pod is matched against the rules in order
  (``jobpods.match_failure_policy``): ``FailJob`` fails the Job with reason
  ``PodFailurePolicy``, ``Ignore`` releases the pod without counting it
  toward ``backoffLimit`` (it is still replaced), ``Count`` and no match
  count it.  With a policy (or ``podReplacementPolicy: Failed``) terminating
  pods are neither counted failed nor replaced until their phase is Failed,
  except when the Job is finishing.
* Not implemented: ``successPolicy``, ``backoffLimitPerIndex`` /
  ``failedIndexes`` (so no ``FailIndex``), ``managedBy``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pyk8s.api.core_v1.helpers import podready, timestamps
from pyk8s.controllers import actions, jobpods, podstate, podtemplate, replicaset
from pyk8s.machinery import labels

Obj = Mapping[str, Any]
MAX_POD_CREATE_DELETE_PER_SYNC = 500
BACKOFF_MESSAGE = "Job has reached the specified backoff limit"
DEADLINE_MESSAGE = "Job was active longer than specified deadline"
SUCCESS_MESSAGE = "Reached expected number of succeeded pods"


@dataclass(slots=True)
class JobPlan(actions.Plan):
    # Pod bodies to create (through replicaset.slow_start), in order.
    create: list[dict[str, Any]] = field(default_factory=list)
    status: dict[str, Any] = field(default_factory=dict)


def condition(job: Obj, ctype: str) -> Mapping[str, Any] | None:
    return next((c for c in (job.get("status") or {}).get("conditions") or [] if c.get("type") == ctype), None)


def is_finished(job: Obj) -> bool:
    return any((condition(job, t) or {}).get("status") == "True" for t in ("Complete", "Failed"))


def _ensure_condition(status: dict[str, Any], ctype: str, value: str, reason: str, message: str,
                      now: datetime) -> bool:
    """``ensureJobConditionStatus``: True when the conditions changed."""
    conds = status.setdefault("conditions", [])
    for cond in conds:
        if cond.get("type") == ctype:
            if cond.get("status") == value and cond.get("reason") == reason and cond.get("message") == message:
                return False
            # Upstream replaces the whole condition, both timestamps included.
            stamp = timestamps.format_time(now)
            cond.update(status=value, reason=reason, message=message, lastProbeTime=stamp, lastTransitionTime=stamp)
            return True
    if value == "False":
        if not conds:
            status.pop("conditions")
        return False  # a False condition is only written over an existing one
    stamp = timestamps.format_time(now)
    conds.append({"type": ctype, "status": value, "lastProbeTime": stamp, "lastTransitionTime": stamp,
                  "reason": reason, "message": message})
    return True


class _Counts:
    """Succeeded/failed bookkeeping through ``uncountedTerminatedPods``."""

    def __init__(self, job: Obj, pods: Sequence[Obj]) -> None:
        status = job.get("status") or {}
        uncounted = status.get("uncountedTerminatedPods") or {}
        self.succeeded = int(status.get("succeeded") or 0)
        self.failed = int(status.get("failed") or 0)
        by_uid = {p.get("metadata", {}).get("uid"): p for p in pods}
        self.uncounted: dict[str, list[str]] = {"succeeded": [], "failed": []}
        self.release: list[Obj] = []  # pods whose finalizer is to be removed
        for key in ("succeeded", "failed"):
            for uid in uncounted.get(key) or []:
                pod = by_uid.get(uid)
                if pod is None or not jobpods.has_finalizer(pod):
                    setattr(self, key, getattr(self, key) + 1)
                else:
                    self.uncounted[key].append(uid)
                    self.release.append(pod)
        self.pending = set(self.uncounted["succeeded"]) | set(self.uncounted["failed"])
        self.policy = job.get("spec", {}).get("podFailurePolicy")
        suspended = bool(job.get("spec", {}).get("suspend"))
        failed_only = only_replace_failed(job)
        for pod in pods:
            uid = pod.get("metadata", {}).get("uid")
            if not jobpods.has_finalizer(pod) or uid in self.pending:
                continue
            if jobpods.phase(pod) == "Succeeded":
                self.uncounted["succeeded"].append(uid)
            elif jobpods.phase(pod) == "Failed" or (podstate.is_terminating(pod) and not suspended and not failed_only):
                # A deleted pod may never reach a phase: count it failed now (TerminatingOrFailed).
                self.fail(pod)
                continue
            elif podstate.is_terminating(pod) and suspended:
                pass  # removed for a suspension: not a failure, just let it go
            else:
                continue  # running, or (replacement policy Failed) terminating: wait for its phase
            self.pending.add(uid)
            self.release.append(pod)

    def fail(self, pod: Obj) -> None:
        """Count ``pod`` failed unless the pod failure policy ignores it; release it either way."""
        uid = pod.get("metadata", {}).get("uid")
        if not jobpods.has_finalizer(pod) or uid in self.pending:
            return
        if jobpods.match_failure_policy(self.policy, pod)[1]:
            self.uncounted["failed"].append(uid)
        self.pending.add(uid)
        self.release.append(pod)

    def total(self, key: str) -> int:
        return getattr(self, key) + len(self.uncounted[key])


def only_replace_failed(job: Obj) -> bool:
    """``podReplacementPolicy: Failed`` (the default with a ``podFailurePolicy``).

    Terminating pods then are neither counted failed nor replaced until they
    reach the Failed phase.
    """
    spec = job.get("spec", {})
    return spec.get("podReplacementPolicy") == "Failed" or spec.get("podFailurePolicy") is not None


def _claim(job: Obj, pods: Sequence[Obj]) -> replicaset.Claim:
    """``ClaimPods``; adopted orphans are seen with the tracking finalizer their adoption adds."""
    selector = job.get("spec", {}).get("selector")
    claim = replicaset.claim(job, pods, matches=lambda p: labels.matches_label_selector(
        selector, p.get("metadata", {}).get("labels") or {}))
    adopted = {id(p) for p in claim.adopt}
    if is_finished(job):  # a finished Job adopts nothing
        claim.owned = [p for p in claim.owned if id(p) not in adopted]
        claim.adopt = []
    else:
        claim.owned = [_with_finalizer(p) if id(p) in adopted else p for p in claim.owned]
    return claim


def _with_finalizer(pod: Obj) -> Obj:
    meta = dict(pod.get("metadata") or {})
    if jobpods.TRACKING_FINALIZER not in (meta.get("finalizers") or []):
        meta["finalizers"] = [*(meta.get("finalizers") or []), jobpods.TRACKING_FINALIZER]
    return {**pod, "metadata": meta}


def _claim_patches(s: _Sync) -> None:
    """Adopt matching orphans (adding the tracking finalizer, as upstream) and release strays."""
    ref = podtemplate.controller_ref(s.job, api_version="batch/v1", kind="Job")
    for pod in s.claim.adopt:
        patch = podtemplate.adoption_patch(pod, ref)
        patch["metadata"]["finalizers"] = [jobpods.TRACKING_FINALIZER]  # finalizers merge as a set
        s.plan.actions.append(actions.Patch("pods", s.ns, pod["metadata"]["name"], patch))
    for pod in s.claim.release:
        s.plan.actions.append(actions.Patch("pods", s.ns, pod["metadata"]["name"],
                                            podtemplate.release_patch(pod, s.job["metadata"].get("uid", ""))))


def _restarts(pods: Sequence[Obj]) -> int:
    total = 0
    for pod in pods:
        if jobpods.phase(pod) in ("Pending", "Running"):
            status = pod.get("status") or {}
            for s in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or []):
                total += int(s.get("restartCount") or 0)
    return total


def _failure(job: Obj, counts: _Counts, active: Sequence[Obj], now: datetime) -> tuple[str, str] | None:
    spec = job.get("spec", {})
    limit = spec.get("backoffLimit", 6)
    limit = 6 if limit is None else limit
    if counts.total("failed") > limit:
        return "BackoffLimitExceeded", BACKOFF_MESSAGE
    if ((spec.get("template") or {}).get("spec") or {}).get("restartPolicy") == "OnFailure":
        restarts = _restarts(active)
        if (restarts > 0) if limit == 0 else (restarts >= limit):
            return "BackoffLimitExceeded", BACKOFF_MESSAGE
    deadline = spec.get("activeDeadlineSeconds")
    start = timestamps.parse_time((job.get("status") or {}).get("startTime"))
    if deadline is not None and start is not None and now - start >= timedelta(seconds=deadline):
        return "DeadlineExceeded", DEADLINE_MESSAGE
    return None


def _is_indexed(job: Obj) -> bool:
    return job.get("spec", {}).get("completionMode") == "Indexed"


def _new_pod(job: Obj, index: int | None) -> dict[str, Any]:
    template = copy.deepcopy(job.get("spec", {}).get("template") or {})
    ref = podtemplate.controller_ref(job, api_version="batch/v1", kind="Job")
    pod = podtemplate.pod_from_template(template, job, ref)
    meta = pod["metadata"]
    meta["finalizers"] = [*(meta.get("finalizers") or []), jobpods.TRACKING_FINALIZER]
    if index is not None:
        name = job["metadata"]["name"]
        meta["generateName"] = f"{name}-{index}-"
        meta.setdefault("annotations", {})[jobpods.COMPLETION_INDEX] = str(index)
        meta.setdefault("labels", {})[jobpods.COMPLETION_INDEX] = str(index)
        if not pod["spec"].get("hostname"):
            pod["spec"]["hostname"] = f"{name}-{index}"
        env = {"name": "JOB_COMPLETION_INDEX", "valueFrom": {"fieldRef": {
            "fieldPath": f"metadata.annotations['{jobpods.COMPLETION_INDEX}']"}}}
        for container in [*pod["spec"].get("initContainers", []), *pod["spec"].get("containers", [])]:
            if not any(e.get("name") == "JOB_COMPLETION_INDEX" for e in container.get("env") or []):
                container["env"] = [*(container.get("env") or []), env]
    return pod


class _Sync:
    def __init__(self, job: Obj, pods: Sequence[Obj], now: datetime, *, satisfied: bool = True,
                 backoff_base: timedelta = jobpods.BACKOFF_BASE) -> None:
        self.job, self.now = job, now
        # manageJob runs only when the cache has caught up with our last creations and
        # deletions, and never for a Job being deleted.
        self.may_manage = satisfied and not job.get("metadata", {}).get("deletionTimestamp")
        self.backoff_base = backoff_base
        self.ns = job.get("metadata", {}).get("namespace", "")
        self.plan = JobPlan()
        self.status: dict[str, Any] = copy.deepcopy(dict(job.get("status") or {}))
        self.claim = _claim(job, pods)
        self.pods = self.claim.owned
        self.active = [p for p in self.pods if podstate.is_active(p)]
        self.terminating = [p for p in self.pods if podstate.is_terminating(p)
                            and jobpods.phase(p) not in ("Succeeded", "Failed")]
        self.counts = _Counts(job, self.pods)
        self.deleted = 0

    def delete(self, pods: Sequence[Obj]) -> None:
        for pod in pods[:MAX_POD_CREATE_DELETE_PER_SYNC]:
            self.plan.actions.append(actions.Delete("pods", self.ns, pod["metadata"]["name"],
                                                    uid=pod["metadata"].get("uid")))
            self.deleted += 1
        gone = {id(p) for p in pods[:MAX_POD_CREATE_DELETE_PER_SYNC]}
        self.active = [p for p in self.active if id(p) not in gone]

    def succeeded_indexes(self) -> set[int]:
        completions = self.job.get("spec", {}).get("completions") or 0
        done = jobpods.parse_indexes(self.status.get("completedIndexes"), completions)
        for pod in self.pods:
            index = jobpods.completion_index(pod)
            if jobpods.phase(pod) == "Succeeded" and index is not None and index < completions:
                done.add(index)
        return done

    def succeeded(self) -> int:
        return len(self.succeeded_indexes()) if _is_indexed(self.job) else self.counts.total("succeeded")

    def complete(self) -> bool:
        completions = self.job.get("spec", {}).get("completions")
        if completions is None:
            return self.counts.total("succeeded") > 0 and not self.active
        return self.succeeded() >= completions and not self.active

    def manage(self) -> None:
        """``manageJob``: create or delete pods toward the wanted number active."""
        spec = self.job.get("spec", {})
        parallelism = spec.get("parallelism", 1)
        parallelism = 1 if parallelism is None else parallelism
        if _is_indexed(self.job):
            self._manage_indexed(parallelism)
            return
        completions = spec.get("completions")
        if completions is None:
            want = len(self.active) if self.counts.total("succeeded") > 0 else parallelism
        else:
            want = max(0, min(parallelism, completions - self.counts.total("succeeded")))
        busy = len(self.active) + self.waiting_terminating()
        if len(self.active) > want:
            self.delete(podstate.deletion_order(self.active)[: len(self.active) - want])
        elif busy < want and self._backoff_over():
            count = min(want - busy, MAX_POD_CREATE_DELETE_PER_SYNC)
            self.plan.create = [_new_pod(self.job, None) for _ in range(count)]

    def waiting_terminating(self) -> int:
        """Terminating pods that still hold their slot (replacement policy Failed)."""
        return len(self.terminating) if only_replace_failed(self.job) else 0

    def _manage_indexed(self, parallelism: int) -> None:
        completions = self.job.get("spec", {}).get("completions") or 0
        done = self.succeeded_indexes()
        by_index: dict[int, list[Obj]] = {}
        extra: list[Obj] = []
        for pod in self.active:
            index = jobpods.completion_index(pod)
            if index is None or index >= completions or index in done:
                extra.append(pod)
            else:
                by_index.setdefault(index, []).append(pod)
        for group in by_index.values():
            extra.extend(podstate.deletion_order(group)[:-1])  # keep the most established copy
        kept = [p for p in self.active if all(p is not e for e in extra)]
        want = max(0, min(parallelism, completions - len(done)))
        if len(kept) > want:
            extra.extend(podstate.deletion_order(kept)[: len(kept) - want])
        if extra:
            self.delete(extra)
        held = {jobpods.completion_index(p) for p in self.terminating} if only_replace_failed(self.job) else set()
        busy = len(self.active) + len(held)
        if busy < want and self._backoff_over():
            pending = [i for i in range(completions) if i not in done and i not in by_index and i not in held]
            count = min(want - busy, MAX_POD_CREATE_DELETE_PER_SYNC)
            self.plan.create = [_new_pod(self.job, i) for i in pending[:count]]

    def requeue(self, seconds: float) -> None:
        """Ask to be synced again after ``seconds``, keeping an earlier request."""
        if self.plan.requeue_after is None or seconds < self.plan.requeue_after:
            self.plan.requeue_after = seconds

    def _backoff_over(self) -> bool:
        wait = jobpods.remaining_backoff(self.pods, self.now, self.backoff_base)
        if wait > timedelta(0):
            self.requeue(wait.total_seconds())
            return False
        return True


def _suspend_conditions(s: _Sync) -> None:
    suspended = bool(s.job.get("spec", {}).get("suspend"))
    if suspended:
        if _ensure_condition(s.status, "Suspended", "True", "JobSuspended", "Job suspended", s.now):
            s.plan.events.append(actions.Event("Normal", "Suspended", "Job suspended"))
    elif _ensure_condition(s.status, "Suspended", "False", "JobResumed", "Job resumed", s.now):
        s.plan.events.append(actions.Event("Normal", "Resumed", "Job resumed"))
        s.status["startTime"] = timestamps.format_time(s.now)


def _finish(s: _Sync, ctype: str, reason: str, message: str) -> None:
    """Interim condition now; the terminal one once nothing is left running or uncounted."""
    interim = "FailureTarget" if ctype == "Failed" else "SuccessCriteriaMet"
    _ensure_condition(s.status, interim, "True", reason, message, s.now)
    s.delete(s.active)
    if only_replace_failed(s.job):
        # Once the Job is finishing every pod that did not succeed is a failure (even before its phase).
        for pod in s.terminating:
            s.counts.fail(pod)
    if s.counts.uncounted["succeeded"] or s.counts.uncounted["failed"] or s.terminating or s.deleted:
        return
    _ensure_condition(s.status, ctype, "True", reason, message, s.now)
    if ctype == "Complete":
        s.status["completionTime"] = timestamps.format_time(s.now)
    event = ("Warning", reason, message) if ctype == "Failed" else ("Normal", "Completed", "Job completed")
    s.plan.events.append(actions.Event(*event))


def _fail_job_message(s: _Sync) -> str | None:
    """``getFailJobMessage``: the first failed pod matching a ``FailJob`` rule fails the Job."""
    policy = s.job.get("spec", {}).get("podFailurePolicy")
    if not policy:
        return None
    for pod in s.pods:
        if jobpods.phase(pod) == "Failed":
            message = jobpods.match_failure_policy(policy, pod)[0]
            if message is not None:
                return message
    return None


def _decide(s: _Sync) -> None:
    spec = s.job.get("spec", {})
    interim = condition(s.job, "FailureTarget")
    if interim is not None and interim.get("status") == "True":
        _finish(s, "Failed", interim.get("reason", ""), interim.get("message", ""))
        return
    message = _fail_job_message(s)
    if message is not None:
        _finish(s, "Failed", "PodFailurePolicy", message)
        return
    failure = _failure(s.job, s.counts, s.active, s.now)
    if failure is not None:
        _finish(s, "Failed", *failure)
        return
    if s.complete():
        _finish(s, "Complete", "CompletionsReached", SUCCESS_MESSAGE)
        return
    deadline, start = spec.get("activeDeadlineSeconds"), timestamps.parse_time(s.status.get("startTime"))
    if deadline is not None and start is not None and not spec.get("suspend"):
        s.requeue((start + timedelta(seconds=deadline) - s.now).total_seconds())
    if not s.may_manage:
        return
    if spec.get("suspend"):
        s.delete(s.active)
    else:
        s.manage()


def _write_status(s: _Sync) -> None:
    status = s.status
    # As manageJob does, pods being created count as active already.
    counts = {"active": len(s.active) + len(s.plan.create), "succeeded": s.succeeded() if _is_indexed(s.job) else s.counts.succeeded,
              "failed": s.counts.failed}
    for key, value in counts.items():
        if value:
            status[key] = value
        else:
            status.pop(key, None)
    status["ready"] = sum(1 for p in s.active if podready.is_pod_ready(p))
    status["terminating"] = len(s.terminating) + s.deleted
    status["uncountedTerminatedPods"] = {k: v for k, v in s.counts.uncounted.items() if v}
    if _is_indexed(s.job):
        indexes = jobpods.format_indexes(s.succeeded_indexes())
        if indexes:
            status["completedIndexes"] = indexes
        else:
            status.pop("completedIndexes", None)


def plan(job: Obj, pods: Sequence[Obj], now: datetime, *, satisfied: bool = True,
         backoff_base: timedelta = jobpods.BACKOFF_BASE) -> JobPlan:
    """Decide one sync of ``job``; ``pods`` are the pods of its namespace.

    ``satisfied`` is False while the controller still waits for the cache to
    show its earlier pod creations/deletions: then no pods are created or
    deleted (except on finishing), only the status is brought up to date.
    """
    s = _Sync(job, pods, now, satisfied=satisfied, backoff_base=backoff_base)
    if is_finished(job):
        _release(s)
        return s.plan
    if not s.status.get("startTime") and not job.get("spec", {}).get("suspend"):
        s.status["startTime"] = timestamps.format_time(now)
    _claim_patches(s)
    _suspend_conditions(s)
    _decide(s)
    _write_status(s)
    if s.status != (job.get("status") or {}):
        body = copy.deepcopy(dict(job))
        body["status"] = s.status
        s.plan.actions.insert(0, actions.Update("jobs", s.ns, body, subresource="status"))
    _release(s)
    return s.plan


def _release(s: _Sync) -> None:
    """Finalizer removals go after the status write that records the pods."""
    for pod in s.counts.release:
        remaining = [f for f in pod["metadata"].get("finalizers") or [] if f != jobpods.TRACKING_FINALIZER]
        s.plan.actions.append(actions.Patch(
            "pods", s.ns, pod["metadata"]["name"],
            {"metadata": {"finalizers": remaining or None, "resourceVersion": pod["metadata"].get("resourceVersion")}},
            actions.MERGE))


def ttl_plan(job: Obj, now: datetime) -> actions.Plan:
    """The TTL-after-finished controller: delete a finished Job once its TTL has passed."""
    result = actions.Plan()
    ttl = job.get("spec", {}).get("ttlSecondsAfterFinished")
    if ttl is None or not is_finished(job) or job.get("metadata", {}).get("deletionTimestamp"):
        return result
    expire = expire_at(job)
    if expire is None:
        return result
    if now < expire:
        result.requeue_after = (expire - now).total_seconds()
        return result
    meta = job["metadata"]
    result.actions.append(actions.Delete("jobs", meta.get("namespace", ""), meta["name"], uid=meta.get("uid"),
                                         propagation_policy="Foreground"))
    return result


def expire_at(job: Obj) -> datetime | None:
    """Finish time (completionTime or the terminal condition's transition) + TTL."""
    ttl = job.get("spec", {}).get("ttlSecondsAfterFinished")
    if ttl is None:
        return None
    finished = timestamps.parse_time((job.get("status") or {}).get("completionTime"))
    if finished is None:
        for ctype in ("Complete", "Failed"):
            cond = condition(job, ctype)
            if cond is not None and cond.get("status") == "True":
                finished = timestamps.parse_time(cond.get("lastTransitionTime"))
    return None if finished is None else finished + timedelta(seconds=ttl)
