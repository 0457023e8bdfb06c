"""batch/v1 behaviour: Job and CronJob defaults, validation and strategies.

Job selectors are generated the way Kubernetes does it: unless
``manualSelector`` is true, the template gets ``controller-uid`` /
``batch.kubernetes.io/controller-uid`` (the Job's UID) and ``job-name`` /
``batch.kubernetes.io/job-name`` labels, and the selector matches the
controller-uid label.  Upstream does this at validation time because the UID
is assigned just before; we do the same in ``validate`` (and again in
``prepare_for_create`` when the UID is already there), so the store must set
``metadata.uid`` before it calls ``validate``.
"""

from __future__ import annotations

import re
import zoneinfo
from typing import Any

from pyk8s.api import cronspec, kinds, meta_v1, names
from pyk8s.api.kinds import child, go_label_selector, go_string_map, immutable, invalid_go, nonnegative, spec_of
from pyk8s.machinery.scheme import Strategy
from pyk8s.machinery.validation import FieldError, forbidden, invalid, not_supported, required

Obj = dict[str, Any]

LEGACY_JOB_NAME_LABEL = "job-name"
JOB_NAME_LABEL = "batch.kubernetes.io/job-name"
LEGACY_CONTROLLER_UID_LABEL = "controller-uid"
CONTROLLER_UID_LABEL = "batch.kubernetes.io/controller-uid"
MAX_PARALLELISM_INDEXED = 100000
CRONJOB_NAME_MAX = 52  # 63 minus the 11 characters the controller appends


# ---------------------------------------------------------------- Job defaults


def default_job(obj: Obj) -> None:
    spec = spec_of(obj)
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
        spec["parallelism"] = 1
    spec.setdefault("parallelism", 1)
    if spec.get("backoffLimit") is None:
        spec["backoffLimit"] = 2147483647 if spec.get("backoffLimitPerIndex") is not None else 6
    template_labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels")
    meta = child(obj, "metadata")
    if template_labels and not meta.get("labels"):
        meta["labels"] = dict(template_labels)
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    policy = spec.get("podFailurePolicy")
    if isinstance(policy, dict):
        for rule in policy.get("rules") or []:
            for pattern in rule.get("onPodConditions") or []:
                if not pattern.get("status"):
                    pattern["status"] = "True"
    if spec.get("podReplacementPolicy") is None:
        spec["podReplacementPolicy"] = "Failed" if policy is not None else "TerminatingOrFailed"
    spec.setdefault("manualSelector", False)
    kinds.default_pod_template(spec.get("template"))


def generate_selector(obj: Obj) -> None:
    """Add the job-name / controller-uid labels and the selector (generateSelector)."""
    meta = obj.get("metadata") or {}
    spec = spec_of(obj)
    template = child(spec, "template")
    labels = child(child(template, "metadata"), "labels")
    for key in (LEGACY_JOB_NAME_LABEL, JOB_NAME_LABEL):
        labels.setdefault(key, meta.get("name", ""))
    for key in (LEGACY_CONTROLLER_UID_LABEL, CONTROLLER_UID_LABEL):
        labels.setdefault(key, meta.get("uid", ""))
    selector = child(spec, "selector")
    child(selector, "matchLabels").setdefault(CONTROLLER_UID_LABEL, meta.get("uid", ""))


def _manual(spec: Obj) -> bool:
    return spec.get("manualSelector") is True


# ---------------------------------------------------------------- Job validation


def _has_label(tlabels: dict[str, str], key: str, expected: str) -> list[FieldError]:
    path = f"spec.template.metadata.labels[{key}]"
    if key not in tlabels:
        return [required(path, f"must be '{expected}'")]
    if tlabels[key] != expected:
        return [invalid_go(path, go_string_map(tlabels), f"must be '{expected}'")]
    return []


def validate_generated_selector(obj: Obj) -> list[FieldError]:
    spec = obj.get("spec") or {}
    if _manual(spec) or spec.get("selector") is None:
        return []
    tlabels = ((spec.get("template") or {}).get("metadata") or {}).get("labels")
    if tlabels is None:
        return [required("spec.template.metadata.labels")]
    meta = obj.get("metadata") or {}
    uid, name = meta.get("uid", ""), meta.get("name", "")
    errs: list[FieldError] = []
    if not uid:
        errs.append(required("metadata.uid"))
    errs += _has_label(tlabels, LEGACY_CONTROLLER_UID_LABEL, uid)
    errs += _has_label(tlabels, LEGACY_JOB_NAME_LABEL, name)
    errs += _has_label(tlabels, CONTROLLER_UID_LABEL, uid)
    errs += _has_label(tlabels, JOB_NAME_LABEL, name)
    expected = {LEGACY_CONTROLLER_UID_LABEL: uid, LEGACY_JOB_NAME_LABEL: name, CONTROLLER_UID_LABEL: uid,
                JOB_NAME_LABEL: name}
    selector = kinds.selector_of(spec.get("selector"))
    if selector is not None and not selector.matches(expected):
        errs.append(invalid_go("spec.selector", go_label_selector(spec.get("selector")),
                               "`selector` not auto-generated"))
    return errs


def _validate_restart_policy(spec: Obj, path: str) -> list[FieldError]:
    policy = ((spec.get("template") or {}).get("spec") or {}).get("restartPolicy", "")
    rpath = path + ".template.spec.restartPolicy"
    if policy in ("Always", ""):
        return [required(rpath, 'valid values: "OnFailure", "Never"')]
    if policy not in ("OnFailure", "Never"):
        return [not_supported(rpath, policy, ["OnFailure", "Never"])]
    if spec.get("podFailurePolicy") is not None and policy != "Never":
        return [invalid(rpath, policy, 'only "Never" is supported when podFailurePolicy is specified')]
    return []


def _validate_completion_mode(spec: Obj, path: str) -> list[FieldError]:
    mode = spec.get("completionMode")
    if mode is None:
        return []
    if mode not in ("NonIndexed", "Indexed"):
        return [not_supported(path + ".completionMode", mode, ["NonIndexed", "Indexed"])]
    errs: list[FieldError] = []
    if mode == "Indexed":
        if spec.get("completions") is None:
            errs.append(required(path + ".completions", "when completion mode is Indexed"))
        parallelism = spec.get("parallelism")
        if isinstance(parallelism, int) and parallelism > MAX_PARALLELISM_INDEXED:
            errs.append(invalid(path + ".parallelism", parallelism,
                                f"must be less than or equal to {MAX_PARALLELISM_INDEXED} when completion mode is "
                                "Indexed"))
    elif spec.get("backoffLimitPerIndex") is not None:
        errs.append(forbidden(path + ".backoffLimitPerIndex", "requires indexed completion mode"))
    return errs


def _validate_pod_replacement(spec: Obj, path: str) -> list[FieldError]:
    policy = spec.get("podReplacementPolicy")
    if policy is None:
        return []
    if spec.get("podFailurePolicy") is not None:
        if policy != "Failed":
            return [not_supported(path + ".podReplacementPolicy", policy, ["Failed"])]
        return []
    if policy not in ("TerminatingOrFailed", "Failed"):
        return [not_supported(path + ".podReplacementPolicy", policy, ["Failed", "TerminatingOrFailed"])]
    return []


def validate_job_spec_fields(spec: Obj, path: str) -> list[FieldError]:
    """validateJobSpec: everything but the selector (shared with CronJob templates)."""
    errs: list[FieldError] = []
    for name in ("parallelism", "completions", "activeDeadlineSeconds", "backoffLimit", "ttlSecondsAfterFinished",
                 "backoffLimitPerIndex", "maxFailedIndexes"):
        errs += nonnegative(spec.get(name), f"{path}.{name}")
    errs += _validate_completion_mode(spec, path)
    errs += _validate_pod_replacement(spec, path)
    errs += kinds.validate_pod_template(spec.get("template") or {}, path + ".template")
    errs += _validate_restart_policy(spec, path)
    return errs


def validate_job_spec(spec: Obj, path: str) -> list[FieldError]:
    errs = validate_job_spec_fields(spec, path)
    sel = spec.get("selector")
    if sel is None:
        errs.append(required(path + ".selector"))
    else:
        errs += meta_v1.validate_label_selector(sel, path + ".selector")
    errs += kinds.selector_matches_template(sel, spec.get("template") or {}, path + ".template")
    return errs


def validate_job(obj: Obj) -> list[FieldError]:
    errs = meta_v1.validate_object_meta(obj, namespaced=True)
    errs += validate_generated_selector(obj)
    spec = obj.get("spec") or {}
    errs += validate_job_spec(spec, "spec")
    completions = spec.get("completions")
    if spec.get("completionMode") == "Indexed" and isinstance(completions, int) and completions > 0:
        name = (obj.get("metadata") or {}).get("name", "")
        hostname = f"{name}-{completions - 1}"
        if names.is_dns1123_label(hostname):
            errs.append(invalid("metadata.name", name,
                                f"will not able to create pod with invalid DNS label: {hostname}"))
    return errs


def _suspended_never_started(new: Obj, old: Obj) -> bool:
    return bool((new.get("spec") or {}).get("suspend")) and not (old.get("status") or {}).get("startTime")


def _validate_template_update(new: Obj, old: Obj) -> list[FieldError]:
    template = (new.get("spec") or {}).get("template") or {}
    old_template = (old.get("spec") or {}).get("template") or {}
    if _suspended_never_started(new, old):
        # Scheduling directives, labels and annotations may change while the Job is suspended and never ran.
        old_template = {**old_template, "metadata": {**(old_template.get("metadata") or {})},
                        "spec": {**(old_template.get("spec") or {})}}
        for key in ("labels", "annotations"):
            _copy_key(old_template["metadata"], (template.get("metadata") or {}), key)
        for key in ("nodeSelector", "tolerations", "affinity", "schedulingGates"):
            _copy_key(old_template["spec"], (template.get("spec") or {}), key)
    return immutable(template, old_template, "spec.template")


def _copy_key(dst: Obj, src: Obj, key: str) -> None:
    if key in src:
        dst[key] = src[key]
    else:
        dst.pop(key, None)


def validate_job_update(new: Obj, old: Obj) -> list[FieldError]:
    errs = meta_v1.validate_object_meta_update(new, old)
    spec, ospec = new.get("spec") or {}, old.get("spec") or {}
    errs += validate_job_spec(spec, "spec")
    if spec.get("completionMode") == "Indexed" and spec.get("completions") != ospec.get("completions"):
        if spec.get("completions") is not None and spec.get("completions") != spec.get("parallelism"):
            errs.append(invalid("spec.completions", spec.get("completions"),
                                "can only be modified in tandem with spec.parallelism"))
    else:
        errs += immutable(spec.get("completions"), ospec.get("completions"), "spec.completions")
    errs += immutable(spec.get("selector"), ospec.get("selector"), "spec.selector",
                      go_text=go_label_selector(spec.get("selector")))
    errs += _validate_template_update(new, old)
    for name in ("completionMode", "podFailurePolicy", "backoffLimitPerIndex", "managedBy", "successPolicy"):
        errs += immutable(spec.get(name), ospec.get(name), f"spec.{name}")
    return errs


class JobStrategy(Strategy):
    field_selectors = {"status.successful": lambda o: str((o.get("status") or {}).get("succeeded", 0))}

    def default(self, obj: Obj) -> None:
        default_job(obj)

    def prepare_for_create(self, obj: Obj) -> None:
        obj["status"] = {}
        meta = child(obj, "metadata")
        meta["generation"] = 1
        if meta.get("uid") and not _manual(spec_of(obj)):
            generate_selector(obj)

    def validate(self, obj: Obj) -> list[FieldError]:
        if not _manual(spec_of(obj)) and (obj.get("metadata") or {}).get("uid"):
            generate_selector(obj)
        return validate_job(obj)

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        return validate_job_update(new, old)

    def validate_status_update(self, new: Obj, old: Obj) -> list[FieldError]:
        errs = meta_v1.validate_object_meta_update(new, old)
        status = new.get("status") or {}
        for name in ("active", "succeeded", "failed", "ready", "terminating"):
            errs += nonnegative(status.get(name), f"status.{name}")
        return errs


# ---------------------------------------------------------------- CronJob


def default_cronjob(obj: Obj) -> None:
    spec = spec_of(obj)
    if not spec.get("concurrencyPolicy"):
        spec["concurrencyPolicy"] = "Allow"
    spec.setdefault("suspend", False)
    spec.setdefault("successfulJobsHistoryLimit", 3)
    spec.setdefault("failedJobsHistoryLimit", 1)
    job_spec = (spec.get("jobTemplate") or {}).get("spec")
    if isinstance(job_spec, dict):
        kinds.default_pod_template(job_spec.get("template"))


_TZ_PART = re.compile(r"^[A-Za-z\.\-_0-9+]{1,14}$")


def validate_schedule(schedule: str, path: str, time_zone: str | None) -> list[FieldError]:
    errs: list[FieldError] = []
    message = cronspec.validate(schedule)
    if message is not None:
        errs.append(invalid(path, schedule, message))
    if "TZ" in schedule:
        if time_zone is not None:
            errs.append(invalid(path, schedule, "cannot use both timeZone field and TZ or CRON_TZ in schedule"))
        else:
            errs.append(invalid(path, schedule, "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"))
    return errs


def validate_time_zone(tz: Any, path: str) -> list[FieldError]:
    if tz is None:
        return []
    if tz == "":
        return [invalid(path, tz, "timeZone must be nil or non-empty string")]
    for part in tz.split("/"):
        if part in (".", "..") or part.startswith("-") or not _TZ_PART.match(part):
            return [invalid(path, tz, f"unknown time zone {tz}")]
    if tz.lower() == "local":
        return [invalid(path, tz, "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones")]
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return [invalid(path, tz, f"unknown time zone {tz}")]
    return []


def validate_job_template(template: Obj, path: str) -> list[FieldError]:
    spec = template.get("spec") or {}
    errs = validate_job_spec_fields(spec, path + ".spec")
    if spec.get("selector") is not None:
        errs.append(invalid_go(path + ".spec.selector", go_label_selector(spec["selector"]),
                               "`selector` will be auto-generated"))
    if spec.get("manualSelector") is True:
        errs.append(not_supported(path + ".spec.manualSelector", True, ["nil", "false"]))
    return errs


def validate_cronjob_spec(spec: Obj, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    schedule = spec.get("schedule") or ""
    if not schedule:
        errs.append(required(path + ".schedule"))
    else:
        errs += validate_schedule(schedule, path + ".schedule", spec.get("timeZone"))
    errs += nonnegative(spec.get("startingDeadlineSeconds"), path + ".startingDeadlineSeconds")
    policy = spec.get("concurrencyPolicy", "")
    if not policy:
        errs.append(required(path + ".concurrencyPolicy"))
    elif policy not in ("Allow", "Forbid", "Replace"):
        errs.append(not_supported(path + ".concurrencyPolicy", policy, ["Allow", "Forbid", "Replace"]))
    errs += validate_job_template(spec.get("jobTemplate") or {}, path + ".jobTemplate")
    errs += nonnegative(spec.get("successfulJobsHistoryLimit"), path + ".successfulJobsHistoryLimit")
    errs += nonnegative(spec.get("failedJobsHistoryLimit"), path + ".failedJobsHistoryLimit")
    errs += validate_time_zone(spec.get("timeZone"), path + ".timeZone")
    return errs


class CronJobStrategy(Strategy):
    def default(self, obj: Obj) -> None:
        default_cronjob(obj)

    def prepare_for_create(self, obj: Obj) -> None:
        obj["status"] = {}
        child(obj, "metadata")["generation"] = 1

    def validate(self, obj: Obj) -> list[FieldError]:
        errs = meta_v1.validate_object_meta(obj, namespaced=True)
        name = (obj.get("metadata") or {}).get("name") or ""
        if len(name) > CRONJOB_NAME_MAX:
            errs.append(invalid("metadata.name", name, f"must be no more than {CRONJOB_NAME_MAX} characters"))
        return errs + validate_cronjob_spec(obj.get("spec") or {}, "spec")

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        errs = meta_v1.validate_object_meta_update(new, old)
        return errs + validate_cronjob_spec(new.get("spec") or {}, "spec")

    def validate_status_update(self, new: Obj, old: Obj) -> list[FieldError]:
        return meta_v1.validate_object_meta_update(new, old)
