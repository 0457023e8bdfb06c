from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pyk8s.api import cronspec
from pyk8s.api.core_v1.helpers import timestamps
from pyk8s.controllers import actions, cronjob

CREATED = datetime(2024, 5, 1, 10, 0, 30, tzinfo=UTC)


def make_cj(schedule: str = "*/5 * * * *", **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "batch/v1", "kind": "CronJob",
            "metadata": {"name": "hello", "namespace": "ns", "uid": "uid-cj",
                         "creationTimestamp": timestamps.format_time(CREATED)},
            "spec": {"schedule": schedule, "concurrencyPolicy": "Allow", "suspend": False,
                     "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 1,
                     "jobTemplate": {"metadata": {"labels": {"team": "a"}, "annotations": {"note": "x"}},
                                     "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "busybox"}],
                                                                    "restartPolicy": "OnFailure"}}}},
                     **spec},
            "status": {}}


def make_job(name: str, *, uid: str, finished: str | None = None, start: datetime | None = None,
             done: datetime | None = None) -> dict[str, Any]:
    status: dict[str, Any] = {}
    if start:
        status["startTime"] = timestamps.format_time(start)
    if finished:
        status["conditions"] = [{"type": finished, "status": "True"}]
    if done:
        status["completionTime"] = timestamps.format_time(done)
    return {"metadata": {"name": name, "namespace": "ns", "uid": uid,
                         "ownerReferences": [{"kind": "CronJob", "uid": "uid-cj", "controller": True, "name": "hello"}]},
            "status": status}


def created_jobs(plan: cronjob.CronJobPlan) -> list[dict[str, Any]]:
    return [a.body for a in plan.actions if isinstance(a, actions.Create)]


def test_job_name_is_minutes_since_epoch():
    at = datetime(2024, 5, 1, 10, 5, tzinfo=UTC)
    assert cronjob.job_name("hello", at) == f"hello-{int(at.timestamp()) // 60}"


def test_nothing_before_first_schedule_and_wake_up_time():
    now = CREATED + timedelta(minutes=2)
    plan = cronjob.plan(make_cj(), [], now)
    assert not created_jobs(plan)
    assert plan.requeue_after == pytest.approx((datetime(2024, 5, 1, 10, 5, tzinfo=UTC) - now).total_seconds() + 0.1)


def test_creates_job_at_schedule_time():
    now = datetime(2024, 5, 1, 10, 5, 1, tzinfo=UTC)
    plan = cronjob.plan(make_cj(), [], now)
    [job] = created_jobs(plan)
    scheduled = datetime(2024, 5, 1, 10, 5, tzinfo=UTC)
    assert job["metadata"]["name"] == cronjob.job_name("hello", scheduled)
    assert job["metadata"]["labels"] == {"team": "a"}
    assert job["metadata"]["annotations"] == {"note": "x", cronjob.SCHEDULED_TIMESTAMP: "2024-05-01T10:05:00Z"}
    assert job["metadata"]["ownerReferences"][0]["kind"] == "CronJob"
    assert job["spec"]["template"]["spec"]["containers"][0]["image"] == "busybox"
    assert plan.status["lastScheduleTime"] == "2024-05-01T10:05:00Z"
    assert plan.status["active"][0]["name"] == job["metadata"]["name"]
    assert plan.events[-1].reason == "SuccessfulCreate"


def test_same_time_not_started_twice():
    cj = make_cj()
    cj["status"] = {"lastScheduleTime": "2024-05-01T10:05:00Z"}
    assert not created_jobs(cronjob.plan(cj, [], datetime(2024, 5, 1, 10, 6, tzinfo=UTC)))


def test_missed_runs_only_latest_is_started():
    now = datetime(2024, 5, 1, 11, 2, tzinfo=UTC)
    [job] = created_jobs(cronjob.plan(make_cj(), [], now))
    assert job["metadata"]["annotations"][cronjob.SCHEDULED_TIMESTAMP] == "2024-05-01T11:00:00Z"


def test_starting_deadline_skips_stale_time():
    cj = make_cj("0 * * * *", startingDeadlineSeconds=60)
    plan = cronjob.plan(cj, [], datetime(2024, 5, 1, 11, 2, tzinfo=UTC))
    # 11:00 is older than now - 60 s: it is not even considered; wake for 12:00.
    assert not created_jobs(plan)
    assert plan.requeue_after == pytest.approx(58 * 60 + 0.1)
    assert created_jobs(cronjob.plan(cj, [], datetime(2024, 5, 1, 11, 0, 59, tzinfo=UTC)))


def test_too_many_missed_times():
    cj = make_cj("* * * * *")
    now = CREATED + timedelta(days=2, seconds=10)
    plan = cronjob.plan(cj, [], now)
    assert any(e.reason == "TooManyMissedTimes" for e in plan.events)
    [job] = created_jobs(plan)
    expected = now.replace(second=0)
    assert job["metadata"]["name"] == cronjob.job_name("hello", expected)


def test_forbid_and_replace():
    now = datetime(2024, 5, 1, 10, 10, 1, tzinfo=UTC)
    running = make_job("hello-old", uid="j1")
    status = {"active": [{"name": "hello-old", "uid": "j1", "kind": "Job"}], "lastScheduleTime": "2024-05-01T10:05:00Z"}
    forbid = {**make_cj(concurrencyPolicy="Forbid"), "status": status}
    plan = cronjob.plan(forbid, [running], now)
    assert not created_jobs(plan) and plan.events[-1].reason == "JobAlreadyActive"
    replace = {**make_cj(concurrencyPolicy="Replace"), "status": status}
    plan = cronjob.plan(replace, [running], now)
    deletes = [a for a in plan.actions if isinstance(a, actions.Delete)]
    assert [(d.name, d.propagation_policy) for d in deletes] == [("hello-old", "Background")]
    assert len(created_jobs(plan)) == 1
    assert [r["name"] for r in plan.status["active"]] == [created_jobs(plan)[0]["metadata"]["name"]]
    allow = {**make_cj(), "status": status}
    assert len(cronjob.plan(allow, [running], now).status["active"]) == 2


def test_suspend_creates_nothing():
    assert not created_jobs(cronjob.plan(make_cj(suspend=True), [], datetime(2024, 5, 1, 11, tzinfo=UTC)))


def test_active_list_and_last_successful_time():
    done = datetime(2024, 5, 1, 10, 6, tzinfo=UTC)
    cj = make_cj()
    cj["status"] = {"active": [{"name": "a", "uid": "ja"}, {"name": "gone", "uid": "jg"}],
                    "lastScheduleTime": "2024-05-01T10:05:00Z"}
    jobs = [make_job("a", uid="ja", finished="Complete", done=done)]
    plan = cronjob.plan(cj, jobs, datetime(2024, 5, 1, 10, 7, tzinfo=UTC))
    assert "active" not in plan.status
    assert plan.status["lastSuccessfulTime"] == "2024-05-01T10:06:00Z"
    assert {e.reason for e in plan.events} >= {"SawCompletedJob", "MissingJob"}


def test_history_limits_delete_oldest_finished():
    base = datetime(2024, 5, 1, 9, tzinfo=UTC)
    jobs = [make_job(f"ok{i}", uid=f"o{i}", finished="Complete", start=base + timedelta(minutes=i)) for i in range(5)]
    jobs += [make_job(f"bad{i}", uid=f"b{i}", finished="Failed", start=base + timedelta(minutes=i)) for i in range(2)]
    cj = make_cj(suspend=True)
    deleted = [a.name for a in cronjob.plan(cj, jobs, base).actions if isinstance(a, actions.Delete)]
    assert deleted == ["ok0", "ok1", "bad0"]


def test_time_zone_schedule_and_annotation():
    cj = make_cj("0 9 * * *", timeZone="Europe/Berlin")
    now = datetime(2024, 5, 2, 7, 0, 5, tzinfo=UTC)  # 09:00:05 in Berlin (CEST)
    [job] = created_jobs(cronjob.plan(cj, [], now))
    assert job["metadata"]["annotations"][cronjob.SCHEDULED_TIMESTAMP] == "2024-05-02T09:00:00+02:00"
    bad = cronjob.plan(make_cj(timeZone="Mars/Olympus"), [], now)
    assert bad.events[-1].reason == "UnknownTimeZone" and not created_jobs(bad)


@pytest.mark.parametrize("schedule,now,expected", [
    ("@hourly", datetime(2024, 5, 1, 11, 0, 10, tzinfo=UTC), datetime(2024, 5, 1, 11, tzinfo=UTC)),
    ("@daily", datetime(2024, 5, 2, 0, 0, 10, tzinfo=UTC), datetime(2024, 5, 2, tzinfo=UTC)),
    ("@every 1h", datetime(2024, 5, 1, 11, 0, 40, tzinfo=UTC), datetime(2024, 5, 1, 11, 0, 30, tzinfo=UTC)),
])
def test_descriptors(schedule, now, expected):
    [job] = created_jobs(cronjob.plan(make_cj(schedule), [], now))
    assert job["metadata"]["name"] == cronjob.job_name("hello", expected)


def test_most_recent_counts_missed():
    schedule = cronspec.parse("*/5 * * * *")
    recent = cronjob.most_recent(make_cj(), schedule, datetime(2024, 5, 1, 10, 21, tzinfo=UTC), with_deadline=False)
    assert recent.latest == datetime(2024, 5, 1, 10, 20, tzinfo=UTC)
    assert recent.missed == 4
