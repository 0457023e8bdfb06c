"""storage.k8s.io/v1: StorageClass (cluster-scoped; ``kubectl get sc``).

Everything that decides how volumes are provisioned is fixed at creation:
parameters, provisioner, reclaimPolicy and volumeBindingMode cannot change.
"""

from __future__ import annotations

from typing import Any

from pyk8s.api import meta_v1, names
from pyk8s.api.kinds import define_kind, immutable, register
from pyk8s.machinery.schema import BOOL, STRING, STRING_LIST, STRING_MAP, ArrayOf, Field, Ref
from pyk8s.machinery.scheme import Strategy
from pyk8s.machinery.validation import FieldError, forbidden, invalid, not_supported, required

Obj = dict[str, Any]
P = "io.k8s.api.storage.v1"
MAX_PARAMETERS_SIZE = 256 * 1024
DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
BETA_DEFAULT_CLASS_ANNOTATION = "storageclass.beta.kubernetes.io/is-default-class"
# The class every cluster starts with, as k3s ships it: node-local directories, provisioned on first use.
LOCAL_PATH_CLASS = "local-path"
LOCAL_PATH_PROVISIONER = "rancher.io/local-path"


def is_default_class(sc: Obj) -> bool:
    annotations = (sc.get("metadata") or {}).get("annotations") or {}
    return "true" in (annotations.get(DEFAULT_CLASS_ANNOTATION), annotations.get(BETA_DEFAULT_CLASS_ANNOTATION))


def local_path_class() -> Obj:
    """The default StorageClass ``local-path`` (WaitForFirstConsumer, reclaim Delete)."""
    return {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
            "metadata": {"name": LOCAL_PATH_CLASS, "annotations": {DEFAULT_CLASS_ANNOTATION: "true"}},
            "provisioner": LOCAL_PATH_PROVISIONER, "reclaimPolicy": "Delete",
            "volumeBindingMode": "WaitForFirstConsumer"}

define_kind(P, "StorageClass", ("storage.k8s.io", "v1"), "A class of storage and how to provision it.", [
    Field("provisioner", STRING, "Volume plugin that provisions volumes of this class.", required=True, proto=2),
    Field("parameters", STRING_MAP, "Provisioner settings.", proto=3),
    Field("reclaimPolicy", STRING, "Delete or Retain volumes released by their claims (default Delete).", proto=4),
    Field("mountOptions", STRING_LIST, "Mount options for the volumes.", list_type="atomic", proto=5),
    Field("allowVolumeExpansion", BOOL, "Claims of this class may grow.", proto=6),
    Field("volumeBindingMode", STRING, "Immediate or WaitForFirstConsumer.", proto=7),
    Field("allowedTopologies", ArrayOf(Ref("io.k8s.api.core.v1.TopologySelectorTerm")),
          "Where volumes may be provisioned.", list_type="atomic", proto=8),
])


def _qualified_name_errors(value: str, path: str) -> list[FieldError]:
    return [invalid(path, value, m) for m in names.is_qualified_name(value.lower())]


def validate_storage_class(obj: Obj) -> list[FieldError]:
    errs = meta_v1.validate_object_meta(obj, namespaced=False)
    provisioner = obj.get("provisioner") or ""
    if not provisioner:
        errs.append(required("provisioner"))
    else:
        errs += _qualified_name_errors(provisioner, "provisioner")
    params = obj.get("parameters") or {}
    size = sum(len(k) + len(str(v)) for k, v in params.items())
    if size > MAX_PARAMETERS_SIZE:
        errs.append(FieldError(("FieldValueTooLong", "Too long"), "parameters",
                               f"may not be more than {MAX_PARAMETERS_SIZE} bytes"))
    for key in params:
        if not key:
            errs.append(invalid("parameters", key, "field can not be empty."))
    policy = obj.get("reclaimPolicy")
    if policy is not None and policy not in ("Delete", "Retain"):
        errs.append(not_supported("reclaimPolicy", policy, ["Delete", "Retain"]))
    mode = obj.get("volumeBindingMode")
    if mode is None:
        errs.append(required("volumeBindingMode"))
    elif mode not in ("Immediate", "WaitForFirstConsumer"):
        errs.append(not_supported("volumeBindingMode", mode, ["Immediate", "WaitForFirstConsumer"]))
    return errs


class StorageClassStrategy(Strategy):
    return_deleted_object = True
    has_status = False
    tracks_generation = False

    def default(self, obj: Obj) -> None:
        if not obj.get("reclaimPolicy"):
            obj["reclaimPolicy"] = "Delete"
        if not obj.get("volumeBindingMode"):
            obj["volumeBindingMode"] = "Immediate"

    def validate(self, obj: Obj) -> list[FieldError]:
        return validate_storage_class(obj)

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        errs = meta_v1.validate_object_meta_update(new, old)
        errs += [e for e in validate_storage_class(new) if not e.field.startswith("metadata.")]
        if (new.get("parameters") or {}) != (old.get("parameters") or {}):
            errs.append(forbidden("parameters", "updates to parameters are forbidden."))
        if new.get("provisioner") != old.get("provisioner"):
            errs.append(forbidden("provisioner", "updates to provisioner are forbidden."))
        if new.get("reclaimPolicy") != old.get("reclaimPolicy"):
            errs.append(forbidden("reclaimPolicy", "updates to reclaimPolicy are forbidden."))
        return errs + immutable(new.get("volumeBindingMode"), old.get("volumeBindingMode"), "volumeBindingMode")


register(group="storage.k8s.io", version="v1", kind="StorageClass", plural="storageclasses", namespaced=False,
         strategy=StorageClassStrategy(), schema=f"{P}.StorageClass", short_names=("sc",))
