"""PersistentVolumes and PersistentVolumeClaims.

A claim's spec is fixed once created, except that a bound claim may grow its
storage request (volume expansion) and an unbound one may get ``volumeName``
when the binder binds it.
"""

from __future__ import annotations

import copy
import datetime
import json
from typing import Any

from pyk8s.api import meta_v1
from pyk8s.api.core_v1 import quantities
from pyk8s.api.core_v1.common import OBJECT_REFERENCE, P, free_form, ref, register_kind, spec_of
from pyk8s.machinery.quantity import parse as parse_q
from pyk8s.machinery.schema import (
    BOOL,
    STRING,
    STRING_LIST,
    STRING_MAP,
    TIME,
    ArrayOf,
    Field,
    MapOf,
    Quantity,
    Ref,
    define,
)
from pyk8s.machinery.scheme import Strategy
from pyk8s.machinery.validation import FieldError, forbidden, invalid, not_supported, required

Obj = dict[str, Any]
# The class a claim or volume belongs to: the beta annotation, when present, wins over spec.storageClassName.
BETA_STORAGE_CLASS_ANNOTATION = "volume.beta.kubernetes.io/storage-class"
PVC_PROTECTION_FINALIZER = "kubernetes.io/pvc-protection"
PV_PROTECTION_FINALIZER = "kubernetes.io/pv-protection"


def storage_class_name(obj: Obj) -> str:
    """A claim's or volume's StorageClass as upstream's storage helpers read it ("" for none)."""
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    if BETA_STORAGE_CLASS_ANNOTATION in annotations:
        return str(annotations[BETA_STORAGE_CLASS_ANNOTATION] or "")
    return str((obj.get("spec") or {}).get("storageClassName") or "")


def has_storage_class(obj: Obj) -> bool:
    """Whether a claim names a class at all (``""`` counts: it asks for no class)."""
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    return BETA_STORAGE_CLASS_ANNOTATION in annotations or (obj.get("spec") or {}).get("storageClassName") is not None
PVC = P + "PersistentVolumeClaim"

define(P + "TypedLocalObjectReference", "Points at an object of any group in the same namespace.", [
    Field("apiGroup", STRING, "Group of the object; empty for core."),
    Field("kind", STRING, "Kind of the object.", required=True),
    Field("name", STRING, "Name of the object.", required=True),
])
define(P + "TypedObjectReference", "Points at an object of any group, possibly in another namespace.", [
    Field("apiGroup", STRING, "Group of the object; empty for core."),
    Field("kind", STRING, "Kind of the object.", required=True),
    Field("name", STRING, "Name of the object.", required=True),
    Field("namespace", STRING, "Namespace of the object."),
])
define(P + "VolumeResourceRequirements", "Storage a claim asks for.", [
    Field("limits", MapOf(Quantity()), "Maximum amounts."),
    Field("requests", MapOf(Quantity()), "Minimum amounts; storage is required."),
])
define(P + "PersistentVolumeClaimSpec", "What storage a claim wants.", [
    Field("accessModes", STRING_LIST, "ReadWriteOnce, ReadOnlyMany, ReadWriteMany or ReadWriteOncePod.",
          list_type="atomic"),
    Field("selector", Ref(meta_v1.LABEL_SELECTOR), "Labels of acceptable volumes."),
    Field("resources", ref("VolumeResourceRequirements"), "Requested size."),
    Field("volumeName", STRING, "Volume the claim is bound to."),
    Field("storageClassName", STRING, "StorageClass to provision from."),
    Field("volumeMode", STRING, "Filesystem or Block."),
    Field("dataSource", ref("TypedLocalObjectReference"), "Object to pre-populate the volume from."),
    Field("dataSourceRef", ref("TypedObjectReference"), "Populator object, possibly of any kind."),
    Field("volumeAttributesClassName", STRING, "VolumeAttributesClass to use."),
])
define(P + "PersistentVolumeClaimCondition", "One aspect of a claim's state.", [
    Field("type", STRING, "Condition type.", required=True),
    Field("status", STRING, "True, False or Unknown.", required=True),
    Field("lastProbeTime", TIME, "When it was last checked."),
    Field("lastTransitionTime", TIME, "When status last changed."),
    Field("reason", STRING, "Machine-readable reason."),
    Field("message", STRING, "Human-readable details."),
])
free_form("ModifyVolumeStatus", "Progress of a volume attributes change.")
define(P + "PersistentVolumeClaimStatus", "Observed state of a claim.", [
    Field("phase", STRING, "Pending, Bound or Lost."),
    Field("accessModes", STRING_LIST, "Access modes of the bound volume.", list_type="atomic"),
    Field("capacity", MapOf(Quantity()), "Size of the bound volume."),
    Field("conditions", ArrayOf(ref("PersistentVolumeClaimCondition")), "Current conditions.", merge_key="type",
          strategy="merge", list_type="map", list_map_keys=("type",)),
    Field("allocatedResources", MapOf(Quantity()), "Sizes granted for expansion."),
    Field("allocatedResourceStatuses", STRING_MAP, "State of resize per resource.", map_type="granular"),
    Field("currentVolumeAttributesClassName", STRING, "VolumeAttributesClass in effect."),
    Field("modifyVolumeStatus", ref("ModifyVolumeStatus"), "Progress of an attributes change."),
])
define(PVC, "A request for storage, bound to one PersistentVolume.", [
    *meta_v1.type_meta_fields(),
    Field("spec", ref("PersistentVolumeClaimSpec"), "What is wanted."),
    Field("status", ref("PersistentVolumeClaimStatus"), "Observed state."),
], gvk=("", "v1", "PersistentVolumeClaim"))

define(P + "LocalVolumeSource", "A local disk or directory on one node.", [
    Field("path", STRING, "Full path on the node.", required=True),
    Field("fsType", STRING, "Filesystem type, for block devices."),
])
define(P + "SecretReference", "Names a Secret in any namespace.", [
    Field("name", STRING, "Name of the Secret."), Field("namespace", STRING, "Namespace of the Secret."),
])
define(P + "CSIPersistentVolumeSource", "A volume managed by a CSI driver.", [
    Field("driver", STRING, "Name of the driver.", required=True),
    Field("volumeHandle", STRING, "Driver's ID of the volume.", required=True),
    Field("readOnly", BOOL, "Publish read-only."),
    Field("fsType", STRING, "Filesystem type to mount."),
    Field("volumeAttributes", STRING_MAP, "Driver-specific properties."),
    Field("controllerPublishSecretRef", ref("SecretReference"), "Secret for ControllerPublish."),
    Field("nodeStageSecretRef", ref("SecretReference"), "Secret for NodeStage."),
    Field("nodePublishSecretRef", ref("SecretReference"), "Secret for NodePublish."),
    Field("controllerExpandSecretRef", ref("SecretReference"), "Secret for ControllerExpand."),
    Field("nodeExpandSecretRef", ref("SecretReference"), "Secret for NodeExpand."),
])
define(P + "VolumeNodeAffinity", "Nodes a volume can be reached from.", [
    Field("required", ref("NodeSelector"), "Nodes that can use the volume."),
])
_PV_SOURCES = [
    ("hostPath", "HostPathVolumeSource"), ("nfs", "NFSVolumeSource"), ("local", "LocalVolumeSource"),
    ("csi", "CSIPersistentVolumeSource"), ("gcePersistentDisk", "GCEPersistentDiskVolumeSource"),
    ("awsElasticBlockStore", "AWSElasticBlockStoreVolumeSource"), ("iscsi", "ISCSIPersistentVolumeSource"),
    ("glusterfs", "GlusterfsPersistentVolumeSource"), ("rbd", "RBDPersistentVolumeSource"),
    ("flexVolume", "FlexPersistentVolumeSource"), ("cinder", "CinderPersistentVolumeSource"),
    ("cephfs", "CephFSPersistentVolumeSource"), ("fc", "FCVolumeSource"), ("flocker", "FlockerVolumeSource"),
    ("azureFile", "AzureFilePersistentVolumeSource"), ("vsphereVolume", "VsphereVirtualDiskVolumeSource"),
    ("quobyte", "QuobyteVolumeSource"), ("azureDisk", "AzureDiskVolumeSource"),
    ("photonPersistentDisk", "PhotonPersistentDiskVolumeSource"), ("portworxVolume", "PortworxVolumeSource"),
    ("scaleIO", "ScaleIOPersistentVolumeSource"), ("storageos", "StorageOSPersistentVolumeSource"),
]
for _key, _type in _PV_SOURCES:
    if _type.endswith("PersistentVolumeSource") and _type not in ("CSIPersistentVolumeSource",):
        free_form(_type, "A vendor-specific persistent volume source, stored as given.")
PV_SOURCE_KEYS = tuple(k for k, _ in _PV_SOURCES)

define(P + "PersistentVolumeSpec", "A piece of storage and how it may be used.", [
    Field("capacity", MapOf(Quantity()), "Size of the volume (storage)."),
    *[Field(key, ref(name), "Volume source.") for key, name in _PV_SOURCES],
    Field("accessModes", STRING_LIST, "How the volume can be mounted.", list_type="atomic"),
    Field("claimRef", Ref(OBJECT_REFERENCE), "The claim bound to this volume.", map_type="granular"),
    Field("persistentVolumeReclaimPolicy", STRING, "Retain, Delete or Recycle after release."),
    Field("storageClassName", STRING, "StorageClass the volume belongs to."),
    Field("mountOptions", STRING_LIST, "Mount options.", list_type="atomic"),
    Field("volumeMode", STRING, "Filesystem or Block."),
    Field("nodeAffinity", ref("VolumeNodeAffinity"), "Nodes that can reach the volume."),
    Field("volumeAttributesClassName", STRING, "VolumeAttributesClass of the volume."),
])
define(P + "PersistentVolumeStatus", "Observed state of a volume.", [
    Field("phase", STRING, "Pending, Available, Bound, Released or Failed."),
    Field("message", STRING, "Why the volume is in this state."),
    Field("reason", STRING, "Short reason for failures."),
    Field("lastPhaseTransitionTime", TIME, "When the phase last changed."),
])
define(P + "PersistentVolume", "A piece of storage in the cluster, provisioned by an admin or a provisioner.", [
    *meta_v1.type_meta_fields(),
    Field("spec", ref("PersistentVolumeSpec"), "The volume."),
    Field("status", ref("PersistentVolumeStatus"), "Observed state."),
], gvk=("", "v1", "PersistentVolume"))

ACCESS_MODES = ["ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"]
RECLAIM_POLICIES = ["Delete", "Recycle", "Retain"]
VOLUME_MODES = ["Block", "Filesystem"]


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _validate_access_modes(modes: Any, path: str) -> list[FieldError]:
    if not modes:
        return [required(path)]
    errs = [not_supported(path, m, ACCESS_MODES) for m in modes if m not in ACCESS_MODES]
    if "ReadWriteOncePod" in modes and len(modes) > 1:
        errs.append(forbidden(path, "may not use ReadWriteOncePod with other access modes"))
    return errs


def _validate_volume_mode(mode: Any, path: str) -> list[FieldError]:
    return [] if mode in (None, *VOLUME_MODES) else [not_supported(path, mode, VOLUME_MODES)]


# ---------------------------------------------------------------------- PVC


def validate_pvc_spec(spec: Obj, path: str = "spec") -> list[FieldError]:
    errs = _validate_access_modes(spec.get("accessModes"), path + ".accessModes")
    errs += meta_v1.validate_label_selector(spec.get("selector"), path + ".selector")
    storage = ((spec.get("resources") or {}).get("requests") or {}).get("storage")
    if storage is None:
        errs.append(required(path + ".resources[storage]"))
    else:
        try:
            if parse_q(storage).value <= 0:
                errs.append(invalid(path + ".resources[storage]", str(storage), "must be greater than zero"))
        except ValueError as exc:
            errs.append(invalid(path + ".resources[storage]", storage, str(exc)))
    errs += _validate_volume_mode(spec.get("volumeMode"), path + ".volumeMode")
    return errs


def _storage(spec: Obj) -> Any:
    return ((spec.get("resources") or {}).get("requests") or {}).get("storage")


def validate_pvc_update(new: Obj, old: Obj) -> list[FieldError]:
    new_spec, old_spec = copy.deepcopy(new.get("spec") or {}), old.get("spec") or {}
    errs: list[FieldError] = []
    if not old_spec.get("volumeName") and new_spec.get("volumeName"):
        new_spec.pop("volumeName")  # the binder fills it in
        old_cmp = {k: v for k, v in old_spec.items() if k != "volumeName"}
    else:
        old_cmp = old_spec
    bound = (old.get("status") or {}).get("phase") == "Bound"
    new_storage, old_storage = _storage(new_spec), _storage(old_spec)
    if bound and new_storage is not None and old_storage is not None:
        try:
            if parse_q(new_storage).value < parse_q(old_storage).value:
                errs.append(forbidden("spec.resources.requests.storage", "field can not be less than previous value"))
        except ValueError:
            pass
        new_spec.setdefault("resources", {}).setdefault("requests", {})["storage"] = old_storage
    if new_spec != old_cmp:
        diff = "\n".join(f"- {k}: {json.dumps(old_cmp.get(k))}\n+ {k}: {json.dumps(new_spec.get(k))}"
                         for k in sorted(set(new_spec) | set(old_cmp)) if new_spec.get(k) != old_cmp.get(k))
        errs.append(forbidden("spec", "spec is immutable after creation except resources.requests and "
                                      "volumeAttributesClassName for bound claims"
                                      f"\n  core.PersistentVolumeClaimSpec{{\n{diff}\n  }}\n"))
    return errs


class PersistentVolumeClaimStrategy(Strategy):
    return_deleted_object = True
    tracks_generation = False

    def default(self, obj: Obj) -> None:
        spec_of(obj).setdefault("volumeMode", "Filesystem")
        quantities.canonicalize(obj, PVC)

    def prepare_for_create(self, obj: Obj) -> None:
        obj["status"] = {"phase": "Pending"}

    def validate(self, obj: Obj) -> list[FieldError]:
        return meta_v1.validate_object_meta(obj, namespaced=True) + validate_pvc_spec(spec_of(obj))

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        errs = meta_v1.validate_object_meta_update(new, old) + validate_pvc_spec(spec_of(new))
        return errs + validate_pvc_update(new, old)

    def validate_status_update(self, new: Obj, old: Obj) -> list[FieldError]:
        return meta_v1.validate_object_meta_update(new, old)


# ----------------------------------------------------------------------- PV


def validate_pv_spec(spec: Obj, path: str = "spec") -> list[FieldError]:
    errs = _validate_access_modes(spec.get("accessModes"), path + ".accessModes")
    capacity = spec.get("capacity") or {}
    if not capacity:
        errs.append(required(path + ".capacity"))
    if "storage" not in capacity or len(capacity) > 1:
        errs.append(not_supported(path + ".capacity", capacity, ["storage"]))
    policy = spec.get("persistentVolumeReclaimPolicy")
    if policy and policy not in RECLAIM_POLICIES:
        errs.append(not_supported(path + ".persistentVolumeReclaimPolicy", policy, RECLAIM_POLICIES))
    present = [k for k in PV_SOURCE_KEYS if spec.get(k) is not None]
    if not present:
        errs.append(required(path, "must specify a volume type"))
    elif len(present) > 1:
        errs.append(forbidden(f"{path}.{present[1]}", "may not specify more than 1 volume type"))
    elif present[0] in ("hostPath", "local") and not spec[present[0]].get("path"):
        errs.append(required(f"{path}.{present[0]}.path"))
    elif present[0] == "local" and not spec.get("nodeAffinity"):
        errs.append(required(path + ".nodeAffinity", "Local volume requires node affinity"))
    errs += _validate_volume_mode(spec.get("volumeMode"), path + ".volumeMode")
    return errs


class PersistentVolumeStrategy(Strategy):
    return_deleted_object = True
    tracks_generation = False

    def default(self, obj: Obj) -> None:
        spec = spec_of(obj)
        spec.setdefault("persistentVolumeReclaimPolicy", "Retain")
        spec.setdefault("volumeMode", "Filesystem")
        quantities.canonicalize(obj, P + "PersistentVolume")

    def prepare_for_create(self, obj: Obj) -> None:
        obj["status"] = {"phase": "Pending", "lastPhaseTransitionTime": _now()}

    def prepare_for_status_update(self, new: Obj, old: Obj) -> None:
        super().prepare_for_status_update(new, old)
        new_phase = (new.get("status") or {}).get("phase")
        if new_phase and new_phase != (old.get("status") or {}).get("phase"):
            new["status"]["lastPhaseTransitionTime"] = _now()

    def validate(self, obj: Obj) -> list[FieldError]:
        return meta_v1.validate_object_meta(obj, namespaced=False) + validate_pv_spec(spec_of(obj))

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        errs = meta_v1.validate_object_meta_update(new, old) + validate_pv_spec(spec_of(new))
        new_spec, old_spec = spec_of(new), old.get("spec") or {}
        for key in PV_SOURCE_KEYS:
            if new_spec.get(key) != old_spec.get(key):
                errs.append(forbidden("spec.persistentvolumesource", "spec.persistentvolumesource is immutable "
                                                                     "after creation"))
                break
        if new_spec.get("volumeMode") != old_spec.get("volumeMode"):
            errs.append(invalid("spec.volumeMode", new_spec.get("volumeMode"), "field is immutable"))
        return errs

    def validate_status_update(self, new: Obj, old: Obj) -> list[FieldError]:
        return meta_v1.validate_object_meta_update(new, old)


PERSISTENTVOLUMES = register_kind(kind="PersistentVolume", plural="persistentvolumes", namespaced=False,
                                  strategy=PersistentVolumeStrategy(), short_names=("pv",), subresources=("status",))
PERSISTENTVOLUMECLAIMS = register_kind(kind="PersistentVolumeClaim", plural="persistentvolumeclaims",
                                       namespaced=True, strategy=PersistentVolumeClaimStrategy(),
                                       short_names=("pvc",), subresources=("status",))
