"""Nodes: schemas, validation and strategy.

Unlike most kinds, a Node may be created together with its status (the
kubelet registers itself with capacity and addresses in one request), so
``prepare_for_create`` keeps status; updates of the main resource keep the
old status as usual.
"""

from __future__ import annotations

from typing import Any

from pyk8s.api import meta_v1, names
from pyk8s.api.core_v1 import quantities
from pyk8s.api.core_v1.common import P, free_form, ref, register_kind, spec_of
from pyk8s.machinery.quantity import parse as parse_q
from pyk8s.machinery.schema import (
    BOOL,
    INT32,
    INT64,
    STRING,
    STRING_LIST,
    TIME,
    ArrayOf,
    Field,
    MapOf,
    Quantity,
    define,
)
from pyk8s.machinery.scheme import Strategy
from pyk8s.machinery.validation import FieldError, forbidden, invalid, not_supported, required

Obj = dict[str, Any]

define(P + "Taint", "Repels pods that do not tolerate it.", [
    Field("key", STRING, "Taint key.", required=True),
    Field("value", STRING, "Taint value."),
    Field("effect", STRING, "NoSchedule, PreferNoSchedule or NoExecute.", required=True),
    Field("timeAdded", TIME, "When a NoExecute taint was added."),
])
free_form("NodeConfigSource", "Deprecated dynamic kubelet configuration source.")
free_form("NodeConfigStatus", "Deprecated dynamic kubelet configuration status.")
define(P + "NodeSpec", "Desired settings of a node.", [
    Field("podCIDR", STRING, "Pod IP range assigned to the node."),
    Field("podCIDRs", STRING_LIST, "Pod IP ranges, one per IP family.", strategy="merge", list_type="set"),
    Field("providerID", STRING, "Cloud provider's ID for the node."),
    Field("unschedulable", BOOL, "Keep new pods off the node (cordon)."),
    Field("taints", ArrayOf(ref("Taint")), "Taints on the node.", list_type="atomic"),
    Field("configSource", ref("NodeConfigSource"), "Deprecated."),
    Field("externalID", STRING, "Deprecated."),
])
define(P + "NodeCondition", "One aspect of a node's health, like Ready or MemoryPressure.", [
    Field("type", STRING, "Condition type.", required=True),
    Field("status", STRING, "True, False or Unknown.", required=True),
    Field("lastHeartbeatTime", TIME, "When the kubelet last reported it."),
    Field("lastTransitionTime", TIME, "When status last changed."),
    Field("reason", STRING, "Machine-readable reason."),
    Field("message", STRING, "Human-readable details."),
])
define(P + "NodeAddress", "An address of the node.", [
    Field("type", STRING, "Hostname, InternalIP, ExternalIP, InternalDNS or ExternalDNS.", required=True),
    Field("address", STRING, "The address.", required=True),
])
define(P + "DaemonEndpoint", "A port a node daemon listens on.", [
    Field("Port", INT32, "Port number.", required=True),
])
define(P + "NodeDaemonEndpoints", "Ports of daemons on the node.", [
    Field("kubeletEndpoint", ref("DaemonEndpoint"), "The kubelet's port."),
])
define(P + "NodeSystemInfo", "Software and hardware identity of the node.", [
    Field("machineID", STRING, "Machine ID.", required=True),
    Field("systemUUID", STRING, "System UUID.", required=True),
    Field("bootID", STRING, "Boot ID.", required=True),
    Field("kernelVersion", STRING, "Kernel version.", required=True),
    Field("osImage", STRING, "Operating system name.", required=True),
    Field("containerRuntimeVersion", STRING, "Runtime name and version.", required=True),
    Field("kubeletVersion", STRING, "Kubelet version.", required=True),
    Field("kubeProxyVersion", STRING, "Deprecated kube-proxy version.", required=True),
    Field("operatingSystem", STRING, "Operating system.", required=True),
    Field("architecture", STRING, "CPU architecture.", required=True),
])
define(P + "ContainerImage", "An image present on the node.", [
    Field("names", STRING_LIST, "Names of the image.", list_type="atomic"),
    Field("sizeBytes", INT64, "Size in bytes."),
])
define(P + "AttachedVolume", "A volume attached to the node.", [
    Field("name", STRING, "Volume name.", required=True),
    Field("devicePath", STRING, "Where it is attached.", required=True),
])
define(P + "NodeRuntimeHandlerFeatures", "Features a runtime handler supports.", [
    Field("recursiveReadOnlyMounts", BOOL, "Recursive read-only mounts."),
    Field("userNamespaces", BOOL, "User namespaces."),
])
define(P + "NodeRuntimeHandler", "A runtime handler available on the node.", [
    Field("name", STRING, "Handler name; empty for the default."),
    Field("features", ref("NodeRuntimeHandlerFeatures"), "Supported features."),
])
define(P + "NodeFeatures", "Features the node supports.", [
    Field("supplementalGroupsPolicy", BOOL, "Whether supplementalGroupsPolicy is honoured."),
])
define(P + "NodeStatus", "Observed state of a node, reported by its kubelet.", [
    Field("capacity", MapOf(Quantity()), "Total resources of the node."),
    Field("allocatable", MapOf(Quantity()), "Resources available to pods."),
    Field("phase", STRING, "Deprecated."),
    Field("conditions", ArrayOf(ref("NodeCondition")), "Current conditions.", merge_key="type", strategy="merge",
          list_type="map", list_map_keys=("type",)),
    Field("addresses", ArrayOf(ref("NodeAddress")), "Addresses of the node.", merge_key="type", strategy="merge",
          list_type="map", list_map_keys=("type",)),
    Field("daemonEndpoints", ref("NodeDaemonEndpoints"), "Daemon ports."),
    Field("nodeInfo", ref("NodeSystemInfo"), "System information."),
    Field("images", ArrayOf(ref("ContainerImage")), "Images on the node.", list_type="atomic"),
    Field("volumesInUse", STRING_LIST, "Volumes in use.", list_type="atomic"),
    Field("volumesAttached", ArrayOf(ref("AttachedVolume")), "Attached volumes.", list_type="atomic"),
    Field("config", ref("NodeConfigStatus"), "Deprecated."),
    Field("runtimeHandlers", ArrayOf(ref("NodeRuntimeHandler")), "Runtime handlers.", list_type="atomic"),
    Field("features", ref("NodeFeatures"), "Supported features."),
])
define(P + "Node", "A machine that runs pods.", [
    *meta_v1.type_meta_fields(),
    Field("spec", ref("NodeSpec"), "Desired settings."),
    Field("status", ref("NodeStatus"), "Observed state."),
], gvk=("", "v1", "Node"))

TAINT_EFFECTS = ["NoExecute", "NoSchedule", "PreferNoSchedule"]


def validate_taints(taints: Any, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    seen: set[tuple[str, str]] = set()
    for i, taint in enumerate(taints or []):
        p = f"{path}[{i}]"
        key = taint.get("key") or ""
        errs += [invalid(p + ".key", key, m) for m in names.is_qualified_name(key)]
        if taint.get("value"):
            errs += [invalid(p + ".value", taint["value"], m) for m in names.is_valid_label_value(taint["value"])]
        effect = taint.get("effect") or ""
        if not effect:
            errs.append(required(p + ".effect"))
        elif effect not in TAINT_EFFECTS:
            errs.append(not_supported(p + ".effect", effect, TAINT_EFFECTS))
        if (key, effect) in seen:
            errs.append(invalid(p, taint, "taints must be unique by key and effect pair"))
        seen.add((key, effect))
    return errs


def _validate_resources(values: Any, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for name, value in (values or {}).items():
        try:
            if parse_q(value).value < 0:
                errs.append(invalid(f"{path}[{name}]", str(value), "must be greater than or equal to 0"))
        except ValueError as exc:
            errs.append(invalid(f"{path}[{name}]", value, str(exc)))
    return errs


class NodeStrategy(Strategy):
    tracks_generation = False
    field_selectors = {
        "spec.unschedulable": lambda o: "true" if (o.get("spec") or {}).get("unschedulable") else "false",
    }

    def default(self, obj: Obj) -> None:
        spec_of(obj)
        quantities.canonicalize(obj, P + "Node")
        status = obj.get("status")
        if isinstance(status, dict) and status.get("capacity") and "allocatable" not in status:
            status["allocatable"] = dict(status["capacity"])

    def prepare_for_create(self, obj: Obj) -> None:
        """Nodes may be created with status."""

    def validate(self, obj: Obj) -> list[FieldError]:
        errs = meta_v1.validate_object_meta(obj, namespaced=False)
        spec = spec_of(obj)
        errs += validate_taints(spec.get("taints"), "spec.taints")
        status = obj.get("status") or {}
        errs += _validate_resources(status.get("capacity"), "status.capacity")
        errs += _validate_resources(status.get("allocatable"), "status.allocatable")
        return errs

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        errs = meta_v1.validate_object_meta_update(new, old)
        spec, old_spec = spec_of(new), old.get("spec") or {}
        errs += validate_taints(spec.get("taints"), "spec.taints")
        if old_spec.get("podCIDRs") and spec.get("podCIDRs") != old_spec["podCIDRs"]:
            errs.append(forbidden("spec.podCIDRs", "node updates may not change podCIDR except from \"\" to valid"))
        if old_spec.get("providerID") and spec.get("providerID") != old_spec["providerID"]:
            errs.append(forbidden("spec.providerID", "node updates may not change providerID except from \"\" to "
                                                     "valid"))
        return errs

    def validate_status_update(self, new: Obj, old: Obj) -> list[FieldError]:
        status = new.get("status") or {}
        errs = meta_v1.validate_object_meta_update(new, old)
        errs += _validate_resources(status.get("capacity"), "status.capacity")
        return errs + _validate_resources(status.get("allocatable"), "status.allocatable")


NODES = register_kind(kind="Node", plural="nodes", namespaced=False, strategy=NodeStrategy(), short_names=("no",),
                      subresources=("status", "proxy"))
