"""Rows for batch/v1 Job and CronJob.

Job STATUS is derived from conditions in a fixed precedence (Complete, Failed,
Terminating, Suspended, FailureTarget, SuccessCriteriaMet, else Running);
COMPLETIONS is ``succeeded/completions`` (``succeeded/1 of P`` for parallel jobs
without a completion count); DURATION runs from startTime to completionTime or
to now.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pyk8s.apiserver.printers.cells import NONE, Obj, container_cells, dig, format_selector, name_of, print_bool
from pyk8s.apiserver.printers.duration import between, parse_time, since
from pyk8s.apiserver.printers.table import Column, age_column, name_column, register, wide

CONTAINERS = wide("Containers", "Names of the containers in the pod template.")
IMAGES = wide("Images", "Images of the containers in the pod template.")
SELECTOR = wide("Selector", "Label selector of the job's pods.")


def _has_condition(job: Obj, ctype: str) -> bool:
    for cond in dig(job, "status", "conditions", default=[]):
        if cond.get("type") == ctype:
            return cond.get("status") == "True"
    return False


def job_status(job: Obj) -> str:
    if _has_condition(job, "Complete"):
        return "Complete"
    if _has_condition(job, "Failed"):
        return "Failed"
    if dig(job, "metadata", "deletionTimestamp"):
        return "Terminating"
    for ctype in ("Suspended", "FailureTarget", "SuccessCriteriaMet"):
        if _has_condition(job, ctype):
            return ctype
    return "Running"


def job_completions(job: Obj) -> str:
    succeeded = int(dig(job, "status", "succeeded", default=0) or 0)
    completions = dig(job, "spec", "completions")
    if completions is not None:
        return f"{succeeded}/{completions}"
    parallelism = int(dig(job, "spec", "parallelism", default=0) or 0)
    if parallelism > 1:
        return f"{succeeded}/1 of {parallelism}"
    return f"{succeeded}/1"


def job_duration(job: Obj, now: datetime) -> str:
    start = dig(job, "status", "startTime")
    if parse_time(start) is None:
        return ""
    end = dig(job, "status", "completionTime")
    if parse_time(end) is None:
        return since(start, now)
    return between(start, end)


@register(
    "batch",
    "Job",
    [
        name_column(),
        Column("Status", description="State of the job derived from its conditions."),
        Column("Completions", description="Succeeded pods out of the completions wanted."),
        Column("Duration", description="Time the job took, or has been running."),
        age_column(),
        CONTAINERS,
        IMAGES,
        SELECTOR,
    ],
)
def job_row(job: Obj, now: datetime) -> list[Any]:
    names, images = container_cells(dig(job, "spec", "template", "spec"))
    return [
        name_of(job),
        job_status(job),
        job_completions(job),
        job_duration(job, now),
        since(dig(job, "metadata", "creationTimestamp"), now),
        names,
        images,
        format_selector(dig(job, "spec", "selector")),
    ]


@register(
    "batch",
    "CronJob",
    [
        name_column(),
        Column("Schedule", description="Cron schedule of the job."),
        Column("Timezone", description="Time zone the schedule is read in."),
        Column("Suspend", "boolean", "Whether new runs are held back."),
        Column("Active", "integer", "Number of jobs running now."),
        Column("Last Schedule", description="Time since a job was last scheduled."),
        age_column(),
        CONTAINERS,
        IMAGES,
        SELECTOR,
    ],
)
def cronjob_row(cj: Obj, now: datetime) -> list[Any]:
    spec = cj.get("spec") or {}
    last = dig(cj, "status", "lastScheduleTime")
    names, images = container_cells(dig(spec, "jobTemplate", "spec", "template", "spec"))
    return [
        name_of(cj),
        spec.get("schedule", ""),
        spec.get("timeZone") or NONE,
        print_bool(spec.get("suspend")),
        len(dig(cj, "status", "active", default=[])),
        since(last, now) if last else NONE,
        since(dig(cj, "metadata", "creationTimestamp"), now),
        names,
        images,
        format_selector(dig(spec, "jobTemplate", "spec", "selector")),
    ]
