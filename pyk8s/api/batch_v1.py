"""batch/v1: Job and CronJob schemas and their registration.

Field numbers match k8s.io/api generated.proto (``kubectl create job`` and
``create cronjob`` send protobuf).  Behaviour lives in ``batch_v1_strategy``.
"""

from __future__ import annotations

from pyk8s.api import batch_v1_strategy as strategy
from pyk8s.api.kinds import (
    LABEL_SELECTOR,
    OBJECT_META,
    OBJECT_REFERENCE,
    POD_TEMPLATE_SPEC,
    define_kind,
    register,
)
from pyk8s.machinery.schema import (
    BOOL,
    INT32,
    INT64,
    STRING,
    STRING_LIST,
    TIME,
    ArrayOf,
    Field,
    Ref,
    define,
)

P = "io.k8s.api.batch.v1"
GV = ("batch", "v1")

define(f"{P}.PodFailurePolicyOnExitCodesRequirement", "Matches failed pods by container exit codes.", [
    Field("containerName", STRING, "Only this container's exit code counts (all when empty).", proto=1),
    Field("operator", STRING, "In or NotIn.", required=True, proto=2),
    Field("values", ArrayOf(INT32), "Exit codes to compare against.", required=True,
          list_type="set", proto=3),
])
define(f"{P}.PodFailurePolicyOnPodConditionsPattern", "Matches failed pods by a pod condition.", [
    Field("type", STRING, "Pod condition type.", required=True, proto=1),
    Field("status", STRING, "Required condition status (default True).", proto=2),
])
define(f"{P}.PodFailurePolicyRule", "What to do with a failed pod that matches.", [
    Field("action", STRING, "FailJob, FailIndex, Ignore or Count.", required=True, proto=1),
    Field("onExitCodes", Ref(f"{P}.PodFailurePolicyOnExitCodesRequirement"), "Exit-code match.", proto=2),
    Field("onPodConditions", ArrayOf(Ref(f"{P}.PodFailurePolicyOnPodConditionsPattern")),
          "Pod-condition matches.", list_type="atomic", proto=3),
])
define(f"{P}.PodFailurePolicy", "Rules applied to failed pods, first match wins.", [
    Field("rules", ArrayOf(Ref(f"{P}.PodFailurePolicyRule")), "The rules, in order.", required=True,
          list_type="atomic", proto=1),
])
define(f"{P}.SuccessPolicyRule", "One way an indexed Job can succeed early.", [
    Field("succeededIndexes", STRING, "Indexes that must succeed, e.g. \"0-3,7\".", proto=1),
    Field("succeededCount", INT32, "How many of those indexes must succeed.", proto=2),
])
define(f"{P}.SuccessPolicy", "When an indexed Job counts as succeeded.", [
    Field("rules", ArrayOf(Ref(f"{P}.SuccessPolicyRule")), "Any matching rule means success.", required=True,
          list_type="atomic", proto=1),
])
define(f"{P}.JobSpec", "Desired behaviour of a Job.", [
    Field("parallelism", INT32, "Most pods running at once.", proto=1),
    Field("completions", INT32, "Successful pods needed to finish.", proto=2),
    Field("activeDeadlineSeconds", INT64, "Time limit for the Job, counted from its start.", proto=3),
    Field("podFailurePolicy", Ref(f"{P}.PodFailurePolicy"), "How failed pods affect the Job.", proto=11),
    Field("successPolicy", Ref(f"{P}.SuccessPolicy"), "Early success for indexed Jobs.", proto=16),
    Field("backoffLimit", INT32, "Retries before the Job fails.", proto=7),
    Field("backoffLimitPerIndex", INT32, "Retries per index for indexed Jobs.", proto=12),
    Field("maxFailedIndexes", INT32, "Failed indexes tolerated before the Job fails.", proto=13),
    Field("selector", Ref(LABEL_SELECTOR), "The Job's pods; generated unless manualSelector is true.", proto=4),
    Field("manualSelector", BOOL, "Use the given selector instead of generating one.", proto=5),
    Field("template", Ref(POD_TEMPLATE_SPEC), "The pods to run.", required=True, proto=6),
    Field("ttlSecondsAfterFinished", INT32, "Delete the Job this long after it finishes.", proto=8),
    Field("completionMode", STRING, "NonIndexed or Indexed.", proto=9),
    Field("suspend", BOOL, "Whether the Job is paused (no pods are created).", proto=10),
    Field("podReplacementPolicy", STRING, "When to replace pods: TerminatingOrFailed or Failed.", proto=14),
    Field("managedBy", STRING, "The controller that syncs this Job.", proto=15),
])
define(f"{P}.JobCondition", "One observed state of a Job.", [
    Field("type", STRING, "Complete, Failed, Suspended, FailureTarget or SuccessCriteriaMet.", required=True,
          proto=1),
    Field("status", STRING, "True, False or Unknown.", required=True, proto=2),
    Field("lastProbeTime", TIME, "When the condition was last checked.", proto=3),
    Field("lastTransitionTime", TIME, "When the status last changed.", proto=4),
    Field("reason", STRING, "Machine-readable cause of the last transition.", proto=5),
    Field("message", STRING, "Human-readable detail of the last transition.", proto=6),
])
define(f"{P}.UncountedTerminatedPods", "Finished pods not yet counted in the status.", [
    Field("succeeded", STRING_LIST, "UIDs of succeeded pods.", list_type="set", proto=1),
    Field("failed", STRING_LIST, "UIDs of failed pods.", list_type="set", proto=2),
])
define(f"{P}.JobStatus", "Observed state of a Job.", [
    Field("conditions", ArrayOf(Ref(f"{P}.JobCondition")), "Latest observations of the Job's state.", merge_key="type",
          strategy="merge", list_type="atomic", proto=1),
    Field("startTime", TIME, "When the Job started.", proto=2),
    Field("completionTime", TIME, "When the Job finished successfully.", proto=3),
    Field("active", INT32, "Pods still running.", proto=4),
    Field("succeeded", INT32, "Pods that succeeded.", proto=5),
    Field("failed", INT32, "Pods that failed.", proto=6),
    Field("terminating", INT32, "Pods being terminated.", proto=11),
    Field("completedIndexes", STRING, "Succeeded indexes, compressed (\"1,3-5\").", proto=7),
    Field("failedIndexes", STRING, "Failed indexes, compressed.", proto=10),
    Field("uncountedTerminatedPods", Ref(f"{P}.UncountedTerminatedPods"), "Finished pods not yet counted.",
          proto=8),
    Field("ready", INT32, "Pods that are ready.", proto=9),
])
JOB = define_kind(P, "Job", GV, "Runs pods until a number of them succeed.", [
    Field("spec", Ref(f"{P}.JobSpec"), "Desired behaviour.", proto=2),
    Field("status", Ref(f"{P}.JobStatus"), "Observed state.", proto=3),
])

define(f"{P}.JobTemplateSpec", "The Job a CronJob creates.", [
    Field("metadata", Ref(OBJECT_META), "Metadata of the created Jobs.", proto=1),
    Field("spec", Ref(f"{P}.JobSpec"), "Spec of the created Jobs.", proto=2),
])
define(f"{P}.CronJobSpec", "Desired behaviour of a CronJob.", [
    Field("schedule", STRING, "Cron schedule, e.g. \"*/5 * * * *\".", required=True, proto=1),
    Field("timeZone", STRING, "IANA time zone of the schedule (controller's zone when empty).", proto=8),
    Field("startingDeadlineSeconds", INT64, "How late a missed run may still start.", proto=2),
    Field("concurrencyPolicy", STRING, "Allow, Forbid or Replace concurrent runs.", proto=3),
    Field("suspend", BOOL, "Skip future runs.", proto=4),
    Field("jobTemplate", Ref(f"{P}.JobTemplateSpec"), "The Job to create on each run.", required=True, proto=5),
    Field("successfulJobsHistoryLimit", INT32, "Finished successful Jobs to keep.", proto=6),
    Field("failedJobsHistoryLimit", INT32, "Failed Jobs to keep.", proto=7),
])
define(f"{P}.CronJobStatus", "Observed state of a CronJob.", [
    Field("active", ArrayOf(Ref(OBJECT_REFERENCE)), "Jobs currently running.", list_type="atomic", proto=1),
    Field("lastScheduleTime", TIME, "When a Job was last scheduled.", proto=4),
    Field("lastSuccessfulTime", TIME, "When a Job last succeeded.", proto=5),
])
CRON_JOB = define_kind(P, "CronJob", GV, "Creates Jobs on a schedule.", [
    Field("spec", Ref(f"{P}.CronJobSpec"), "Desired behaviour.", proto=2),
    Field("status", Ref(f"{P}.CronJobStatus"), "Observed state.", proto=3),
])

register(group="batch", version="v1", kind="CronJob", plural="cronjobs", namespaced=True,
         strategy=strategy.CronJobStrategy(), schema=f"{P}.CronJob", short_names=("cj",), categories=("all",),
         subresources=("status",))
register(group="batch", version="v1", kind="Job", plural="jobs", namespaced=True,
         strategy=strategy.JobStrategy(), schema=f"{P}.Job", categories=("all",), subresources=("status",))
