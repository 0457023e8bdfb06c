"""node.k8s.io/v1: RuntimeClass (cluster-scoped), the container runtime configuration a pod selects
with ``spec.runtimeClassName``.

``handler`` names the CRI handler and cannot change; ``overhead.podFixed`` is added to a pod's
requests by the RuntimeClass admission (``apiserver/admission/runtimeclass.py``), which also merges
``scheduling`` (node selector, tolerations) into the pod.  pyk8s's kubelet does not look a pod's class up: it
runs every pod with containerd's default handler (``runc``).  A class naming another handler is
stored as upstream stores it, and the create or update answers with a warning saying so, so nobody
believes a pod of that class runs under, say, gVisor.
"""

from __future__ import annotations

from typing import Any

from pyk8s.api import meta_v1, names
from pyk8s.api.core_v1.affinity import validate_tolerations
from pyk8s.api.kinds import define_kind, immutable, register
from pyk8s.machinery import quantity as qty
from pyk8s.machinery.schema import STRING, STRING_MAP, ArrayOf, Field, MapOf, Quantity, Ref, define
from pyk8s.machinery.scheme import Strategy
from pyk8s.machinery.validation import FieldError, invalid, required

Obj = dict[str, Any]
P = "io.k8s.api.node.v1"
GROUP = "node.k8s.io"

define(f"{P}.Overhead", "Resources a pod of this class uses beyond its containers' requests.", [
    Field("podFixed", MapOf(Quantity()), "The fixed overhead of a pod of this class.", proto=1),
])
define(f"{P}.Scheduling", "Where pods of this class may run.", [
    Field("nodeSelector", STRING_MAP, "Labels the node must carry (merged into the pod's node selector).",
          map_type="atomic", proto=1),
    Field("tolerations", ArrayOf(Ref("io.k8s.api.core.v1.Toleration")), "Tolerations added to the pod.",
          list_type="atomic", proto=2),
])
define_kind(P, "RuntimeClass", (GROUP, "v1"), "A container runtime configuration pods may select.", [
    Field("handler", STRING, "The CRI handler running pods of this class (a DNS label).", required=True, proto=2),
    Field("overhead", Ref(f"{P}.Overhead"), "Resources each pod of this class costs on top of its containers.",
          proto=3),
    Field("scheduling", Ref(f"{P}.Scheduling"), "Nodes that support this class.", proto=4),
])


def validate_overhead(overhead: Any, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for name, value in ((overhead or {}).get("podFixed") or {}).items():
        p = f"{path}.podFixed[{name}]"
        try:
            q = qty.parse(value)
        except ValueError as exc:
            errs.append(invalid(p, value, str(exc)))
            continue
        if q.value < 0:
            errs.append(invalid(p, str(q), "must be greater than or equal to 0"))
    return errs


def validate_runtime_class(obj: Obj) -> list[FieldError]:
    errs = meta_v1.validate_object_meta(obj, namespaced=False)
    handler = obj.get("handler")
    if not handler:
        errs.append(required("handler"))
    else:
        errs += [invalid("handler", handler, m) for m in names.is_dns1123_label(str(handler))]
    if obj.get("overhead") is not None:
        errs += validate_overhead(obj["overhead"], "overhead")
    scheduling = obj.get("scheduling")
    if isinstance(scheduling, dict):
        errs += meta_v1.validate_labels(scheduling.get("nodeSelector"), "scheduling.nodeSelector")
        errs += validate_tolerations(scheduling.get("tolerations"), "scheduling.tolerations")
    return errs


DEFAULT_HANDLER = "runc"


class RuntimeClassStrategy(Strategy):
    has_status = False
    tracks_generation = False

    def warnings(self, obj: Obj) -> list[str]:
        handler = obj.get("handler")
        if handler and handler != DEFAULT_HANDLER:
            return [f'handler "{handler}" is not served by pyk8s\'s kubelet: pods of this class run with '
                    f'containerd\'s default handler "{DEFAULT_HANDLER}"']
        return []

    def validate(self, obj: Obj) -> list[FieldError]:
        return validate_runtime_class(obj)

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        errs = meta_v1.validate_object_meta_update(new, old)
        errs += [e for e in validate_runtime_class(new) if not e.field.startswith("metadata.")]
        return errs + immutable(new.get("handler"), old.get("handler"), "handler")


register(group=GROUP, version="v1", kind="RuntimeClass", plural="runtimeclasses", namespaced=False,
         strategy=RuntimeClassStrategy(), schema=f"{P}.RuntimeClass")
