"""ComponentStatus (deprecated, read-only): health of control-plane parts.

Only get and list are served; the objects are computed on request by the API
server, never stored, so the strategy refuses nothing and defaults nothing.
"""

from __future__ import annotations

from pyk8s.api import meta_v1
from pyk8s.api.core_v1.common import P, ref, register_kind
from pyk8s.machinery.schema import STRING, ArrayOf, Field, define
from pyk8s.machinery.scheme import Strategy

define(P + "ComponentCondition", "Health of one control-plane component.", [
    Field("type", STRING, "Condition type; only Healthy exists.", required=True),
    Field("status", STRING, "True, False or Unknown.", required=True),
    Field("message", STRING, "Details of the check."),
    Field("error", STRING, "Error from the check, if any."),
])
define(P + "ComponentStatus", "Deprecated: health report of a control-plane component.", [
    *meta_v1.type_meta_fields(),
    Field("conditions", ArrayOf(ref("ComponentCondition")), "Health checks.", merge_key="type", strategy="merge",
          list_type="map", list_map_keys=("type",)),
], gvk=("", "v1", "ComponentStatus"))


class ComponentStatusStrategy(Strategy):
    has_status = False
    tracks_generation = False


COMPONENTSTATUSES = register_kind(kind="ComponentStatus", plural="componentstatuses", namespaced=False,
                                  strategy=ComponentStatusStrategy(), short_names=("cs",), verbs=("get", "list"))
