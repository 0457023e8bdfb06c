"""The informer cache: objects keyed by ``namespace/name`` with secondary indexes.

One event loop owns a Store, so plain dicts suffice (no locks): a read never
sees a half-applied write because writes never await.

**Objects in the cache are shared** between every reader of an informer.  Never
mutate an object you got from a Store or a lister: ``copy.deepcopy`` it (or
build a patch) first.

Indexers map an object to a list of index values (``by_namespace``,
``by_node_name``, ``by_owner_uid`` are provided); ``by_index(name, value)``
returns the objects with that value.  ``Store`` also implements the
``add/update/delete/replace`` sink the reflector feeds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

Obj = dict[str, Any]
IndexFunc = Callable[[Obj], list[str]]

NAMESPACE_INDEX = "namespace"


@dataclass(frozen=True)
class DeletedFinalStateUnknown:
    """A delete seen only as "gone after a relist": ``obj`` is the last state the cache had."""

    key: str
    obj: Obj


def meta_key(obj: Mapping[str, Any]) -> str:
    """``namespace/name``, or ``name`` for cluster-scoped objects."""
    meta = obj.get("metadata") or {}
    ns = meta.get("namespace") or ""
    return f"{ns}/{meta.get('name', '')}" if ns else str(meta.get("name", ""))


def deletion_key(obj: Obj | DeletedFinalStateUnknown) -> str:
    """The key of a deleted object or of a tombstone (for on_delete handlers)."""
    return obj.key if isinstance(obj, DeletedFinalStateUnknown) else meta_key(obj)


def split_key(key: str) -> tuple[str, str]:
    """``(namespace, name)``; namespace is "" for cluster-scoped keys."""
    ns, sep, name = key.partition("/")
    return (ns, name) if sep else ("", ns)


def by_namespace(obj: Obj) -> list[str]:
    return [(obj.get("metadata") or {}).get("namespace") or ""]


def by_node_name(obj: Obj) -> list[str]:
    node = (obj.get("spec") or {}).get("nodeName")
    return [node] if node else []


def by_owner_uid(obj: Obj) -> list[str]:
    return [ref["uid"] for ref in (obj.get("metadata") or {}).get("ownerReferences") or [] if ref.get("uid")]


def resource_version(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion") or "")


class Store:
    """Key -> object map plus indexes (client-go's threadSafeMap + Indexer)."""

    def __init__(self, indexers: dict[str, IndexFunc] | None = None, key_func: Callable[[Obj], str] = meta_key) -> None:
        self.key_func = key_func
        self._items: dict[str, Obj] = {}
        self._indexers: dict[str, IndexFunc] = {NAMESPACE_INDEX: by_namespace, **(indexers or {})}
        # index name -> value -> keys
        self._indices: dict[str, dict[str, set[str]]] = {name: {} for name in self._indexers}

    # --- indexes ---------------------------------------------------------------

    def add_indexers(self, indexers: dict[str, IndexFunc]) -> None:
        """Add indexes (allowed at any time: existing items are indexed at once)."""
        for name, func in indexers.items():
            if name in self._indexers:
                if self._indexers[name] is not func:
                    raise ValueError(f"indexer {name!r} already exists")
                continue
            self._indexers[name] = func
            self._indices[name] = {}
            for key, obj in self._items.items():
                self._index_one(name, key, obj)

    def _index_one(self, name: str, key: str, obj: Obj) -> None:
        index = self._indices[name]
        for value in self._indexers[name](obj):
            index.setdefault(value, set()).add(key)

    def _unindex_one(self, name: str, key: str, obj: Obj) -> None:
        index = self._indices[name]
        for value in self._indexers[name](obj):
            keys = index.get(value)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del index[value]

    def _set(self, key: str, obj: Obj) -> Obj | None:
        old = self._items.get(key)
        for name in self._indexers:
            if old is not None:
                self._unindex_one(name, key, old)
            self._index_one(name, key, obj)
        self._items[key] = obj
        return old

    def _remove(self, key: str) -> Obj | None:
        old = self._items.pop(key, None)
        if old is not None:
            for name in self._indexers:
                self._unindex_one(name, key, old)
        return old

    # --- writes (the reflector's sink) ---------------------------------------------

    def add(self, obj: Obj) -> Obj | None:
        """Insert or replace; returns the previous object."""
        return self._set(self.key_func(obj), obj)

    update = add

    def delete(self, obj: Obj) -> Obj | None:
        return self._remove(self.key_func(obj))

    def replace(self, items: Iterable[Obj], resource_version: str = "") -> None:
        """Swap the whole content (after a list)."""
        self._items.clear()
        for indices in self._indices.values():
            indices.clear()
        for obj in items:
            self.add(obj)

    # --- reads --------------------------------------------------------------------

    def get(self, key: str) -> Obj | None:
        return self._items.get(key)

    def get_by(self, namespace: str, name: str) -> Obj | None:
        return self._items.get(f"{namespace}/{name}" if namespace else name)

    def __contains__(self, key: str) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)

    def keys(self) -> list[str]:
        return list(self._items)

    def by_index(self, index_name: str, value: str) -> list[Obj]:
        if index_name not in self._indices:
            raise KeyError(f"no indexer {index_name!r}")
        return [self._items[k] for k in self._indices[index_name].get(value, ())]

    def index_keys(self, index_name: str, value: str) -> list[str]:
        return sorted(self._indices[index_name].get(value, ()))

    def index_values(self, index_name: str) -> list[str]:
        return list(self._indices[index_name])

    # Last in the class body: once defined, the name ``list`` shadows the builtin in annotations below it.
    def list(self) -> list[Obj]:
        return list(self._items.values())
