"""Written objects in the shape Go's encoder gives them, so they read back as upstream's do.

Two things a client can send that upstream's server never hands back as sent:

* ``metav1.Time`` is written as RFC 3339 in UTC with ``Z`` and whole seconds, and
  ``metav1.MicroTime`` with exactly six fractional digits: a Python client's
  ``2024-05-01T10:00:00.123456+00:00`` reads back as ``2024-05-01T10:00:00Z``.
* an ``ObjectMeta`` is a struct, so its ``creationTimestamp`` is never omitted:
  inside a pod template (or a StatefulSet's claim templates) it is ``null``, which
  ``kubectl get -o yaml`` and ``kubectl edit`` show as ``creationTimestamp: null``.
  (The top-level object's is set by the server on create.)

``normalize`` walks only the parts of an object whose schema can hold either, found
once per schema and cached.  A value that does not parse as a time is left for
validation to report.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pyk8s.machinery.schema import REGISTRY, ArrayOf, MapOf, ObjectSchema, Ref, SchemaRegistry, SchemaType, Time

OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"

# What a field needs: a time, a micro time, an embedded ObjectMeta, or a walk into a nested schema.
_TIME, _MICRO, _META, _WALK = "time", "micro", "meta", "walk"
# (field name, what it needs, is it an array, is it a map, nested schema name)
Step = tuple[str, str, bool, bool, str]

_plans: dict[str, list[Step]] = {}


def _step(name: str, t: SchemaType, reg: SchemaRegistry, seen: set[str]) -> Step | None:
    is_array, is_map = False, False
    if isinstance(t, ArrayOf):
        is_array, t = True, t.items
    elif isinstance(t, MapOf):
        is_map, t = True, t.values
    if isinstance(t, Time):
        return (name, _MICRO if t.micro else _TIME, is_array, is_map, "")
    if isinstance(t, Ref):
        if t.name == OBJECT_META:
            return (name, _META, is_array, is_map, OBJECT_META)
        if _plan(t.name, reg, seen):
            return (name, _WALK, is_array, is_map, t.name)
    return None


def _plan(schema_name: str, reg: SchemaRegistry, seen: set[str]) -> list[Step]:
    cached = _plans.get(schema_name)
    if cached is not None:
        return cached
    schema: ObjectSchema | None = reg.get(schema_name)
    if schema is None or schema_name in seen:
        return []  # unknown, or a recursive schema (JSONSchemaProps) already being planned
    seen = seen | {schema_name}
    steps = [s for f in schema.fields if (s := _step(f.name, f.type, reg, seen)) is not None]
    _plans[schema_name] = steps
    return steps


def forget(schema_name: str = "") -> None:
    """Drop cached plans (all of them when a schema is added or removed at run time)."""
    _plans.clear()


def go_time(value: Any, micro: bool = False) -> Any:
    """``value`` as Go writes a (Micro)Time; anything that is not an RFC 3339 time is returned as is."""
    if not isinstance(value, str) or not value:
        return value
    if value[-1:] == "Z" and len(value) == (27 if micro else 20) and value[10:11] == "T":
        return value  # already as Go writes it (the common case: the server's own stamps)
    try:
        ts = datetime.fromisoformat(value[:-1] + "+00:00" if value[-1:] in ("Z", "z") else value)
    except ValueError:
        return value
    if ts.tzinfo is None:
        return value  # RFC 3339 requires an offset: validation words the error
    ts = ts.astimezone(UTC)
    if micro:
        return ts.strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


def normalize(obj: dict[str, Any], schema_name: str, registry: SchemaRegistry | None = None) -> None:
    """Rewrite ``obj`` (a whole object of ``schema_name``) in place as Go would encode it."""
    if not schema_name:
        return
    reg = registry if registry is not None else REGISTRY
    _walk(obj, _plan(schema_name, reg, set()), reg, top=True)


def _walk(obj: dict[str, Any], steps: list[Step], reg: SchemaRegistry, top: bool = False) -> None:
    for name, need, is_array, is_map, sub in steps:
        if name not in obj:
            if need == _META and not top and not is_array and not is_map:
                obj[name] = {"creationTimestamp": None}  # an embedded struct is never omitted
            continue
        value = obj[name]
        if is_array:
            if isinstance(value, list):
                for i, item in enumerate(value):
                    value[i] = _one(item, need, sub, reg, top)
        elif is_map:
            if isinstance(value, dict):
                for k, item in value.items():
                    value[k] = _one(item, need, sub, reg, top)
        else:
            obj[name] = _one(value, need, sub, reg, top)


def _one(value: Any, need: str, sub: str, reg: SchemaRegistry, top: bool) -> Any:
    if need in (_TIME, _MICRO):
        return go_time(value, need == _MICRO)
    if not isinstance(value, dict):
        return value
    if need == _META:
        if not top:
            value.setdefault("creationTimestamp", None)
        _walk(value, _plan(OBJECT_META, reg, set()), reg)
        return value
    _walk(value, _plan(sub, reg, set()), reg)
    return value


__all__ = ["forget", "go_time", "normalize"]
