"""Strategic merge patch, driven by the schema registry.

The patch is a JSON merge patch with two additions:

* lists whose field declares ``strategy="merge"`` are merged instead of
  replaced: maps by their ``merge_key``, primitives as a de-duplicated union;
* directives: ``$patch: replace|delete|merge`` on maps and list items,
  ``$retainKeys``, ``$setElementOrder/<list>`` and
  ``$deleteFromPrimitiveList/<list>``.

Field metadata comes from walking ``Ref`` types from the kind's root schema.
Where the schema knows nothing (unknown fields, free-form values) the patch
behaves like a merge patch, which is what Kubernetes does for such fields.

Ordering of merged lists follows Kubernetes: items named by the patch (or by
``$setElementOrder``) take the patch's order, and items only the server has
keep their relative place among them.  Nulls in brand-new values are dropped
(the server applies patches with "ignore unmatched nulls").
"""

from __future__ import annotations

import copy
from typing import Any

from pyk8s.machinery.errors import Cause, StatusError, bad_request
from pyk8s.machinery.schema import REGISTRY, ArrayOf, Field, MapOf, ObjectSchema, Ref, SchemaRegistry, SchemaType

PATCH = "$patch"
RETAIN_KEYS = "$retainKeys"
SET_ORDER = "$setElementOrder/"
DELETE_PRIMITIVE = "$deleteFromPrimitiveList/"

ERR_BAD_PRIMITIVE_LIST = "invalid patch format of primitive list"
ERR_BAD_RETAIN_KEYS = "invalid patch format of retainKeys"
ERR_BAD_SET_ORDER = "invalid patch format of setElementOrder list"


def _unprocessable(message: str) -> StatusError:
    return StatusError(422, "Invalid", "the server rejected our request due to an error in our request",
                       causes=[Cause("UnexpectedServerResponse", message)])


class _Ctx:
    """Schema lookups for one patch application."""

    def __init__(self, registry: SchemaRegistry) -> None:
        self.registry = registry

    def obj(self, t: SchemaType | None) -> ObjectSchema | None:
        return self.registry.resolve(t) if isinstance(t, Ref) else None

    def field(self, schema: ObjectSchema | None, name: str) -> Field | None:
        return schema.field(name) if schema is not None else None


def apply_strategic(original: dict[str, Any], patch: dict[str, Any], schema_name: str,
                    registry: SchemaRegistry | None = None) -> dict[str, Any]:
    """Apply a strategic merge patch to a copy of ``original`` (neither input changes)."""
    if not isinstance(patch, dict):
        raise bad_request("invalid JSON document")
    reg = registry if registry is not None else REGISTRY
    ctx = _Ctx(reg)
    result = _merge_map(ctx, copy.deepcopy(original) if isinstance(original, dict) else {},
                        copy.deepcopy(patch), reg.get(schema_name))
    return result if result is not None else {}


# --- maps --------------------------------------------------------------------

def _merge_map(ctx: _Ctx, original: dict[str, Any], patch: dict[str, Any],
               schema: ObjectSchema | None) -> dict[str, Any] | None:
    """Merge ``patch`` into ``original`` (both owned by us).  None means "delete this map"."""
    directive = patch.pop(PATCH, None)
    if directive == "replace":
        return _clean(ctx, patch, schema)
    if directive == "delete":
        return None
    if directive not in (None, "merge"):
        raise _unprocessable(f"unknown patch type: {directive} in map: {patch}")
    _retain_keys(original, patch)
    orders = {k[len(SET_ORDER):]: patch.pop(k) for k in list(patch) if k.startswith(SET_ORDER)}
    # Ordering is relative to the server's list as it was before this patch.
    before = {k: list(original[k]) for k in orders if isinstance(original.get(k), list)}
    for key in [k for k in patch if k.startswith(DELETE_PRIMITIVE)]:
        _delete_from_primitive(original, key[len(DELETE_PRIMITIVE):], patch.pop(key))
    for key, value in patch.items():
        _merge_key(ctx, original, key, value, ctx.field(schema, key))
    for key, order in orders.items():
        _apply_order(original, key, order, before.get(key, []), ctx.field(schema, key))
    return original


def _merge_key(ctx: _Ctx, original: dict[str, Any], key: str, value: Any, fld: Field | None) -> None:
    if value is None:
        original.pop(key, None)
        return
    ftype = fld.type if fld is not None else None
    current = original.get(key)
    if isinstance(value, dict):
        sub = ctx.obj(ftype)
        if isinstance(ftype, MapOf):
            merged = _merge_value_map(ctx, current if isinstance(current, dict) else {}, value, ftype)
        else:
            merged = _merge_map(ctx, current if isinstance(current, dict) else {}, value, sub)
        if merged is None:
            original.pop(key, None)
        else:
            original[key] = merged
    elif isinstance(value, list):
        if isinstance(current, list) and fld is not None and "merge" in fld.strategy.split(","):
            original[key] = _merge_list(ctx, current, value, fld)
        else:
            original[key] = _clean_list(ctx, value, ftype)
    else:
        original[key] = value


def _merge_value_map(ctx: _Ctx, original: dict[str, Any], patch: dict[str, Any], ftype: MapOf) -> dict[str, Any] | None:
    """A map[string]T field: keys merge like any map, values use T's schema."""
    directive = patch.pop(PATCH, None)
    if directive == "replace":
        return {k: _clean_value(ctx, v, ftype.values) for k, v in patch.items() if v is not None}
    if directive == "delete":
        return None
    vschema = ctx.obj(ftype.values)
    for key, value in patch.items():
        if value is None:
            original.pop(key, None)
        elif isinstance(value, dict) and (vschema is not None or isinstance(original.get(key), dict)):
            current = original.get(key)
            merged = _merge_map(ctx, current if isinstance(current, dict) else {}, value, vschema)
            if merged is None:
                original.pop(key, None)
            else:
                original[key] = merged
        else:
            original[key] = _clean_value(ctx, value, ftype.values)
    return original


def _retain_keys(original: dict[str, Any], patch: dict[str, Any]) -> None:
    if RETAIN_KEYS not in patch:
        return
    keep = patch.pop(RETAIN_KEYS)
    if not isinstance(keep, list):
        raise bad_request(ERR_BAD_RETAIN_KEYS)
    allowed = set(keep)
    for k, v in patch.items():
        if v is None or k.startswith((DELETE_PRIMITIVE, SET_ORDER)):
            continue
        if k not in allowed:
            raise bad_request(ERR_BAD_RETAIN_KEYS)
    for k in list(original):
        if k not in allowed:
            del original[k]


def _delete_from_primitive(original: dict[str, Any], key: str, values: Any) -> None:
    if not isinstance(values, list):
        raise bad_request(ERR_BAD_PRIMITIVE_LIST)
    current = original.get(key)
    if not isinstance(current, list):
        return
    original[key] = [v for v in current if v not in values]


# --- lists -------------------------------------------------------------------

def _item_schema(ctx: _Ctx, fld: Field | None) -> ObjectSchema | None:
    if fld is not None and isinstance(fld.type, ArrayOf):
        return ctx.obj(fld.type.items)
    return None


def _merge_list(ctx: _Ctx, original: list[Any], patch: list[Any], fld: Field) -> list[Any]:
    if any(isinstance(p, dict) and p.get(PATCH) == "replace" for p in patch):
        return _clean_list(ctx, [p for p in patch if not (isinstance(p, dict) and p.get(PATCH) == "replace")],
                           fld.type)
    if any(isinstance(v, list) for v in original + patch):
        raise _unprocessable("lists of lists are not supported")
    if not any(isinstance(v, dict) for v in original + patch):
        merged = _dedupe(original + patch)
        patch_items, server_only = _partition(merged, patch, "")
        return _normalize(patch_items, server_only, patch, original, "")
    key = fld.merge_key
    if not key:
        raise _unprocessable(f"cannot merge lists without merge key for {fld.name}")
    schema = _item_schema(ctx, fld)
    merged = list(original)
    plain: list[Any] = []
    for item in patch:
        if not isinstance(item, dict):
            raise _unprocessable(f"unable to merge non-map item {item!r} into list {fld.name}")
        if key not in item:
            raise _unprocessable(f"map: {item} does not contain declared merge key: {key}")
        directive = item.get(PATCH)
        if directive == "delete":
            merged = [m for m in merged if not (isinstance(m, dict) and m.get(key) == item[key])]
            continue
        if directive not in (None, "merge", "replace"):
            raise _unprocessable(f"unknown patch type: {directive} in map: {item}")
        plain.append(item)
        for i, m in enumerate(merged):
            if isinstance(m, dict) and m.get(key) == item[key]:
                if directive == "replace":
                    merged[i] = _clean(ctx, {k: v for k, v in item.items() if k != PATCH}, schema)
                else:
                    merged[i] = _merge_map(ctx, m, item, schema)
                break
        else:
            merged.append(_clean(ctx, {k: v for k, v in item.items() if k != PATCH}, schema))
    merged = [m for m in merged if m is not None]
    patch_items, server_only = _partition(merged, plain, key)
    return _normalize(patch_items, server_only, plain, original, key)


def _apply_order(original: dict[str, Any], key: str, order: Any, server: list[Any], fld: Field | None) -> None:
    """``$setElementOrder/<key>``: reorder the (already merged) list."""
    if not isinstance(order, list):
        raise bad_request(ERR_BAD_SET_ORDER)
    current = original.get(key)
    if not isinstance(current, list):
        return
    mkey = fld.merge_key if fld is not None else ""
    if mkey and any(not isinstance(o, dict) or mkey not in o for o in order):
        raise bad_request(ERR_BAD_SET_ORDER)
    patch_items, server_only = _partition(current, order, mkey)
    original[key] = _normalize(patch_items, server_only, order, server, mkey)


def _ident(item: Any, key: str) -> Any:
    if key:
        return ("k", _freeze(item.get(key))) if isinstance(item, dict) else ("x", _freeze(item))
    return ("v", _freeze(item))


def _freeze(v: Any) -> Any:
    if isinstance(v, dict):
        return tuple(sorted((k, _freeze(x)) for k, x in v.items()))
    if isinstance(v, list):
        return tuple(_freeze(x) for x in v)
    return (type(v).__name__, v)


def _index_of(items: list[Any], key: str) -> dict[Any, int]:
    out: dict[Any, int] = {}
    for i, item in enumerate(items):
        out.setdefault(_ident(item, key), i)
    return out


def _partition(merged: list[Any], named: list[Any], key: str) -> tuple[list[Any], list[Any]]:
    names = _index_of(named, key)
    patch_items = [m for m in merged if _ident(m, key) in names]
    server_only = [m for m in merged if _ident(m, key) not in names]
    return patch_items, server_only


def _normalize(patch_items: list[Any], server_only: list[Any], patch_order: list[Any],
               server_order: list[Any], key: str) -> list[Any]:
    """Patch items in patch order, server-only items in server order, interleaved by server position.

    As upstream's mergeSortedSlice: a server-only item goes first only when both it and the next patch
    item are in the server's list and it comes earlier there; so an item the patch adds (not on the
    server) goes before the server-only items that follow it, as ``kubectl patch`` users see upstream.
    """
    porder = _index_of(patch_order, key)
    sorder = _index_of(server_order, key)
    patched = sorted(patch_items, key=lambda m: porder.get(_ident(m, key), len(porder)))
    server = sorted(server_only, key=lambda m: sorder.get(_ident(m, key), len(sorder)))
    out: list[Any] = []
    i = j = 0
    while i < len(server) or j < len(patched):
        if i >= len(server):
            out.append(patched[j])
            j += 1
        elif j >= len(patched):
            out.append(server[i])
            i += 1
        else:
            si = sorder.get(_ident(server[i], key))
            pi = sorder.get(_ident(patched[j], key))
            if si is not None and pi is not None and si < pi:
                out.append(server[i])
                i += 1
            else:
                out.append(patched[j])
                j += 1
    return out


def _dedupe(items: list[Any]) -> list[Any]:
    seen: set[Any] = set()
    out = []
    for item in items:
        ident = _freeze(item)
        if ident not in seen:
            seen.add(ident)
            out.append(item)
    return out


# --- cleaning new values (strip directives and nulls) ---------------------------

def _clean(ctx: _Ctx, value: dict[str, Any], schema: ObjectSchema | None) -> dict[str, Any]:
    out = _merge_map(ctx, {}, dict(value), schema)
    return out if out is not None else {}


def _clean_list(ctx: _Ctx, items: list[Any], ftype: SchemaType | None) -> list[Any]:
    itype = ftype.items if isinstance(ftype, ArrayOf) else None
    out = []
    for item in items:
        if isinstance(item, dict) and item.get(PATCH) == "delete":
            continue
        out.append(_clean_value(ctx, item, itype))
    return out


def _clean_value(ctx: _Ctx, value: Any, t: SchemaType | None) -> Any:
    if isinstance(value, dict):
        if isinstance(t, MapOf):
            return _merge_value_map(ctx, {}, dict(value), t) or {}
        return _clean(ctx, value, ctx.obj(t))
    if isinstance(value, list):
        return _clean_list(ctx, value, t)
    return value
