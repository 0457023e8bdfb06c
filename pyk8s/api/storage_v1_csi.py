"""storage.k8s.io/v1, the CSI kinds: CSIDriver, CSINode, VolumeAttachment (cluster-scoped) and
CSIStorageCapacity (namespaced).

These are the objects CSI drivers and their sidecars (node-driver-registrar, external-attacher,
external-provisioner) read and write; the API server stores and validates them as upstream does.
pyk8s's own volume plugins (hostPath, emptyDir, local-path...) do not go through CSI, so no
controller of ours acts on them: a VolumeAttachment is attached only when a CSI attacher says so.
"""

from __future__ import annotations

from typing import Any

from pyk8s.api import meta_v1, names
from pyk8s.api.kinds import LABEL_SELECTOR, define_kind, immutable, register
from pyk8s.machinery import quantity as qty
from pyk8s.machinery.schema import (
    BOOL,
    INT32,
    INT64,
    STRING,
    STRING_LIST,
    STRING_MAP,
    TIME,
    ArrayOf,
    Field,
    Quantity,
    Ref,
    define,
)
from pyk8s.machinery.scheme import Strategy
from pyk8s.machinery.validation import TOO_LONG, FieldError, duplicate, invalid, not_supported, required, too_long

Obj = dict[str, Any]
P = "io.k8s.api.storage.v1"
GROUP = "storage.k8s.io"
CSI_DRIVER_NAME_MAX = 63
FS_GROUP_POLICIES = ["ReadWriteOnceWithFSType", "File", "None"]
LIFECYCLE_MODES = ["Persistent", "Ephemeral"]

# --- CSIDriver ---------------------------------------------------------------------------------
define(f"{P}.TokenRequest", "A service account token the driver receives for a pod.", [
    Field("audience", STRING, "Intended audience of the token.", required=True, proto=1),
    Field("expirationSeconds", INT64, "Token lifetime.", proto=2),
])
define(f"{P}.CSIDriverSpec", "How Kubernetes talks to the driver.", [
    Field("attachRequired", BOOL, "The driver needs an attach step (a VolumeAttachment).", proto=1),
    Field("podInfoOnMount", BOOL, "Pod details are passed to NodePublishVolume.", proto=2),
    Field("volumeLifecycleModes", STRING_LIST, "Persistent and/or Ephemeral.", list_type="set", proto=3),
    Field("storageCapacity", BOOL, "The driver publishes CSIStorageCapacity objects.", proto=4),
    Field("fsGroupPolicy", STRING, "ReadWriteOnceWithFSType, File or None.", proto=5),
    Field("tokenRequests", ArrayOf(Ref(f"{P}.TokenRequest")), "Tokens passed to NodePublishVolume.",
          list_type="atomic", proto=6),
    Field("requiresRepublish", BOOL, "NodePublishVolume is called periodically.", proto=7),
    Field("seLinuxMount", BOOL, "The driver supports the -o context mount option.", proto=8),
])
define_kind(P, "CSIDriver", (GROUP, "v1"), "A CSI volume driver deployed in the cluster.", [
    Field("spec", Ref(f"{P}.CSIDriverSpec"), "The driver's behaviour.", required=True, proto=2),
])

# --- CSINode -----------------------------------------------------------------------------------
define(f"{P}.VolumeNodeResources", "Limits of a driver on one node.", [
    Field("count", INT32, "Most volumes of this driver the node can hold.", proto=1),
])
define(f"{P}.CSINodeDriver", "One CSI driver installed on the node.", [
    Field("name", STRING, "The driver's name (its CSIDriver).", required=True, proto=1),
    Field("nodeID", STRING, "The node as the driver knows it.", required=True, proto=2),
    Field("topologyKeys", STRING_LIST, "Topology label keys the driver supports.", list_type="atomic", proto=3),
    Field("allocatable", Ref(f"{P}.VolumeNodeResources"), "Volume limits on this node.", proto=4),
])
define(f"{P}.CSINodeSpec", "The CSI drivers installed on a node.", [
    Field("drivers", ArrayOf(Ref(f"{P}.CSINodeDriver")), "The drivers.", required=True, merge_key="name",
          strategy="merge", list_type="map", list_map_keys=("name",), proto=1),
])
define_kind(P, "CSINode", (GROUP, "v1"), "The CSI drivers of one node (named after the node).", [
    Field("spec", Ref(f"{P}.CSINodeSpec"), "The drivers.", required=True, proto=2),
])

# --- VolumeAttachment --------------------------------------------------------------------------
define(f"{P}.VolumeAttachmentSource", "The volume to attach: a PersistentVolume or an inline spec.", [
    Field("persistentVolumeName", STRING, "Name of the PersistentVolume.", proto=1),
    Field("inlineVolumeSpec", Ref("io.k8s.api.core.v1.PersistentVolumeSpec"), "A migrated inline volume.",
          proto=2),
])
define(f"{P}.VolumeAttachmentSpec", "What to attach where.", [
    Field("attacher", STRING, "The CSI driver that attaches.", required=True, proto=1),
    Field("source", Ref(f"{P}.VolumeAttachmentSource"), "The volume.", required=True, proto=2),
    Field("nodeName", STRING, "The node to attach to.", required=True, proto=3),
])
define(f"{P}.VolumeError", "An attach or detach failure.", [
    Field("time", TIME, "When it happened.", proto=1),
    Field("message", STRING, "What happened.", proto=2),
    Field("errorCode", INT32, "The CSI gRPC code.", proto=3),
])
define(f"{P}.VolumeAttachmentStatus", "The attacher's progress.", [
    Field("attached", BOOL, "The volume is attached.", required=True, proto=1),
    Field("attachmentMetadata", STRING_MAP, "What the attacher returned.", proto=2),
    Field("attachError", Ref(f"{P}.VolumeError"), "The last attach failure.", proto=3),
    Field("detachError", Ref(f"{P}.VolumeError"), "The last detach failure.", proto=4),
])
define_kind(P, "VolumeAttachment", (GROUP, "v1"), "A request to attach a volume to a node.", [
    Field("spec", Ref(f"{P}.VolumeAttachmentSpec"), "What to attach where.", required=True, proto=2),
    Field("status", Ref(f"{P}.VolumeAttachmentStatus"), "The attacher's progress.", proto=3),
])

# --- CSIStorageCapacity ------------------------------------------------------------------------
define_kind(P, "CSIStorageCapacity", (GROUP, "v1"), "Free capacity of a storage class in one topology segment.", [
    Field("nodeTopology", Ref(LABEL_SELECTOR), "The nodes that reach this storage.", proto=2),
    Field("storageClassName", STRING, "The StorageClass the capacity is for.", required=True, proto=3),
    Field("capacity", Quantity(), "Free capacity.", proto=4),
    Field("maximumVolumeSize", Quantity(), "Largest volume that could be created.", proto=5),
])


# --- validation --------------------------------------------------------------------------------
def validate_driver_name(name: Any, path: str) -> list[FieldError]:
    """A CSI driver name: at most 63 characters, a DNS-1123 subdomain (upstream's ValidateCSIDriverName)."""
    if not name:
        return [required(path)]
    text = str(name)
    if len(text) > CSI_DRIVER_NAME_MAX:
        return [too_long(path, CSI_DRIVER_NAME_MAX)]
    return [invalid(path, text, m) for m in names.is_dns1123_subdomain(text.lower())]


def _csi_driver_spec(spec: Obj) -> list[FieldError]:
    errs: list[FieldError] = []
    for key in ("attachRequired", "podInfoOnMount", "storageCapacity", "requiresRepublish", "seLinuxMount"):
        if spec.get(key) is None:
            errs.append(required(f"spec.{key}"))
    policy = spec.get("fsGroupPolicy")
    if policy is not None and policy not in FS_GROUP_POLICIES:
        errs.append(not_supported("spec.fsGroupPolicy", policy, FS_GROUP_POLICIES))
    for i, mode in enumerate(spec.get("volumeLifecycleModes") or []):
        if mode not in LIFECYCLE_MODES:
            errs.append(not_supported(f"spec.volumeLifecycleModes[{i}]", mode, LIFECYCLE_MODES))
    audiences: set[str] = set()
    for i, tr in enumerate(spec.get("tokenRequests") or []):
        p = f"spec.tokenRequests[{i}]"
        audience = str(tr.get("audience") or "")
        if audience in audiences:
            errs.append(duplicate(p + ".audience", audience))
        audiences.add(audience)
        seconds = tr.get("expirationSeconds")
        if isinstance(seconds, int):
            if seconds < 600:
                errs.append(invalid(p + ".expirationSeconds", seconds, "may not specify a duration less than 10 "
                                                                        "minutes"))
            elif seconds > 1 << 32:
                errs.append(invalid(p + ".expirationSeconds", seconds, "may not specify a duration larger than "
                                                                        "2^32 seconds"))
    return errs


class CSIDriverStrategy(Strategy):
    has_status = False

    def default(self, obj: Obj) -> None:
        spec = obj.setdefault("spec", {})
        for key, value in (("attachRequired", True), ("podInfoOnMount", False), ("storageCapacity", False),
                           ("requiresRepublish", False), ("seLinuxMount", False),
                           ("fsGroupPolicy", "ReadWriteOnceWithFSType")):
            if spec.get(key) is None:
                spec[key] = value
        if not spec.get("volumeLifecycleModes"):
            spec["volumeLifecycleModes"] = ["Persistent"]

    def validate(self, obj: Obj) -> list[FieldError]:
        errs = meta_v1.validate_object_meta(obj, namespaced=False)
        errs += [e for e in validate_driver_name((obj.get("metadata") or {}).get("name"), "metadata.name")
                 if e.kind == TOO_LONG]
        return errs + _csi_driver_spec(obj.get("spec") or {})

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        errs = meta_v1.validate_object_meta_update(new, old) + _csi_driver_spec(new.get("spec") or {})
        ns, os_ = new.get("spec") or {}, old.get("spec") or {}
        for key in ("attachRequired", "fsGroupPolicy", "volumeLifecycleModes"):
            errs += immutable(ns.get(key), os_.get(key), f"spec.{key}")
        return errs


def _csi_node(obj: Obj) -> list[FieldError]:
    errs: list[FieldError] = []
    seen: set[str] = set()
    for i, driver in enumerate(((obj.get("spec") or {}).get("drivers")) or []):
        p = f"spec.drivers[{i}]"
        errs += validate_driver_name(driver.get("name"), p + ".name")
        if driver.get("name") in seen:
            errs.append(duplicate(p + ".name", driver.get("name")))
        seen.add(str(driver.get("name")))
        node_id = driver.get("nodeID")
        if not node_id:
            errs.append(required(p + ".nodeID", "nodeID of the driver must not be empty"))
        elif len(str(node_id)) > 192:
            errs.append(invalid(p + ".nodeID", node_id, "must be 192 characters or less"))
        count = (driver.get("allocatable") or {}).get("count")
        if isinstance(count, int) and count < 0:
            errs.append(invalid(p + ".allocatable.count", count, "must be greater than or equal to 0"))
    return errs


class CSINodeStrategy(Strategy):
    has_status = False
    tracks_generation = False

    def validate(self, obj: Obj) -> list[FieldError]:
        return meta_v1.validate_object_meta(obj, namespaced=False) + _csi_node(obj)

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        errs = meta_v1.validate_object_meta_update(new, old) + _csi_node(new)
        old_drivers = {d.get("name"): d for d in ((old.get("spec") or {}).get("drivers") or [])}
        for i, driver in enumerate(((new.get("spec") or {}).get("drivers")) or []):
            before = old_drivers.get(driver.get("name"))
            if before is None:
                continue
            for key in ("nodeID", "allocatable"):
                errs += immutable(driver.get(key), before.get(key), f"spec.drivers[{i}].{key}")
        return errs


def _volume_attachment_spec(spec: Obj) -> list[FieldError]:
    errs = validate_driver_name(spec.get("attacher"), "spec.attacher")
    source = spec.get("source") or {}
    given = [k for k in ("persistentVolumeName", "inlineVolumeSpec") if source.get(k)]
    if len(given) != 1:
        errs.append(required("spec.source", "must specify exactly one of inlineVolumeSpec and persistentVolumeName"))
    pv = source.get("persistentVolumeName")
    if pv:
        errs += [invalid("spec.source.persistentVolumeName", pv, m) for m in names.is_dns1123_subdomain(str(pv))]
    node = spec.get("nodeName")
    if not node:
        errs.append(required("spec.nodeName"))
    else:
        errs += [invalid("spec.nodeName", node, m) for m in names.is_dns1123_subdomain(str(node))]
    return errs


def _volume_errors(status: Obj) -> list[FieldError]:
    errs: list[FieldError] = []
    for key in ("attachError", "detachError"):
        message = (status.get(key) or {}).get("message") or ""
        if len(message) > 1024:
            errs.append(too_long(f"status.{key}.message", 1024))
    return errs


class VolumeAttachmentStrategy(Strategy):
    def validate(self, obj: Obj) -> list[FieldError]:
        return meta_v1.validate_object_meta(obj, namespaced=False) + _volume_attachment_spec(obj.get("spec") or {})

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        errs = meta_v1.validate_object_meta_update(new, old)
        if (new.get("spec") or {}) != (old.get("spec") or {}):
            errs.append(invalid("spec", "", "field is immutable"))
        return errs

    def validate_status_update(self, new: Obj, old: Obj) -> list[FieldError]:
        return meta_v1.validate_object_meta_update(new, old) + _volume_errors(new.get("status") or {})


def _quantity_errors(value: Any, path: str) -> list[FieldError]:
    if value is None:
        return []
    try:
        q = qty.parse(value)
    except ValueError as exc:
        return [invalid(path, value, str(exc))]
    return [invalid(path, str(q), "must be greater than or equal to 0")] if q.value < 0 else []


def _storage_capacity(obj: Obj) -> list[FieldError]:
    errs: list[FieldError] = []
    name = obj.get("storageClassName")
    if not name:
        errs.append(required("storageClassName"))
    else:
        errs += [invalid("storageClassName", name, m) for m in names.is_dns1123_subdomain(str(name))]
    errs += meta_v1.validate_label_selector(obj.get("nodeTopology"), "nodeTopology")
    errs += _quantity_errors(obj.get("capacity"), "capacity")
    return errs + _quantity_errors(obj.get("maximumVolumeSize"), "maximumVolumeSize")


class CSIStorageCapacityStrategy(Strategy):
    has_status = False
    tracks_generation = False

    def validate(self, obj: Obj) -> list[FieldError]:
        return meta_v1.validate_object_meta(obj, namespaced=True) + _storage_capacity(obj)

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        errs = meta_v1.validate_object_meta_update(new, old) + _storage_capacity(new)
        errs += immutable(new.get("storageClassName"), old.get("storageClassName"), "storageClassName")
        return errs + immutable(new.get("nodeTopology"), old.get("nodeTopology"), "nodeTopology")


register(group=GROUP, version="v1", kind="CSIDriver", plural="csidrivers", namespaced=False,
         strategy=CSIDriverStrategy(), schema=f"{P}.CSIDriver")
register(group=GROUP, version="v1", kind="CSINode", plural="csinodes", namespaced=False,
         strategy=CSINodeStrategy(), schema=f"{P}.CSINode")
register(group=GROUP, version="v1", kind="CSIStorageCapacity", plural="csistoragecapacities", namespaced=True,
         strategy=CSIStorageCapacityStrategy(), schema=f"{P}.CSIStorageCapacity")
register(group=GROUP, version="v1", kind="VolumeAttachment", plural="volumeattachments", namespaced=False,
         strategy=VolumeAttachmentStrategy(), schema=f"{P}.VolumeAttachment", subresources=("status",))
