import copy

import pytest

import pyk8s.api  # noqa: F401  (fills SCHEME)
from pyk8s.api import cronspec
from pyk8s.machinery.scheme import SCHEME

JOBS = SCHEME.get("batch", "v1", "jobs").strategy
CRONJOBS = SCHEME.get("batch", "v1", "cronjobs").strategy


def messages(errs) -> list[str]:
    return [f"{e.field}: {e.message}" for e in errs]


def pod_template(restart: str | None = "Never") -> dict:
    spec: dict = {"containers": [{"name": "pi", "image": "perl"}]}
    if restart:
        spec["restartPolicy"] = restart
    return {"spec": spec}


def job(uid: str = "uid-1", **spec) -> dict:
    body = {"template": pod_template()}
    body.update(spec)
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "pi", "namespace": "default", "uid": uid}, "spec": body}


def created(obj: dict) -> dict:
    JOBS.default(obj)
    JOBS.prepare_for_create(obj)
    return obj


def test_job_defaults() -> None:
    spec = created(job())["spec"]
    assert spec["completions"] == 1 and spec["parallelism"] == 1 and spec["backoffLimit"] == 6
    assert spec["completionMode"] == "NonIndexed" and spec["suspend"] is False
    assert spec["podReplacementPolicy"] == "TerminatingOrFailed" and spec["manualSelector"] is False
    only_parallel = job(parallelism=3)
    JOBS.default(only_parallel)
    assert "completions" not in only_parallel["spec"] and only_parallel["spec"]["parallelism"] == 3
    with_policy = job(podFailurePolicy={"rules": [{"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]}]})
    JOBS.default(with_policy)
    assert with_policy["spec"]["podReplacementPolicy"] == "Failed"
    assert with_policy["spec"]["podFailurePolicy"]["rules"][0]["onPodConditions"][0]["status"] == "True"


def test_job_labels_copied_from_template() -> None:
    obj = job()
    obj["spec"]["template"]["metadata"] = {"labels": {"app": "pi"}}
    JOBS.default(obj)
    assert obj["metadata"]["labels"] == {"app": "pi"}


def test_generated_selector() -> None:
    obj = created(job(uid="abc"))
    assert obj["spec"]["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": "abc"}}
    assert obj["spec"]["template"]["metadata"]["labels"] == {
        "job-name": "pi", "batch.kubernetes.io/job-name": "pi",
        "controller-uid": "abc", "batch.kubernetes.io/controller-uid": "abc"}
    assert JOBS.validate(obj) == []


def test_selector_generated_at_validation_when_uid_arrives_late() -> None:
    obj = job(uid="")
    JOBS.default(obj)
    JOBS.prepare_for_create(obj)
    assert "selector" not in obj["spec"]
    obj["metadata"]["uid"] = "late"
    assert JOBS.validate(obj) == []
    assert obj["spec"]["selector"]["matchLabels"]["batch.kubernetes.io/controller-uid"] == "late"


def test_manual_selector_must_match() -> None:
    obj = job(manualSelector=True, selector={"matchLabels": {"a": "b"}})
    obj["spec"]["template"]["metadata"] = {"labels": {"a": "c"}}
    created(obj)
    assert messages(JOBS.validate(obj)) == [
        'spec.template.metadata.labels: Invalid value: map[string]string{"a":"c"}: '
        "`selector` does not match template `labels`"]


def test_restart_policy_rules() -> None:
    obj = job()
    obj["spec"]["template"] = pod_template(restart=None)
    created(obj)
    assert messages(JOBS.validate(obj)) == [
        'spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"']


def test_negative_counts_and_indexed() -> None:
    obj = created(job(parallelism=-1, completions=-2, backoffLimit=-3))
    assert messages(JOBS.validate(obj)) == [
        "spec.parallelism: Invalid value: -1: must be greater than or equal to 0",
        "spec.completions: Invalid value: -2: must be greater than or equal to 0",
        "spec.backoffLimit: Invalid value: -3: must be greater than or equal to 0"]
    indexed = job(completionMode="Indexed", parallelism=2)
    created(indexed)
    assert messages(JOBS.validate(indexed)) == ["spec.completions: Required value: when completion mode is Indexed"]


def test_job_update_immutables() -> None:
    old = created(job())
    new = copy.deepcopy(old)
    new["spec"]["completions"] = 3
    new["spec"]["template"]["spec"]["containers"][0]["image"] = "perl:2"
    errs = JOBS.validate_update(new, old)
    assert [e.field for e in errs] == ["spec.completions", "spec.template"]
    assert errs[0].message == "Invalid value: 3: field is immutable"
    assert errs[1].message.endswith("field is immutable")
    new = copy.deepcopy(old)
    new["spec"]["parallelism"] = 4
    new["spec"]["activeDeadlineSeconds"] = 100
    assert JOBS.validate_update(new, old) == []


def test_suspended_job_may_change_scheduling_directives() -> None:
    old = created(job(suspend=True))
    new = copy.deepcopy(old)
    new["spec"]["template"]["spec"]["nodeSelector"] = {"zone": "a"}
    new["spec"]["template"]["metadata"]["labels"]["extra"] = "1"
    assert JOBS.validate_update(new, old) == []
    old["status"] = {"startTime": "2026-01-01T00:00:00Z"}
    assert [e.field for e in JOBS.validate_update(new, old)] == ["spec.template"]


def cronjob(schedule: str = "*/5 * * * *", **spec) -> dict:
    body = {"schedule": schedule, "jobTemplate": {"spec": {"template": pod_template("OnFailure")}}}
    body.update(spec)
    return {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "tick", "namespace": "default"},
            "spec": body}


def test_cronjob_defaults_and_valid() -> None:
    obj = cronjob()
    CRONJOBS.default(obj)
    spec = obj["spec"]
    assert (spec["concurrencyPolicy"], spec["suspend"], spec["successfulJobsHistoryLimit"],
            spec["failedJobsHistoryLimit"]) == ("Allow", False, 3, 1)
    assert "backoffLimit" not in spec["jobTemplate"]["spec"]  # Job defaults do not apply to templates
    assert CRONJOBS.validate(obj) == []


@pytest.mark.parametrize(("schedule", "message"), [
    ("foo", "expected exactly 5 fields, found 1: [foo]"),
    ("61 * * * *", "end of range (61) above maximum (59): 61"),
    ("* * 0 * *", "beginning of range (0) below minimum (1): 0"),
    ("*/0 * * * *", "step of range should be a positive number: */0"),
    ("x * * * *", 'failed to parse int from x: strconv.Atoi: parsing "x": invalid syntax'),
    ("@sometimes", "unrecognized descriptor: @sometimes"),
])
def test_cronjob_bad_schedule(schedule: str, message: str) -> None:
    obj = cronjob(schedule)
    CRONJOBS.default(obj)
    assert messages(CRONJOBS.validate(obj)) == [f'spec.schedule: Invalid value: "{schedule}": {message}']


def test_cronjob_other_checks() -> None:
    obj = cronjob(concurrencyPolicy="Sometimes", timeZone="Mars/Olympus")
    obj["metadata"]["name"] = "n" * 53
    CRONJOBS.default(obj)
    assert messages(CRONJOBS.validate(obj)) == [
        f'metadata.name: Invalid value: "{"n" * 53}": must be no more than 52 characters',
        'spec.concurrencyPolicy: Unsupported value: "Sometimes": supported values: "Allow", "Forbid", "Replace"',
        'spec.timeZone: Invalid value: "Mars/Olympus": unknown time zone Mars/Olympus']
    tz = cronjob("CRON_TZ=UTC 0 * * * *")
    CRONJOBS.default(tz)
    assert messages(CRONJOBS.validate(tz)) == [
        'spec.schedule: Invalid value: "CRON_TZ=UTC 0 * * * *": cannot use TZ or CRON_TZ in schedule, '
        "use timeZone field instead"]
    good_tz = cronjob(timeZone="Europe/Paris")
    CRONJOBS.default(good_tz)
    assert CRONJOBS.validate(good_tz) == []


def test_cronjob_template_selector_rejected() -> None:
    obj = cronjob()
    obj["spec"]["jobTemplate"]["spec"]["selector"] = {"matchLabels": {"a": "b"}}
    CRONJOBS.default(obj)
    assert [e.field for e in CRONJOBS.validate(obj)] == ["spec.jobTemplate.spec.selector"]


def test_cron_parser_values() -> None:
    s = cronspec.parse("0,30 9-17/4 * JAN-mar MON-FRI")
    assert s.minutes == {0, 30} and s.hours == {9, 13, 17} and s.months == {1, 2, 3}
    assert s.days_of_week == {1, 2, 3, 4, 5} and s.dom_star and not s.dow_star
    assert cronspec.parse("@daily").hours == {0}
    assert cronspec.parse("@every 1h30m").every_seconds == 5400
    assert cronspec.parse("5/20 * * * *").minutes == {5, 25, 45}


def test_foreign_selector_not_auto_generated() -> None:
    obj = created(job(uid="1a2b3c"))
    obj["spec"]["selector"] = {"matchLabels": {"a": "b"}}
    obj["spec"]["template"]["metadata"]["labels"]["a"] = "b"
    # As upstream, generation adds the controller-uid term to the user's selector before checking it.
    assert messages(JOBS.validate(obj)) == [
        'spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"a":"b", '
        '"batch.kubernetes.io/controller-uid":"1a2b3c"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: '
        "`selector` not auto-generated"]


def test_cron_next_time() -> None:
    from datetime import UTC, datetime
    at = datetime(2026, 3, 2, 10, 7, 30, tzinfo=UTC)  # a Monday
    assert cronspec.next_time(cronspec.parse("*/15 * * * *"), at) == datetime(2026, 3, 2, 10, 15, tzinfo=UTC)
    assert cronspec.next_time(cronspec.parse("0 9 * * SAT"), at) == datetime(2026, 3, 7, 9, 0, tzinfo=UTC)
    # Both day fields restricted: either one may match (the 1st of the month, or a Wednesday).
    assert cronspec.next_time(cronspec.parse("0 0 1 * WED"), at) == datetime(2026, 3, 4, 0, 0, tzinfo=UTC)
    assert cronspec.next_time(cronspec.parse("0 0 30 2 *"), at) is None
    paris = cronspec.next_time(cronspec.parse("CRON_TZ=Europe/Paris 0 12 * * *"), at)
    assert paris.utcoffset().total_seconds() == 3600 and paris.hour == 12 and paris.day == 2
