"""LimitRanges: per-namespace defaults and bounds for compute resources.

The LimitRanger admission plugin (``apiserver/admission/limitranger.py``)
applies them to pods and claims; here are the kind's defaulting (a ``max``
is the default limit, the default limit the default request, a ``min`` the
default request) and upstream's validation of the items.
"""

from __future__ import annotations

from typing import Any

from pyk8s.api import meta_v1
from pyk8s.api.core_v1 import quantities
from pyk8s.api.core_v1.common import P, ref, register_kind, spec_of
from pyk8s.machinery import quantity
from pyk8s.machinery.schema import STRING, ArrayOf, Field, MapOf, Quantity, define
from pyk8s.machinery.scheme import Strategy
from pyk8s.machinery.validation import FieldError, duplicate, forbidden, invalid, not_supported, required

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


def _q(value: Any) -> quantity.Quantity | None:
    return quantity.try_parse(value)


ONE = quantity.parse(1)


def validate_limit_range_spec(spec: Obj) -> list[FieldError]:
    """Upstream's ValidateLimitRange, on the defaulted spec (so a max also shows up as the default)."""
    errs: list[FieldError] = []
    seen: set[str] = set()
    for i, item in enumerate(spec.get("limits") or []):
        p = f"spec.limits[{i}]"
        kind = item.get("type") or ""
        if not kind:
            errs.append(required(p + ".type"))
        elif kind not in LIMIT_TYPES:
            errs.append(not_supported(p + ".type", kind, LIMIT_TYPES))
        elif kind in seen:
            errs.append(duplicate(p + ".type", kind))
        seen.add(kind)
        if kind == "Pod":
            for part in ("default", "defaultRequest"):
                if item.get(part):
                    errs.append(forbidden(f"{p}.{part}", "may not be specified when `type` is 'Pod'"))
        parts: dict[str, dict[str, quantity.Quantity]] = {}
        for part in ("max", "min", "default", "defaultRequest", "maxLimitRequestRatio"):
            parts[part] = {}
            for name, value in (item.get(part) or {}).items():
                q = _q(value)
                if q is None:
                    errs.append(invalid(f"{p}.{part}[{name}]", value, "must be a valid quantity"))
                else:
                    parts[part][name] = q
        names: set[str] = set()
        for values in parts.values():
            names.update(values)
        for name in sorted(names):
            errs += _bounds(p, name, {part: values.get(name) for part, values in parts.items()})
    return errs


# (lower part, upper part, message, field reported): a ``lower`` amount may not exceed an ``upper`` one.
_ORDER = (("min", "max", "min value {lo} is greater than max value {hi}", "min"),
          ("min", "defaultRequest", "min value {lo} is greater than default request value {hi}", "defaultRequest"),
          ("defaultRequest", "max", "default request value {lo} is greater than max value {hi}", "defaultRequest"),
          ("defaultRequest", "default", "default request value {lo} is greater than default limit value {hi}",
           "defaultRequest"),
          ("min", "default", "min value {lo} is greater than default value {hi}", "default"),
          ("default", "max", "default value {lo} is greater than max value {hi}", "default"))


def _bounds(path: str, name: str, q: dict[str, quantity.Quantity | None]) -> list[FieldError]:
    errs: list[FieldError] = []
    for lower, upper, message, where in _ORDER:
        lo, hi = q[lower], q[upper]
        if lo is not None and hi is not None and hi < lo:
            errs.append(invalid(f"{path}.{where}[{name}]", str(q[where]), message.format(lo=lo, hi=hi)))
    ratio, lo, hi = q["maxLimitRequestRatio"], q["min"], q["max"]
    if ratio is not None and ratio < ONE:
        errs.append(invalid(f"{path}.maxLimitRequestRatio[{name}]", str(ratio), f"ratio {ratio} is less than 1"))
    if ratio is not None and lo is not None and hi is not None and not lo.is_zero():
        limit = float(hi.value / lo.value)
        if float(ratio.value) > limit:
            errs.append(invalid(f"{path}.maxLimitRequestRatio[{name}]", str(ratio),
                                f"ratio {ratio} is greater than max/min = {limit:f}"))
    dflt, req = q["default"], q["defaultRequest"]
    if not _overcommit_allowed(name) and dflt is not None and req is not None and dflt != req:
        errs.append(invalid(f"{path}.defaultRequest[{name}]", str(req),
                            f"default value {dflt} must equal to defaultRequest value {req} in {name}"))
    return errs


def _overcommit_allowed(name: str) -> bool:
    """Upstream's IsOverCommitAllowed: native resources (no domain, or kubernetes.io/) but hugepages."""
    native = "/" not in name or name.startswith("kubernetes.io/")
    return native and not name.startswith("hugepages-")


class LimitRangeStrategy(Strategy):
    allow_create_on_update = True
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
