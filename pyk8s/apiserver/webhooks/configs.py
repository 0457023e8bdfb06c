"""The webhooks of every Mutating/ValidatingWebhookConfiguration, from the watch cache.

Upstream sorts configurations by name and keeps each configuration's webhook order; a webhook is
known by (configuration, name), and its reinvocation and error messages use the webhook's own name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pyk8s.apiserver.registry import cachedreads

if TYPE_CHECKING:
    from pyk8s.apiserver.registry import Registry

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


async def hooks(registry: Registry, plural: str) -> list[Hook]:
    store = registry.store(GROUP, plural)
    if store is None:
        return []
    found: list[Hook] = []
    for cfg in sorted(await cachedreads.items(store), key=lambda c: c["metadata"]["name"]):
        for spec in cfg.get("webhooks") or []:
            if isinstance(spec, dict):
                found.append(Hook(cfg["metadata"]["name"], spec))
    return found
