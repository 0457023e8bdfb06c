"""DefaultIngressClass: a new Ingress that names no class (neither ``spec.ingressClassName`` nor the
deprecated ``kubernetes.io/ingress.class`` annotation) gets the default IngressClass, the one annotated
``ingressclass.kubernetes.io/is-default-class: "true"`` (the newest, if several)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyk8s.apiserver.admission.interface import CREATE, Attributes, Plugin
from pyk8s.apiserver.registry import cachedreads

if TYPE_CHECKING:
    from pyk8s.apiserver.registry import Registry

NAME = "DefaultIngressClass"
INGRESSES = ("networking.k8s.io", "ingresses")
DEFAULT_ANNOTATION = "ingressclass.kubernetes.io/is-default-class"
LEGACY_ANNOTATION = "kubernetes.io/ingress.class"


class DefaultIngressClass(Plugin):
    name = NAME
    resources = frozenset({INGRESSES})

    async def admit(self, registry: Registry, attrs: Attributes) -> None:
        spec = attrs.obj.get("spec")
        annotations = (attrs.obj.get("metadata") or {}).get("annotations") or {}
        if attrs.operation != CREATE or not isinstance(spec, dict) or spec.get("ingressClassName") is not None \
                or LEGACY_ANNOTATION in annotations:
            return
        store = registry.store("networking.k8s.io", "ingressclasses")
        if store is None:
            return
        defaults = [c for c in await cachedreads.items(store)
                    if ((c.get("metadata") or {}).get("annotations") or {}).get(DEFAULT_ANNOTATION) == "true"]
        if defaults:
            newest = max(defaults, key=lambda c: (c["metadata"].get("creationTimestamp", ""), c["metadata"]["name"]))
            spec["ingressClassName"] = newest["metadata"]["name"]


def build(options: object) -> Plugin:
    return DefaultIngressClass()
