import copy
from datetime import timedelta
from typing import Any

from pyk8s.api.core_v1.helpers import timestamps
from pyk8s.controllers import actions, job, jobpods
from tests.unit.controllers.factories import NOW


def make_job(**spec: Any) -> dict[str, Any]:
    base = {"selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "uid-j"}},
            "template": {"metadata": {"labels": {"batch.kubernetes.io/controller-uid": "uid-j",
                                                 "batch.kubernetes.io/job-name": "pi"}},
                         "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "perl"}]}},
            "parallelism": 1, "completions": 1, "backoffLimit": 6, "completionMode": "NonIndexed"}
    base.update(spec)
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "pi", "namespace": "ns", "uid": "uid-j"}, "spec": base, "status": {}}


class World:
    def __init__(self, j: dict[str, Any]) -> None:
        self.job = j
        self.pods: dict[str, dict[str, Any]] = {}
        self.now = NOW
        self.serial = 0
        self.created_at: list[Any] = []

    def sync(self) -> job.JobPlan:
        result = job.plan(self.job, list(self.pods.values()), self.now)
        for act in result.actions:
            if isinstance(act, actions.Update):
                self.job["status"] = copy.deepcopy(act.body["status"])
            elif isinstance(act, actions.Delete):
                self.pods[act.name]["metadata"]["deletionTimestamp"] = timestamps.format_time(self.now)
            elif isinstance(act, actions.Patch):
                self.pods[act.name]["metadata"]["finalizers"] = act.patch["metadata"]["finalizers"] or []
                self.gc()
        for body in result.create:
            self.serial += 1
            pod = copy.deepcopy(body)
            name = pod["metadata"]["generateName"] + f"x{self.serial}"
            pod["metadata"].update(name=name, uid=f"uid-{name}", creationTimestamp=timestamps.format_time(self.now))
            pod["status"] = {"phase": "Pending"}
            self.pods[name] = pod
            self.created_at.append(self.now)
        return result

    def gc(self) -> None:
        for name in [n for n, p in self.pods.items()
                     if p["metadata"].get("deletionTimestamp") and not p["metadata"].get("finalizers")]:
            del self.pods[name]

    def finish(self, name: str, phase: str) -> None:
        pod = self.pods[name]
        pod["status"] = {"phase": phase, "containerStatuses": [{"name": "c", "state": {"terminated": {
            "finishedAt": timestamps.format_time(self.now)}}}]}

    def running(self) -> list[str]:
        return [n for n, p in self.pods.items() if p["status"]["phase"] in ("Pending", "Running")
                and not p["metadata"].get("deletionTimestamp")]


def test_first_sync_creates_pods_and_sets_start_time():
    w = World(make_job(parallelism=2, completions=3))
    result = w.sync()
    assert len(result.create) == 2
    pod = result.create[0]
    assert pod["metadata"]["generateName"] == "pi-"
    assert jobpods.TRACKING_FINALIZER in pod["metadata"]["finalizers"]
    assert pod["metadata"]["ownerReferences"][0]["kind"] == "Job"
    assert w.job["status"]["startTime"] == timestamps.format_time(NOW)
    assert w.job["status"]["ready"] == 0 and w.job["status"]["uncountedTerminatedPods"] == {}


def test_completions_counted_once_through_uncounted_pods():
    w = World(make_job(parallelism=2, completions=3))
    w.sync()
    for name in w.running():
        w.finish(name, "Succeeded")
    w.sync()  # records the two, removes their finalizers, creates the third
    assert w.job["status"].get("succeeded", 0) + len(w.job["status"]["uncountedTerminatedPods"].get("succeeded", [])) == 2
    w.sync()
    assert w.job["status"]["succeeded"] == 2
    assert len(w.running()) == 1
    w.finish(w.running()[0], "Succeeded")
    w.sync()
    assert job.condition(w.job, "SuccessCriteriaMet")["reason"] == "CompletionsReached"
    assert job.condition(w.job, "Complete") is None  # one pod still uncounted
    w.sync()
    done = job.condition(w.job, "Complete")
    assert (done["status"], done["reason"], done["message"]) == ("True", "CompletionsReached",
                                                                 "Reached expected number of succeeded pods")
    assert w.job["status"]["succeeded"] == 3 and w.job["status"]["completionTime"] == timestamps.format_time(NOW)
    assert "active" not in w.job["status"]
    assert not job.plan(w.job, list(w.pods.values()), NOW).actions  # finished: nothing more


def test_work_queue_job_completes_on_first_success():
    w = World(make_job(parallelism=3, completions=None))
    w.sync()
    assert len(w.running()) == 3
    first, *rest = w.running()
    w.finish(first, "Succeeded")
    w.sync()
    assert len(w.running()) == 2  # others keep running, nothing new
    for name in rest:
        w.finish(name, "Succeeded")
    for _ in range(3):
        w.sync()
    assert job.condition(w.job, "Complete")["status"] == "True"


def test_backoff_doubles_and_limit_fails_job():
    w = World(make_job(backoffLimit=3))  # fails on the 4th failure (failed > limit)
    w.sync()
    delays = []
    for _ in range(3):
        w.finish(w.running()[0], "Failed")
        failed_at = w.now
        result = w.sync()
        assert not w.running()
        delays.append(result.requeue_after)
        w.now += timedelta(seconds=result.requeue_after)
        w.sync()
        assert len(w.running()) == 1
        assert w.created_at[-1] - failed_at == timedelta(seconds=delays[-1])
    assert delays == [10.0, 20.0, 40.0]
    w.finish(w.running()[0], "Failed")
    w.sync()
    target = job.condition(w.job, "FailureTarget")
    assert (target["reason"], target["message"]) == ("BackoffLimitExceeded", "Job has reached the specified backoff limit")
    w.sync()
    failed = job.condition(w.job, "Failed")
    assert (failed["status"], failed["reason"]) == ("True", "BackoffLimitExceeded")
    assert w.job["status"]["failed"] == 4
    assert "completionTime" not in w.job["status"]


def test_backoff_is_capped_at_ten_minutes():
    pods = []
    for i in range(10):
        pods.append({"metadata": {"name": f"p{i}", "uid": str(i)}, "status": {"phase": "Failed", "containerStatuses": [
            {"state": {"terminated": {"finishedAt": timestamps.format_time(NOW - timedelta(seconds=10 - i))}}}]}})
    assert jobpods.remaining_backoff(pods, NOW) == timedelta(minutes=10) - timedelta(seconds=1)
    success = {"metadata": {"name": "s"}, "status": {"phase": "Succeeded", "containerStatuses": [
        {"state": {"terminated": {"finishedAt": timestamps.format_time(NOW)}}}]}}
    assert jobpods.remaining_backoff([*pods, success], NOW) == timedelta(0)


def test_on_failure_restarts_count_toward_backoff():
    j = make_job(backoffLimit=3)
    j["spec"]["template"]["spec"]["restartPolicy"] = "OnFailure"
    w = World(j)
    w.sync()
    name = w.running()[0]
    w.pods[name]["status"] = {"phase": "Running", "containerStatuses": [{"name": "c", "restartCount": 3}]}
    w.sync()
    assert job.condition(w.job, "FailureTarget")["reason"] == "BackoffLimitExceeded"
    assert w.pods[name]["metadata"].get("deletionTimestamp")


def test_active_deadline():
    w = World(make_job(activeDeadlineSeconds=30))
    result = w.sync()
    assert result.requeue_after == 30
    w.now = NOW + timedelta(seconds=30)
    w.sync()
    assert job.condition(w.job, "FailureTarget")["message"] == "Job was active longer than specified deadline"
    assert not w.running()
    w.sync()  # the deleted pod was counted failed and its finalizer released
    w.gc()
    w.sync()
    assert job.condition(w.job, "Failed")["reason"] == "DeadlineExceeded"


def test_suspend_and_resume():
    w = World(make_job(parallelism=2, completions=4))
    w.sync()
    w.job["spec"]["suspend"] = True
    result = w.sync()
    cond = job.condition(w.job, "Suspended")
    assert (cond["status"], cond["reason"], cond["message"]) == ("True", "JobSuspended", "Job suspended")
    assert not w.running() and result.events[0].reason == "Suspended"
    w.sync()
    w.gc()
    assert "failed" not in w.job["status"]  # suspension is not failure
    w.now = NOW + timedelta(minutes=1)
    w.job["spec"]["suspend"] = False
    w.sync()
    cond = job.condition(w.job, "Suspended")
    assert (cond["status"], cond["reason"]) == ("False", "JobResumed")
    assert w.job["status"]["startTime"] == timestamps.format_time(w.now)
    assert len(w.running()) == 2


def test_indexed_job_pods_and_completed_indexes():
    w = World(make_job(parallelism=2, completions=3, completionMode="Indexed"))
    result = w.sync()
    indexes = [p["metadata"]["annotations"][jobpods.COMPLETION_INDEX] for p in result.create]
    assert indexes == ["0", "1"]
    pod = result.create[1]
    assert pod["metadata"]["labels"][jobpods.COMPLETION_INDEX] == "1"
    assert pod["spec"]["hostname"] == "pi-1" and pod["metadata"]["generateName"] == "pi-1-"
    assert pod["spec"]["containers"][0]["env"][0]["name"] == "JOB_COMPLETION_INDEX"
    w.finish(next(n for n in w.running() if n.startswith("pi-1-")), "Succeeded")
    result = w.sync()
    assert [p["metadata"]["annotations"][jobpods.COMPLETION_INDEX] for p in result.create] == ["2"]
    assert w.job["status"]["completedIndexes"] == "1"
    for name in w.running():
        w.finish(name, "Succeeded")
    w.sync()
    w.sync()
    assert w.job["status"]["completedIndexes"] == "0-2" and w.job["status"]["succeeded"] == 3
    assert job.condition(w.job, "Complete")["status"] == "True"


def test_format_and_parse_indexes():
    assert jobpods.format_indexes([5, 0, 1, 2, 7, 8]) == "0-2,5,7-8"
    assert jobpods.parse_indexes("0-2,5,7-8", 8) == {0, 1, 2, 5, 7}


def test_ttl_after_finished():
    j = make_job(ttlSecondsAfterFinished=100)
    j["status"] = {"completionTime": timestamps.format_time(NOW),
                   "conditions": [{"type": "Complete", "status": "True", "lastTransitionTime": timestamps.format_time(NOW)}]}
    assert job.ttl_plan(j, NOW + timedelta(seconds=40)).requeue_after == 60
    result = job.ttl_plan(j, NOW + timedelta(seconds=100))
    delete = result.actions[0]
    assert (delete.name, delete.uid, delete.propagation_policy) == ("pi", "uid-j", "Foreground")
    assert not job.ttl_plan(make_job(ttlSecondsAfterFinished=0), NOW).actions  # not finished


def fail_with(w: World, name: str, *, code: int = 1, conditions: list | None = None) -> None:
    w.pods[name]["status"] = {"phase": "Failed", "conditions": conditions or [], "containerStatuses": [
        {"name": "c", "state": {"terminated": {"exitCode": code, "finishedAt": timestamps.format_time(w.now)}}}]}


POLICY = {"rules": [
    {"action": "FailJob", "onExitCodes": {"containerName": "c", "operator": "In", "values": [42]}},
    {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]},
    {"action": "Count", "onExitCodes": {"operator": "NotIn", "values": [42]}}]}


def test_pod_failure_policy_fail_job():
    w = World(make_job(backoffLimit=6, podFailurePolicy=POLICY))
    w.sync()
    name = w.running()[0]
    fail_with(w, name, code=42)
    w.sync()
    target = job.condition(w.job, "FailureTarget")
    assert (target["reason"], target["message"]) == (
        "PodFailurePolicy", f"Container c for pod ns/{name} failed with exit code 42 matching FailJob rule at index 0")
    assert not w.running()
    result = w.sync()
    assert job.condition(w.job, "Failed")["reason"] == "PodFailurePolicy"
    assert w.job["status"]["failed"] == 1
    assert [(e.type, e.reason) for e in result.events] == [("Warning", "PodFailurePolicy")]


def test_pod_failure_policy_ignore_does_not_count():
    w = World(make_job(backoffLimit=0, podFailurePolicy=POLICY))
    w.sync()
    first = w.running()[0]
    fail_with(w, first, code=137, conditions=[{"type": "DisruptionTarget", "status": "True"}])
    result = w.sync()
    assert not w.pods[first]["metadata"]["finalizers"]  # released, but not counted
    assert "failed" not in w.job["status"] and not w.job["status"]["uncountedTerminatedPods"]
    assert job.condition(w.job, "FailureTarget") is None
    w.now += timedelta(seconds=result.requeue_after)  # an ignored failure still backs off
    w.sync()
    [second] = w.running()
    fail_with(w, second, code=3)  # Count rule: backoffLimit 0 is exceeded
    w.sync()
    assert job.condition(w.job, "FailureTarget")["reason"] == "BackoffLimitExceeded"


def test_replacement_policy_failed_waits_for_terminating_pods():
    w = World(make_job(podReplacementPolicy="Failed", parallelism=2, completions=2))
    w.sync()
    first = w.running()[0]
    w.pods[first]["metadata"]["deletionTimestamp"] = timestamps.format_time(w.now)
    w.sync()
    assert len(w.running()) == 1 and w.job["status"]["terminating"] == 1
    assert "failed" not in w.job["status"]  # not a failure until the phase says so
    fail_with(w, first)
    w.sync()
    w.gc()
    w.sync()
    assert w.job["status"]["failed"] == 1
    w.now += timedelta(seconds=10)
    w.sync()
    assert len(w.running()) == 2


def test_orphan_is_adopted_with_the_tracking_finalizer():
    w = World(make_job())
    labels = dict(w.job["spec"]["template"]["metadata"]["labels"])
    w.pods["stray"] = {"metadata": {"name": "stray", "uid": "uid-stray", "labels": labels},
                       "status": {"phase": "Running"}}
    result = w.sync()
    assert not result.create  # the orphan fills the one slot
    [adopt] = [a for a in result.actions if isinstance(a, actions.Patch) and a.name == "stray"]
    assert adopt.patch["metadata"]["ownerReferences"][0]["uid"] == "uid-j"
    assert adopt.patch["metadata"]["finalizers"] == [jobpods.TRACKING_FINALIZER]
    assert w.job["status"]["active"] == 1
