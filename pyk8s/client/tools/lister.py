"""Read-only views over a Store for one resource (client-go listers).

Returned objects are the cache's own: copy before mutating.
"""

from __future__ import annotations

from typing import Any

from pyk8s.client.tools.store import NAMESPACE_INDEX, Store
from pyk8s.machinery import labels

Obj = dict[str, Any]


class Lister:
    def __init__(self, store: Store) -> None:
        self.store = store

    def get(self, name: str, namespace: str = "") -> Obj | None:
        return self.store.get_by(namespace, name)

    def list(self, namespace: str | None = None, selector: str | dict[str, str] | None = None) -> list[Obj]:
        """Objects in ``namespace`` (all when None) whose labels match ``selector``."""
        items = self.store.list() if namespace is None else self.store.by_index(NAMESPACE_INDEX, namespace)
        if not selector:
            return items
        match = _matcher(selector)
        return [o for o in items if match((o.get("metadata") or {}).get("labels") or {})]


def _matcher(selector: str | dict[str, str]) -> Any:
    if isinstance(selector, dict):
        want = dict(selector)
        return lambda lbls: all(lbls.get(k) == v for k, v in want.items())
    parsed = labels.parse(selector)
    return parsed.matches
