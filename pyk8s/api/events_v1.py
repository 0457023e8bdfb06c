"""events.k8s.io/v1 Event, and its conversion to and from core/v1 Event.

Both APIs are views of one stored resource (kept in the core/v1 shape, as
upstream keeps ``/registry/events``).  The mapping is field-for-field:

=========================  ==============================
events.k8s.io/v1            core/v1
=========================  ==============================
regarding                  involvedObject
note                       message
reportingController        reportingComponent
deprecatedSource           source
deprecatedFirstTimestamp   firstTimestamp
deprecatedLastTimestamp    lastTimestamp
deprecatedCount            count
=========================  ==============================

Everything else (eventTime, series, action, reason, related, type,
reportingInstance, metadata) keeps its name.  Creates through
events.k8s.io/v1 get the strict checks of upstream (eventTime required, the
deprecated fields must be unset...).
"""

from __future__ import annotations

import copy
from typing import Any

from pyk8s.api import meta_v1, names
from pyk8s.api.kinds import OBJECT_REFERENCE, define_kind, immutable, register
from pyk8s.machinery.schema import INT32, MICROTIME, STRING, TIME, Field, Ref, define
from pyk8s.machinery.scheme import Strategy
from pyk8s.machinery.validation import FieldError, invalid, required

Obj = dict[str, Any]
P = "io.k8s.api.events.v1"
LENGTH_LIMIT = 128
NOTE_LIMIT = 1024

#: (events.k8s.io/v1 name, core/v1 name) for the renamed fields.
RENAMED = (
    ("regarding", "involvedObject"),
    ("note", "message"),
    ("reportingController", "reportingComponent"),
    ("deprecatedSource", "source"),
    ("deprecatedFirstTimestamp", "firstTimestamp"),
    ("deprecatedLastTimestamp", "lastTimestamp"),
    ("deprecatedCount", "count"),
)

define(f"{P}.EventSeries", "A run of repeated occurrences of the same event.", [
    Field("count", INT32, "Occurrences so far.", required=True, proto=1),
    Field("lastObservedTime", MICROTIME, "When the last occurrence was seen.", required=True, proto=2),
])
define_kind(P, "Event", ("events.k8s.io", "v1"), "A report of something that happened in the cluster.", [
    Field("eventTime", MICROTIME, "When the event was first observed.", required=True, proto=2),
    Field("series", Ref(f"{P}.EventSeries"), "Set when the event repeats.", proto=3),
    Field("reportingController", STRING, "Controller that emitted the event, e.g. example.com/my-controller.",
          proto=4),
    Field("reportingInstance", STRING, "Instance of the controller, e.g. its pod or host name.", proto=5),
    Field("action", STRING, "What was done (or failed) about the regarding object.", proto=6),
    Field("reason", STRING, "Why the action was taken, in CamelCase.", proto=7),
    Field("regarding", Ref(OBJECT_REFERENCE), "The object the event is about.", proto=8),
    Field("related", Ref(OBJECT_REFERENCE), "A second object involved, if any.", proto=9),
    Field("note", STRING, "Human-readable description.", proto=10),
    Field("type", STRING, "Normal or Warning.", proto=11),
    Field("deprecatedSource", Ref("io.k8s.api.core.v1.EventSource"), "core/v1 compatibility field.", proto=12),
    Field("deprecatedFirstTimestamp", TIME, "core/v1 compatibility field.", proto=13),
    Field("deprecatedLastTimestamp", TIME, "core/v1 compatibility field.", proto=14),
    Field("deprecatedCount", INT32, "core/v1 compatibility field.", proto=15),
])


def _rename(obj: Obj, pairs: list[tuple[str, str]], api_version: str) -> Obj:
    out = copy.deepcopy(obj)
    out["apiVersion"] = api_version
    out["kind"] = "Event"
    for src, dst in pairs:
        if src in out:
            value = out.pop(src)
            if value is not None:
                out[dst] = value
    return out


def events_v1_to_core_event(obj: Obj) -> Obj:
    """An events.k8s.io/v1 Event in the core/v1 shape (a new dict)."""
    return _rename(obj, list(RENAMED), "v1")


def core_event_to_events_v1(obj: Obj) -> Obj:
    """A core/v1 Event in the events.k8s.io/v1 shape (a new dict)."""
    out = _rename(obj, [(core, new) for new, core in RENAMED], "events.k8s.io/v1")
    if out.get("deprecatedCount") == 0:
        del out["deprecatedCount"]  # zero is "unset" in Go and omitted
    return out


#: (from apiVersion, to apiVersion) -> converter, for the store's version handling.
CONVERSIONS = {("events.k8s.io/v1", "v1"): events_v1_to_core_event, ("v1", "events.k8s.io/v1"): core_event_to_events_v1}


def _limit(obj: Obj, key: str, limit: int) -> list[FieldError]:
    value = obj.get(key) or ""
    if len(value) > limit:
        return [invalid(key, "", f"can have at most {limit} characters")]
    return []


def _validate_reporting(obj: Obj) -> list[FieldError]:
    errs: list[FieldError] = []
    meta = obj.get("metadata") or {}
    regarding_ns = (obj.get("regarding") or {}).get("namespace") or ""
    if not regarding_ns and meta.get("namespace") not in ("default", "kube-system"):
        errs.append(invalid("involvedObject.namespace", regarding_ns, "does not match event.namespace"))
    controller = obj.get("reportingController") or ""
    if not controller:
        errs.append(required("reportingController"))
    errs += [invalid("reportingController", controller, m) for m in names.is_qualified_name(controller)]
    for key in ("reportingInstance", "action", "reason"):
        if not obj.get(key):
            errs.append(required(key))
        errs += _limit(obj, key, LENGTH_LIMIT)
    return errs + _limit(obj, "note", NOTE_LIMIT)


def validate_event(obj: Obj) -> list[FieldError]:
    """ValidateEventCreate for an events.k8s.io/v1 request."""
    errs = meta_v1.validate_object_meta(obj, namespaced=True)
    if not obj.get("eventTime"):
        errs.append(required("eventTime"))
    else:
        errs += _validate_reporting(obj)
    series = obj.get("series")
    if isinstance(series, dict):
        if (series.get("count") or 0) < 2:
            errs.append(invalid("series.count", "", "should be at least 2"))
        if not series.get("lastObservedTime"):
            errs.append(required("series.lastObservedTime"))
    if obj.get("type") not in ("Normal", "Warning"):
        errs.append(invalid("type", "", f"has invalid value: {obj.get('type') or ''}"))
    for key in ("deprecatedFirstTimestamp", "deprecatedLastTimestamp", "deprecatedCount", "deprecatedSource"):
        value = obj.get(key)
        if value and (not isinstance(value, dict) or value.get("component") or value.get("host")):
            errs.append(invalid(key, "", "needs to be unset"))
    return errs


# events.k8s.io/v1 field -> the (internal, core-named) path upstream reports; order as upstream checks them.
_IMMUTABLE = (("regarding", "involvedObject"), ("reason", "reason"), ("note", "message"),
              ("deprecatedSource", "source"), ("deprecatedFirstTimestamp", "firstTimestamp"),
              ("deprecatedLastTimestamp", "lastTimestamp"), ("deprecatedCount", "count"), ("type", "type"),
              ("eventTime", "eventTime"), ("action", "action"), ("related", "related"),
              ("reportingController", "reportingController"), ("reportingInstance", "reportingInstance"))


def validate_event_update(new: Obj, old: Obj) -> list[FieldError]:
    """ValidateEventUpdate for events.k8s.io/v1: only metadata and series may change."""
    errs = meta_v1.validate_object_meta_update(new, old)
    for name, path in _IMMUTABLE:
        errs += immutable(new.get(name), old.get(name), path)
    return errs


def _regarding(key: str) -> Any:
    return lambda o: str((o.get("regarding") or {}).get(key) or "")


def _source(obj: Obj) -> str:
    """``source``: the deprecated source component, else the reporting controller (as upstream)."""
    return str((obj.get("deprecatedSource") or {}).get("component") or obj.get("reportingController") or "")


class EventStrategy(Strategy):
    allow_create_on_update = True
    has_status = False
    tracks_generation = False
    # The field labels upstream's events.k8s.io/v1 conversion accepts (besides metadata.name/namespace):
    # the core Event's selectable fields under their events.k8s.io names.
    field_selectors = {
        **{f"regarding.{key}": _regarding(key)
           for key in ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")},
        "reason": lambda o: str(o.get("reason") or ""),
        "reportingController": lambda o: str(o.get("reportingController") or ""),
        "source": _source,
        "type": lambda o: str(o.get("type") or ""),
    }

    def validate(self, obj: Obj) -> list[FieldError]:
        return validate_event(obj)

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        return validate_event_update(new, old)


register(group="events.k8s.io", version="v1", kind="Event", plural="events", namespaced=True,
         strategy=EventStrategy(), schema=f"{P}.Event", short_names=("ev",))
