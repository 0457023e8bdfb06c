"""Namespaces: schema, defaults, validation and strategy.

Termination (deleting contents, then clearing spec.finalizers through the
``finalize`` subresource) belongs to the namespace store and controller; here
a new namespace gets the ``kubernetes`` finalizer, phase Active and the
``kubernetes.io/metadata.name`` label, and spec.finalizers changes only via
``finalize``.
"""

from __future__ import annotations

from typing import Any

from pyk8s.api import meta_v1, names
from pyk8s.api.core_v1.common import P, ref, register_kind
from pyk8s.machinery.schema import STRING, STRING_LIST, TIME, ArrayOf, Field, define
from pyk8s.machinery.scheme import Strategy
from pyk8s.machinery.validation import FieldError, invalid

Obj = dict[str, Any]
NAME_LABEL = "kubernetes.io/metadata.name"

define(P + "NamespaceSpec", "Settings of a namespace.", [
    Field("finalizers", STRING_LIST, "What must finish before the namespace is removed.", list_type="atomic"),
])
define(P + "NamespaceCondition", "One aspect of a namespace's state during termination.", [
    Field("type", STRING, "Condition type.", required=True),
    Field("status", STRING, "True, False or Unknown.", required=True),
    Field("lastTransitionTime", TIME, "When status last changed."),
    Field("reason", STRING, "Machine-readable reason."),
    Field("message", STRING, "Human-readable details."),
])
define(P + "NamespaceStatus", "Observed state of a namespace.", [
    Field("phase", STRING, "Active or Terminating."),
    Field("conditions", ArrayOf(ref("NamespaceCondition")), "Current conditions.", merge_key="type",
          strategy="merge", list_type="map", list_map_keys=("type",)),
])
define(P + "Namespace", "A scope for names; most objects live in one.", [
    *meta_v1.type_meta_fields(),
    Field("spec", ref("NamespaceSpec"), "Settings."),
    Field("status", ref("NamespaceStatus"), "Observed state."),
], gvk=("", "v1", "Namespace"))


def _validate_finalizers(obj: Obj) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, name in enumerate((obj.get("spec") or {}).get("finalizers") or []):
        if "/" not in name and name != "kubernetes":
            errs.append(invalid(f"spec.finalizers[{i}]", name, "name is neither a standard finalizer name nor is it "
                                                               "fully qualified"))
        else:
            errs += [invalid(f"spec.finalizers[{i}]", name, m) for m in names.is_qualified_name(name)]
    return errs


class NamespaceStrategy(Strategy):
    return_deleted_object = True
    tracks_generation = False
    field_selectors = {
        "status.phase": lambda o: (o.get("status") or {}).get("phase", ""),
        "name": lambda o: (o.get("metadata") or {}).get("name", ""),  # legacy alias upstream still serves
    }

    def default(self, obj: Obj) -> None:
        meta = obj.setdefault("metadata", {})
        if meta.get("name"):
            labels = meta.get("labels") or {}
            labels[NAME_LABEL] = meta["name"]
            meta["labels"] = labels
        status = obj.get("status")
        if not isinstance(status, dict):
            status = obj["status"] = {}
        status.setdefault("phase", "Active")

    def prepare_for_create(self, obj: Obj) -> None:
        obj["status"] = {"phase": "Active"}
        spec = obj.get("spec")
        if not isinstance(spec, dict):
            spec = {}
        finalizers = list(spec.get("finalizers") or [])
        if "kubernetes" not in finalizers:
            finalizers.append("kubernetes")
        spec["finalizers"] = finalizers
        obj["spec"] = spec

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        super().prepare_for_update(new, old)
        new["spec"] = dict(new.get("spec") or {})
        old_fin = (old.get("spec") or {}).get("finalizers")
        if old_fin is None:
            new["spec"].pop("finalizers", None)
        else:
            new["spec"]["finalizers"] = list(old_fin)

    def validate(self, obj: Obj) -> list[FieldError]:
        errs = meta_v1.validate_object_meta(obj, namespaced=False, name_fn=names.is_dns1123_label)
        return errs + _validate_finalizers(obj)

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        return meta_v1.validate_object_meta_update(new, old) + _validate_finalizers(new)

    def validate_status_update(self, new: Obj, old: Obj) -> list[FieldError]:
        return meta_v1.validate_object_meta_update(new, old)

    def validate_finalize_update(self, new: Obj, old: Obj) -> list[FieldError]:
        """For the finalize subresource: only spec.finalizers may change."""
        return meta_v1.validate_object_meta_update(new, old) + _validate_finalizers(new)


NAMESPACES = register_kind(kind="Namespace", plural="namespaces", namespaced=False, strategy=NamespaceStrategy(),
                           short_names=("ns",), subresources=("status", "finalize"),
                           # Upstream serves no deletecollection for namespaces.
                           verbs=("create", "delete", "get", "list", "patch", "update", "watch"))
