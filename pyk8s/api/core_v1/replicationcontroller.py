"""ReplicationControllers: the legacy ReplicaSet with an equality selector."""

from __future__ import annotations

import json
from typing import Any

from pyk8s.api import meta_v1
from pyk8s.api.core_v1.common import P, ref, register_kind, spec_of
from pyk8s.api.core_v1.pod import POD_TEMPLATE_SPEC, default_pod_spec, validate_pod_template_spec
from pyk8s.machinery.schema import INT32, INT64, STRING, STRING_MAP, TIME, ArrayOf, Field, Ref, define
from pyk8s.machinery.scheme import Strategy
from pyk8s.machinery.validation import FieldError, invalid, not_supported, required

Obj = dict[str, Any]

define(P + "ReplicationControllerSpec", "How many pods to keep and how to make them.", [
    Field("replicas", INT32, "Desired number of pods; 1 by default."),
    Field("minReadySeconds", INT32, "Seconds a pod must be ready before it counts as available."),
    Field("selector", STRING_MAP, "Labels the managed pods carry; the template's labels by default.",
          map_type="atomic"),
    Field("template", Ref(POD_TEMPLATE_SPEC), "Template for new pods."),
])
define(P + "ReplicationControllerCondition", "One aspect of the controller's state.", [
    Field("type", STRING, "Condition type.", required=True),
    Field("status", STRING, "True, False or Unknown.", required=True),
    Field("lastTransitionTime", TIME, "When status last changed."),
    Field("reason", STRING, "Machine-readable reason."),
    Field("message", STRING, "Human-readable details."),
])
define(P + "ReplicationControllerStatus", "Observed state of the controller.", [
    Field("replicas", INT32, "Pods currently managed.", required=True),
    Field("fullyLabeledReplicas", INT32, "Pods whose labels match the template."),
    Field("readyReplicas", INT32, "Ready pods."),
    Field("availableReplicas", INT32, "Pods ready for at least minReadySeconds."),
    Field("observedGeneration", INT64, "Generation last acted on."),
    Field("conditions", ArrayOf(ref("ReplicationControllerCondition")), "Current conditions.", merge_key="type",
          strategy="merge", list_type="map", list_map_keys=("type",)),
])
define(P + "ReplicationController", "Keeps a number of identical pods running (legacy; prefer ReplicaSet).", [
    *meta_v1.type_meta_fields(),
    Field("spec", ref("ReplicationControllerSpec"), "Desired state."),
    Field("status", ref("ReplicationControllerStatus"), "Observed state."),
], gvk=("", "v1", "ReplicationController"))


def _go_map(labels: dict[str, str]) -> str:
    return "map[string]string{" + ", ".join(f"{json.dumps(k)}:{json.dumps(v)}" for k, v in sorted(labels.items())) + "}"


def validate_rc_spec(spec: Obj) -> list[FieldError]:
    errs = meta_v1.validate_nonnegative(spec.get("minReadySeconds"), "spec.minReadySeconds")
    selector = spec.get("selector") or {}
    if not selector:
        errs.append(required("spec.selector"))
    errs += meta_v1.validate_labels(selector, "spec.selector")
    errs += meta_v1.validate_nonnegative(spec.get("replicas"), "spec.replicas")
    template = spec.get("template")
    if not isinstance(template, dict):
        return errs + [required("spec.template")]
    labels = (template.get("metadata") or {}).get("labels") or {}
    if selector and any(labels.get(k) != v for k, v in selector.items()):
        errs.append(FieldError(("FieldValueInvalid", "Invalid value"), "spec.template.metadata.labels",
                               f"{_go_map(labels)}: `selector` does not match template `labels`"))
    errs += validate_pod_template_spec(template, "spec.template")
    tspec = template.get("spec") or {}
    if tspec.get("restartPolicy") != "Always":
        errs.append(not_supported("spec.template.spec.restartPolicy", tspec.get("restartPolicy"), ["Always"]))
    if tspec.get("activeDeadlineSeconds") is not None:
        errs.append(invalid("spec.template.spec.activeDeadlineSeconds", tspec["activeDeadlineSeconds"],
                            "activeDeadlineSeconds in ReplicationController is not Supported"))
    return errs


class ReplicationControllerStrategy(Strategy):
    field_selectors = {"status.replicas": lambda o: str((o.get("status") or {}).get("replicas", 0))}

    def default(self, obj: Obj) -> None:
        spec = spec_of(obj)
        template = spec.get("template")
        labels = ((template or {}).get("metadata") or {}).get("labels") if isinstance(template, dict) else None
        if labels:
            if not spec.get("selector"):
                spec["selector"] = dict(labels)
            meta = obj.setdefault("metadata", {})
            if not meta.get("labels"):
                meta["labels"] = dict(labels)
        if spec.get("replicas") is None:
            spec["replicas"] = 1
        if isinstance(template, dict) and isinstance(template.get("spec"), dict):
            default_pod_spec(template["spec"])

    def prepare_for_create(self, obj: Obj) -> None:
        obj["status"] = {"replicas": 0}

    def validate(self, obj: Obj) -> list[FieldError]:
        return meta_v1.validate_object_meta(obj, namespaced=True) + validate_rc_spec(spec_of(obj))

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        return meta_v1.validate_object_meta_update(new, old) + validate_rc_spec(spec_of(new))

    def validate_status_update(self, new: Obj, old: Obj) -> list[FieldError]:
        errs = meta_v1.validate_object_meta_update(new, old)
        status = new.get("status") or {}
        for key in ("replicas", "fullyLabeledReplicas", "readyReplicas", "availableReplicas", "observedGeneration"):
            errs += meta_v1.validate_nonnegative(status.get(key), f"status.{key}")
        return errs


REPLICATIONCONTROLLERS = register_kind(kind="ReplicationController", plural="replicationcontrollers",
                                       namespaced=True, strategy=ReplicationControllerStrategy(),
                                       short_names=("rc",), categories=("all",), subresources=("status", "scale"))
