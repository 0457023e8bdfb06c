"""LimitRanges: per-namespace defaults and bounds for compute resources.

``apply_container_defaults`` is the defaulting half of the LimitRanger
admission plugin, for the API server's admission chain to call on pod create.
"""

from __future__ import annotations

from typing import Any

from pyk8s.api import meta_v1
from pyk8s.api.core_v1 import quantities
from pyk8s.api.core_v1.common import P, ref, register_kind, spec_of
from pyk8s.machinery.quantity import parse as parse_q
from pyk8s.machinery.schema import STRING, ArrayOf, Field, MapOf, Quantity, define
from pyk8s.machinery.scheme import Strategy
from pyk8s.machinery.validation import FieldError, invalid, not_supported, required

Obj = dict[str, Any]

define(P + "LimitRangeItem", "Bounds and defaults for one kind of object.", [
    Field("type", STRING, "Container, Pod or PersistentVolumeClaim.", required=True),
    Field("max", MapOf(Quantity()), "Largest allowed amounts."),
    Field("min", MapOf(Quantity()), "Smallest allowed amounts."),
    Field("default", MapOf(Quantity()), "Limits given to containers that set none."),
    Field("defaultRequest", MapOf(Quantity()), "Requests given to containers that set none."),
    Field("maxLimitRequestRatio", MapOf(Quantity()), "Largest allowed limit/request ratio."),
])
define(P + "LimitRangeSpec", "The items of a LimitRange.", [
    Field("limits", ArrayOf(ref("LimitRangeItem")), "One entry per constrained kind.", required=True,
          list_type="atomic"),
])
define(P + "LimitRange", "Resource defaults and bounds applied to objects of a namespace.", [
    *meta_v1.type_meta_fields(),
    Field("spec", ref("LimitRangeSpec"), "The limits."),
], gvk=("", "v1", "LimitRange"))

LIMIT_TYPES = ["Container", "PersistentVolumeClaim", "Pod"]


def default_limit_range_item(item: Obj) -> None:
    if item.get("type") != "Container":
        return
    default = dict(item.get("default") or {})
    request = dict(item.get("defaultRequest") or {})
    for key, value in (item.get("max") or {}).items():
        default.setdefault(key, value)
    for key, value in default.items():
        request.setdefault(key, value)
    for key, value in (item.get("min") or {}).items():
        request.setdefault(key, value)
    if default:
        item["default"] = default
    if request:
        item["defaultRequest"] = request


def _q(value: Any) -> Any:
    try:
        return parse_q(value).value
    except ValueError:
        return None


def validate_limit_range_spec(spec: Obj) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, item in enumerate(spec.get("limits") or []):
        p = f"spec.limits[{i}]"
        kind = item.get("type") or ""
        if not kind:
            errs.append(required(p + ".type"))
        elif kind not in LIMIT_TYPES:
            errs.append(not_supported(p + ".type", kind, LIMIT_TYPES))
        for part in ("max", "min", "default", "defaultRequest", "maxLimitRequestRatio"):
            for name, value in (item.get(part) or {}).items():
                if _q(value) is None:
                    errs.append(invalid(f"{p}.{part}[{name}]", value, "must be a valid quantity"))
        mins, maxs = item.get("min") or {}, item.get("max") or {}
        for name, lo in mins.items():
            hi = maxs.get(name)
            if hi is not None and None not in (_q(lo), _q(hi)) and _q(lo) > _q(hi):
                errs.append(invalid(f"{p}.min[{name}]", str(lo), f"min value {lo} is greater than max value {hi}"))
        for name, dflt in (item.get("default") or {}).items():
            hi = maxs.get(name)
            if hi is not None and None not in (_q(dflt), _q(hi)) and _q(dflt) > _q(hi):
                errs.append(invalid(f"{p}.default[{name}]", str(dflt),
                                    f"default value {dflt} is greater than max value {hi}"))
    return errs


def apply_container_defaults(pod: Obj, limit_ranges: list[Obj]) -> str:
    """LimitRanger defaulting for a pod; returns the annotation text ("" if nothing was set)."""
    notes: list[str] = []
    for lr in limit_ranges:
        for item in (lr.get("spec") or {}).get("limits") or []:
            if item.get("type") != "Container":
                continue
            item = dict(item)
            default_limit_range_item(item)
            for key, what in (("initContainers", "init container"), ("containers", "container")):
                for ctr in (pod.get("spec") or {}).get(key) or []:
                    notes += _merge_container(ctr, item, f"{what} {ctr.get('name')}")
    return "LimitRanger plugin set: " + "; ".join(notes) if notes else ""


def _merge_container(ctr: Obj, item: Obj, label: str) -> list[str]:
    res = ctr.get("resources") or {}
    ctr["resources"] = res
    set_names: dict[str, list[str]] = {"limits": [], "requests": []}
    for part, source in (("limits", "default"), ("requests", "defaultRequest")):
        values = res.get(part) or {}
        for name, value in (item.get(source) or {}).items():
            if name not in values:
                values[name] = value
                set_names[part].append(name)
        if values:
            res[part] = values
    notes = []
    if set_names["requests"]:
        notes.append(", ".join(sorted(set_names["requests"])) + f" request for {label}")
    if set_names["limits"]:
        notes.append(", ".join(sorted(set_names["limits"])) + f" limit for {label}")
    return notes


class LimitRangeStrategy(Strategy):
    has_status = False
    tracks_generation = False

    def default(self, obj: Obj) -> None:
        quantities.canonicalize(obj, P + "LimitRange")
        for item in spec_of(obj).get("limits") or []:
            if isinstance(item, dict):
                default_limit_range_item(item)

    def validate(self, obj: Obj) -> list[FieldError]:
        return meta_v1.validate_object_meta(obj, namespaced=True) + validate_limit_range_spec(spec_of(obj))

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        return meta_v1.validate_object_meta_update(new, old) + validate_limit_range_spec(spec_of(new))


LIMITRANGES = register_kind(kind="LimitRange", plural="limitranges", namespaced=True, strategy=LimitRangeStrategy(),
                            short_names=("limits",))
