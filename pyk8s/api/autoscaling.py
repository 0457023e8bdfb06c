"""autoscaling: HorizontalPodAutoscaler (v2, preferred, and v1) and the
autoscaling/v1 ``Scale`` that the scale subresources speak.

Both HPA versions are one resource stored in the v2 shape.  ``hpa_v1_to_v2``
and ``hpa_v2_to_v1`` convert between them; as upstream, what v1 cannot say
(metrics other than CPU utilization, conditions, behavior) rides along in
``autoscaling.alpha.kubernetes.io/*`` annotations so a v1 round trip loses
nothing.  (The annotation payloads use the v2 field layout, not the old
v2beta1 one.)

``scale_of`` / ``apply_scale`` build and consume Scale objects for
deployments, replicasets and statefulsets (and any kind whose replicas live
in ``spec.replicas``).
"""

from __future__ import annotations

import copy
import json
from typing import Any

import orjson

from pyk8s.api import kinds, meta_v1, names
from pyk8s.api.kinds import LABEL_SELECTOR, child, define_kind, register, spec_of
from pyk8s.machinery import labels, quantity, typecheck
from pyk8s.machinery.schema import (
    INT32,
    INT64,
    STRING,
    TIME,
    ArrayOf,
    Field,
    Quantity,
    Ref,
    SchemaType,
    define,
)
from pyk8s.machinery.scheme import Strategy
from pyk8s.machinery.validation import FieldError, forbidden, invalid, not_supported, required

Obj = dict[str, Any]
V1 = "io.k8s.api.autoscaling.v1"
V2 = "io.k8s.api.autoscaling.v2"

ANNOTATION_METRICS = "autoscaling.alpha.kubernetes.io/metrics"
ANNOTATION_CURRENT_METRICS = "autoscaling.alpha.kubernetes.io/current-metrics"
ANNOTATION_CONDITIONS = "autoscaling.alpha.kubernetes.io/conditions"
ANNOTATION_BEHAVIOR = "autoscaling.alpha.kubernetes.io/behavior"
DEFAULT_CPU_UTILIZATION = 80

# ---------------------------------------------------------------- shared / v1

define(f"{V1}.CrossVersionObjectReference", "Names the object to scale.", [
    Field("kind", STRING, "Kind of the target, e.g. Deployment.", required=True, proto=1),
    Field("name", STRING, "Name of the target.", required=True, proto=2),
    Field("apiVersion", STRING, "API version of the target.", proto=3),
])
define(f"{V1}.ScaleSpec", "Desired size of a scalable object.", [
    Field("replicas", INT32, "Desired number of instances.", proto=1),
])
define(f"{V1}.ScaleStatus", "Observed size of a scalable object.", [
    Field("replicas", INT32, "Current number of instances.", required=True, proto=1),
    Field("selector", STRING, "Label selector of the instances, in string form.", proto=2),
])
SCALE = define(f"{V1}.Scale", "The scale subresource of a scalable object.", kinds.head_fields() + [
    Field("spec", Ref(f"{V1}.ScaleSpec"), "Desired size.", proto=2),
    Field("status", Ref(f"{V1}.ScaleStatus"), "Observed size.", proto=3),
], gvk=("autoscaling", "v1", "Scale"))

define(f"{V1}.HorizontalPodAutoscalerSpec", "Desired behaviour of a v1 autoscaler.", [
    Field("scaleTargetRef", Ref(f"{V1}.CrossVersionObjectReference"), "What to scale.", required=True, proto=1),
    Field("minReplicas", INT32, "Lower bound (default 1).", proto=2),
    Field("maxReplicas", INT32, "Upper bound.", required=True, proto=3),
    Field("targetCPUUtilizationPercentage", INT32, "Target average CPU use as a percent of requests.", proto=4),
])
define(f"{V1}.HorizontalPodAutoscalerStatus", "Observed state of a v1 autoscaler.", [
    Field("observedGeneration", INT64, "Generation last acted on.", proto=1),
    Field("lastScaleTime", TIME, "When the target was last resized.", proto=2),
    Field("currentReplicas", INT32, "Current number of pods.", required=True, proto=3),
    Field("desiredReplicas", INT32, "Number of pods wanted.", required=True, proto=4),
    Field("currentCPUUtilizationPercentage", INT32, "Current average CPU use as a percent of requests.", proto=5),
])
define_kind(V1, "HorizontalPodAutoscaler", ("autoscaling", "v1"), "Resizes a workload from CPU use.", [
    Field("spec", Ref(f"{V1}.HorizontalPodAutoscalerSpec"), "Desired behaviour.", proto=2),
    Field("status", Ref(f"{V1}.HorizontalPodAutoscalerStatus"), "Observed state.", proto=3),
])

# ---------------------------------------------------------------- v2

define(f"{V2}.CrossVersionObjectReference", "Names the object to scale.", [
    Field("kind", STRING, "Kind of the target, e.g. Deployment.", required=True, proto=1),
    Field("name", STRING, "Name of the target.", required=True, proto=2),
    Field("apiVersion", STRING, "API version of the target.", proto=3),
])
define(f"{V2}.MetricIdentifier", "Names a metric.", [
    Field("name", STRING, "Metric name.", required=True, proto=1),
    Field("selector", Ref(LABEL_SELECTOR), "Narrows the metric by its labels.", proto=2),
])
define(f"{V2}.MetricTarget", "Target value of a metric.", [
    Field("type", STRING, "Utilization, Value or AverageValue.", required=True, proto=1),
    Field("value", Quantity(), "Target total value.", proto=2),
    Field("averageValue", Quantity(), "Target value per pod.", proto=3),
    Field("averageUtilization", INT32, "Target percent of the pods' requests.", proto=4),
])
define(f"{V2}.MetricValueStatus", "Current value of a metric.", [
    Field("value", Quantity(), "Current total value.", proto=1),
    Field("averageValue", Quantity(), "Current value per pod.", proto=2),
    Field("averageUtilization", INT32, "Current percent of the pods' requests.", proto=3),
])


def _source(name: str, desc: str, fields: list[Field]) -> None:
    define(f"{V2}.{name}", desc, fields)


_MI = Ref(f"{V2}.MetricIdentifier")
_MT = Ref(f"{V2}.MetricTarget")
_MV = Ref(f"{V2}.MetricValueStatus")
_REF = Ref(f"{V2}.CrossVersionObjectReference")
_source("ObjectMetricSource", "A metric of one other object.", [
    Field("describedObject", _REF, "The object.", required=True, proto=1),
    Field("target", _MT, "Target value.", required=True, proto=2),
    Field("metric", _MI, "The metric.", required=True, proto=3)])
_source("PodsMetricSource", "A metric averaged over the target's pods.", [
    Field("metric", _MI, "The metric.", required=True, proto=1),
    Field("target", _MT, "Target value.", required=True, proto=2)])
_source("ResourceMetricSource", "A resource (cpu, memory) of the target's pods.", [
    Field("name", STRING, "Resource name.", required=True, proto=1),
    Field("target", _MT, "Target value.", required=True, proto=2)])
_source("ContainerResourceMetricSource", "A resource of one container in the target's pods.", [
    Field("name", STRING, "Resource name.", required=True, proto=1),
    Field("target", _MT, "Target value.", required=True, proto=2),
    Field("container", STRING, "Container name.", required=True, proto=3)])
_source("ExternalMetricSource", "A metric from outside the cluster.", [
    Field("metric", _MI, "The metric.", required=True, proto=1),
    Field("target", _MT, "Target value.", required=True, proto=2)])
_source("ObjectMetricStatus", "Current value of an object metric.", [
    Field("metric", _MI, "The metric.", required=True, proto=1),
    Field("current", _MV, "Current value.", required=True, proto=2),
    Field("describedObject", _REF, "The object.", required=True, proto=3)])
_source("PodsMetricStatus", "Current value of a pods metric.", [
    Field("metric", _MI, "The metric.", required=True, proto=1),
    Field("current", _MV, "Current value.", required=True, proto=2)])
_source("ResourceMetricStatus", "Current value of a resource metric.", [
    Field("name", STRING, "Resource name.", required=True, proto=1),
    Field("current", _MV, "Current value.", required=True, proto=2)])
_source("ContainerResourceMetricStatus", "Current value of a container resource metric.", [
    Field("name", STRING, "Resource name.", required=True, proto=1),
    Field("current", _MV, "Current value.", required=True, proto=2),
    Field("container", STRING, "Container name.", required=True, proto=3)])
_source("ExternalMetricStatus", "Current value of an external metric.", [
    Field("metric", _MI, "The metric.", required=True, proto=1),
    Field("current", _MV, "Current value.", required=True, proto=2)])


def _metric_union(name: str, desc: str, suffix: str) -> None:
    define(f"{V2}.{name}", desc, [
        Field("type", STRING, "Object, Pods, Resource, ContainerResource or External.", required=True, proto=1),
        Field("object", Ref(f"{V2}.ObjectMetric{suffix}"), "Set when type is Object.", proto=2),
        Field("pods", Ref(f"{V2}.PodsMetric{suffix}"), "Set when type is Pods.", proto=3),
        Field("resource", Ref(f"{V2}.ResourceMetric{suffix}"), "Set when type is Resource.", proto=4),
        Field("containerResource", Ref(f"{V2}.ContainerResourceMetric{suffix}"), "Set when type is ContainerResource.",
              proto=7),
        Field("external", Ref(f"{V2}.ExternalMetric{suffix}"), "Set when type is External.", proto=5),
    ])


_metric_union("MetricSpec", "One metric to scale on.", "Source")
_metric_union("MetricStatus", "Current value of one metric.", "Status")

define(f"{V2}.HPAScalingPolicy", "One limit on how fast to scale.", [
    Field("type", STRING, "Pods or Percent.", required=True, proto=1),
    Field("value", INT32, "How much change the policy allows.", required=True, proto=2),
    Field("periodSeconds", INT32, "Window the limit applies to.", required=True, proto=3),
])
define(f"{V2}.HPAScalingRules", "How to scale in one direction.", [
    Field("stabilizationWindowSeconds", INT32, "Look-back window for past recommendations.", proto=3),
    Field("selectPolicy", STRING, "Max, Min or Disabled.", proto=1),
    Field("policies", ArrayOf(Ref(f"{V2}.HPAScalingPolicy")), "Limits on the rate of change.",
          list_type="atomic", proto=2),
])
define(f"{V2}.HorizontalPodAutoscalerBehavior", "Scale-up and scale-down rules.", [
    Field("scaleUp", Ref(f"{V2}.HPAScalingRules"), "Rules for scaling up.", proto=1),
    Field("scaleDown", Ref(f"{V2}.HPAScalingRules"), "Rules for scaling down.", proto=2),
])
define(f"{V2}.HorizontalPodAutoscalerSpec", "Desired behaviour of an autoscaler.", [
    Field("scaleTargetRef", _REF, "What to scale.", required=True, proto=1),
    Field("minReplicas", INT32, "Lower bound (default 1).", proto=2),
    Field("maxReplicas", INT32, "Upper bound.", required=True, proto=3),
    Field("metrics", ArrayOf(Ref(f"{V2}.MetricSpec")), "Metrics to scale on (default: 80% CPU).",
          list_type="atomic", proto=4),
    Field("behavior", Ref(f"{V2}.HorizontalPodAutoscalerBehavior"), "Rate limits for scaling.", proto=5),
])
define(f"{V2}.HorizontalPodAutoscalerCondition", "One observed state of an autoscaler.", [
    Field("type", STRING, "ScalingActive, AbleToScale or ScalingLimited.", required=True, proto=1),
    Field("status", STRING, "True, False or Unknown.", required=True, proto=2),
    Field("lastTransitionTime", TIME, "When the status last changed.", proto=3),
    Field("reason", STRING, "Machine-readable cause.", proto=4),
    Field("message", STRING, "Human-readable detail.", proto=5),
])
define(f"{V2}.HorizontalPodAutoscalerStatus", "Observed state of an autoscaler.", [
    Field("observedGeneration", INT64, "Generation last acted on.", proto=1),
    Field("lastScaleTime", TIME, "When the target was last resized.", proto=2),
    Field("currentReplicas", INT32, "Current number of pods.", proto=3),
    Field("desiredReplicas", INT32, "Number of pods wanted.", required=True, proto=4),
    Field("currentMetrics", ArrayOf(Ref(f"{V2}.MetricStatus")), "Last read metric values.", list_type="atomic",
          proto=5),
    kinds.conditions_field(f"{V2}.HorizontalPodAutoscalerCondition", 6),
])
define_kind(V2, "HorizontalPodAutoscaler", ("autoscaling", "v2"), "Resizes a workload from observed metrics.", [
    Field("spec", Ref(f"{V2}.HorizontalPodAutoscalerSpec"), "Desired behaviour.", proto=2),
    Field("status", Ref(f"{V2}.HorizontalPodAutoscalerStatus"), "Observed state.", proto=3),
])

# ---------------------------------------------------------------- conversion


def _cpu_utilization_metric(percent: int) -> Obj:
    return {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization",
                                                                     "averageUtilization": percent}}}


def _is_cpu_utilization(metric: Obj) -> bool:
    res = metric.get("resource") or {}
    return (metric.get("type") == "Resource" and res.get("name") == "cpu"
            and (res.get("target") or {}).get("type") == "Utilization")


def _pop_json(annotations: Obj, key: str, t: SchemaType) -> Any:
    """An annotation's JSON, or None when it does not decode into ``t`` (ignored, as upstream's conversion)."""
    raw = annotations.pop(key, None)
    if raw is None:
        return None
    try:
        value = orjson.loads(raw)  # not json.loads: deep nesting must not raise RecursionError
    except ValueError:
        return None
    return value if typecheck.decodes_as(value, t) else None


def hpa_v1_to_v2(obj: Obj) -> Obj:
    """An autoscaling/v1 HPA as autoscaling/v2 (a new dict)."""
    out = copy.deepcopy(obj)
    out["apiVersion"] = "autoscaling/v2"
    annotations = dict((out.get("metadata") or {}).get("annotations") or {})
    spec = out.get("spec") or {}
    metrics = _pop_json(annotations, ANNOTATION_METRICS, ArrayOf(Ref(f"{V2}.MetricSpec"))) or []
    cpu = spec.pop("targetCPUUtilizationPercentage", None)
    if cpu is not None:
        metrics = [_cpu_utilization_metric(cpu)] + [m for m in metrics if not _is_cpu_utilization(m)]
    if metrics:
        spec["metrics"] = metrics
    behavior = _pop_json(annotations, ANNOTATION_BEHAVIOR, Ref(f"{V2}.HorizontalPodAutoscalerBehavior"))
    if behavior is not None:
        spec["behavior"] = behavior
    status = out.get("status")
    if isinstance(status, dict):
        current = _pop_json(annotations, ANNOTATION_CURRENT_METRICS,
                            ArrayOf(Ref(f"{V2}.MetricStatus"))) or []
        cpu_now = status.pop("currentCPUUtilizationPercentage", None)
        if cpu_now is not None:
            current = [{"type": "Resource", "resource": {"name": "cpu", "current": {
                "averageUtilization": cpu_now}}}] + [m for m in current if (m.get("resource") or {}).get("name") != "cpu"]
        if current:
            status["currentMetrics"] = current
        conditions = _pop_json(annotations, ANNOTATION_CONDITIONS,
                               ArrayOf(Ref(f"{V2}.HorizontalPodAutoscalerCondition")))
        if conditions:
            status["conditions"] = conditions
    _set_annotations(out, annotations)
    return out


def hpa_v2_to_v1(obj: Obj) -> Obj:
    """An autoscaling/v2 HPA as autoscaling/v1 (a new dict)."""
    out = copy.deepcopy(obj)
    out["apiVersion"] = "autoscaling/v1"
    annotations = dict((out.get("metadata") or {}).get("annotations") or {})
    spec = out.get("spec") or {}
    metrics = spec.pop("metrics", None) or []
    others = []
    for m in metrics:
        if _is_cpu_utilization(m) and "targetCPUUtilizationPercentage" not in spec:
            spec["targetCPUUtilizationPercentage"] = (m["resource"]["target"]).get("averageUtilization")
        else:
            others.append(m)
    if others:
        annotations[ANNOTATION_METRICS] = json.dumps(others, separators=(",", ":"))
    behavior = spec.pop("behavior", None)
    if behavior is not None:
        annotations[ANNOTATION_BEHAVIOR] = json.dumps(behavior, separators=(",", ":"))
    status = out.get("status")
    if isinstance(status, dict):
        current = status.pop("currentMetrics", None) or []
        rest = []
        for m in current:
            res = m.get("resource") or {}
            util = (res.get("current") or {}).get("averageUtilization")
            if m.get("type") == "Resource" and res.get("name") == "cpu" and util is not None:
                status["currentCPUUtilizationPercentage"] = util
            else:
                rest.append(m)
        if rest:
            annotations[ANNOTATION_CURRENT_METRICS] = json.dumps(rest, separators=(",", ":"))
        conditions = status.pop("conditions", None)
        if conditions:
            annotations[ANNOTATION_CONDITIONS] = json.dumps(conditions, separators=(",", ":"))
        status.setdefault("currentReplicas", 0)
    _set_annotations(out, annotations)
    return out


def _set_annotations(obj: Obj, annotations: Obj) -> None:
    meta = child(obj, "metadata")
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)


#: (from apiVersion, to apiVersion) -> converter, for the store's version handling.
CONVERSIONS = {("autoscaling/v1", "autoscaling/v2"): hpa_v1_to_v2, ("autoscaling/v2", "autoscaling/v1"): hpa_v2_to_v1}

# ---------------------------------------------------------------- defaults / validation


def _scale_up_default() -> Obj:
    return {"stabilizationWindowSeconds": 0, "selectPolicy": "Max", "policies": [
        {"type": "Pods", "value": 4, "periodSeconds": 15}, {"type": "Percent", "value": 100, "periodSeconds": 15}]}


def _scale_down_default() -> Obj:
    return {"selectPolicy": "Max", "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]}


def _fill_rules(rules: Any, default: Obj) -> Obj:
    if not isinstance(rules, dict):
        return default
    out = dict(rules)
    for key, value in default.items():
        if out.get(key) is None:
            out[key] = value
    return out


def default_hpa_v2(obj: Obj) -> None:
    spec = spec_of(obj)
    spec.setdefault("minReplicas", 1)
    if not spec.get("metrics"):
        spec["metrics"] = [_cpu_utilization_metric(DEFAULT_CPU_UTILIZATION)]
    behavior = spec.get("behavior")
    if isinstance(behavior, dict):
        behavior["scaleUp"] = _fill_rules(behavior.get("scaleUp"), _scale_up_default())
        behavior["scaleDown"] = _fill_rules(behavior.get("scaleDown"), _scale_down_default())


def _validate_target_ref(ref: Any, path: str) -> list[FieldError]:
    ref = ref if isinstance(ref, dict) else {}
    errs: list[FieldError] = []
    for key in ("kind", "name"):
        value = ref.get(key) or ""
        if not value:
            errs.append(required(f"{path}.{key}"))
        else:
            errs += [invalid(f"{path}.{key}", value, m) for m in kinds.path_segment_errors(value)]
    return errs


_METRIC_TYPES = ["ContainerResource", "External", "Object", "Pods", "Resource"]
_SOURCE_KEYS = ("object", "external", "pods", "resource", "containerResource")  # upstream's check order


def _positive_quantity(value: Any) -> bool:
    q = quantity.try_parse(value)
    return q is not None and q.value > 0


def _validate_target(target: Any, path: str) -> list[FieldError]:
    target = target if isinstance(target, dict) else {}
    kind = target.get("type") or ""
    errs: list[FieldError] = []
    if not kind:
        errs.append(required(path + ".type", "must specify a metric target type"))
    if kind not in ("Utilization", "Value", "AverageValue"):
        errs.append(invalid(path + ".type", kind, "must be either Utilization, Value, or AverageValue"))
    for key in ("value", "averageValue"):
        if target.get(key) is not None and not _positive_quantity(target[key]):
            errs.append(invalid(f"{path}.{key}", target[key], "must be positive"))
    util = target.get("averageUtilization")
    if isinstance(util, int) and util < 1:
        errs.append(invalid(path + ".averageUtilization", util, "must be greater than 0"))
    return errs


def _validate_identifier(ident: Any, path: str) -> list[FieldError]:
    name = (ident if isinstance(ident, dict) else {}).get("name") or ""
    if not name:
        return [required(path + ".name", "must specify a metric name")]
    return [invalid(path + ".name", name, m) for m in kinds.path_segment_errors(name)]


def _validate_source(key: str, src: Obj, path: str) -> list[FieldError]:
    target = src.get("target")
    if not isinstance(target, dict):
        target = {}
    tpath = path + ".target"
    errs: list[FieldError] = []
    if key in ("resource", "containerResource"):
        if not src.get("name"):
            errs.append(required(path + ".name", "must specify a resource name"))
        if key == "containerResource":
            container = src.get("container") or ""
            if not container:
                errs.append(required(path + ".container", "must specify a container"))
            else:
                errs += [invalid(path + ".container", container, m) for m in names.is_dns1123_label(container)]
        errs += _validate_target(target, tpath)
        if target.get("averageUtilization") is None and target.get("averageValue") is None:
            errs.append(required(tpath + ".averageUtilization",
                                 "must set either a target raw value or a target utilization"))
        elif target.get("averageUtilization") is not None and target.get("averageValue") is not None:
            errs.append(forbidden(tpath + ".averageValue",
                                  "may not set both a target raw value and a target utilization"))
        return errs
    if key == "object":
        errs += _validate_target_ref(src.get("describedObject"), path + ".describedObject")
    errs += _validate_identifier(src.get("metric"), path + ".metric")
    errs += _validate_target(target, tpath)
    value, average = target.get("value"), target.get("averageValue")
    if key == "pods" and average is None:
        errs.append(required(tpath + ".averageValue", "must specify a positive target averageValue"))
    elif key == "object" and value is None and average is None:
        errs.append(required(tpath + ".averageValue", "must set either a target value or averageValue"))
    elif key == "external":
        if value is None and average is None:
            errs.append(required(tpath + ".averageValue",
                                 "must set either a target value for metric or a per-pod target"))
        elif value is not None and average is not None:
            errs.append(forbidden(tpath + ".value", "may not set both a target value for metric and a per-pod target"))
    return errs


def _validate_metric(metric: Any, path: str) -> list[FieldError]:
    metric = metric if isinstance(metric, dict) else {}
    kind = metric.get("type") or ""
    errs: list[FieldError] = []
    if not kind:
        errs.append(required(path + ".type", "must specify a metric source type"))
    if kind not in _METRIC_TYPES:
        errs.append(not_supported(path + ".type", kind, _METRIC_TYPES))
    present = [key for key in _SOURCE_KEYS if isinstance(metric.get(key), dict)]
    if len(present) == 1:
        errs += _validate_source(present[0], metric[present[0]], f"{path}.{present[0]}")
    expected = kind[:1].lower() + kind[1:]
    if kind in _METRIC_TYPES and expected not in present:
        errs.append(required(f"{path}.{expected}", "must populate information for the given metric source"))
    if len(present) > 1:
        errs += [forbidden(f"{path}.{key}", "must populate the given metric source only")
                 for key in present if key != expected]
    return errs


MAX_STABILIZATION_WINDOW_SECONDS = 3600
MAX_PERIOD_SECONDS = 1800


def _validate_policy(policy: Obj, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    if policy.get("type") not in ("Pods", "Percent"):
        errs.append(not_supported(path + ".type", policy.get("type", ""), ["Percent", "Pods"]))
    value, period = policy.get("value") or 0, policy.get("periodSeconds") or 0
    if value <= 0:
        errs.append(invalid(path + ".value", value, "must be greater than zero"))
    if period <= 0:
        errs.append(invalid(path + ".periodSeconds", period, "must be greater than zero"))
    if period > MAX_PERIOD_SECONDS:
        errs.append(invalid(path + ".periodSeconds", period, f"must be less than or equal to {MAX_PERIOD_SECONDS}"))
    return errs


def _validate_rules(rules: Any, path: str) -> list[FieldError]:
    if not isinstance(rules, dict):
        return []
    errs: list[FieldError] = []
    window = rules.get("stabilizationWindowSeconds")
    if isinstance(window, int) and window < 0:
        errs.append(invalid(path + ".stabilizationWindowSeconds", window, "must be greater than or equal to zero"))
    if isinstance(window, int) and window > MAX_STABILIZATION_WINDOW_SECONDS:
        errs.append(invalid(path + ".stabilizationWindowSeconds", window,
                            f"must be less than or equal to {MAX_STABILIZATION_WINDOW_SECONDS}"))
    select = rules.get("selectPolicy")
    if select is not None and select not in ("Disabled", "Max", "Min"):
        errs.append(not_supported(path + ".selectPolicy", select, ["Disabled", "Max", "Min"]))
    policies = rules.get("policies") or []
    if not policies:
        errs.append(required(path + ".policies", "must specify at least one Policy"))
    for i, policy in enumerate(policies):
        errs += _validate_policy(policy if isinstance(policy, dict) else {}, f"{path}.policies[{i}]")
    return errs


def validate_hpa_spec(spec: Obj, path: str, *, min_lower_bound: int = 1) -> list[FieldError]:
    errs: list[FieldError] = []
    low = spec.get("minReplicas")
    high = spec.get("maxReplicas") or 0
    if isinstance(low, int) and low < min_lower_bound:
        errs.append(invalid(path + ".minReplicas", low, f"must be greater than or equal to {min_lower_bound}"))
    if high < 1:
        errs.append(invalid(path + ".maxReplicas", high, "must be greater than 0"))
    if isinstance(low, int) and high < low:
        errs.append(invalid(path + ".maxReplicas", high, "must be greater than or equal to `minReplicas`"))
    errs += _validate_target_ref(spec.get("scaleTargetRef"), path + ".scaleTargetRef")
    metrics = spec.get("metrics") or []
    for i, metric in enumerate(metrics):
        errs += _validate_metric(metric, f"{path}.metrics[{i}]")
    if low == 0 and not any(isinstance(m, dict) and m.get("type") in ("Object", "External") for m in metrics):
        errs.append(forbidden(path + ".metrics", "must specify at least one Object or External metric to support "
                                                 "scaling to zero replicas"))
    behavior = spec.get("behavior")
    if isinstance(behavior, dict):
        errs += _validate_rules(behavior.get("scaleUp"), path + ".behavior.scaleUp")
        errs += _validate_rules(behavior.get("scaleDown"), path + ".behavior.scaleDown")
    return errs


class HPAStrategy(Strategy):
    """The v2 (storage) shape; v1 requests are converted before they get here."""

    def default(self, obj: Obj) -> None:
        default_hpa_v2(obj)

    def validate(self, obj: Obj) -> list[FieldError]:
        errs = meta_v1.validate_object_meta(obj, namespaced=True)
        return errs + validate_hpa_spec(obj.get("spec") or {}, "spec")

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        errs = meta_v1.validate_object_meta_update(new, old)
        # An HPA that already scales to zero keeps being allowed to.
        bound = 0 if (old.get("spec") or {}).get("minReplicas") == 0 else 1
        return errs + validate_hpa_spec(new.get("spec") or {}, "spec", min_lower_bound=bound)

    def validate_status_update(self, new: Obj, old: Obj) -> list[FieldError]:
        errs = meta_v1.validate_object_meta_update(new, old)
        status = new.get("status") or {}
        for key in ("currentReplicas", "desiredReplicas"):
            errs += kinds.nonnegative(status.get(key), f"status.{key}")
        return errs


class HPAV1Strategy(HPAStrategy):
    """For callers that hold a v1 object: default and validate through v2."""

    def default(self, obj: Obj) -> None:
        spec_of(obj).setdefault("minReplicas", 1)

    def validate(self, obj: Obj) -> list[FieldError]:
        return super().validate(hpa_v1_to_v2(obj))

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        return super().validate_update(hpa_v1_to_v2(new), hpa_v1_to_v2(old))


# ---------------------------------------------------------------- scale subresource


def scale_of(obj: Obj) -> Obj:
    """The autoscaling/v1 Scale view of a deployment/replicaset/statefulset."""
    meta = obj.get("metadata") or {}
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    scale_meta = {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
                  if k in meta}
    scale_status: Obj = {"replicas": status.get("replicas", 0)}
    selector = labels.to_string(spec.get("selector")) if spec.get("selector") is not None else ""
    if selector:
        scale_status["selector"] = selector
    return {"kind": "Scale", "apiVersion": "autoscaling/v1", "metadata": scale_meta,
            "spec": {"replicas": spec.get("replicas", 0)}, "status": scale_status}


def validate_scale(scale: Obj) -> list[FieldError]:
    replicas = (scale.get("spec") or {}).get("replicas", 0)
    return kinds.nonnegative(replicas, "spec.replicas")


def apply_scale(obj: Obj, scale: Obj) -> Obj:
    """A copy of ``obj`` with spec.replicas taken from the Scale."""
    out = copy.deepcopy(obj)
    spec_of(out)["replicas"] = (scale.get("spec") or {}).get("replicas", 0)
    return out


# ---------------------------------------------------------------- registration

register(group="autoscaling", version="v2", kind="HorizontalPodAutoscaler", plural="horizontalpodautoscalers",
         namespaced=True, strategy=HPAStrategy(), schema=f"{V2}.HorizontalPodAutoscaler", short_names=("hpa",),
         categories=("all",), subresources=("status",))
register(group="autoscaling", version="v1", kind="HorizontalPodAutoscaler", plural="horizontalpodautoscalers",
         namespaced=True, strategy=HPAV1Strategy(), schema=f"{V1}.HorizontalPodAutoscaler", short_names=("hpa",),
         categories=("all",), subresources=("status",))
