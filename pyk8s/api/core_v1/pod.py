"""Pods: PodSpec, PodStatus, PodTemplateSpec, Binding, and the Pod strategy.

Public helpers reused by workload kinds (apps, batch):

* ``default_pod_spec(spec)`` - Kubernetes' PodSpec defaults, in place.
* ``validate_pod_spec(spec, path)`` / ``validate_pod_template_spec(template, path)``.

``prepare_for_create`` applies the DefaultTolerationSeconds admission
(not-ready/unreachable for 300 s).  ``spec.priority`` and
``spec.preemptionPolicy`` are not defaults: the Priority admission
(``apiserver/admission/priority.py``) resolves them from the PriorityClass.
"""

from __future__ import annotations

import copy
import datetime
import json
from typing import Any

from pyk8s.api import meta_v1, names
from pyk8s.api.core_v1 import affinity, container, quantities, securitycontext, sysctls, volumes
from pyk8s.api.core_v1.common import LOCAL_OBJECT_REFERENCE, OBJECT_REFERENCE, P, ref, register_kind, spec_of
from pyk8s.machinery import errors
from pyk8s.machinery.quantity import parse as parse_q
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
    MapOf,
    Quantity,
    Ref,
    define,
)
from pyk8s.machinery.scheme import Strategy
from pyk8s.machinery.validation import FieldError, forbidden, invalid, not_supported, required

Obj = dict[str, Any]
POD_TEMPLATE_SPEC = P + "PodTemplateSpec"

define(P + "Sysctl", "A kernel parameter set for the pod.", [
    Field("name", STRING, "Parameter name.", required=True),
    Field("value", STRING, "Parameter value.", required=True),
])
define(P + "PodSecurityContext", "Security settings applied to every container of the pod.", [
    Field("seLinuxOptions", ref("SELinuxOptions"), "SELinux label for all containers."),
    Field("windowsOptions", ref("WindowsSecurityContextOptions"), "Windows settings."),
    Field("runAsUser", INT64, "UID of container processes."),
    Field("runAsGroup", INT64, "Primary GID of container processes."),
    Field("runAsNonRoot", BOOL, "Refuse to start containers that would run as UID 0."),
    Field("supplementalGroups", ArrayOf(INT64), "Extra GIDs for the first process of each container.",
          list_type="atomic"),
    Field("supplementalGroupsPolicy", STRING, "Merge or Strict handling of groups from the image."),
    Field("fsGroup", INT64, "Group that owns supported volumes."),
    Field("sysctls", ArrayOf(ref("Sysctl")), "Namespaced kernel parameters.", list_type="atomic"),
    Field("fsGroupChangePolicy", STRING, "OnRootMismatch or Always."),
    Field("seccompProfile", ref("SeccompProfile"), "Seccomp filter for all containers."),
    Field("appArmorProfile", ref("AppArmorProfile"), "AppArmor profile for all containers."),
    Field("seLinuxChangePolicy", STRING, "How SELinux labels are applied to volumes."),
])
define(P + "HostAlias", "Extra entries for the pod's /etc/hosts.", [
    Field("ip", STRING, "IP address of the entry.", required=True),
    Field("hostnames", STRING_LIST, "Host names for that address.", list_type="atomic"),
])
define(P + "PodDNSConfigOption", "One resolver option.", [
    Field("name", STRING, "Option name."), Field("value", STRING, "Option value."),
])
define(P + "PodDNSConfig", "DNS settings merged with those the DNS policy produces.", [
    Field("nameservers", STRING_LIST, "Name server addresses.", list_type="atomic"),
    Field("searches", STRING_LIST, "Search domains.", list_type="atomic"),
    Field("options", ArrayOf(ref("PodDNSConfigOption")), "Resolver options.", list_type="atomic"),
])
define(P + "PodReadinessGate", "An extra condition that must be True for the pod to be ready.", [
    Field("conditionType", STRING, "Type of a pod condition.", required=True),
])
define(P + "PodOS", "Operating system the pod needs.", [Field("name", STRING, "linux or windows.", required=True)])
define(P + "PodSchedulingGate", "While present, the pod is not scheduled.", [
    Field("name", STRING, "Name of the gate.", required=True),
])
define(P + "PodResourceClaim", "A dynamic resource claim the pod uses.", [
    Field("name", STRING, "Name within the pod.", required=True),
    Field("resourceClaimName", STRING, "Existing ResourceClaim to use."),
    Field("resourceClaimTemplateName", STRING, "Template to create a claim from."),
])

define(P + "PodSpec", "Desired state of a pod: its containers, volumes and scheduling constraints.", [
    Field("volumes", ArrayOf(ref("Volume")), "Volumes the containers may mount.", merge_key="name",
          strategy="merge,retainKeys", list_type="map", list_map_keys=("name",)),
    Field("initContainers", ArrayOf(ref("Container")), "Containers run in order before the main ones.",
          merge_key="name", strategy="merge", list_type="map", list_map_keys=("name",)),
    Field("containers", ArrayOf(ref("Container")), "The main containers; at least one.", required=True,
          merge_key="name", strategy="merge", list_type="map", list_map_keys=("name",)),
    Field("ephemeralContainers", ArrayOf(ref("EphemeralContainer")), "Debugging containers added later.",
          merge_key="name", strategy="merge", list_type="map", list_map_keys=("name",)),
    Field("restartPolicy", STRING, "Always, OnFailure or Never."),
    Field("terminationGracePeriodSeconds", INT64, "Seconds between SIGTERM and SIGKILL on deletion."),
    Field("activeDeadlineSeconds", INT64, "Seconds after start before the pod is failed."),
    Field("dnsPolicy", STRING, "ClusterFirst, ClusterFirstWithHostNet, Default or None."),
    Field("nodeSelector", STRING_MAP, "Node labels the node must have.", map_type="atomic"),
    Field("serviceAccountName", STRING, "Service account the pod runs as."),
    Field("serviceAccount", STRING, "Deprecated alias of serviceAccountName."),
    Field("automountServiceAccountToken", BOOL, "Whether an API token is mounted automatically."),
    Field("nodeName", STRING, "Node the pod is bound to; set by the scheduler."),
    Field("hostNetwork", BOOL, "Use the node's network namespace."),
    Field("hostPID", BOOL, "Use the node's PID namespace."),
    Field("hostIPC", BOOL, "Use the node's IPC namespace."),
    Field("shareProcessNamespace", BOOL, "One PID namespace for all containers."),
    Field("securityContext", ref("PodSecurityContext"), "Pod-wide security settings."),
    Field("imagePullSecrets", ArrayOf(Ref(LOCAL_OBJECT_REFERENCE)), "Secrets used to pull images.",
          merge_key="name", strategy="merge", list_type="map", list_map_keys=("name",)),
    Field("hostname", STRING, "Host name inside the pod; the pod name by default."),
    Field("subdomain", STRING, "Subdomain giving a FQDN under a headless service."),
    Field("affinity", ref("Affinity"), "Scheduling affinity rules."),
    Field("schedulerName", STRING, "Scheduler responsible for this pod."),
    Field("tolerations", ArrayOf(ref("Toleration")), "Taints the pod tolerates.", list_type="atomic"),
    Field("hostAliases", ArrayOf(ref("HostAlias")), "Extra /etc/hosts entries.", merge_key="ip",
          strategy="merge", list_type="map", list_map_keys=("ip",)),
    Field("priorityClassName", STRING, "PriorityClass giving the pod's priority."),
    Field("priority", INT32, "Resolved priority value."),
    Field("dnsConfig", ref("PodDNSConfig"), "Extra DNS settings."),
    Field("readinessGates", ArrayOf(ref("PodReadinessGate")), "Extra readiness conditions.", list_type="atomic"),
    Field("runtimeClassName", STRING, "RuntimeClass to run the pod with."),
    Field("enableServiceLinks", BOOL, "Inject service environment variables."),
    Field("preemptionPolicy", STRING, "PreemptLowerPriority or Never."),
    Field("overhead", MapOf(Quantity()), "Resources used by the pod sandbox itself."),
    Field("topologySpreadConstraints", ArrayOf(ref("TopologySpreadConstraint")), "Spreading rules.",
          merge_key="topologyKey", strategy="merge", list_type="map",
          list_map_keys=("topologyKey", "whenUnsatisfiable")),
    Field("setHostnameAsFQDN", BOOL, "Use the FQDN as the kernel host name."),
    Field("os", ref("PodOS"), "Operating system the pod needs."),
    Field("hostUsers", BOOL, "Use the host user namespace (default true)."),
    Field("schedulingGates", ArrayOf(ref("PodSchedulingGate")), "Gates blocking scheduling.", merge_key="name",
          strategy="merge", list_type="map", list_map_keys=("name",)),
    Field("resourceClaims", ArrayOf(ref("PodResourceClaim")), "Dynamic resource claims.", merge_key="name",
          strategy="merge,retainKeys", list_type="map", list_map_keys=("name",)),
    Field("resources", ref("ResourceRequirements"), "Pod-level resource budget."),
])

define(P + "ContainerStateWaiting", "A container that is not running yet.", [
    Field("reason", STRING, "Short reason, e.g. ContainerCreating."), Field("message", STRING, "Details."),
])
define(P + "ContainerStateRunning", "A running container.", [Field("startedAt", TIME, "When it last started.")])
define(P + "ContainerStateTerminated", "A container that has exited.", [
    Field("exitCode", INT32, "Exit status.", required=True),
    Field("signal", INT32, "Signal that ended it, if any."),
    Field("reason", STRING, "Short reason, e.g. Completed."),
    Field("message", STRING, "Details."),
    Field("startedAt", TIME, "When it started."),
    Field("finishedAt", TIME, "When it exited."),
    Field("containerID", STRING, "Runtime ID of the container."),
])
define(P + "ContainerState", "Exactly one of waiting, running or terminated.", [
    Field("waiting", ref("ContainerStateWaiting"), "Not started yet."),
    Field("running", ref("ContainerStateRunning"), "Running."),
    Field("terminated", ref("ContainerStateTerminated"), "Exited."),
])
define(P + "VolumeMountStatus", "Observed state of a volume mount.", [
    Field("name", STRING, "Volume name.", required=True), Field("mountPath", STRING, "Mount path.", required=True),
    Field("readOnly", BOOL, "Mounted read-only."), Field("recursiveReadOnly", STRING, "Recursive read-only state."),
])
define(P + "ContainerUser", "Identity of the container's first process.", [
    Field("linux", ref("LinuxContainerUser"), "Linux identity."),
])
define(P + "LinuxContainerUser", "UID, GID and groups of a Linux process.", [
    Field("uid", INT64, "User ID.", required=True), Field("gid", INT64, "Group ID.", required=True),
    Field("supplementalGroups", ArrayOf(INT64), "Extra groups.", list_type="atomic"),
])
define(P + "ResourceHealth", "Health of one allocated device.", [
    Field("resourceID", STRING, "Device ID.", required=True), Field("health", STRING, "Healthy, Unhealthy or Unknown."),
])
define(P + "ResourceStatus", "Health of the devices behind one resource.", [
    Field("name", STRING, "Resource name.", required=True),
    Field("resources", ArrayOf(ref("ResourceHealth")), "Per-device health.", list_type="map",
          list_map_keys=("resourceID",)),
])
define(P + "ContainerStatus", "Observed state of one container.", [
    Field("name", STRING, "Container name.", required=True),
    Field("state", ref("ContainerState"), "Current state."),
    Field("lastState", ref("ContainerState"), "State before the last restart."),
    Field("ready", BOOL, "Whether the readiness probe passes.", required=True),
    Field("restartCount", INT32, "Number of restarts.", required=True),
    Field("image", STRING, "Image the container runs.", required=True),
    Field("imageID", STRING, "Resolved image ID.", required=True),
    Field("containerID", STRING, "Runtime ID as <runtime>://<id>."),
    Field("started", BOOL, "Whether the startup probe has passed."),
    Field("allocatedResources", MapOf(Quantity()), "Resources the node allocated."),
    Field("resources", ref("ResourceRequirements"), "Resources actually applied."),
    Field("volumeMounts", ArrayOf(ref("VolumeMountStatus")), "Mount states.", merge_key="mountPath",
          strategy="merge", list_type="map", list_map_keys=("mountPath",)),
    Field("user", ref("ContainerUser"), "Identity of the first process."),
    Field("allocatedResourcesStatus", ArrayOf(ref("ResourceStatus")), "Health of allocated devices.",
          merge_key="name", strategy="merge", list_type="map", list_map_keys=("name",)),
])
define(P + "PodCondition", "One aspect of the pod's state, like Ready or PodScheduled.", [
    Field("type", STRING, "Condition type.", required=True),
    Field("status", STRING, "True, False or Unknown.", required=True),
    Field("lastProbeTime", TIME, "When it was last checked."),
    Field("lastTransitionTime", TIME, "When status last changed."),
    Field("reason", STRING, "Machine-readable reason."),
    Field("message", STRING, "Human-readable details."),
])
define(P + "PodIP", "One IP address of the pod.", [Field("ip", STRING, "The address.", required=True)])
define(P + "HostIP", "One IP address of the pod's node.", [Field("ip", STRING, "The address.", required=True)])
define(P + "PodResourceClaimStatus", "Name of the ResourceClaim created for a pod claim.", [
    Field("name", STRING, "Pod claim name.", required=True),
    Field("resourceClaimName", STRING, "Created ResourceClaim."),
])
define(P + "PodStatus", "Observed state of a pod, written by the kubelet and scheduler.", [
    Field("phase", STRING, "Pending, Running, Succeeded, Failed or Unknown."),
    Field("conditions", ArrayOf(ref("PodCondition")), "Current conditions.", merge_key="type", strategy="merge",
          list_type="map", list_map_keys=("type",)),
    Field("message", STRING, "Why the pod is in this state."),
    Field("reason", STRING, "Short reason, e.g. Evicted."),
    Field("nominatedNodeName", STRING, "Node chosen by preemption, before binding."),
    Field("hostIP", STRING, "Primary IP of the node."),
    Field("hostIPs", ArrayOf(ref("HostIP")), "IPs of the node.", merge_key="ip", strategy="merge",
          list_type="atomic"),
    Field("podIP", STRING, "Primary IP of the pod."),
    Field("podIPs", ArrayOf(ref("PodIP")), "IPs of the pod.", merge_key="ip", strategy="merge",
          list_type="map", list_map_keys=("ip",)),
    Field("startTime", TIME, "When the kubelet accepted the pod."),
    Field("initContainerStatuses", ArrayOf(ref("ContainerStatus")), "Init container states.", list_type="atomic"),
    Field("containerStatuses", ArrayOf(ref("ContainerStatus")), "Container states.", list_type="atomic"),
    Field("qosClass", STRING, "Guaranteed, Burstable or BestEffort."),
    Field("ephemeralContainerStatuses", ArrayOf(ref("ContainerStatus")), "Ephemeral container states.",
          list_type="atomic"),
    Field("resize", STRING, "State of an in-place resize."),
    Field("resourceClaimStatuses", ArrayOf(ref("PodResourceClaimStatus")), "Created claims.", merge_key="name",
          strategy="merge,retainKeys", list_type="map", list_map_keys=("name",)),
])
define(P + "Pod", "A group of containers scheduled together onto one node.", [
    *meta_v1.type_meta_fields(),
    Field("spec", ref("PodSpec"), "Desired state."),
    Field("status", ref("PodStatus"), "Observed state."),
], gvk=("", "v1", "Pod"))
define(POD_TEMPLATE_SPEC, "Metadata and spec for pods created from a template.", [
    Field("metadata", Ref(meta_v1.OBJECT_META), "Labels and annotations of the pods."),
    Field("spec", ref("PodSpec"), "Spec of the pods."),
])
define(P + "Binding", "Assigns a pod to a node (the body of pods/binding).", [
    *meta_v1.type_meta_fields(),
    Field("target", Ref(OBJECT_REFERENCE), "The node to bind to.", required=True),
], gvk=("", "v1", "Binding"))

# ------------------------------------------------------------------ defaults


def _all_containers(spec: Obj) -> list[tuple[str, Obj]]:
    out: list[tuple[str, Obj]] = []
    for key in ("initContainers", "containers", "ephemeralContainers"):
        out += [(key, c) for c in spec.get(key) or [] if isinstance(c, dict)]
    return out


def default_pod_spec(spec: Obj) -> None:
    """PodSpec defaults as the API server applies them, in place (pods and pod templates)."""
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    # The deprecated serviceAccount field mirrors serviceAccountName.
    if not spec.get("serviceAccountName") and spec.get("serviceAccount"):
        spec["serviceAccountName"] = spec["serviceAccount"]
    if spec.get("serviceAccountName"):
        spec["serviceAccount"] = spec["serviceAccountName"]
    for _, ctr in _all_containers(spec):
        container.default_container(ctr)
    for vol in spec.get("volumes") or []:
        if isinstance(vol, dict):
            volumes.default_volume(vol)
    quantities.canonicalize(spec, P + "PodSpec")


def default_pod_only(spec: Obj) -> None:
    """Defaults Kubernetes applies to Pods but deliberately not to pod templates."""
    spec.setdefault("enableServiceLinks", True)
    for key in ("initContainers", "containers"):
        for ctr in spec.get(key) or []:
            if isinstance(ctr, dict):
                container.default_requests(ctr.get("resources"))
                if spec.get("hostNetwork"):
                    for port in ctr.get("ports") or []:
                        if isinstance(port, dict) and not port.get("hostPort"):
                            port["hostPort"] = port.get("containerPort")


_DEFAULT_TOLERATIONS = ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable")


def add_default_tolerations(spec: Obj, not_ready_seconds: int = 300, unreachable_seconds: int = 300) -> None:
    """DefaultTolerationSeconds admission: tolerate not-ready/unreachable for a while."""
    tolerations = spec.get("tolerations") or []
    for key, seconds in zip(_DEFAULT_TOLERATIONS, (not_ready_seconds, unreachable_seconds), strict=True):
        covered = any(t.get("key") in (key, "", None) and t.get("effect") in ("NoExecute", "", None)
                      for t in tolerations)
        if not covered:
            tolerations.append({"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": seconds})
    spec["tolerations"] = tolerations


def qos_class(spec: Obj) -> str:
    """Guaranteed, Burstable or BestEffort, from cpu/memory requests and limits."""
    requests: dict[str, Any] = {}
    limits: dict[str, Any] = {}
    guaranteed = True
    for key in ("initContainers", "containers"):
        for ctr in spec.get(key) or []:
            res = ctr.get("resources") or {}
            req = {k: parse_q(v).value for k, v in (res.get("requests") or {}).items() if k in container.COMPUTE}
            lim = {k: parse_q(v).value for k, v in (res.get("limits") or {}).items() if k in container.COMPUTE}
            for name, q in req.items():
                if q != 0:
                    requests[name] = requests.get(name, 0) + q
            for name, q in lim.items():
                if q != 0:
                    limits[name] = limits.get(name, 0) + q
            if set(lim) != set(container.COMPUTE) or any(lim[k] == 0 for k in lim):
                guaranteed = False
            elif any(req.get(k, lim[k]) != lim[k] for k in container.COMPUTE):
                guaranteed = False
    if not requests and not limits:
        return "BestEffort"
    return "Guaranteed" if guaranteed and requests == limits else "Burstable"


# ---------------------------------------------------------------- validation

RESTART_POLICIES = ["Always", "OnFailure", "Never"]
DNS_POLICIES = ["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"]


def validate_pod_spec(spec: Obj, path: str) -> list[FieldError]:
    """What ValidatePodSpec checks that pyk8s enforces, in upstream's order."""
    errs, volume_names = volumes.validate_volumes(spec.get("volumes"), path + ".volumes")
    errs += _validate_containers(spec, path, volume_names)
    restart = spec.get("restartPolicy") or ""
    if not restart:
        errs.append(required(path + ".restartPolicy"))
    elif restart not in RESTART_POLICIES:
        errs.append(not_supported(path + ".restartPolicy", restart, RESTART_POLICIES))
    dns = spec.get("dnsPolicy") or ""
    if not dns:
        errs.append(required(path + ".dnsPolicy"))
    elif dns not in DNS_POLICIES:
        errs.append(not_supported(path + ".dnsPolicy", dns, DNS_POLICIES))
    errs += meta_v1.validate_labels(spec.get("nodeSelector"), path + ".nodeSelector")
    for i, secret in enumerate(spec.get("imagePullSecrets") or []):
        if not secret.get("name"):
            errs.append(required(f"{path}.imagePullSecrets[{i}].name"))
    errs += affinity.validate_affinity(spec.get("affinity"), path + ".affinity")
    if dns == "None" and spec.get("dnsConfig") is None:
        errs.append(required(path + ".dnsConfig", "must provide `dnsConfig` when `dnsPolicy` is None"))
    elif dns == "None" and not spec["dnsConfig"].get("nameservers"):
        errs.append(required(path + ".dnsConfig.nameservers", "must provide at least one DNS nameserver when "
                                                              "`dnsPolicy` is None"))
    errs += affinity.validate_topology_spread(spec.get("topologySpreadConstraints"),
                                              path + ".topologySpreadConstraints")
    errs += sysctls.validate_sysctls(spec, path)
    errs += securitycontext.validate_spec(spec, path)
    return errs + _validate_pod_spec_scalars(spec, path)


def _validate_pod_spec_scalars(spec: Obj, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for key in ("serviceAccountName", "nodeName"):
        value = spec.get(key)
        if value:
            errs += [invalid(f"{path}.{key}", value, m) for m in names.is_dns1123_subdomain(value)]
    ads = spec.get("activeDeadlineSeconds")
    if ads is not None and not (isinstance(ads, int) and 1 <= ads <= 2**31 - 1):
        errs.append(invalid(path + ".activeDeadlineSeconds", ads, "must be between 1 and 2147483647, inclusive"))
    for key in ("hostname", "subdomain"):
        value = spec.get(key)
        if value:
            errs += [invalid(f"{path}.{key}", value, m) for m in names.is_dns1123_label(value)]
    errs += affinity.validate_tolerations(spec.get("tolerations"), path + ".tolerations")
    errs += meta_v1.validate_nonnegative(spec.get("terminationGracePeriodSeconds"),
                                         path + ".terminationGracePeriodSeconds")
    policy = spec.get("preemptionPolicy")
    if policy is not None and policy not in ("PreemptLowerPriority", "Never"):
        errs.append(not_supported(path + ".preemptionPolicy", policy, ["Never", "PreemptLowerPriority"]))
    return errs


def _validate_containers(spec: Obj, path: str, volume_names: set[str]) -> list[FieldError]:
    """Regular, then init, then ephemeral containers; names are unique across all of them."""
    errs: list[FieldError] = []
    if not spec.get("containers"):
        errs.append(required(path + ".containers"))
    seen: set[str] = set()
    port_names: set[str] = set()
    for key in ("containers", "initContainers", "ephemeralContainers"):
        for i, ctr in enumerate(spec.get(key) or []):
            p = f"{path}.{key}[{i}]"
            if not isinstance(ctr, dict):
                errs.append(invalid(p, ctr, "must be an object"))
                continue
            errs += container.validate_container(ctr, p, volume_names=volume_names, port_names=port_names,
                                                 seen_names=seen, init=key == "initContainers",
                                                 ephemeral=key == "ephemeralContainers")
    return errs


def validate_pod_template_spec(template: Obj | None, path: str) -> list[FieldError]:
    """A pod template inside a workload: labels, annotations and a valid spec."""
    if not isinstance(template, dict):
        return [required(path)]
    meta = template.get("metadata") or {}
    errs = meta_v1.validate_labels(meta.get("labels"), path + ".metadata.labels")
    errs += meta_v1.validate_annotations(meta.get("annotations"), path + ".metadata.annotations")
    spec = template.get("spec")
    if not isinstance(spec, dict):
        return errs + [required(path + ".spec")]
    errs += securitycontext.validate_annotations(meta, spec, path + ".metadata.annotations")
    errs += validate_pod_spec(spec, path + ".spec") + securitycontext.validate_seccomp_match(meta, spec, path + ".spec")
    errs += securitycontext.validate_apparmor_match_on_create(meta, spec, path + ".metadata.annotations")
    if spec.get("ephemeralContainers"):
        errs.append(forbidden(path + ".spec.ephemeralContainers", "ephemeral containers not allowed in pod template"))
    return errs


UPDATABLE_FIELDS = ("`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,"
                    "`spec.tolerations` (only additions to existing tolerations),"
                    "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)")


def _spec_diff(old: Obj, new: Obj) -> str:
    """A short description of what changed, in the spirit of upstream's cmp.Diff dump."""
    lines = ["  core.PodSpec{"]
    for key in sorted(set(old) | set(new)):
        if old.get(key) != new.get(key):
            lines.append(f"- \t{key}: {json.dumps(old.get(key), sort_keys=True)},")
            lines.append(f"+ \t{key}: {json.dumps(new.get(key), sort_keys=True)},")
    lines.append("  }")
    return "\n".join(lines) + "\n"


def validate_pod_spec_update(new: Obj, old: Obj, path: str = "spec") -> list[FieldError]:
    """Only images, activeDeadlineSeconds, added tolerations and a grace-period fix may change."""
    errs: list[FieldError] = []
    old_ads, new_ads = old.get("activeDeadlineSeconds"), new.get("activeDeadlineSeconds")
    if old_ads is not None:
        if new_ads is None:
            errs.append(invalid(path + ".activeDeadlineSeconds", None, "must not update from a positive integer "
                                                                       "to nil value"))
        elif new_ads > old_ads:
            errs.append(invalid(path + ".activeDeadlineSeconds", new_ads, "must be less than or equal to previous "
                                                                          "value"))
    munged = copy.deepcopy(new)
    for key in ("containers", "initContainers"):
        old_list, new_list = old.get(key) or [], munged.get(key) or []
        if len(old_list) == len(new_list):
            for o, n in zip(old_list, new_list, strict=True):
                if isinstance(n, dict) and isinstance(o, dict) and "image" in o:
                    if n.get("image"):
                        n["image"] = o["image"]
    munged["activeDeadlineSeconds"] = old_ads
    if munged.get("activeDeadlineSeconds") is None:
        munged.pop("activeDeadlineSeconds")
    old_tols = old.get("tolerations") or []
    if all(t in (munged.get("tolerations") or []) for t in old_tols):
        munged["tolerations"] = old.get("tolerations")
        if munged["tolerations"] is None:
            munged.pop("tolerations")
    old_grace = old.get("terminationGracePeriodSeconds")
    if old_grace is not None and old_grace < 0 and new.get("terminationGracePeriodSeconds") == 1:
        munged["terminationGracePeriodSeconds"] = old_grace
    if munged != old:
        errs.append(forbidden(path, f"pod updates may not change fields other than {UPDATABLE_FIELDS}\n"
                                    + _spec_diff(old, munged)))
    return errs


# ------------------------------------------------------------------ strategy


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _pod_ip(obj: Obj) -> str:
    status = obj.get("status") or {}
    ips = status.get("podIPs") or []
    return ips[0].get("ip", "") if ips else status.get("podIP", "")


def _str(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


class PodStrategy(Strategy):
    return_deleted_object = True
    tracks_generation = False
    field_selectors = {
        "spec.nodeName": lambda o: _str((o.get("spec") or {}).get("nodeName")),
        "spec.restartPolicy": lambda o: _str((o.get("spec") or {}).get("restartPolicy")),
        "spec.schedulerName": lambda o: _str((o.get("spec") or {}).get("schedulerName")),
        "spec.serviceAccountName": lambda o: _str((o.get("spec") or {}).get("serviceAccountName")),
        "spec.hostNetwork": lambda o: _str(bool((o.get("spec") or {}).get("hostNetwork"))),
        "status.phase": lambda o: _str((o.get("status") or {}).get("phase")),
        "status.podIP": _pod_ip,
        "status.podIPs": _pod_ip,
        "status.nominatedNodeName": lambda o: _str((o.get("status") or {}).get("nominatedNodeName")),
    }

    def default(self, obj: Obj) -> None:
        spec = spec_of(obj)
        default_pod_spec(spec)
        default_pod_only(spec)
        quantities.canonicalize(obj.get("status"), P + "PodStatus")

    def prepare_for_create(self, obj: Obj) -> None:
        spec = spec_of(obj)
        # What the ServiceAccount admission plugin does first; mounting the
        # token volume stays with admission, which knows the account exists.
        # Mirror pods get no account, as upstream (NodeRestriction refuses one).
        mirror = "kubernetes.io/config.mirror" in ((obj.get("metadata") or {}).get("annotations") or {})
        if not spec.get("serviceAccountName") and not mirror:
            spec["serviceAccountName"] = spec["serviceAccount"] = "default"
        # Upstream 1.32 leaves the UserNamespacesSupport gate off and drops the field of a gated-off
        # feature on create: a pod never gets a user namespace of its own (and procMount Unmasked,
        # which needs one, is refused).
        spec.pop("hostUsers", None)
        try:
            qos = qos_class(spec)
        except ValueError:
            qos = "BestEffort"  # validation reports the malformed quantity
        obj["status"] = {"phase": "Pending", "qosClass": qos}
        securitycontext.apply_apparmor_version_skew(obj)
        if spec.get("schedulingGates"):
            # Upstream records gated pods at creation so `kubectl get` shows SchedulingGated.
            obj["status"]["conditions"] = [{
                "type": "PodScheduled", "status": "False", "lastProbeTime": None,
                "lastTransitionTime": _now(), "reason": "SchedulingGated",
                "message": "Scheduling is blocked due to non-empty scheduling gates",
            }]

    def validate(self, obj: Obj) -> list[FieldError]:
        meta, spec = obj.get("metadata") or {}, spec_of(obj)
        errs = meta_v1.validate_object_meta(obj, namespaced=True) + securitycontext.validate_annotations(meta, spec)
        errs += validate_pod_spec(spec, "spec") + securitycontext.validate_seccomp_match(meta, spec, "spec")
        return errs + securitycontext.validate_apparmor_match_on_create(meta, spec)

    def warnings(self, obj: Obj) -> list[str]:
        # Upstream warns on pod create only (WarningsOnUpdate is empty); a stored pod has a resourceVersion.
        if (obj.get("metadata") or {}).get("resourceVersion"):
            return []
        return securitycontext.annotation_warnings(obj)

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        errs = meta_v1.validate_object_meta_update(new, old)
        errs += securitycontext.validate_annotations(new.get("metadata") or {}, spec_of(new))
        errs += validate_pod_spec(spec_of(new), "spec")
        return errs + validate_pod_spec_update(spec_of(new), old.get("spec") or {})

    def validate_status_update(self, new: Obj, old: Obj) -> list[FieldError]:
        errs = meta_v1.validate_object_meta_update(new, old)
        phase = (new.get("status") or {}).get("phase")
        old_phase = (old.get("status") or {}).get("phase")
        if old_phase in ("Succeeded", "Failed") and phase != old_phase:
            errs.append(forbidden("status.phase", f"cannot transition from terminal phase {old_phase} to {phase}"))
        return errs


def prepare_for_ephemeral_update(new: Obj, old: Obj) -> None:
    """pods/ephemeralcontainers changes only spec.ephemeralContainers; keep the rest of the old pod."""
    containers = (new.get("spec") or {}).get("ephemeralContainers")
    metadata = new.get("metadata")
    new.clear()
    new.update(copy.deepcopy(old))
    if metadata is not None:
        new["metadata"] = metadata
    spec = spec_of(new)
    if containers:
        spec["ephemeralContainers"] = containers
        for ctr in containers:
            if isinstance(ctr, dict):
                container.default_container(ctr)
    else:
        spec.pop("ephemeralContainers", None)


def validate_ephemeral_update(new: Obj, old: Obj) -> list[FieldError]:
    """Ephemeral containers may be added, never removed or changed."""
    errs = meta_v1.validate_object_meta_update(new, old)
    errs += validate_pod_spec(spec_of(new), "spec")
    current = {c.get("name"): c for c in (new.get("spec") or {}).get("ephemeralContainers") or []}
    for previous in (old.get("spec") or {}).get("ephemeralContainers") or []:
        name = previous.get("name")
        if name not in current:
            errs.append(forbidden("spec.ephemeralContainers",
                                  f"existing ephemeral containers {json.dumps(name)} may not be removed\n"))
        elif current[name] != previous:
            errs.append(forbidden("spec.ephemeralContainers",
                                  f"existing ephemeral containers {json.dumps(name)} may not be changed\n"))
    return errs


def bind_pod(pod: Obj, binding: Obj) -> None:
    """Apply a pods/binding body to the stored pod, as upstream's binding REST does.

    Raises a 409 Conflict when the pod is already bound or being deleted.
    """
    name = (pod.get("metadata") or {}).get("name", "")
    spec = spec_of(pod)
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        raise errors.conflict("pods/binding", name, detail=f"pod {name} is being deleted, cannot be assigned to a host")
    if spec.get("nodeName"):
        raise errors.conflict("pods/binding", name,
                              detail=f"pod {name} is already assigned to node {json.dumps(spec['nodeName'])}")
    spec["nodeName"] = (binding.get("target") or {}).get("name", "")
    extra = (binding.get("metadata") or {}).get("annotations") or {}
    if extra:
        meta = pod.setdefault("metadata", {})
        meta["annotations"] = {**(meta.get("annotations") or {}), **extra}
    status = pod.get("status")
    if not isinstance(status, dict):
        status = {}
    conditions = [c for c in status.get("conditions") or [] if c.get("type") != "PodScheduled"]
    conditions.append({"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                       "lastTransitionTime": _now()})
    status["conditions"] = conditions
    pod["status"] = status


class BindingStrategy(Strategy):
    has_status = False
    tracks_generation = False

    def validate(self, obj: Obj) -> list[FieldError]:
        target = obj.get("target") or {}
        errs: list[FieldError] = []
        if not target.get("name"):
            errs.append(required("target.name"))
        if target.get("kind") not in (None, "", "Node"):
            errs.append(not_supported("target.kind", target.get("kind"), ["Node", "<empty>"]))
        return errs


POD_SUBRESOURCES = ("status", "binding", "log", "exec", "attach", "portforward", "eviction", "proxy",
                    "ephemeralcontainers")

PODS = register_kind(kind="Pod", plural="pods", namespaced=True, strategy=PodStrategy(), short_names=("po",),
                     categories=("all",), subresources=POD_SUBRESOURCES)
BINDINGS = register_kind(kind="Binding", plural="bindings", namespaced=True, strategy=BindingStrategy(),
                         verbs=("create",), with_list=False)
