"""TaintNodesByCondition: a new Node starts with the ``node.kubernetes.io/not-ready:NoSchedule`` taint.

As upstream's ``nodetaint`` plugin: a node registering is not yet known to be ready, so nothing may be
scheduled onto it until the node lifecycle controller has looked at its conditions and lifted the taint
(``pyk8s/controllers/nodelifecycle.py`` keeps every condition's NoSchedule taint).  Only creates of the
Node itself; a taint with the same key and effect already there is left as it is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyk8s.apiserver.admission.interface import CREATE, Attributes, Plugin

if TYPE_CHECKING:
    from pyk8s.apiserver.registry import Registry

NAME = "TaintNodesByCondition"
NODES = ("", "nodes")
NOT_READY = "node.kubernetes.io/not-ready"


class TaintNodesByCondition(Plugin):
    name = NAME
    resources = frozenset({NODES})

    async def admit(self, registry: Registry, attrs: Attributes) -> None:
        if attrs.operation != CREATE:
            return
        spec = attrs.obj.setdefault("spec", {})
        if not isinstance(spec, dict):
            return  # validation refuses it
        taints = spec.get("taints") or []
        if any(isinstance(t, dict) and t.get("key") == NOT_READY and t.get("effect") == "NoSchedule"
               for t in taints):
            return
        spec["taints"] = [*taints, {"key": NOT_READY, "effect": "NoSchedule"}]


def build(options: object) -> Plugin:
    return TaintNodesByCondition()
