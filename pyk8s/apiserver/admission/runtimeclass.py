"""RuntimeClass: a pod's ``spec.runtimeClassName`` must name a RuntimeClass, whose overhead and
scheduling constraints the pod takes on (upstream's plugin).

Mutating, on pod creation: the class's ``overhead.podFixed`` becomes ``spec.overhead`` (a pod that
states a different overhead is refused), its ``scheduling.nodeSelector`` is merged into the pod's
(a conflicting key is refused) and its ``scheduling.tolerations`` are added.  Validating: a pod
stating an overhead without a class is refused.

Classes are ``node.k8s.io/v1`` RuntimeClasses (``api/node_v1.py``); a pod naming a missing one is
refused with upstream's not-found message.  The kubelet runs every pod with containerd's default
handler, which is why a class naming another handler is warned about when it is written.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyk8s.apiserver.admission.interface import CREATE, PODS, Attributes, Obj, Plugin
from pyk8s.apiserver.registry import cachedreads

if TYPE_CHECKING:
    from pyk8s.apiserver.registry import Registry

NAME = "RuntimeClass"
OVERHEAD_MISMATCH = "pod rejected: Pod's Overhead doesn't match RuntimeClass's defined Overhead"


class RuntimeClass(Plugin):
    name = NAME
    resources = frozenset({PODS})

    static_handles = True  # operation, resource and subresource only

    def handles(self, attrs: Attributes) -> bool:
        return super().handles(attrs) and attrs.operation == CREATE

    async def _class(self, registry: Registry, attrs: Attributes) -> Obj | None:
        name = (attrs.obj.get("spec") or {}).get("runtimeClassName")
        if not name:
            return None
        store = registry.store("node.k8s.io", "runtimeclasses")
        found = None if store is None else await cachedreads.get(store, "", str(name))
        if found is None:
            raise attrs.forbidden(f'pod rejected: RuntimeClass "{name}" not found')
        return found

    async def admit(self, registry: Registry, attrs: Attributes) -> None:
        spec = attrs.obj.get("spec")
        if not isinstance(spec, dict):
            return
        rc = await self._class(registry, attrs)
        if rc is None:
            return
        fixed = (rc.get("overhead") or {}).get("podFixed")
        if fixed:
            if spec.get("overhead") and spec["overhead"] != fixed:
                raise attrs.forbidden(OVERHEAD_MISMATCH)
            spec["overhead"] = dict(fixed)
        scheduling = rc.get("scheduling") or {}
        selector = dict(spec.get("nodeSelector") or {})
        for key, value in (scheduling.get("nodeSelector") or {}).items():
            if key in selector and selector[key] != value:
                raise attrs.forbidden(f"conflict: runtimeClass.scheduling.nodeSelector[{key}] = {value}; "
                                      f"pod.spec.nodeSelector[{key}] = {selector[key]}")
            selector[key] = value
        if selector:
            spec["nodeSelector"] = selector
        tolerations = list(spec.get("tolerations") or [])
        for toleration in scheduling.get("tolerations") or []:
            if toleration not in tolerations:
                tolerations.append(toleration)
        if tolerations:
            spec["tolerations"] = tolerations

    async def validate(self, registry: Registry, attrs: Attributes) -> None:
        spec = attrs.obj.get("spec") or {}
        if not spec.get("overhead"):
            return
        rc = await self._class(registry, attrs)
        if rc is None:
            raise attrs.forbidden("pod rejected: Pod Overhead set without corresponding RuntimeClass")
        if spec["overhead"] != (rc.get("overhead") or {}).get("podFixed"):
            raise attrs.forbidden(OVERHEAD_MISMATCH)


def build(options: object) -> Plugin:
    return RuntimeClass()
