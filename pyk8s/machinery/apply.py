"""Server-side apply and field ownership (``metadata.managedFields``).

Ownership is tracked as sets of *paths*.  A path is a tuple of FieldsV1 path
elements: ``f:<field>`` (struct field or map key), ``k:{"name":"x"}`` (item
of an associative list, by its key fields), ``v:<json>`` (item of a set
list).  A set of paths serialises to the FieldsV1 trie Kubernetes stores
(``{"f:spec":{"f:replicas":{}}}``, with ``".": {}`` marking a node that is a
member and also has members below it).

Which paths a value "sets" follows structured-merge-diff: every scalar and
atomic value, every list item of a keyed or set list, every entry of a
free-form map, and empty or null values.  Struct fields that only hold other
fields are not members themselves.  List and map semantics come from the
schema (``list_type``/``list_map_keys``, else the strategic-merge metadata;
``map_type="atomic"``); fields the schema does not know are treated as
granular maps and atomic lists.

``apply`` merges a configuration into the live object, detects conflicts with
other managers (409 ``Conflict`` with ``FieldManagerConflict`` causes), lets
``force`` take ownership, and removes fields the applier owned before but no
longer sets (unless someone else owns them).  ``record_update`` keeps
ownership right for ordinary writes (create, update, patch).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from pyk8s.machinery import typecheck
from pyk8s.machinery.errors import Cause, StatusError
from pyk8s.machinery.schema import (
    REGISTRY,
    AnyValue,
    ArrayOf,
    Field,
    MapOf,
    ObjectSchema,
    Ref,
    SchemaRegistry,
    SchemaType,
)

Path = tuple[str, ...]
Obj = dict[str, Any]

#: Fields never tracked (upstream strips these before computing ownership).
IGNORED_PATHS: frozenset[Path] = frozenset({
    ("f:apiVersion",), ("f:kind",), ("f:metadata", "f:name"), ("f:metadata", "f:namespace"),
    ("f:metadata", "f:creationTimestamp"), ("f:metadata", "f:selfLink"), ("f:metadata", "f:uid"),
    ("f:metadata", "f:generation"), ("f:metadata", "f:managedFields"), ("f:metadata", "f:resourceVersion"),
    ("f:metadata", "f:deletionTimestamp"), ("f:metadata", "f:deletionGracePeriodSeconds"),
})

#: Defaults of list-map key fields, so ``{containerPort: 80}`` and the
#: defaulted ``{containerPort: 80, protocol: TCP}`` name the same item.
_KEY_DEFAULTS = {"protocol": "TCP"}


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- list / map semantics from the schema --------------------------------------

@dataclass(frozen=True, slots=True)
class _ListKind:
    kind: str  # "atomic" | "set" | "map"
    keys: tuple[str, ...] = ()


def _list_kind(fld: Field | None) -> _ListKind:
    if fld is None:
        return _ListKind("atomic")
    if fld.list_type == "map":
        return _ListKind("map", fld.list_map_keys or ((fld.merge_key,) if fld.merge_key else ()))
    if fld.list_type in ("set", "atomic"):
        return _ListKind(fld.list_type)
    if "merge" in fld.strategy.split(","):
        return _ListKind("map", (fld.merge_key,)) if fld.merge_key else _ListKind("set")
    return _ListKind("atomic")


def _item_key(item: Any, keys: tuple[str, ...]) -> dict[str, Any] | None:
    if not isinstance(item, dict) or not keys:
        return None
    out = {}
    for k in keys:
        if k in item:
            out[k] = item[k]
        elif k in _KEY_DEFAULTS:
            out[k] = _KEY_DEFAULTS[k]
    return out if out else None


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def _key_element(item: Any, keys: tuple[str, ...]) -> str | None:
    key = _item_key(item, keys)
    return None if key is None else "k:" + _dumps(key)


class _Types:
    """Resolves the schema type of a child value."""

    def __init__(self, registry: SchemaRegistry) -> None:
        self.registry = registry

    def obj(self, t: SchemaType | None) -> ObjectSchema | None:
        return self.registry.resolve(t) if isinstance(t, Ref) else None


@dataclass(frozen=True, slots=True)
class _Node:
    """What is known about a value: its type and the field that declares it."""

    type: SchemaType | None
    field: Field | None = None


def _child(types: _Types, node: _Node, key: str) -> tuple[_Node, bool]:
    """The node of ``key`` inside a map node, and whether ``key`` is a declared struct field."""
    if isinstance(node.type, MapOf):
        return _Node(node.type.values), False
    schema = types.obj(node.type)
    if schema is not None:
        fld = schema.field(key)
        if fld is not None:
            return _Node(fld.type, fld), True
        return _Node(None), False
    return _Node(None), False


def _item_node(node: _Node) -> _Node:
    return _Node(node.type.items) if isinstance(node.type, ArrayOf) else _Node(None)


def _atomic_map(node: _Node) -> bool:
    if isinstance(node.type, AnyValue):
        return True
    return node.field is not None and node.field.map_type == "atomic"


# --- value -> field set -----------------------------------------------------------

def field_set(obj: Any, schema_name: str, registry: SchemaRegistry | None = None,
              ignored: Iterable[Path] = IGNORED_PATHS) -> set[Path]:
    """The paths ``obj`` sets (structured-merge-diff's ``ToFieldSet``), minus ``ignored``."""
    types = _Types(registry if registry is not None else REGISTRY)
    out: set[Path] = set()
    _collect(types, obj, _Node(Ref(schema_name)), (), out)
    return _drop_ignored(out, ignored)


def _drop_ignored(paths: set[Path], ignored: Iterable[Path]) -> set[Path]:
    ign = set(ignored)
    return {p for p in paths if not any(p[:len(i)] == i for i in ign)}


def _collect(types: _Types, value: Any, node: _Node, path: Path, out: set[Path]) -> None:
    if isinstance(value, dict):
        if _atomic_map(node):
            out.add(path)
            return
        for key, child in value.items():
            cnode, declared = _child(types, node, key)
            cpath = path + ("f:" + key,)
            if child is None or child == {} or not declared:
                out.add(cpath)
            _collect(types, child, cnode, cpath, out)
    elif isinstance(value, list):
        kind = _list_kind(node.field)
        if kind.kind == "atomic":
            out.add(path)
            return
        inode = _item_node(node)
        for item in value:
            if kind.kind == "set":
                out.add(path + ("v:" + _dumps(item),))
                continue
            elem = _key_element(item, kind.keys)
            if elem is None:
                out.add(path)  # an unkeyed item makes the whole list atomic
                continue
            out.add(path + (elem,))
            _collect(types, item, inode, path + (elem,), out)
    elif value is not None and path:
        out.add(path)


# --- FieldsV1 encoding ------------------------------------------------------------

def to_fields_v1(paths: Iterable[Path]) -> dict[str, Any]:
    root: dict[str, Any] = {}
    members = set(paths)
    for p in members:
        node = root
        for elem in p:
            node = node.setdefault(elem, {})
    for p in members:
        node = root
        for elem in p:
            node = node[elem]
        if node and "." not in node:
            node["."] = {}
    return _sorted_trie(root)


def _sorted_trie(node: dict[str, Any]) -> dict[str, Any]:
    """Children in byte order (``.`` first), as structured-merge-diff serialises them."""
    return {k: _sorted_trie(node[k]) for k in sorted(node)}


def from_fields_v1(trie: dict[str, Any] | None) -> set[Path]:
    out: set[Path] = set()

    def walk(node: dict[str, Any], path: Path) -> None:
        for elem, child in node.items():
            if elem == ".":
                out.add(path)
                continue
            cpath = path + (elem,)
            if not isinstance(child, dict) or not child:
                out.add(cpath)
            else:
                walk(child, cpath)

    walk(trie or {}, ())
    return out


def path_string(path: Path) -> str:
    """A path as structured-merge-diff prints it: ``.spec.containers[name="x"].image``."""
    parts = []
    for elem in path:
        tag, rest = elem[:2], elem[2:]
        if tag == "f:":
            parts.append("." + rest)
        elif tag == "k:":
            keys = orjson.loads(rest)
            parts.append("[" + ",".join(f"{k}={_dumps(v)}" for k, v in keys.items()) + "]")
        elif tag == "v:":
            parts.append("[=" + rest + "]")
        elif tag == "i:":
            parts.append("[" + rest + "]")
    return "".join(parts)


# --- navigating values by path ------------------------------------------------------

_ABSENT = object()


def _step(value: Any, elem: str) -> Any:
    tag, rest = elem[:2], elem[2:]
    if tag == "f:":
        return value.get(rest, _ABSENT) if isinstance(value, dict) else _ABSENT
    if not isinstance(value, list):
        return _ABSENT
    if tag == "k:":
        want = orjson.loads(rest)
        for item in value:
            if _key_matches(item, want):
                return item
        return _ABSENT
    if tag == "v:":
        want = orjson.loads(rest)
        return want if want in value else _ABSENT
    if tag == "i:":
        idx = int(rest)
        return value[idx] if idx < len(value) else _ABSENT
    return _ABSENT


def _key_matches(item: Any, want: dict[str, Any]) -> bool:
    if not isinstance(item, dict):
        return False
    return all(item.get(k, _KEY_DEFAULTS.get(k)) == v for k, v in want.items())


def value_at(obj: Any, path: Path) -> Any:
    cur = obj
    for elem in path:
        cur = _step(cur, elem)
        if cur is _ABSENT:
            return _ABSENT
    return cur


def _remove_path(obj: Any, path: Path) -> None:
    parent = value_at(obj, path[:-1])
    elem = path[-1]
    tag, rest = elem[:2], elem[2:]
    if tag == "f:" and isinstance(parent, dict):
        parent.pop(rest, None)
    elif tag == "k:" and isinstance(parent, list):
        want = orjson.loads(rest)
        parent[:] = [i for i in parent if not _key_matches(i, want)]
    elif tag == "v:" and isinstance(parent, list):
        want = orjson.loads(rest)
        parent[:] = [i for i in parent if i != want]


# --- merging a configuration into the live object ---------------------------------------

def _merge(types: _Types, live: Any, config: Any, node: _Node) -> Any:
    if isinstance(config, dict) and isinstance(live, dict) and not _atomic_map(node):
        out = dict(live)
        for key, value in config.items():
            if value is None:
                # An explicit null in an apply configuration clears the field (it stays owned).
                out.pop(key, None)
                continue
            cnode, _ = _child(types, node, key)
            out[key] = _merge(types, live.get(key), value, cnode) if key in live else copy.deepcopy(value)
        return out
    if isinstance(config, list) and isinstance(live, list):
        kind = _list_kind(node.field)
        if kind.kind == "set":
            return list(live) + [copy.deepcopy(i) for i in config if i not in live]
        if kind.kind == "map":
            return _merge_keyed(types, live, config, kind, _item_node(node))
    return copy.deepcopy(config)


def _merge_keyed(types: _Types, live: list[Any], config: list[Any], kind: _ListKind, inode: _Node) -> list[Any]:
    out = list(live)
    for item in config:
        key = _item_key(item, kind.keys)
        for i, have in enumerate(out):
            if key is not None and _key_matches(have, key):
                out[i] = _merge(types, have, item, inode)
                break
        else:
            out.append(copy.deepcopy(item))
    return out


# --- managedFields entries -----------------------------------------------------------------

@dataclass(slots=True)
class _Manager:
    entry: Obj  # the managedFields entry without fieldsV1
    paths: set[Path]

    @property
    def ident(self) -> tuple[str, str, str]:
        e = self.entry
        return (e.get("manager", ""), e.get("operation", ""), e.get("subresource", ""))


def _decode(managed: Any) -> list[_Manager]:
    out: list[_Manager] = []
    if not isinstance(managed, list):
        return out
    for entry in managed:
        if not isinstance(entry, dict) or not isinstance(entry.get("fieldsV1", {}), dict):
            continue  # malformed entries are dropped rather than failing the write
        meta = {k: v for k, v in entry.items() if k != "fieldsV1"}
        out.append(_Manager(meta, from_fields_v1(entry.get("fieldsV1"))))
    return out


def _encode(managers: list[_Manager]) -> list[Obj]:
    out = []
    for m in managers:
        if not m.paths:
            continue
        entry = dict(m.entry)
        entry["fieldsType"] = "FieldsV1"
        entry["fieldsV1"] = to_fields_v1(m.paths)
        out.append(_ordered(entry))
    return out


def _ordered(entry: Obj) -> Obj:
    order = ("manager", "operation", "apiVersion", "time", "fieldsType", "fieldsV1", "subresource")
    return {k: entry[k] for k in order if k in entry} | {k: v for k, v in entry.items() if k not in order}


def _describe(m: _Manager) -> str:
    """How a conflict names a manager (upstream ``printManager``)."""
    text = json.dumps(m.entry.get("manager", ""))
    if m.entry.get("subresource"):
        text += f' with subresource "{m.entry["subresource"]}"'
    if m.entry.get("operation") == "Update":
        text += f' using {m.entry.get("apiVersion", "")}'
        if m.entry.get("time"):
            text += f' at {m.entry["time"]}'
    return text


def conflict_error(conflicts: list[tuple[_Manager, Path]]) -> StatusError:
    causes = [Cause("FieldManagerConflict", f"conflict with {_describe(m)}", path_string(p)) for m, p in conflicts]
    if len(conflicts) == 1:
        m, p = conflicts[0]
        message = f"Apply failed with 1 conflict: conflict with {_describe(m)}: {path_string(p)}"
    else:
        by_manager: dict[str, list[Path]] = {}
        for m, p in conflicts:
            by_manager.setdefault(_describe(m), []).append(p)
        lines = []
        for name in sorted(by_manager):
            lines.append(f"conflicts with {name}:")
            lines.extend(f"- {path_string(p)}" for p in by_manager[name])
        message = f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)
    return StatusError(409, "Conflict", message, causes=causes)


# --- apply ---------------------------------------------------------------------------------

def _strip_managed(obj: Obj) -> Obj:
    out = copy.deepcopy(obj)
    if isinstance(out.get("metadata"), dict):
        out["metadata"].pop("managedFields", None)
    return out


def _changed(before: Any, after: Any, path: Path, leaf: bool) -> bool:
    a, b = value_at(before, path), value_at(after, path)
    if leaf:
        return a != b if a is not _ABSENT and b is not _ABSENT else (a is _ABSENT) != (b is _ABSENT)
    return (a is _ABSENT) != (b is _ABSENT)


def _leaves(paths: set[Path]) -> set[Path]:
    prefixes = {p[:i] for p in paths for i in range(1, len(p))}
    return {p for p in paths if p not in prefixes}


def apply(live: Obj | None, config: Obj, manager: str, *, force: bool, schema_name: str,
          api_version: str | None = None, subresource: str = "",
          registry: SchemaRegistry | None = None, ignored: Iterable[Path] = IGNORED_PATHS,
          now: str | None = None) -> Obj:
    """Server-side apply ``config`` as ``manager``; returns the new object (inputs untouched).

    Raises a 409 Conflict when another manager owns a field whose value would
    change and ``force`` is false.  ``ignored`` lists path prefixes that are
    not tracked (pass ``IGNORED_PATHS | {("f:status",)}`` for a main resource
    whose status is reset by its strategy).
    """
    reg = registry if registry is not None else REGISTRY
    api_version = api_version or config.get("apiVersion", "")
    kind = config.get("kind") or schema_name.rsplit(".", 1)[-1]
    group, _, version = api_version.rpartition("/")
    typecheck.check_apply_config(config, schema_name, f"{group}/{version}, Kind={kind}", reg)
    if (config.get("metadata") or {}).get("managedFields") is not None:
        raise StatusError(400, "BadRequest", "metadata.managedFields must be nil")
    types = _Types(reg)
    ignored = frozenset(ignored)
    cfg = _strip_managed(config)
    cfg_paths = field_set(cfg, schema_name, reg, ignored)
    base = _strip_managed(live) if live is not None else {}
    managers = _decode((live or {}).get("metadata", {}).get("managedFields"))
    stamp = now or now_rfc3339()
    if live is not None and not managers:
        # An object nobody tracked yet: its current fields belong to a stand-in manager, as upstream.
        owned = field_set(base, schema_name, reg, ignored)
        if owned:
            managers = [_Manager({"manager": "before-first-apply", "operation": "Update",
                                  "apiVersion": api_version, "time": stamp}, owned)]
    me = (manager, "Apply", subresource)
    mine = next((m for m in managers if m.ident == me), None)
    previous = set(mine.paths) if mine is not None else set()
    others = [m for m in managers if m.ident != me]

    merged = _merge(types, base, cfg, _Node(Ref(schema_name)))
    leaves = _leaves(cfg_paths)
    changed = {p for p in cfg_paths if _changed(base, merged, p, p in leaves)}
    conflicts = [(m, p) for m in others for p in sorted(m.paths & changed)]
    if conflicts and not force:
        raise conflict_error(conflicts)
    if force:
        for m in others:
            m.paths -= changed

    _remove_abandoned(merged, previous - cfg_paths, others, cfg_paths)

    entry = {"manager": manager, "operation": "Apply", "apiVersion": api_version, "time": stamp}
    if subresource:
        entry["subresource"] = subresource
    if mine is None:
        new_managers = managers + [_Manager(entry, cfg_paths)]
    else:  # the applier's entry keeps its place in the list
        new_managers = [(_Manager(entry, cfg_paths) if m.ident == me else m) for m in managers]
    merged.setdefault("metadata", {})["managedFields"] = _encode(new_managers)
    return merged


def _remove_abandoned(obj: Obj, abandoned: set[Path], others: list[_Manager], kept: set[Path]) -> None:
    """Drop fields the applier stopped setting, unless another manager owns them or something below them.

    A list or map left empty by the removal goes too, unless someone owns it.
    """
    owned = set().union(kept, *(m.paths for m in others))
    owned_prefixes = {p[:i] for p in owned for i in range(1, len(p) + 1)}
    for path in sorted(abandoned, key=len):
        if path in owned_prefixes or value_at(obj, path) is _ABSENT:
            continue
        _remove_path(obj, path)
        parent = path[:-1]
        while parent and parent not in owned_prefixes and value_at(obj, parent) in ([], {}):
            _remove_path(obj, parent)
            parent = parent[:-1]


# --- ordinary writes -------------------------------------------------------------------------

def record_update(old: Obj | None, new: Obj, manager: str, *, schema_name: str, api_version: str | None = None,
                  subresource: str = "", registry: SchemaRegistry | None = None,
                  ignored: Iterable[Path] = IGNORED_PATHS, now: str | None = None) -> list[Obj]:
    """Record a create/update/patch by ``manager`` (operation Update) in ``new``'s managedFields.

    Sets ``new["metadata"]["managedFields"]`` and returns it.  A client that
    sends managedFields different from the stored ones replaces them (an empty
    list resets ownership), as upstream allows.
    """
    reg = registry if registry is not None else REGISTRY
    ignored = frozenset(ignored)
    api_version = api_version or new.get("apiVersion", "")
    old_meta = (old or {}).get("metadata") or {}
    new_meta = new.setdefault("metadata", {})
    stored = old_meta.get("managedFields")
    sent = new_meta.get("managedFields", stored)
    managers = _decode(sent if sent != stored else stored)
    old_obj = _strip_managed(old) if old is not None else {}
    new_obj = _strip_managed(new)
    before = _with_nodes(reg, old_obj, schema_name, ignored)
    after = _with_nodes(reg, new_obj, schema_name, ignored)
    leaves = _leaves(after)
    added = after - before
    removed = before - after
    modified = {p for p in after & before if p in leaves and value_at(old_obj, p) != value_at(new_obj, p)}
    me = (manager or "unknown", "Update", subresource)
    mine = next((m for m in managers if m.ident == me), None)
    for m in managers:
        if m is not mine:
            m.paths -= modified | removed
    paths = ((mine.paths if mine is not None else set()) | added | modified) - removed
    entry = {"manager": manager or "unknown", "operation": "Update", "apiVersion": api_version,
             "time": now or now_rfc3339()}
    if subresource:
        entry["subresource"] = subresource
    if mine is not None:
        # An unchanged set keeps its old timestamp, as upstream.
        if paths != mine.paths:
            mine.entry, mine.paths = entry, paths
    elif added | modified:
        managers.append(_Manager(entry, paths))
    encoded = _encode(managers)
    new_meta["managedFields"] = encoded
    if not encoded:
        new_meta.pop("managedFields", None)
    return encoded


def _with_nodes(reg: SchemaRegistry, obj: Obj, schema_name: str, ignored: frozenset[Path]) -> set[Path]:
    """The field set plus the maps and list items that hold members, so created containers get ``.``."""
    paths = field_set(obj, schema_name, reg, ignored)
    nodes = set()
    for p in paths:
        for i in range(1, len(p)):
            prefix = p[:i]
            if prefix[-1].startswith(("k:", "v:")) or _is_free_map(reg, obj, schema_name, prefix):
                nodes.add(prefix)
    return paths | nodes


def _is_free_map(reg: SchemaRegistry, obj: Obj, schema_name: str, path: Path) -> bool:
    """Whether ``path`` names a map-typed field (labels, annotations, data) rather than a struct."""
    types = _Types(reg)
    node = _Node(Ref(schema_name))
    for elem in path:
        if elem.startswith("f:"):
            node, _ = _child(types, node, elem[2:])
        else:
            node = _item_node(node)
    return isinstance(node.type, MapOf)
