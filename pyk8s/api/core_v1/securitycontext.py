"""Pod and container security profiles validated as upstream's ValidatePodSpec and pod annotations do.

``seccompProfile`` and ``appArmorProfile`` (pod and container level): the type is one of Localhost,
RuntimeDefault, Unconfined; ``localhostProfile`` is required with Localhost and refused otherwise; a
seccomp ``localhostProfile`` is a relative path without ``..`` (it names a file below the kubelet's
seccomp root), an AppArmor one a profile name without surrounding whitespace.  ``procMount`` is Default
or Unmasked, and Unmasked needs the pod's own user namespace (``hostUsers: false``).  User and group ids
are within 0..2147483647; ``shareProcessNamespace`` and ``hostPID`` exclude each other.

The deprecated annotations: ``seccomp.security.alpha.kubernetes.io/pod`` and
``container.seccomp.security.alpha.kubernetes.io/<name>`` must hold a valid profile (they have had no
effect since v1.27); ``container.apparmor.security.beta.kubernetes.io/<name>`` must name a container of
the pod and hold ``runtime/default``, ``unconfined`` or ``localhost/<profile>``.  On create an AppArmor
annotation becomes the container's field when the container has none (upstream's version skew
handling), and an annotation that disagrees with the field is refused.  A pod created with a seccomp
annotation gets upstream's warning that it does nothing.
"""

from __future__ import annotations

from typing import Any

from pyk8s.machinery.validation import FieldError, forbidden, invalid, not_supported, required, too_long

Obj = dict[str, Any]
PROFILE_TYPES = ["Localhost", "RuntimeDefault", "Unconfined"]
PROC_MOUNT_TYPES = ["Default", "Unmasked"]
SECCOMP_POD_ANNOTATION = "seccomp.security.alpha.kubernetes.io/pod"
SECCOMP_CONTAINER_PREFIX = "container.seccomp.security.alpha.kubernetes.io/"
APPARMOR_PREFIX = "container.apparmor.security.beta.kubernetes.io/"
_APPARMOR_MAX_PROFILE = 4095  # PATH_MAX - 1
_MAX_ID = 2**31 - 1  # user and group ids
_CONTAINER_KEYS = ("containers", "initContainers", "ephemeralContainers")


def _descending_path(value: str, path: str) -> list[FieldError]:
    errs = []
    if value.startswith("/"):
        errs.append(invalid(path, value, "must be a relative path"))
    if ".." in value.split("/"):
        errs.append(invalid(path, value, "must not contain '..'"))
    return errs


def validate_seccomp_profile(profile: Any, path: str) -> list[FieldError]:
    if profile is None:
        return []
    if not isinstance(profile, dict):
        return [invalid(path, profile, "must be an object")]
    kind = profile.get("type") or ""
    if not kind:
        return [required(path + ".type", "type is required when seccompProfile is set")]
    if kind not in PROFILE_TYPES:
        return [not_supported(path + ".type", kind, PROFILE_TYPES)]
    local = profile.get("localhostProfile")
    if kind == "Localhost":
        if local is None:
            return [required(path + ".localhostProfile", "must be set when seccomp type is Localhost")]
        return _descending_path(str(local), path + ".localhostProfile")
    if local is not None:
        # Upstream prints the whole struct (with a pointer address) as the value; the profile name is shown.
        return [invalid(path + ".localhostProfile", local, "can only be set when seccomp type is Localhost")]
    return []


def validate_apparmor_profile(profile: Any, path: str) -> list[FieldError]:
    if profile is None:
        return []
    if not isinstance(profile, dict):
        return [invalid(path, profile, "must be an object")]
    kind = profile.get("type") or ""
    local = profile.get("localhostProfile")
    if kind == "Localhost":
        if local is None:
            return [required(path + ".localhostProfile", "must be set when AppArmor type is Localhost")]
        errs = []
        if str(local).strip() != local:
            errs.append(invalid(path + ".localhostProfile", local, "must not be padded with whitespace"))
        elif not local:
            errs.append(required(path + ".localhostProfile", "must be set when AppArmor type is Localhost"))
        if len(str(local)) > _APPARMOR_MAX_PROFILE:
            errs.append(too_long(path + ".localhostProfile", _APPARMOR_MAX_PROFILE))
        return errs
    if kind in ("RuntimeDefault", "Unconfined"):
        if local is not None:
            return [invalid(path + ".localhostProfile", local, "can only be set when AppArmor type is Localhost")]
        return []
    if not kind:
        return [required(path + ".type", "type is required when appArmorProfile is set")]
    return [not_supported(path + ".type", kind, PROFILE_TYPES)]


def _validate_proc_mount(value: Any, spec: Obj, path: str) -> list[FieldError]:
    if value is None:
        return []
    if value not in PROC_MOUNT_TYPES:
        return [not_supported(path, value, PROC_MOUNT_TYPES)]
    if value == "Unmasked" and spec.get("hostUsers") is not False:
        return [invalid(path, value, "`hostUsers` must be false to use `Unmasked`")]
    return []


def _id_range(value: Any, path: str) -> list[FieldError]:
    if value is None or isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= _MAX_ID:
        return []
    return [invalid(path, value, f"must be between 0 and {_MAX_ID}, inclusive")]


def _validate_pod_ids(spec: Obj, pod_sc: Obj, p: str) -> list[FieldError]:
    errs = _id_range(pod_sc.get("fsGroup"), p + ".fsGroup") + _id_range(pod_sc.get("runAsUser"), p + ".runAsUser")
    errs += _id_range(pod_sc.get("runAsGroup"), p + ".runAsGroup")
    for i, gid in enumerate(pod_sc.get("supplementalGroups") or []):
        errs += _id_range(gid, f"{p}.supplementalGroups[{i}]")
    if spec.get("shareProcessNamespace") and spec.get("hostPID"):
        # Upstream's path: its internal type keeps these pod fields in the security context.
        errs.append(invalid(p + ".shareProcessNamespace", True, "ShareProcessNamespace and HostPID cannot both be "
                                                                "enabled"))
    return errs


def validate_spec(spec: Obj, path: str) -> list[FieldError]:
    """The pod's securityContext (ids, shareProcessNamespace with hostPID, profiles) and each container's
    (ids, procMount, profiles)."""
    pod_sc = spec.get("securityContext") or {}
    p = path + ".securityContext"
    errs = _validate_pod_ids(spec, pod_sc, p)
    errs += validate_seccomp_profile(pod_sc.get("seccompProfile"), p + ".seccompProfile")
    errs += validate_apparmor_profile(pod_sc.get("appArmorProfile"), p + ".appArmorProfile")
    for key in _CONTAINER_KEYS:
        for i, ctr in enumerate(spec.get(key) or []):
            sc = ctr.get("securityContext") if isinstance(ctr, dict) else None
            if not isinstance(sc, dict):
                continue
            cp = f"{path}.{key}[{i}].securityContext"
            errs += _id_range(sc.get("runAsUser"), cp + ".runAsUser") + _id_range(sc.get("runAsGroup"),
                                                                                   cp + ".runAsGroup")
            errs += _validate_proc_mount(sc.get("procMount"), spec, cp + ".procMount")
            errs += validate_seccomp_profile(sc.get("seccompProfile"), cp + ".seccompProfile")
            errs += validate_apparmor_profile(sc.get("appArmorProfile"), cp + ".appArmorProfile")
    return errs


def _containers(spec: Obj) -> list[Obj]:
    return [c for key in _CONTAINER_KEYS for c in spec.get(key) or [] if isinstance(c, dict)]


def _annotation_path(key: str, base: str = "metadata.annotations") -> str:
    return f"{base}[{key}]"


def _seccomp_annotation(value: str, path: str) -> list[FieldError]:
    if value in ("runtime/default", "docker/default", "unconfined"):
        return []
    if value.startswith("localhost/"):
        return _descending_path(value[len("localhost/"):], path)
    return [invalid(path, value, "must be a valid seccomp profile")]


def validate_annotations(meta: Obj, spec: Obj, base: str = "metadata.annotations") -> list[FieldError]:
    """The seccomp and AppArmor annotations of a pod or template (upstream's ValidatePodSpecificAnnotations
    part); ``base`` is the path of the annotations."""
    names = {c.get("name") for c in _containers(spec)}
    errs: list[FieldError] = []
    for key, value in sorted((meta.get("annotations") or {}).items()):
        path = _annotation_path(key, base)
        if key == SECCOMP_POD_ANNOTATION or key.startswith(SECCOMP_CONTAINER_PREFIX):
            errs += _seccomp_annotation(str(value), path)
        elif key.startswith(APPARMOR_PREFIX):
            name = key[len(APPARMOR_PREFIX):]
            if name not in names:
                errs.append(invalid(path, name, "container not found"))
            if value not in ("", "runtime/default", "unconfined") and not str(value).startswith("localhost/"):
                errs.append(invalid(path, value, f'invalid AppArmor profile name: "{value}"'))
    return errs


def annotation_warnings(obj: Obj) -> list[str]:
    """Upstream's warnings for the seccomp annotations, which the kubelet has ignored since v1.27 (the pod one,
    and the first container one found)."""
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    message = 'non-functional in v1.27+; use the "seccompProfile" field instead'
    out = [f"{_annotation_path(SECCOMP_POD_ANNOTATION)}: {message}"] if SECCOMP_POD_ANNOTATION in annotations else []
    container_keys = sorted(k for k in annotations if k.startswith(SECCOMP_CONTAINER_PREFIX))
    if container_keys:
        out.append(f"{_annotation_path(container_keys[0])}: {message}")
    return out


def _annotation_for(profile: Obj) -> str:
    kind = profile.get("type")
    if kind == "RuntimeDefault":
        return "runtime/default"
    if kind == "Unconfined":
        return "unconfined"
    if kind == "Localhost":
        return "localhost/" + str(profile.get("localhostProfile") or "")
    return ""


def _field_for(annotation: str) -> Obj | None:
    if annotation == "runtime/default":
        return {"type": "RuntimeDefault"}
    if annotation == "unconfined":
        return {"type": "Unconfined"}
    if annotation.startswith("localhost/") and annotation[len("localhost/"):].strip():
        return {"type": "Localhost", "localhostProfile": annotation[len("localhost/"):]}
    return None


def validate_apparmor_match_on_create(meta: Obj, spec: Obj, base: str = "metadata.annotations") -> list[FieldError]:
    """An AppArmor annotation that disagrees with the field that applies to its container is refused."""
    annotations = meta.get("annotations") or {}
    pod_profile = (spec.get("securityContext") or {}).get("appArmorProfile")
    errs = []
    for ctr in _containers(spec):
        profile = (ctr.get("securityContext") or {}).get("appArmorProfile") or pod_profile
        key = APPARMOR_PREFIX + str(ctr.get("name"))
        if not isinstance(profile, dict) or key not in annotations:
            continue
        if annotations[key] != _annotation_for(profile):
            errs.append(forbidden(_annotation_path(key, base), "apparmor type in annotation and field must match"))
    return errs


def _seccomp_mismatch(annotation: str, profile: Any, path: str) -> FieldError | None:
    if not isinstance(profile, dict):
        return None
    kind = profile.get("type")
    if kind == "Unconfined" and annotation != "unconfined" or \
            kind == "RuntimeDefault" and annotation not in ("runtime/default", "docker/default") or \
            kind == "Localhost" and not annotation.startswith("localhost/"):
        return forbidden(path + ".type", "seccomp type in annotation and field must match")
    if kind == "Localhost" and annotation[len("localhost/"):] != profile.get("localhostProfile"):
        return forbidden(path + ".localhostProfile", "seccomp profile in annotation and field must match")
    return None


def validate_seccomp_match(meta: Obj, spec: Obj, spec_path: str) -> list[FieldError]:
    """A seccomp annotation and the field beside it (pod's, or the container's own) must say the same."""
    annotations = meta.get("annotations") or {}
    found = []
    if SECCOMP_POD_ANNOTATION in annotations:
        found.append(_seccomp_mismatch(str(annotations[SECCOMP_POD_ANNOTATION]),
                                       (spec.get("securityContext") or {}).get("seccompProfile"),
                                       spec_path + ".securityContext.seccompProfile"))
    for key in _CONTAINER_KEYS:
        for i, ctr in enumerate(spec.get(key) or []):
            value = annotations.get(SECCOMP_CONTAINER_PREFIX + str(ctr.get("name")))
            if value is not None:
                found.append(_seccomp_mismatch(str(value), (ctr.get("securityContext") or {}).get("seccompProfile"),
                                               f"{spec_path}.{key}[{i}].securityContext.seccompProfile"))
    return [e for e in found if e is not None]


def apply_apparmor_version_skew(obj: Obj) -> None:
    """On create: a container with an AppArmor annotation and no field gets the field (unless the pod's field
    already says the same); one with a field (its own or the pod's) and no annotation gets the annotation."""
    meta, spec = obj.setdefault("metadata", {}), obj.get("spec") or {}
    pod_profile = (spec.get("securityContext") or {}).get("appArmorProfile")
    for ctr in _containers(spec):
        key = APPARMOR_PREFIX + str(ctr.get("name"))
        own = (ctr.get("securityContext") or {}).get("appArmorProfile")
        annotations = meta.get("annotations") or {}
        if key not in annotations:
            source = own or pod_profile
            value = _annotation_for(source) if isinstance(source, dict) else ""
            if value:
                meta.setdefault("annotations", {})[key] = value
        elif own is None:
            derived = _field_for(str(annotations[key]))
            if derived is not None and derived != pod_profile:
                ctr.setdefault("securityContext", {})["appArmorProfile"] = derived
