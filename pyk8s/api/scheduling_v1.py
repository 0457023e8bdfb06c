"""scheduling.k8s.io/v1: PriorityClass (cluster-scoped; ``kubectl get pc``).

A PriorityClass maps a name to the integer priority pods that name it get
(the Priority admission in ``apiserver/admission/priority.py`` resolves it at
pod creation).  User classes may go up to ``HIGHEST_USER_DEFINABLE_PRIORITY``;
names starting with ``system-`` are reserved for the two built-in classes the
API server creates at start (``SYSTEM_PRIORITY_CLASSES``).  ``value`` and
``preemptionPolicy`` cannot change once the class exists.
"""

from __future__ import annotations

import copy
from typing import Any

from pyk8s.api import meta_v1
from pyk8s.api.kinds import define_kind, immutable, register
from pyk8s.machinery.schema import BOOL, INT32, STRING, Field
from pyk8s.machinery.scheme import Strategy
from pyk8s.machinery.validation import FieldError, forbidden, not_supported, required

Obj = dict[str, Any]
P = "io.k8s.api.scheduling.v1"
GROUP = "scheduling.k8s.io"

HIGHEST_USER_DEFINABLE_PRIORITY = 1_000_000_000
SYSTEM_CRITICAL_PRIORITY = 2 * HIGHEST_USER_DEFINABLE_PRIORITY
DEFAULT_PRIORITY_WHEN_NO_DEFAULT_CLASS_EXISTS = 0
SYSTEM_PRIORITY_CLASS_PREFIX = "system-"
SYSTEM_CLUSTER_CRITICAL = "system-cluster-critical"
SYSTEM_NODE_CRITICAL = "system-node-critical"
PREEMPT_LOWER_PRIORITY = "PreemptLowerPriority"
PREEMPTION_POLICIES = [PREEMPT_LOWER_PRIORITY, "Never"]

define_kind(P, "PriorityClass", (GROUP, "v1"), "A name for an integer scheduling priority of pods.", [
    Field("value", INT32, "The priority pods of this class receive; higher is more important.",
          required=True, proto=2),
    Field("globalDefault", BOOL, "Pods that name no class get this one (at most one class may say so).",
          proto=3),
    Field("description", STRING, "Free text saying when the class should be used.", proto=4),
    Field("preemptionPolicy", STRING, "Never or PreemptLowerPriority (the default).", proto=5),
])

# The built-in classes (upstream's values; the descriptions are ours).
SYSTEM_PRIORITY_CLASSES: tuple[Obj, ...] = (
    {"apiVersion": f"{GROUP}/v1", "kind": "PriorityClass", "metadata": {"name": SYSTEM_NODE_CRITICAL},
     "value": SYSTEM_CRITICAL_PRIORITY + 1000,
     "description": "For node-critical system pods that have to keep running on the node they are on."},
    {"apiVersion": f"{GROUP}/v1", "kind": "PriorityClass", "metadata": {"name": SYSTEM_CLUSTER_CRITICAL},
     "value": SYSTEM_CRITICAL_PRIORITY,
     "description": "For system pods the cluster needs running; they may be moved to another node."},
)
SYSTEM_PRIORITY_CLASS_NAMES = frozenset(pc["metadata"]["name"] for pc in SYSTEM_PRIORITY_CLASSES)


def system_priority_classes() -> list[Obj]:
    """Fresh copies of the built-in classes (callers may change them)."""
    return copy.deepcopy(list(SYSTEM_PRIORITY_CLASSES))


def known_system_class_error(name: str, value: Any, global_default: bool) -> str:
    """Why a ``system-`` class is not one of the built-ins ("" when it is)."""
    for spc in SYSTEM_PRIORITY_CLASSES:
        if spc["metadata"]["name"] != name:
            continue
        if value != spc["value"]:
            return f"value of {name} PriorityClass must be {spc['value']}"
        if global_default:
            return f"globalDefault of {name} PriorityClass must be false"
        return ""
    return f"{name} is not a known system priority class"


def validate_preemption_policy(policy: Any, path: str) -> list[FieldError]:
    if policy == "":
        return [required(path)]
    if policy not in PREEMPTION_POLICIES:
        return [not_supported(path, policy, PREEMPTION_POLICIES)]
    return []


def validate_priority_class(obj: Obj) -> list[FieldError]:
    errs = meta_v1.validate_object_meta(obj, namespaced=False)
    name = (obj.get("metadata") or {}).get("name") or ""
    value = obj.get("value", 0)
    if name.startswith(SYSTEM_PRIORITY_CLASS_PREFIX):
        why = known_system_class_error(name, value, bool(obj.get("globalDefault")))
        if why:
            errs.append(forbidden("metadata.name", f"priority class names with '{SYSTEM_PRIORITY_CLASS_PREFIX}' "
                                                   f"prefix are reserved for system use only. error: {why}"))
    elif isinstance(value, int) and value > HIGHEST_USER_DEFINABLE_PRIORITY:
        errs.append(forbidden("value", f"maximum allowed value of a user defined priority is "
                                       f"{HIGHEST_USER_DEFINABLE_PRIORITY}"))
    if obj.get("preemptionPolicy") is not None:
        errs += validate_preemption_policy(obj["preemptionPolicy"], "preemptionPolicy")
    return errs


def validate_priority_class_update(new: Obj, old: Obj) -> list[FieldError]:
    errs = meta_v1.validate_object_meta_update(new, old)
    if new.get("value", 0) != old.get("value", 0):
        errs.append(forbidden("value", "may not be changed in an update."))
    return errs + immutable(new.get("preemptionPolicy"), old.get("preemptionPolicy"), "preemptionPolicy")


class PriorityClassStrategy(Strategy):
    has_status = False

    def default(self, obj: Obj) -> None:
        obj.setdefault("value", 0)  # a non-pointer int32: absent reads as 0
        if obj.get("preemptionPolicy") is None:
            obj["preemptionPolicy"] = PREEMPT_LOWER_PRIORITY
        if obj.get("globalDefault") is False:
            del obj["globalDefault"]  # omitempty

    def spec_changed(self, new: Obj, old: Obj) -> bool:
        return False  # generation is 1 at creation and never moves, as upstream

    def validate(self, obj: Obj) -> list[FieldError]:
        return validate_priority_class(obj)

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        return validate_priority_class_update(new, old)


register(group=GROUP, version="v1", kind="PriorityClass", plural="priorityclasses", namespaced=False,
         strategy=PriorityClassStrategy(), schema=f"{P}.PriorityClass", short_names=("pc",))
