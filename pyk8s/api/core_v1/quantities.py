"""Canonical quantities, driven by the schemas.

The API server echoes every ``resource.Quantity`` in canonical form (``0.5``
becomes ``500m``, ``1024Mi`` becomes ``1Gi``) because it decodes into a typed
value and re-encodes it.  pyk8s keeps plain dicts, so defaulting walks the
object along its schema and rewrites every value whose field is a Quantity.
Values that do not parse are left for validation to report.
"""

from __future__ import annotations

from typing import Any

from pyk8s.machinery import quantity as qty
from pyk8s.machinery.schema import REGISTRY, ArrayOf, MapOf, Quantity, Ref, SchemaType


def canonicalize(obj: Any, schema_name: str) -> None:
    """Rewrite, in place, every Quantity inside ``obj`` (an instance of ``schema_name``)."""
    _walk_object(obj, schema_name, 0)


def _walk_object(obj: Any, schema_name: str, depth: int) -> None:
    schema = REGISTRY.get(schema_name)
    if schema is None or not isinstance(obj, dict) or depth > 32:
        return
    for key, value in obj.items():
        f = schema.field(key)
        if f is not None:
            obj[key] = _walk(value, f.type, depth + 1)


def _walk(value: Any, t: SchemaType, depth: int) -> Any:
    if isinstance(t, Quantity):
        q = qty.try_parse(value)
        return q.canonical() if q is not None else value
    if isinstance(t, Ref):
        _walk_object(value, t.name, depth)
    elif isinstance(t, ArrayOf) and isinstance(value, list):
        for i, item in enumerate(value):
            value[i] = _walk(item, t.items, depth)
    elif isinstance(t, MapOf) and isinstance(value, dict):
        for k, item in value.items():
            value[k] = _walk(item, t.values, depth)
    return value
