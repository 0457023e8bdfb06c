"""The webhooks of every Mutating/ValidatingWebhookConfiguration, from the watch cache.

Upstream sorts configurations by name and keeps each configuration's webhook order; a webhook is
known by (configuration, name), and its reinvocation and error messages use the webhook's own name.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pyk8s.apiserver.registry import cachedreads

if TYPE_CHECKING:
    from pyk8s.apiserver.registry import Registry
    from pyk8s.apiserver.registry.generic import GenericStore

GROUP = "admissionregistration.k8s.io"
MUTATING = "mutatingwebhookconfigurations"
VALIDATING = "validatingwebhookconfigurations"
Obj = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Hook:
    configuration: str
    spec: Obj

    @property
    def name(self) -> str:
        return str(self.spec.get("name") or "")

    @property
    def key(self) -> tuple[str, str]:
        return (self.configuration, self.name)


# Per store: the hooks as of a watch-cache revision. Every create and update asks both webhook plugins,
# nearly always to learn that nothing is configured; the list is rebuilt only when the cache moves.
_MEMO: weakref.WeakKeyDictionary[GenericStore, tuple[int, list[Hook]]] = weakref.WeakKeyDictionary()


def _current(store: GenericStore) -> int | None:
    """The revision the store's watch cache holds, if it is started and reflects this server's writes."""
    cache = store.watch_cache()
    return cache.rev if cache.reflects(store.written) else None


async def hooks(registry: Registry, plural: str) -> list[Hook]:
    """The configured webhooks (shared: read-only)."""
    store = registry.store(GROUP, plural)
    if store is None:
        return []
    memo = _MEMO.get(store)
    if memo is not None and memo[0] == _current(store):
        return memo[1]
    found: list[Hook] = []
    for cfg in sorted(await cachedreads.items(store), key=lambda c: c["metadata"]["name"]):
        for spec in cfg.get("webhooks") or []:
            if isinstance(spec, dict):
                found.append(Hook(cfg["metadata"]["name"], spec))
    if (rev := _current(store)) is not None:  # read from the cache (no await since): valid at that revision
        _MEMO[store] = (rev, found)
    return found
