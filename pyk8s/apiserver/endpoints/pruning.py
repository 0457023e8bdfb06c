"""Dropping fields the schema does not declare, as the API server's decoder does.

Kubernetes never stores a field its types lack: with ``fieldValidation=Ignore``
(``kubectl --validate=false``) or ``Warn`` the unknown field is silently
dropped (after a warning), with ``Strict`` the request fails before this runs.
The walk mirrors ``machinery.fieldcheck``: objects with
``preserve_unknown_fields`` and free-form values are left alone, and
``apiVersion``/``kind`` are always allowed at the top.
"""

from __future__ import annotations

from typing import Any

from pyk8s.machinery.schema import REGISTRY, AnyValue, ArrayOf, MapOf, ObjectSchema, Ref, SchemaRegistry, SchemaType

_ROOT_KEYS = ("apiVersion", "kind")


def prune_unknown_fields(obj: Any, schema_name: str, registry: SchemaRegistry | None = None) -> None:
    """Remove, in place, every key of ``obj`` that its schema does not declare."""
    reg = registry if registry is not None else REGISTRY
    schema = reg.get(schema_name)
    if schema is not None and isinstance(obj, dict):
        _object(reg, obj, schema, root=True)


def _object(reg: SchemaRegistry, obj: dict[str, Any], schema: ObjectSchema, *, root: bool = False) -> None:
    for key in list(obj):
        fld = schema.field(key)
        if fld is None:
            if not schema.preserve_unknown_fields and not (root and key in _ROOT_KEYS):
                del obj[key]
            continue
        _value(reg, obj[key], fld.type)


def _value(reg: SchemaRegistry, value: Any, t: SchemaType) -> None:
    if value is None or isinstance(t, AnyValue):
        return
    if isinstance(t, Ref):
        sub = reg.resolve(t)
        if sub is not None and isinstance(value, dict):
            _object(reg, value, sub)
    elif isinstance(t, ArrayOf) and isinstance(value, list):
        for item in value:
            _value(reg, item, t.items)
    elif isinstance(t, MapOf) and isinstance(value, dict):
        for item in value.values():
            _value(reg, item, t.values)
