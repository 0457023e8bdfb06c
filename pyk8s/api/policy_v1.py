"""policy/v1: PodDisruptionBudget and the Eviction body posted to
``pods/<name>/eviction`` (``kubectl drain``).

A budget says how many selected pods must stay up (``minAvailable``) or may be
down (``maxUnavailable``), never both.  The disruption controller fills the
status; the eviction handler (in the API server) reads it.
"""

from __future__ import annotations

from typing import Any

from pyk8s.api import kinds, meta_v1
from pyk8s.api.kinds import LABEL_SELECTOR, META_CONDITION, child, define_kind, register
from pyk8s.machinery import labels
from pyk8s.machinery.schema import INT32, INT64, STRING, TIME, Field, IntOrString, MapOf, Ref, define
from pyk8s.machinery.scheme import Strategy
from pyk8s.machinery.validation import FieldError, invalid, not_supported

Obj = dict[str, Any]
P = "io.k8s.api.policy.v1"
GV = ("policy", "v1")
EVICTION_POLICIES = ["AlwaysAllow", "IfHealthyBudget"]
DISRUPTION_ALLOWED = "DisruptionAllowed"
SUFFICIENT_PODS = "SufficientPods"
INSUFFICIENT_PODS = "InsufficientPods"
SYNC_FAILED = "SyncFailed"
DISRUPTION_BUDGET_CAUSE = "DisruptionBudget"

define(f"{P}.PodDisruptionBudgetSpec", "How much disruption the selected pods tolerate.", [
    Field("minAvailable", IntOrString(), "Pods (or percent) that must stay available.", proto=1),
    Field("selector", Ref(LABEL_SELECTOR), "The pods the budget covers.", strategy="replace", proto=2),
    Field("maxUnavailable", IntOrString(), "Pods (or percent) that may be unavailable.", proto=3),
    Field("unhealthyPodEvictionPolicy", STRING, "IfHealthyBudget or AlwaysAllow: when unhealthy pods may be evicted.",
          proto=4),
])
define(f"{P}.PodDisruptionBudgetStatus", "Observed state of a budget.", [
    Field("observedGeneration", INT64, "Generation last acted on.", proto=1),
    Field("disruptedPods", MapOf(TIME), "Pods being evicted, with when the eviction was accepted.", proto=2),
    Field("disruptionsAllowed", INT32, "Evictions allowed right now.", required=True, proto=3),
    Field("currentHealthy", INT32, "Healthy pods now.", required=True, proto=4),
    Field("desiredHealthy", INT32, "Healthy pods wanted.", required=True, proto=5),
    Field("expectedPods", INT32, "Pods the budget covers.", required=True, proto=6),
    kinds.conditions_field(META_CONDITION, 7),
])
define_kind(P, "PodDisruptionBudget", GV, "Limits voluntary disruption of a set of pods.", [
    Field("spec", Ref(f"{P}.PodDisruptionBudgetSpec"), "Desired budget.", proto=2),
    Field("status", Ref(f"{P}.PodDisruptionBudgetStatus"), "Observed state.", proto=3),
])
EVICTION = define(f"{P}.Eviction", "A request to evict a pod, subject to disruption budgets.", kinds.head_fields() + [
    Field("deleteOptions", Ref("io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions"), "How to delete the pod.",
          proto=2),
], gvk=("policy", "v1", "Eviction"))


def validate_pdb_spec(spec: Obj, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    low, high = spec.get("minAvailable"), spec.get("maxUnavailable")
    if low is not None and high is not None:
        errs.append(invalid(path, spec, "minAvailable and maxUnavailable cannot be both set"))
    for key, value in (("minAvailable", low), ("maxUnavailable", high)):
        if value is not None:
            errs += kinds.validate_int_or_percent(value, f"{path}.{key}")
            errs += kinds.not_more_than_100_percent(value, f"{path}.{key}")
    errs += meta_v1.validate_label_selector(spec.get("selector"), path + ".selector")
    policy = spec.get("unhealthyPodEvictionPolicy")
    if policy is not None and policy not in EVICTION_POLICIES:
        errs.append(not_supported(path + ".unhealthyPodEvictionPolicy", policy, EVICTION_POLICIES))
    return errs


def selects(pdb: Obj, pod: Obj) -> bool:
    """Does the budget cover the pod?  policy/v1: an empty selector selects every pod of the namespace,
    a missing one none."""
    selector = (pdb.get("spec") or {}).get("selector")
    if selector is None:
        return False
    return labels.matches_label_selector(selector, (pod.get("metadata") or {}).get("labels") or {})


def set_disruption_condition(status: Obj, now: str, *, reason: str = "", message: str = "") -> None:
    """Upstream's UpdateDisruptionAllowedCondition (``reason`` given: SyncFailed and its error).
    ``lastTransitionTime`` moves only when the condition's status changes."""
    if not reason:
        reason = SUFFICIENT_PODS if int(status.get("disruptionsAllowed") or 0) > 0 else INSUFFICIENT_PODS
    value = "True" if reason == SUFFICIENT_PODS else "False"
    conditions = [c for c in status.get("conditions") or [] if isinstance(c, dict)]
    old = next((c for c in conditions if c.get("type") == DISRUPTION_ALLOWED), None)
    new = {"type": DISRUPTION_ALLOWED, "status": value, "reason": reason, "message": message,
           "observedGeneration": status.get("observedGeneration", 0),
           "lastTransitionTime": old["lastTransitionTime"] if old is not None and old.get("status") == value and
           old.get("lastTransitionTime") else now}
    status["conditions"] = [c for c in conditions if c.get("type") != DISRUPTION_ALLOWED] + [new]


class PodDisruptionBudgetStrategy(Strategy):
    def prepare_for_create(self, obj: Obj) -> None:
        obj["status"] = {"disruptionsAllowed": 0, "currentHealthy": 0, "desiredHealthy": 0, "expectedPods": 0}
        child(obj, "metadata")["generation"] = 1

    def validate(self, obj: Obj) -> list[FieldError]:
        errs = meta_v1.validate_object_meta(obj, namespaced=True)
        return errs + validate_pdb_spec(obj.get("spec") or {}, "spec")

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        errs = meta_v1.validate_object_meta_update(new, old)
        return errs + validate_pdb_spec(new.get("spec") or {}, "spec")

    def validate_status_update(self, new: Obj, old: Obj) -> list[FieldError]:
        errs = meta_v1.validate_object_meta_update(new, old)
        status = new.get("status") or {}
        for key in ("disruptionsAllowed", "currentHealthy", "desiredHealthy", "expectedPods"):
            errs += kinds.nonnegative(status.get(key), f"status.{key}")
        return errs


register(group="policy", version="v1", kind="PodDisruptionBudget", plural="poddisruptionbudgets", namespaced=True,
         strategy=PodDisruptionBudgetStrategy(), schema=f"{P}.PodDisruptionBudget", short_names=("pdb",),
         subresources=("status",))
