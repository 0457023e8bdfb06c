"""core/v1 ComponentStatus (``kubectl get componentstatuses``, short name ``cs``): deprecated
upstream since v1.19, still served, read-only (get and list).

The objects are not stored: each read computes them (``apiserver/registry/core/componentstatus.py``).
"""

from __future__ import annotations

from pyk8s.api.kinds import define_kind, register
from pyk8s.machinery.schema import STRING, ArrayOf, Field, Ref, define
from pyk8s.machinery.scheme import Strategy

P = "io.k8s.api.core.v1"
DEPRECATION_WARNING = "v1 ComponentStatus is deprecated in v1.19+"

define(f"{P}.ComponentCondition", "One health observation of a component.", [
    Field("type", STRING, "Healthy.", required=True, proto=1),
    Field("status", STRING, "True, False or Unknown.", required=True, proto=2),
    Field("message", STRING, "The component's answer when healthy.", proto=3),
    Field("error", STRING, "Why the component is not healthy.", proto=4),
])
define_kind(P, "ComponentStatus", ("", "v1"), "The health of one control-plane component (deprecated).", [
    Field("conditions", ArrayOf(Ref(f"{P}.ComponentCondition")), "Health observations.", merge_key="type",
          strategy="merge", list_type="map", list_map_keys=("type",), proto=2),
])


class ComponentStatusStrategy(Strategy):
    has_status = False
    tracks_generation = False


register(group="", version="v1", kind="ComponentStatus", plural="componentstatuses", namespaced=False,
         strategy=ComponentStatusStrategy(), schema=f"{P}.ComponentStatus", short_names=("cs",),
         verbs=("get", "list"))
