"""ConfigMaps: key/value configuration data, optionally immutable.

The key and immutability checks here are shared with Secrets (secret.py).
"""

from __future__ import annotations

from typing import Any

from pyk8s.api import meta_v1, names
from pyk8s.api.core_v1.common import P, register_kind
from pyk8s.machinery.schema import BOOL, BYTES, STRING_MAP, Field, MapOf, define
from pyk8s.machinery.scheme import Strategy
from pyk8s.machinery.validation import FieldError, forbidden, invalid, too_long

Obj = dict[str, Any]
MAX_SIZE = 1024 * 1024

define(P + "ConfigMap", "Non-secret configuration data as key/value pairs.", [
    *meta_v1.type_meta_fields(),
    Field("immutable", BOOL, "When true, data can no longer change; the object can only be deleted."),
    Field("data", STRING_MAP, "UTF-8 values by key."),
    Field("binaryData", MapOf(BYTES), "Binary values by key (base64 in JSON)."),
], gvk=("", "v1", "ConfigMap"))
_IMMUTABLE = "field is immutable when `immutable` is set"


def validate_keys(data: Any, path: str, size: int = 0) -> tuple[list[FieldError], int]:
    errs: list[FieldError] = []
    for key, value in (data or {}).items():
        errs += [invalid(f"{path}[{key}]", key, m) for m in names.is_config_map_key(key)]
        size += len(value or "")
    return errs, size


def validate_immutable(new: Obj, old: Obj, keys: tuple[str, ...]) -> list[FieldError]:
    if not old.get("immutable"):
        return []
    errs: list[FieldError] = []
    if not new.get("immutable"):
        errs.append(forbidden("immutable", _IMMUTABLE))
    for key in keys:
        if (new.get(key) or {}) != (old.get(key) or {}):
            errs.append(forbidden(key, _IMMUTABLE))
    return errs


class ConfigMapStrategy(Strategy):
    has_status = False
    tracks_generation = False

    def validate(self, obj: Obj) -> list[FieldError]:
        errs = meta_v1.validate_object_meta(obj, namespaced=True)
        data_errs, size = validate_keys(obj.get("data"), "data")
        bin_errs, size = validate_keys(obj.get("binaryData"), "binaryData", size)
        errs += data_errs + bin_errs
        for key in obj.get("data") or {}:
            if key in (obj.get("binaryData") or {}):
                errs.append(invalid(f"data[{key}]", key, "duplicate of key present in binaryData"))
        if size > MAX_SIZE:
            errs.append(too_long("", MAX_SIZE))
        return errs

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        errs = meta_v1.validate_object_meta_update(new, old)
        errs += [e for e in self.validate(new) if not e.field.startswith("metadata")]
        return errs + validate_immutable(new, old, ("data", "binaryData"))


CONFIGMAPS = register_kind(kind="ConfigMap", plural="configmaps", namespaced=True, strategy=ConfigMapStrategy(),
                           short_names=("cm",))
