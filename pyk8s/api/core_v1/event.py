"""core/v1 Events: reports about other objects (kubectl describe's Events).

events.k8s.io/v1 is a second view of the same objects and lives with the
other groups; this is the core/v1 shape and its field selectors.
"""

from __future__ import annotations

from typing import Any

from pyk8s.api import meta_v1
from pyk8s.api.core_v1.common import OBJECT_REFERENCE, P, ref, register_kind
from pyk8s.machinery.schema import INT32, MICROTIME, STRING, TIME, Field, Ref, define
from pyk8s.machinery.scheme import Strategy
from pyk8s.machinery.validation import FieldError, invalid, required

Obj = dict[str, Any]

define(P + "EventSource", "The component that reported an event.", [
    Field("component", STRING, "Reporting component."), Field("host", STRING, "Node it ran on."),
])
define(P + "EventSeries", "Data about a series of repeated events.", [
    Field("count", INT32, "Occurrences so far."),
    Field("lastObservedTime", MICROTIME, "When the last occurrence was seen."),
])
define(P + "Event", "A report of something that happened to an object.", [
    *meta_v1.type_meta_fields(),
    Field("involvedObject", Ref(OBJECT_REFERENCE), "The object the event is about.", required=True),
    Field("reason", STRING, "Short machine-readable reason, e.g. Scheduled."),
    Field("message", STRING, "Human-readable description."),
    Field("source", ref("EventSource"), "Who reported it."),
    Field("firstTimestamp", TIME, "First time it was recorded."),
    Field("lastTimestamp", TIME, "Latest time it was recorded."),
    Field("count", INT32, "How many times it happened."),
    Field("type", STRING, "Normal or Warning."),
    Field("eventTime", MICROTIME, "When it first happened (newer clients)."),
    Field("series", ref("EventSeries"), "Repeat information."),
    Field("action", STRING, "What was done or failed."),
    Field("related", Ref(OBJECT_REFERENCE), "A second object involved."),
    Field("reportingComponent", STRING, "Controller that emitted it, e.g. kubernetes.io/kubelet."),
    Field("reportingInstance", STRING, "Instance of that controller."),
], gvk=("", "v1", "Event"))


def _involved(key: str) -> Any:
    return lambda o: str((o.get("involvedObject") or {}).get(key) or "")


class EventStrategy(Strategy):
    allow_create_on_update = True
    has_status = False
    tracks_generation = False
    field_selectors = {
        "involvedObject.kind": _involved("kind"),
        "involvedObject.namespace": _involved("namespace"),
        "involvedObject.name": _involved("name"),
        "involvedObject.uid": _involved("uid"),
        "involvedObject.apiVersion": _involved("apiVersion"),
        "involvedObject.resourceVersion": _involved("resourceVersion"),
        "involvedObject.fieldPath": _involved("fieldPath"),
        "reason": lambda o: o.get("reason") or "",
        "reportingComponent": lambda o: o.get("reportingComponent") or "",
        "source": lambda o: (o.get("source") or {}).get("component") or o.get("reportingComponent") or "",
        "type": lambda o: o.get("type") or "",
    }

    def validate(self, obj: Obj) -> list[FieldError]:
        errs = meta_v1.validate_object_meta(obj, namespaced=True)
        involved = obj.get("involvedObject") or {}
        ns = (obj.get("metadata") or {}).get("namespace") or ""
        if involved.get("namespace") and involved["namespace"] != ns:
            errs.append(invalid("involvedObject.namespace", involved["namespace"], "does not match event.namespace"))
        if obj.get("eventTime"):
            if not obj.get("reportingComponent"):
                errs.append(required("reportingComponent", ""))
            if not obj.get("reportingInstance"):
                errs.append(required("reportingInstance", ""))
        return errs

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        errs = meta_v1.validate_object_meta_update(new, old)
        return errs + [e for e in self.validate(new) if not e.field.startswith("metadata")]


EVENTS = register_kind(kind="Event", plural="events", namespaced=True, strategy=EventStrategy(), short_names=("ev",))
