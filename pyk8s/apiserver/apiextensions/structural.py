"""A custom resource's structural schema applied to its objects: validation,
defaulting and pruning, worded as upstream's apiextensions-apiserver words them.

Schemas are the plain ``openAPIV3Schema`` dicts of a CRD version.  Messages
follow kube-openapi's validator as the API server reports them::

    spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"
    spec.replicas: Invalid value: 15: spec.replicas in body should be less than or equal to 10
    spec.color: Unsupported value: "pink": supported values: "red", "green"
    spec.cronSpec: Required value

The root's ``apiVersion``, ``kind`` and ``metadata`` are the API server's
business (ObjectMeta validation), as upstream: the schema is not applied to them.
"""

from __future__ import annotations

import base64
import copy
import ipaddress
import re
import uuid
from datetime import datetime
from typing import Any

from pyk8s.machinery.validation import (
    DUPLICATE,
    INVALID,
    TOO_LONG,
    TOO_MANY,
    FieldError,
    invalid,
    not_supported,
    required,
)

Obj = dict[str, Any]
ROOT_META = ("apiVersion", "kind", "metadata")
PRESERVE = "x-kubernetes-preserve-unknown-fields"
INT_OR_STRING = "x-kubernetes-int-or-string"
EMBEDDED = "x-kubernetes-embedded-resource"


def type_name(value: Any) -> str:
    """The JSON type name upstream reports for a value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "integer" if value.is_integer() else "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _is_type(value: Any, want: str) -> bool:
    if want == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer())
    if want == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if want == "string":
        return isinstance(value, str)
    if want == "boolean":
        return isinstance(value, bool)
    if want == "object":
        return isinstance(value, dict)
    if want == "array":
        return isinstance(value, list)
    return True


def _num(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _type_error(path: str, value: Any, want: str) -> FieldError:
    got = type_name(value)
    return FieldError(INVALID, path, f'{path} in body must be of type {want}: "{got}"', got, True)


# --- formats ---------------------------------------------------------------------------

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DURATION = re.compile(r"^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h|d|w))+$")


def _is_datetime(text: str) -> bool:
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return False
    return "T" in text or "t" in text or " " in text


def _check_format(fmt: str, text: str) -> bool:
    """Whether ``text`` is valid for one of the formats upstream validates (others pass)."""
    try:
        if fmt in ("int32", "int64", "float", "double", "byte") and fmt != "byte":
            return True
        if fmt == "byte":
            base64.b64decode(text, validate=True)
        elif fmt == "date-time":
            return _is_datetime(text)
        elif fmt == "date":
            return bool(_DATE.match(text)) and bool(datetime.strptime(text, "%Y-%m-%d"))
        elif fmt == "uuid":
            uuid.UUID(text)
        elif fmt == "ipv4":
            ipaddress.IPv4Address(text)
        elif fmt == "ipv6":
            ipaddress.IPv6Address(text)
        elif fmt == "cidr":
            ipaddress.ip_network(text, strict=False)
        elif fmt == "hostname":
            return len(text) <= 253 and all(_DNS_LABEL.match(p) for p in text.lower().split("."))
        elif fmt == "email":
            return bool(re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", text))
        elif fmt == "duration":
            return bool(_DURATION.match(text))
    except (ValueError, TypeError):
        return False
    return True


# --- validation ------------------------------------------------------------------------


def validate(obj: Obj, schema: Obj) -> list[FieldError]:
    """All schema errors of a custom object (the root's metadata is left to ObjectMeta validation)."""
    errs: list[FieldError] = []
    props = schema.get("properties") or {}
    for name in schema.get("required") or ():
        if name not in ROOT_META and name not in obj:
            errs.append(required(name))
    meta_schema = (props.get("metadata") or {}).get("properties") or {}
    meta: Obj = obj["metadata"] if isinstance(obj.get("metadata"), dict) else {}
    for key in ("name", "generateName"):  # the only metadata a CRD's schema may restrict
        if key in meta_schema and isinstance(meta.get(key), str):
            errs += validate_value(meta[key], meta_schema[key], f"metadata.{key}")
    for key, value in obj.items():
        if key in ROOT_META:
            continue
        sub = props.get(key)
        if sub is not None:
            errs += validate_value(value, sub, key)
    return errs


def validate_value(value: Any, schema: Obj, path: str) -> list[FieldError]:
    if value is None:
        if schema.get("nullable"):
            return []
        want = schema.get("type")
        if want:
            return [_type_error(path, value, want)]
        return []
    errs: list[FieldError] = []
    want = schema.get("type", "")
    if schema.get(INT_OR_STRING):
        if not (isinstance(value, str) or _is_type(value, "integer")):
            return [FieldError(INVALID, path, f'{path} in body must be of type integer,string: "{type_name(value)}"',
                               type_name(value), True)]
    elif want and not _is_type(value, want):
        return [_type_error(path, value, want)]
    if "enum" in schema and value not in schema["enum"]:
        errs.append(not_supported(path, value, [str(v) if not isinstance(v, str) else v for v in schema["enum"]]))
    if isinstance(value, str):
        errs += _string(value, schema, path)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        errs += _number(value, schema, path)
    elif isinstance(value, list):
        errs += _array(value, schema, path)
    elif isinstance(value, dict):
        errs += _object(value, schema, path)
    return errs


def _string(value: str, schema: Obj, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        errs.append(FieldError(TOO_LONG, path, f"may not be more than {schema['maxLength']} bytes"))
    if "minLength" in schema and len(value) < schema["minLength"]:
        errs.append(invalid(path, value, f"{path} in body should be at least {schema['minLength']} chars long"))
    pattern = schema.get("pattern")
    if pattern and re.search(pattern, value) is None:
        errs.append(invalid(path, value, f"{path} in body should match '{pattern}'"))
    fmt = schema.get("format")
    if fmt and not _check_format(fmt, value):
        errs.append(invalid(path, value, f"{path} in body must be of type {fmt}: {_quote(value)}"))
    return errs


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _number(value: float, schema: Obj, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    if "maximum" in schema:
        top = schema["maximum"]
        if schema.get("exclusiveMaximum") and value >= top:
            errs.append(invalid(path, value, f"{path} in body should be less than {_num(top)}"))
        elif value > top:
            errs.append(invalid(path, value, f"{path} in body should be less than or equal to {_num(top)}"))
    if "minimum" in schema:
        low = schema["minimum"]
        if schema.get("exclusiveMinimum") and value <= low:
            errs.append(invalid(path, value, f"{path} in body should be greater than {_num(low)}"))
        elif value < low:
            errs.append(invalid(path, value, f"{path} in body should be greater than or equal to {_num(low)}"))
    step = schema.get("multipleOf")
    if step and (value / step) != int(value / step):
        errs.append(invalid(path, value, f"{path} in body should be a multiple of {_num(step)}"))
    return errs


def _array(value: list[Any], schema: Obj, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        errs.append(FieldError(TOO_MANY, path, f"{len(value)}: must have at most {schema['maxItems']} items"))
    if "minItems" in schema and len(value) < schema["minItems"]:
        errs.append(invalid(path, value, f"{path} in body should have at least {schema['minItems']} items"))
    items = schema.get("items")
    if isinstance(items, dict):
        for i, item in enumerate(value):
            errs += validate_value(item, items, f"{path}[{i}]")
    list_type = schema.get("x-kubernetes-list-type")
    if list_type == "set" or schema.get("uniqueItems"):
        seen: list[Any] = []
        for i, item in enumerate(value):
            if item in seen:
                errs.append(FieldError(DUPLICATE, f"{path}[{i}]", "", item, True))
            else:
                seen.append(item)
    elif list_type == "map":
        keys = schema.get("x-kubernetes-list-map-keys") or []
        seen_keys: list[tuple[Any, ...]] = []
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                continue
            key = tuple(item.get(k) for k in keys)
            if key in seen_keys:
                shown = {k: item.get(k) for k in keys if k in item}
                errs.append(FieldError(DUPLICATE, f"{path}[{i}]", "", shown, True))
            else:
                seen_keys.append(key)
    return errs


def _object(value: Obj, schema: Obj, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    if "maxProperties" in schema and len(value) > schema["maxProperties"]:
        errs.append(FieldError(TOO_MANY, path, f"{len(value)}: must have at most {schema['maxProperties']} items"))
    if "minProperties" in schema and len(value) < schema["minProperties"]:
        errs.append(invalid(path, value, f"{path} in body should have at least {schema['minProperties']} properties"))
    for name in schema.get("required") or ():
        if name not in value:
            errs.append(required(f"{path}.{name}"))
    props = schema.get("properties") or {}
    extra = schema.get("additionalProperties")
    for key, item in value.items():
        if key in props:
            errs += validate_value(item, props[key], f"{path}.{key}")
        elif isinstance(extra, dict):
            errs += validate_value(item, extra, f"{path}[{key}]")
    if schema.get(EMBEDDED):
        for key in ("apiVersion", "kind"):
            if not value.get(key):
                errs.append(required(f"{path}.{key}", f"{key} must not be empty"))
    return errs


# --- defaulting and pruning ------------------------------------------------------------


def apply_defaults(obj: Any, schema: Obj) -> None:
    """Fill in ``default`` values for absent (or null, when not nullable) fields, recursively."""
    if isinstance(obj, dict):
        props = schema.get("properties") or {}
        for key, sub in props.items():
            if "default" in sub and (key not in obj or (obj[key] is None and not sub.get("nullable"))):
                obj[key] = copy.deepcopy(sub["default"])
            if key in obj:
                apply_defaults(obj[key], sub)
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            for key, item in obj.items():
                if key not in props:
                    apply_defaults(item, extra)
    elif isinstance(obj, list):
        items = schema.get("items")
        if isinstance(items, dict):
            for item in obj:
                apply_defaults(item, items)


class Defaulter:
    """``apply_defaults`` compiled for one schema: only the branches that hold a default are walked
    (applied to every object read, so a list of thousands pays only for what can change)."""

    __slots__ = ("defaults", "children", "items", "extra")

    def __init__(self, defaults: list[tuple[str, Any, bool]], children: dict[str, Defaulter],
                 items: Defaulter | None, extra: Defaulter | None) -> None:
        self.defaults = defaults
        self.children = children
        self.items = items
        self.extra = extra

    def apply(self, obj: Any) -> None:
        if isinstance(obj, dict):
            for key, value, nullable in self.defaults:
                if key not in obj or (obj[key] is None and not nullable):
                    obj[key] = copy.deepcopy(value)
            for key, child in self.children.items():
                if key in obj:
                    child.apply(obj[key])
            if self.extra is not None:
                for key, item in obj.items():
                    if key not in self.children:
                        self.extra.apply(item)
        elif isinstance(obj, list) and self.items is not None:
            for item in obj:
                self.items.apply(item)


def compile_defaults(schema: Obj) -> Defaulter | None:
    """The Defaulter of a schema; None when nothing under it has a default."""
    props = schema.get("properties") or {}
    defaults = [(k, sub["default"], bool(sub.get("nullable"))) for k, sub in props.items()
                if isinstance(sub, dict) and "default" in sub]
    children = {k: d for k, sub in props.items() if isinstance(sub, dict) and (d := compile_defaults(sub))}
    items = compile_defaults(schema["items"]) if isinstance(schema.get("items"), dict) else None
    extra = compile_defaults(schema["additionalProperties"]) \
        if isinstance(schema.get("additionalProperties"), dict) else None
    if not defaults and not children and items is None and extra is None:
        return None
    return Defaulter(defaults, children, items, extra)


def prune(obj: Any, schema: Obj, *, root: bool = False) -> list[str]:
    """Drop fields the schema does not specify (unless it preserves unknown fields); the dropped paths."""
    dropped: list[str] = []
    _prune(obj, schema, "", dropped, root=root)
    return dropped


def _prune(obj: Any, schema: Obj, path: str, dropped: list[str], *, root: bool = False) -> None:
    if isinstance(obj, dict):
        props = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        keep_meta = root or schema.get(EMBEDDED)
        for key in list(obj):
            sub_path = f"{path}.{key}" if path else key
            if keep_meta and key in ROOT_META:
                if key == "metadata" and schema.get(EMBEDDED) and not root and isinstance(obj[key], dict):
                    _prune_embedded_meta(obj[key], f"{sub_path}", dropped)
                continue
            if key in props:
                _prune(obj[key], props[key], sub_path, dropped)
            elif isinstance(extra, dict):
                _prune(obj[key], extra, sub_path, dropped)
            elif extra is True or schema.get(PRESERVE):
                continue
            else:
                del obj[key]
                dropped.append(sub_path)
    elif isinstance(obj, list):
        items = schema.get("items")
        if isinstance(items, dict):
            for i, item in enumerate(obj):
                _prune(item, items, f"{path}[{i}]", dropped)


_META_FIELDS = {"name", "generateName", "namespace", "labels", "annotations", "finalizers", "ownerReferences",
                "uid", "resourceVersion", "generation", "creationTimestamp", "deletionTimestamp",
                "deletionGracePeriodSeconds", "managedFields", "selfLink"}


def _prune_embedded_meta(meta: Obj, path: str, dropped: list[str]) -> None:
    for key in list(meta):
        if key not in _META_FIELDS:
            del meta[key]
            dropped.append(f"{path}.{key}")
