"""Containers: the Container type and everything it holds (ports, env,
resources, security context), their defaults and validation.

Regular, init and ephemeral containers share the checks here; pod.py adds the
pod-wide ones (unique names across all of them, volume references).
"""

from __future__ import annotations

from typing import Any

from pyk8s.api import names
from pyk8s.api.core_v1 import probes, volumes
from pyk8s.api.core_v1.common import P, ref
from pyk8s.machinery import quantity as qty
from pyk8s.machinery.schema import (
    BOOL,
    INT32,
    INT64,
    STRING,
    STRING_LIST,
    ArrayOf,
    Field,
    MapOf,
    Quantity,
    define,
)
from pyk8s.machinery.validation import FieldError, duplicate, invalid, not_supported, required

Obj = dict[str, Any]

define(P + "ContainerPort", "A network port the container listens on.", [
    Field("name", STRING, "IANA service name for the port, unique in the pod."),
    Field("hostPort", INT32, "Port to expose on the node, if any."),
    Field("containerPort", INT32, "Port number inside the pod's network namespace.", required=True),
    Field("protocol", STRING, "TCP, UDP or SCTP; TCP by default."),
    Field("hostIP", STRING, "Node address to bind the host port to."),
])
define(P + "ConfigMapKeySelector", "One key of a ConfigMap.", [
    Field("name", STRING, "Name of the ConfigMap."),
    Field("key", STRING, "The key.", required=True),
    Field("optional", BOOL, "Whether the ConfigMap or key may be missing."),
])
define(P + "SecretKeySelector", "One key of a Secret.", [
    Field("name", STRING, "Name of the Secret."),
    Field("key", STRING, "The key.", required=True),
    Field("optional", BOOL, "Whether the Secret or key may be missing."),
])
define(P + "EnvVarSource", "Where an environment variable's value comes from.", [
    Field("fieldRef", ref("ObjectFieldSelector"), "A field of the pod."),
    Field("resourceFieldRef", ref("ResourceFieldSelector"), "A resource limit or request of a container."),
    Field("configMapKeyRef", ref("ConfigMapKeySelector"), "A ConfigMap key."),
    Field("secretKeyRef", ref("SecretKeySelector"), "A Secret key."),
])
define(P + "EnvVar", "One environment variable of a container.", [
    Field("name", STRING, "Variable name.", required=True),
    Field("value", STRING, "Literal value; $(VAR) references to earlier variables are expanded."),
    Field("valueFrom", ref("EnvVarSource"), "Source of the value, when not literal."),
])
define(P + "ConfigMapEnvSource", "A ConfigMap whose keys become environment variables.", [
    Field("name", STRING, "Name of the ConfigMap."),
    Field("optional", BOOL, "Whether the ConfigMap may be missing."),
])
define(P + "SecretEnvSource", "A Secret whose keys become environment variables.", [
    Field("name", STRING, "Name of the Secret."),
    Field("optional", BOOL, "Whether the Secret may be missing."),
])
define(P + "EnvFromSource", "A set of environment variables taken from a ConfigMap or Secret.", [
    Field("prefix", STRING, "Prepended to every key."),
    Field("configMapRef", ref("ConfigMapEnvSource"), "The ConfigMap."),
    Field("secretRef", ref("SecretEnvSource"), "The Secret."),
])
define(P + "ResourceClaim", "A reference to one entry of the pod's resourceClaims.", [
    Field("name", STRING, "Name of the pod resource claim.", required=True),
    Field("request", STRING, "Single request within the claim."),
])
define(P + "ResourceRequirements", "Compute resources a container requests and may not exceed.", [
    Field("limits", MapOf(Quantity()), "Maximum amounts allowed."),
    Field("requests", MapOf(Quantity()), "Amounts reserved for scheduling; default to limits."),
    Field("claims", ArrayOf(ref("ResourceClaim")), "Dynamic resource claims used by this container.",
          list_type="map", list_map_keys=("name",)),
])
define(P + "ContainerResizePolicy", "How a container reacts when a resource is resized in place.", [
    Field("resourceName", STRING, "Resource the policy applies to.", required=True),
    Field("restartPolicy", STRING, "NotRequired or RestartContainer.", required=True),
])
define(P + "Capabilities", "Linux capabilities to add to or drop from the default set.", [
    Field("add", STRING_LIST, "Capabilities to add.", list_type="atomic"),
    Field("drop", STRING_LIST, "Capabilities to drop.", list_type="atomic"),
])
define(P + "SELinuxOptions", "SELinux label for a container.", [
    Field("user", STRING, "SELinux user."), Field("role", STRING, "SELinux role."),
    Field("type", STRING, "SELinux type."), Field("level", STRING, "SELinux level."),
])
define(P + "WindowsSecurityContextOptions", "Windows-only security settings.", [
    Field("gmsaCredentialSpecName", STRING, "Name of the GMSA credential spec."),
    Field("gmsaCredentialSpec", STRING, "Contents of the GMSA credential spec."),
    Field("runAsUserName", STRING, "User name to run as."),
    Field("hostProcess", BOOL, "Run as a host process."),
])
define(P + "SeccompProfile", "Seccomp filter to apply.", [
    Field("type", STRING, "Localhost, RuntimeDefault or Unconfined.", required=True),
    Field("localhostProfile", STRING, "Profile file on the node, for Localhost."),
])
define(P + "AppArmorProfile", "AppArmor profile to apply.", [
    Field("type", STRING, "Localhost, RuntimeDefault or Unconfined.", required=True),
    Field("localhostProfile", STRING, "Profile loaded on the node, for Localhost."),
])
define(P + "SecurityContext", "Security settings of one container; they override the pod's.", [
    Field("capabilities", ref("Capabilities"), "Capabilities to add or drop."),
    Field("privileged", BOOL, "Run with full access to the host."),
    Field("seLinuxOptions", ref("SELinuxOptions"), "SELinux label."),
    Field("windowsOptions", ref("WindowsSecurityContextOptions"), "Windows settings."),
    Field("runAsUser", INT64, "UID of the container process."),
    Field("runAsGroup", INT64, "Primary GID of the container process."),
    Field("runAsNonRoot", BOOL, "Refuse to start if the process would run as UID 0."),
    Field("readOnlyRootFilesystem", BOOL, "Mount the root filesystem read-only."),
    Field("allowPrivilegeEscalation", BOOL, "Whether a process may gain more privileges than its parent."),
    Field("procMount", STRING, "Default or Unmasked /proc."),
    Field("seccompProfile", ref("SeccompProfile"), "Seccomp filter."),
    Field("appArmorProfile", ref("AppArmorProfile"), "AppArmor profile."),
])

_CONTAINER_FIELDS = [
    Field("name", STRING, "Name of the container, a DNS label unique in the pod.", required=True),
    Field("image", STRING, "Container image reference."),
    Field("command", STRING_LIST, "Entrypoint; replaces the image's ENTRYPOINT.", list_type="atomic"),
    Field("args", STRING_LIST, "Arguments; replace the image's CMD.", list_type="atomic"),
    Field("workingDir", STRING, "Working directory; the image's by default."),
    Field("ports", ArrayOf(ref("ContainerPort")), "Ports the container exposes (informational).",
          merge_key="containerPort", strategy="merge", list_type="map", list_map_keys=("containerPort", "protocol")),
    Field("envFrom", ArrayOf(ref("EnvFromSource")), "Sources of many environment variables.", list_type="atomic"),
    Field("env", ArrayOf(ref("EnvVar")), "Environment variables.", merge_key="name", strategy="merge",
          list_type="map", list_map_keys=("name",)),
    Field("resources", ref("ResourceRequirements"), "Compute resources."),
    Field("resizePolicy", ArrayOf(ref("ContainerResizePolicy")), "In-place resize behaviour per resource.",
          list_type="atomic"),
    Field("restartPolicy", STRING, "Only for init containers: Always makes it a sidecar."),
    Field("volumeMounts", ArrayOf(ref("VolumeMount")), "Pod volumes to mount.", merge_key="mountPath",
          strategy="merge", list_type="map", list_map_keys=("mountPath",)),
    Field("volumeDevices", ArrayOf(ref("VolumeDevice")), "Block devices to expose.", merge_key="devicePath",
          strategy="merge", list_type="map", list_map_keys=("devicePath",)),
    Field("livenessProbe", ref("Probe"), "Restart the container when this fails."),
    Field("readinessProbe", ref("Probe"), "Remove the pod from endpoints when this fails."),
    Field("startupProbe", ref("Probe"), "Other probes wait until this succeeds once."),
    Field("lifecycle", ref("Lifecycle"), "Start and stop hooks."),
    Field("terminationMessagePath", STRING, "File whose contents become the termination message."),
    Field("terminationMessagePolicy", STRING, "File, or FallbackToLogsOnError."),
    Field("imagePullPolicy", STRING, "Always, Never or IfNotPresent."),
    Field("securityContext", ref("SecurityContext"), "Security settings."),
    Field("stdin", BOOL, "Keep a stdin buffer open for attach."),
    Field("stdinOnce", BOOL, "Close stdin after the first attach disconnects."),
    Field("tty", BOOL, "Allocate a terminal."),
]
define(P + "Container", "One container of a pod.", _CONTAINER_FIELDS)
define(P + "EphemeralContainer", "A debugging container added to a running pod.", [
    *_CONTAINER_FIELDS,
    Field("targetContainerName", STRING, "Container whose namespaces to share."),
])

PULL_POLICIES = ["Always", "IfNotPresent", "Never"]
PROTOCOLS = ["SCTP", "TCP", "UDP"]
COMPUTE = ("cpu", "memory")


def image_has_tag(image: str) -> bool:
    """True when the reference names a tag other than latest, or a digest."""
    name, at, _ = image.partition("@")
    last = name.rsplit("/", 1)[-1]
    if at and ":" not in last:
        return True
    if ":" not in last:
        return False
    return last.rsplit(":", 1)[1] != "latest"


def default_container(ctr: Obj) -> None:
    if not ctr.get("imagePullPolicy"):
        ctr["imagePullPolicy"] = "IfNotPresent" if image_has_tag(ctr.get("image") or "") else "Always"
    ctr.setdefault("terminationMessagePath", "/dev/termination-log")
    ctr.setdefault("terminationMessagePolicy", "File")
    ctr.setdefault("resources", {})
    for port in ctr.get("ports") or []:
        if isinstance(port, dict) and not port.get("protocol"):
            port["protocol"] = "TCP"
    for env in ctr.get("env") or []:
        field_ref = (env.get("valueFrom") or {}).get("fieldRef") if isinstance(env, dict) else None
        if isinstance(field_ref, dict):
            field_ref.setdefault("apiVersion", "v1")
    for key in ("livenessProbe", "readinessProbe", "startupProbe"):
        probes.default_probe(ctr.get(key))
    probes.default_lifecycle(ctr.get("lifecycle"))


def default_requests(resources: Any) -> None:
    """Requests default to limits for every resource that has only a limit."""
    if not isinstance(resources, dict) or not resources.get("limits"):
        return
    requests = resources.get("requests") or {}
    for name, value in resources["limits"].items():
        requests.setdefault(name, value)
    resources["requests"] = requests


def validate_resources(res: Any, path: str) -> list[FieldError]:
    if not isinstance(res, dict):
        return []
    errs: list[FieldError] = []
    parsed: dict[str, dict[str, qty.Quantity]] = {"limits": {}, "requests": {}}
    for kind in ("limits", "requests"):
        for name, value in (res.get(kind) or {}).items():
            p = f"{path}.{kind}[{name}]"
            try:
                q = qty.parse(value)
            except ValueError as exc:
                errs.append(invalid(p, value, str(exc)))
                continue
            if q.value < 0:
                errs.append(invalid(p, str(q), "must be greater than or equal to 0"))
            parsed[kind][name] = q
    for name, q in parsed["requests"].items():
        lim = parsed["limits"].get(name)
        if lim is not None and q > lim:
            errs.append(invalid(f"{path}.requests[{name}]", str(q),
                                f"must be less than or equal to {name} limit of {lim}"))
    return errs


def _validate_ports(ports: Any, path: str, port_names: set[str]) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, port in enumerate(ports or []):
        p = f"{path}[{i}]"
        name = port.get("name") or ""
        if name:
            msgs = names.is_valid_port_name(name)
            if msgs:
                errs += [invalid(p + ".name", name, m) for m in msgs]
            elif name in port_names:
                errs.append(duplicate(p + ".name", name))
            port_names.add(name)
        cport = port.get("containerPort")
        if not cport:
            errs.append(required(p + ".containerPort"))
        else:
            errs += [invalid(p + ".containerPort", cport, m) for m in names.is_valid_port_num(cport)]
        if port.get("hostPort"):
            errs += [invalid(p + ".hostPort", port["hostPort"], m) for m in names.is_valid_port_num(port["hostPort"])]
        proto = port.get("protocol") or ""
        if not proto:
            errs.append(required(p + ".protocol"))
        elif proto not in PROTOCOLS:
            errs.append(not_supported(p + ".protocol", proto, PROTOCOLS))
    return errs


def _validate_env(env: Any, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, var in enumerate(env or []):
        p = f"{path}[{i}]"
        name = var.get("name") or ""
        if not name:
            errs.append(required(p + ".name"))
        else:
            errs += [invalid(p + ".name", name, m) for m in names.is_relaxed_env_var_name(name)]
        source = var.get("valueFrom")
        if source is not None:
            if var.get("value"):
                errs.append(invalid(p + ".valueFrom", "", "may not be specified when `value` is not empty"))
            set_keys = [k for k in ("fieldRef", "resourceFieldRef", "configMapKeyRef", "secretKeyRef")
                        if source.get(k) is not None]
            if not set_keys:
                errs.append(invalid(p + ".valueFrom", "", "must specify one of: `fieldRef`, `resourceFieldRef`, "
                                                          "`configMapKeyRef` or `secretKeyRef`"))
            elif len(set_keys) > 1:
                errs.append(invalid(p + ".valueFrom", "", "may not have more than one field specified at a time"))
            for key in ("configMapKeyRef", "secretKeyRef"):
                sel = source.get(key)
                if isinstance(sel, dict) and not sel.get("key"):
                    errs.append(required(f"{p}.valueFrom.{key}.key"))
            fref = source.get("fieldRef")
            if isinstance(fref, dict) and not fref.get("fieldPath"):
                errs.append(required(f"{p}.valueFrom.fieldRef.fieldPath"))
    return errs


def validate_container(ctr: Obj, path: str, *, volume_names: set[str], port_names: set[str],
                       seen_names: set[str], init: bool = False, ephemeral: bool = False) -> list[FieldError]:
    """Checks for one container, in upstream's order; ``seen_names`` tracks uniqueness across the pod."""
    errs = _validate_common(ctr, path, volume_names=volume_names, port_names=port_names)
    name = ctr.get("name") or ""
    if name and name in seen_names:
        errs.append(duplicate(path + ".name", name))
    seen_names.add(name)
    errs += _validate_container_probes(ctr, path, init=init, ephemeral=ephemeral)
    restart = ctr.get("restartPolicy")
    if restart is not None and not init:
        errs.append(FieldError(("FieldValueForbidden", "Forbidden"), path + ".restartPolicy",
                               "may not be set for non-init containers"))
    elif restart is not None and restart != "Always":
        errs.append(not_supported(path + ".restartPolicy", restart, ["Always"]))
    return errs


def _validate_common(ctr: Obj, path: str, *, volume_names: set[str], port_names: set[str]) -> list[FieldError]:
    errs: list[FieldError] = []
    name = ctr.get("name") or ""
    if not name:
        errs.append(required(path + ".name"))
    else:
        errs += [invalid(path + ".name", name, m) for m in names.is_dns1123_label(name)]
    image = ctr.get("image") or ""
    if not image:
        errs.append(required(path + ".image"))
    elif image != image.strip():
        errs.append(invalid(path + ".image", image, "must not have leading or trailing whitespace"))
    errs += probes.validate_lifecycle(ctr.get("lifecycle"), path + ".lifecycle")
    tmp = ctr.get("terminationMessagePolicy") or ""
    if not tmp:
        errs.append(required(path + ".terminationMessagePolicy"))
    elif tmp not in ("File", "FallbackToLogsOnError"):
        errs.append(not_supported(path + ".terminationMessagePolicy", tmp, ["File", "FallbackToLogsOnError"]))
    errs += _validate_ports(ctr.get("ports"), path + ".ports", port_names)
    errs += _validate_env(ctr.get("env"), path + ".env")
    errs += volumes.validate_volume_mounts(ctr.get("volumeMounts"), volume_names, path + ".volumeMounts")
    policy = ctr.get("imagePullPolicy") or ""
    if not policy:
        errs.append(required(path + ".imagePullPolicy"))
    elif policy not in PULL_POLICIES:
        errs.append(not_supported(path + ".imagePullPolicy", policy, PULL_POLICIES))
    return errs + validate_resources(ctr.get("resources"), path + ".resources")


def _validate_container_probes(ctr: Obj, path: str, *, init: bool, ephemeral: bool) -> list[FieldError]:
    errs: list[FieldError] = []
    sidecar = init and ctr.get("restartPolicy") == "Always"
    for key in ("livenessProbe", "readinessProbe", "startupProbe"):
        probe = ctr.get(key)
        if probe is None:
            continue
        if ephemeral or (init and not sidecar):
            what = "ephemeral" if ephemeral else "init"
            errs.append(FieldError(("FieldValueForbidden", "Forbidden"), f"{path}.{key}",
                                   f"may not be set for {what} containers"))
            continue
        errs += probes.validate_probe(probe, f"{path}.{key}")
        if key != "readinessProbe" and isinstance(probe, dict) and probe.get("successThreshold", 1) != 1:
            errs.append(invalid(f"{path}.{key}.successThreshold", probe.get("successThreshold"), "must be 1"))
    return errs
