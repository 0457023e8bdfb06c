"""DefaultTolerationSeconds: new pods tolerate the not-ready and unreachable NoExecute taints for a while.

kube-apiserver's ``--default-not-ready-toleration-seconds`` / ``--default-unreachable-toleration-seconds``
(300 each), unless the pod already tolerates them: the node lifecycle controller evicts it after that long.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyk8s.api.core_v1 import pod
from pyk8s.apiserver.admission.interface import CREATE, PODS, Attributes, Obj, Plugin

if TYPE_CHECKING:
    from pyk8s.apiserver.admission.chain import Options
    from pyk8s.apiserver.registry import Registry

NAME = "DefaultTolerationSeconds"


class DefaultTolerationSeconds(Plugin):
    name = NAME
    resources = frozenset({PODS})

    def __init__(self, not_ready_seconds: int = 300, unreachable_seconds: int = 300) -> None:
        self.not_ready_seconds = not_ready_seconds
        self.unreachable_seconds = unreachable_seconds
        # What a pod stating no tolerations ends with (nearly every pod): built once, copied per pod.
        bare: Obj = {}
        pod.add_default_tolerations(bare, not_ready_seconds, unreachable_seconds)
        self._defaults: tuple[Obj, ...] = tuple(bare["tolerations"])

    async def admit(self, registry: Registry, attrs: Attributes) -> None:
        spec = attrs.obj.get("spec")
        if attrs.operation == CREATE and isinstance(spec, dict):
            if not spec.get("tolerations"):
                # Nothing to cover them: both are added, each pod getting dicts of its own.
                spec["tolerations"] = [dict(t) for t in self._defaults]
            else:
                pod.add_default_tolerations(spec, self.not_ready_seconds, self.unreachable_seconds)


def build(options: Options) -> Plugin:
    return DefaultTolerationSeconds(options.not_ready_toleration_seconds, options.unreachable_toleration_seconds)
