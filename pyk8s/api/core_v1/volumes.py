"""Pod volumes: the VolumeSource union, defaults and validation.

The sources pyk8s's kubelet can serve are described field by field; the
cloud- and vendor-specific ones are accepted as free-form objects so that
manifests using them still round-trip.
"""

from __future__ import annotations

from typing import Any

from pyk8s.api import names
from pyk8s.api.core_v1.common import LOCAL_OBJECT_REFERENCE, P, free_form, ref
from pyk8s.machinery.schema import (
    BOOL,
    INT32,
    INT64,
    STRING,
    STRING_MAP,
    ArrayOf,
    Field,
    Quantity,
    Ref,
    define,
)
from pyk8s.machinery.validation import FieldError, duplicate, forbidden, invalid, required

Obj = dict[str, Any]

define(P + "KeyToPath", "Maps one key of a ConfigMap or Secret to a file path in the volume.", [
    Field("key", STRING, "Key to project.", required=True),
    Field("path", STRING, "Relative file path to write the key to.", required=True),
    Field("mode", INT32, "File permission bits for this file."),
])
define(P + "ObjectFieldSelector", "Selects a field of the pod, like metadata.name.", [
    Field("apiVersion", STRING, "Version the field path is written against; v1 by default."),
    Field("fieldPath", STRING, "Path of the field.", required=True),
])
define(P + "ResourceFieldSelector", "Selects a container resource value, like limits.cpu.", [
    Field("containerName", STRING, "Container to read; required for volumes."),
    Field("resource", STRING, "Resource to read.", required=True),
    Field("divisor", Quantity(), "Unit the value is expressed in; 1 by default."),
])
define(P + "HostPathVolumeSource", "A file or directory on the node.", [
    Field("path", STRING, "Path on the host.", required=True),
    Field("type", STRING, "What must exist at the path (e.g. Directory, DirectoryOrCreate, File)."),
])
define(P + "EmptyDirVolumeSource", "A scratch directory that lives as long as the pod.", [
    Field("medium", STRING, "Storage medium: empty for node disk, Memory for tmpfs."),
    Field("sizeLimit", Quantity(), "Upper bound on the space used."),
])
define(P + "ConfigMapVolumeSource", "Files from the keys of a ConfigMap.", [
    Field("name", STRING, "Name of the ConfigMap."),
    Field("items", ArrayOf(ref("KeyToPath")), "Keys to project; all keys when empty.", list_type="atomic"),
    Field("defaultMode", INT32, "Permission bits for created files."),
    Field("optional", BOOL, "Whether the ConfigMap may be missing."),
])
define(P + "SecretVolumeSource", "Files from the keys of a Secret.", [
    Field("secretName", STRING, "Name of the Secret."),
    Field("items", ArrayOf(ref("KeyToPath")), "Keys to project; all keys when empty.", list_type="atomic"),
    Field("defaultMode", INT32, "Permission bits for created files."),
    Field("optional", BOOL, "Whether the Secret may be missing."),
])
define(P + "PersistentVolumeClaimVolumeSource", "Mounts the volume bound to a claim.", [
    Field("claimName", STRING, "Name of the PersistentVolumeClaim.", required=True),
    Field("readOnly", BOOL, "Mount read-only."),
])
define(P + "DownwardAPIVolumeFile", "One file filled from pod metadata or container resources.", [
    Field("path", STRING, "Relative path of the file.", required=True),
    Field("fieldRef", ref("ObjectFieldSelector"), "Pod field to write."),
    Field("resourceFieldRef", ref("ResourceFieldSelector"), "Container resource to write."),
    Field("mode", INT32, "Permission bits for this file."),
])
define(P + "DownwardAPIVolumeSource", "Files exposing information about the pod.", [
    Field("items", ArrayOf(ref("DownwardAPIVolumeFile")), "Files to create.", list_type="atomic"),
    Field("defaultMode", INT32, "Permission bits for created files."),
])
define(P + "DownwardAPIProjection", "Downward API files inside a projected volume.", [
    Field("items", ArrayOf(ref("DownwardAPIVolumeFile")), "Files to create.", list_type="atomic"),
])
define(P + "ConfigMapProjection", "ConfigMap keys inside a projected volume.", [
    Field("name", STRING, "Name of the ConfigMap."),
    Field("items", ArrayOf(ref("KeyToPath")), "Keys to project.", list_type="atomic"),
    Field("optional", BOOL, "Whether the ConfigMap may be missing."),
])
define(P + "SecretProjection", "Secret keys inside a projected volume.", [
    Field("name", STRING, "Name of the Secret."),
    Field("items", ArrayOf(ref("KeyToPath")), "Keys to project.", list_type="atomic"),
    Field("optional", BOOL, "Whether the Secret may be missing."),
])
define(P + "ServiceAccountTokenProjection", "A bound service account token written to a file.", [
    Field("audience", STRING, "Intended audience of the token."),
    Field("expirationSeconds", INT64, "Requested token lifetime."),
    Field("path", STRING, "Relative path of the token file.", required=True),
])
free_form("ClusterTrustBundleProjection", "Certificates from ClusterTrustBundle objects.")
define(P + "VolumeProjection", "One source of a projected volume.", [
    Field("secret", ref("SecretProjection"), "Secret keys."),
    Field("downwardAPI", ref("DownwardAPIProjection"), "Pod information."),
    Field("configMap", ref("ConfigMapProjection"), "ConfigMap keys."),
    Field("serviceAccountToken", ref("ServiceAccountTokenProjection"), "A service account token."),
    Field("clusterTrustBundle", ref("ClusterTrustBundleProjection"), "Trust anchors."),
])
define(P + "ProjectedVolumeSource", "Several sources merged into one directory.", [
    Field("sources", ArrayOf(ref("VolumeProjection")), "The sources.", list_type="atomic"),
    Field("defaultMode", INT32, "Permission bits for created files."),
])
define(P + "NFSVolumeSource", "An NFS export.", [
    Field("server", STRING, "NFS server host name or address.", required=True),
    Field("path", STRING, "Exported path.", required=True),
    Field("readOnly", BOOL, "Mount read-only."),
])
define(P + "CSIVolumeSource", "An inline volume provided by a CSI driver.", [
    Field("driver", STRING, "Name of the CSI driver.", required=True),
    Field("readOnly", BOOL, "Mount read-only."),
    Field("fsType", STRING, "Filesystem type to mount."),
    Field("volumeAttributes", STRING_MAP, "Driver-specific properties."),
    Field("nodePublishSecretRef", Ref(LOCAL_OBJECT_REFERENCE), "Secret passed to the driver's publish calls."),
])
define(P + "EphemeralVolumeSource", "A volume backed by a claim created for, and deleted with, the pod.", [
    Field("volumeClaimTemplate", ref("PersistentVolumeClaimTemplate"), "Template of the claim to create."),
])
define(P + "PersistentVolumeClaimTemplate", "Metadata and spec of a claim created from a pod.", [
    Field("metadata", Ref("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"), "Labels and annotations of the claim."),
    Field("spec", ref("PersistentVolumeClaimSpec"), "Spec of the claim.", required=True),
])
define(P + "ImageVolumeSource", "An OCI image or artifact mounted as a read-only volume.", [
    Field("reference", STRING, "Image reference."),
    Field("pullPolicy", STRING, "Always, Never or IfNotPresent."),
])

#: VolumeSource keys; the vendor ones are stored as given.
_FREE_FORM_SOURCES = {
    "gcePersistentDisk": "GCEPersistentDiskVolumeSource", "awsElasticBlockStore": "AWSElasticBlockStoreVolumeSource",
    "gitRepo": "GitRepoVolumeSource", "iscsi": "ISCSIVolumeSource", "glusterfs": "GlusterfsVolumeSource",
    "rbd": "RBDVolumeSource", "flexVolume": "FlexVolumeSource", "cinder": "CinderVolumeSource",
    "cephfs": "CephFSVolumeSource", "flocker": "FlockerVolumeSource", "fc": "FCVolumeSource",
    "azureFile": "AzureFileVolumeSource", "vsphereVolume": "VsphereVirtualDiskVolumeSource",
    "quobyte": "QuobyteVolumeSource", "azureDisk": "AzureDiskVolumeSource",
    "photonPersistentDisk": "PhotonPersistentDiskVolumeSource", "portworxVolume": "PortworxVolumeSource",
    "scaleIO": "ScaleIOVolumeSource", "storageos": "StorageOSVolumeSource",
}
for _name in _FREE_FORM_SOURCES.values():
    free_form(_name, "A vendor-specific volume source, stored as given.")

_SOURCES = [
    Field("hostPath", ref("HostPathVolumeSource"), "A path on the node."),
    Field("emptyDir", ref("EmptyDirVolumeSource"), "A scratch directory."),
    Field("secret", ref("SecretVolumeSource"), "A Secret's keys as files."),
    Field("nfs", ref("NFSVolumeSource"), "An NFS export."),
    Field("persistentVolumeClaim", ref("PersistentVolumeClaimVolumeSource"), "A claimed persistent volume."),
    Field("downwardAPI", ref("DownwardAPIVolumeSource"), "Pod information as files."),
    Field("configMap", ref("ConfigMapVolumeSource"), "A ConfigMap's keys as files."),
    Field("projected", ref("ProjectedVolumeSource"), "Several sources in one directory."),
    Field("csi", ref("CSIVolumeSource"), "An inline CSI volume."),
    Field("ephemeral", ref("EphemeralVolumeSource"), "A per-pod generic ephemeral volume."),
    Field("image", ref("ImageVolumeSource"), "An OCI image as a volume."),
] + [Field(key, ref(name), "Vendor-specific source.") for key, name in _FREE_FORM_SOURCES.items()]

SOURCE_KEYS = tuple(f.name for f in _SOURCES)

define(P + "Volume", "A named volume that containers of the pod may mount. Exactly one source is set.",
       [Field("name", STRING, "Name of the volume, unique in the pod (DNS label).", required=True), *_SOURCES])
define(P + "VolumeMount", "Where a volume appears inside a container.", [
    Field("name", STRING, "Name of the pod volume.", required=True),
    Field("readOnly", BOOL, "Mount read-only."),
    Field("recursiveReadOnly", STRING, "Whether read-only applies to sub-mounts: Disabled, IfPossible, Enabled."),
    Field("mountPath", STRING, "Path inside the container.", required=True),
    Field("subPath", STRING, "Sub-path of the volume to mount instead of its root."),
    Field("mountPropagation", STRING, "How mounts propagate between host and container."),
    Field("subPathExpr", STRING, "Like subPath, with $(VAR) expansion from the environment."),
])
define(P + "VolumeDevice", "A raw block volume exposed as a device in the container.", [
    Field("name", STRING, "Name of the claim-backed pod volume.", required=True),
    Field("devicePath", STRING, "Device path inside the container.", required=True),
])

DEFAULT_MODE = 0o644


def default_volume(vol: Obj) -> None:
    if not any(vol.get(k) is not None for k in SOURCE_KEYS):
        vol["emptyDir"] = {}
    for key in ("secret", "configMap", "downwardAPI", "projected"):
        src = vol.get(key)
        if isinstance(src, dict):
            src.setdefault("defaultMode", DEFAULT_MODE)
            if key == "projected":
                for source in src.get("sources") or []:
                    tok = source.get("serviceAccountToken") if isinstance(source, dict) else None
                    if isinstance(tok, dict):
                        tok.setdefault("expirationSeconds", 3600)
    host = vol.get("hostPath")
    if isinstance(host, dict):
        host.setdefault("type", "")


def validate_volumes(volumes: Any, path: str) -> tuple[list[FieldError], set[str]]:
    """Errors and the set of volume names (for checking mounts)."""
    errs: list[FieldError] = []
    seen: set[str] = set()
    for i, vol in enumerate(volumes or []):
        p = f"{path}[{i}]"
        present = [k for k in SOURCE_KEYS if vol.get(k) is not None]
        if not present:
            errs.append(required(p, "must specify a volume type"))
        elif len(present) > 1:
            errs.append(forbidden(f"{p}.{present[1]}", "may not specify more than 1 volume type"))
        else:
            errs += _validate_source(present[0], vol[present[0]], f"{p}.{present[0]}")
        name = vol.get("name") or ""
        if not name:
            errs.append(required(p + ".name"))
        else:
            errs += [invalid(p + ".name", name, m) for m in names.is_dns1123_label(name)]
        if name in seen:
            errs.append(duplicate(p + ".name", name))
        seen.add(name)
    return errs, seen


def _validate_source(kind: str, src: Obj, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    if kind == "hostPath" and not src.get("path"):
        errs.append(required(path + ".path"))
    elif kind == "persistentVolumeClaim" and not src.get("claimName"):
        errs.append(required(path + ".claimName"))
    elif kind == "nfs":
        if not src.get("server"):
            errs.append(required(path + ".server"))
        if not src.get("path"):
            errs.append(required(path + ".path"))
    elif kind == "csi" and not src.get("driver"):
        errs.append(required(path + ".driver"))
    elif kind == "secret" and not src.get("secretName"):
        errs.append(required(path + ".secretName"))
    for key in ("defaultMode",):
        mode = src.get(key)
        if mode is not None and not 0 <= mode <= 0o777:
            errs.append(invalid(f"{path}.{key}", mode, "must be a number between 0 and 0777 (octal), both inclusive"))
    return errs


def validate_volume_mounts(mounts: Any, volume_names: set[str], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    seen: set[str] = set()
    for i, mnt in enumerate(mounts or []):
        p = f"{path}[{i}]"
        name = mnt.get("name") or ""
        if not name:
            errs.append(required(p + ".name"))
        if name not in volume_names:
            errs.append(FieldError(("FieldValueNotFound", "Not found"), p + ".name", "", name, True))
        mount_path = mnt.get("mountPath") or ""
        if not mount_path:
            errs.append(required(p + ".mountPath"))
        if mount_path in seen:
            errs.append(invalid(p + ".mountPath", mount_path, "must be unique"))
        seen.add(mount_path)
        sub = mnt.get("subPath") or ""
        if sub and (sub.startswith("/") or ".." in sub.split("/")):
            detail = "must be a relative path" if sub.startswith("/") else "must not contain '..'"
            errs.append(invalid(p + ".subPath", sub, detail))
    return errs


