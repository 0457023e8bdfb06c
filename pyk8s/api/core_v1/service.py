"""Services and Endpoints: schemas, defaults, validation.

IP and node-port allocation happen in the Service store; this strategy only
defaults and validates.  On update it carries allocated values (clusterIP(s),
nodePorts, healthCheckNodePort) over from the old object when the new one
leaves them empty, so ``kubectl replace`` of the original manifest works, as
upstream's Service REST storage does.
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any

from pyk8s.api import meta_v1, names
from pyk8s.api.core_v1.common import OBJECT_REFERENCE, P, ref, register_kind, spec_of
from pyk8s.api.core_v1.probes import validate_port_num_or_name
from pyk8s.machinery.schema import (
    BOOL,
    INT32,
    STRING,
    STRING_LIST,
    STRING_MAP,
    ArrayOf,
    Field,
    IntOrString,
    Ref,
    define,
)
from pyk8s.machinery.scheme import Strategy
from pyk8s.machinery.validation import (
    DUPLICATE,
    FieldError,
    forbidden,
    invalid,
    not_supported,
    required,
)

Obj = dict[str, Any]

define(P + "ServicePort", "One port a service exposes and where it forwards to.", [
    Field("name", STRING, "Port name, required when there are several ports."),
    Field("protocol", STRING, "TCP, UDP or SCTP; TCP by default."),
    Field("appProtocol", STRING, "Application protocol hint, e.g. http."),
    Field("port", INT32, "Port the service listens on.", required=True),
    Field("targetPort", IntOrString(), "Port number or name on the pods; the same as port by default."),
    Field("nodePort", INT32, "Port opened on every node for NodePort and LoadBalancer services."),
])
define(P + "ClientIPConfig", "Settings of ClientIP session affinity.", [
    Field("timeoutSeconds", INT32, "How long a client sticks to one endpoint."),
])
define(P + "SessionAffinityConfig", "Session affinity settings.", [
    Field("clientIP", ref("ClientIPConfig"), "ClientIP affinity settings."),
])
define(P + "ServiceSpec", "Desired behaviour of a service.", [
    Field("ports", ArrayOf(ref("ServicePort")), "Ports the service exposes.", merge_key="port", strategy="merge",
          list_type="map", list_map_keys=("port", "protocol")),
    Field("selector", STRING_MAP, "Pods with these labels receive the traffic.", map_type="atomic"),
    Field("clusterIP", STRING, "Virtual IP of the service; None for a headless service."),
    Field("clusterIPs", STRING_LIST, "Virtual IPs, one per IP family.", list_type="atomic"),
    Field("type", STRING, "ClusterIP, NodePort, LoadBalancer or ExternalName."),
    Field("externalIPs", STRING_LIST, "Extra addresses nodes accept traffic for.", list_type="atomic"),
    Field("sessionAffinity", STRING, "None or ClientIP."),
    Field("loadBalancerIP", STRING, "Deprecated: requested load balancer address."),
    Field("loadBalancerSourceRanges", STRING_LIST, "Client CIDRs allowed through the load balancer.",
          list_type="atomic"),
    Field("externalName", STRING, "DNS name returned as a CNAME for ExternalName services."),
    Field("externalTrafficPolicy", STRING, "Cluster or Local routing of external traffic."),
    Field("healthCheckNodePort", INT32, "Node port for load balancer health checks with Local policy."),
    Field("publishNotReadyAddresses", BOOL, "Include not-ready pods in DNS and endpoints."),
    Field("sessionAffinityConfig", ref("SessionAffinityConfig"), "Session affinity settings."),
    Field("ipFamilies", STRING_LIST, "IP families of the service: IPv4 and/or IPv6.", list_type="atomic"),
    Field("ipFamilyPolicy", STRING, "SingleStack, PreferDualStack or RequireDualStack."),
    Field("allocateLoadBalancerNodePorts", BOOL, "Whether LoadBalancer services get node ports."),
    Field("loadBalancerClass", STRING, "Load balancer implementation to use."),
    Field("internalTrafficPolicy", STRING, "Cluster or Local routing of in-cluster traffic."),
    Field("trafficDistribution", STRING, "Preference for how traffic is spread, e.g. PreferClose."),
])
define(P + "PortStatus", "Error state of one load balancer port.", [
    Field("port", INT32, "Port number.", required=True), Field("protocol", STRING, "Protocol.", required=True),
    Field("error", STRING, "Problem with the port, if any."),
])
define(P + "LoadBalancerIngress", "An address of a load balancer.", [
    Field("ip", STRING, "IP address."), Field("hostname", STRING, "DNS name."),
    Field("ipMode", STRING, "VIP or Proxy."),
    Field("ports", ArrayOf(ref("PortStatus")), "Per-port status.", list_type="atomic"),
])
define(P + "LoadBalancerStatus", "Addresses of a load balancer.", [
    Field("ingress", ArrayOf(ref("LoadBalancerIngress")), "The addresses.", list_type="atomic"),
])
define(P + "ServiceStatus", "Observed state of a service.", [
    Field("loadBalancer", ref("LoadBalancerStatus"), "Load balancer addresses."),
    Field("conditions", ArrayOf(Ref(meta_v1.CONDITION)), "Current conditions.", merge_key="type",
          strategy="merge", list_type="map", list_map_keys=("type",)),
])
define(P + "Service", "A stable virtual address and name in front of a set of pods.", [
    *meta_v1.type_meta_fields(),
    Field("spec", ref("ServiceSpec"), "Desired behaviour."),
    Field("status", ref("ServiceStatus"), "Observed state."),
], gvk=("", "v1", "Service"))

define(P + "EndpointAddress", "One endpoint address.", [
    Field("ip", STRING, "IP address.", required=True),
    Field("hostname", STRING, "Host name of the endpoint."),
    Field("nodeName", STRING, "Node hosting the endpoint."),
    Field("targetRef", Ref(OBJECT_REFERENCE), "Object providing the endpoint, usually a pod."),
])
define(P + "EndpointPort", "One endpoint port.", [
    Field("name", STRING, "Name matching the service port."),
    Field("port", INT32, "Port number.", required=True),
    Field("protocol", STRING, "TCP, UDP or SCTP."),
    Field("appProtocol", STRING, "Application protocol hint."),
])
define(P + "EndpointSubset", "Addresses that all share the same ports.", [
    Field("addresses", ArrayOf(ref("EndpointAddress")), "Ready addresses.", list_type="atomic"),
    Field("notReadyAddresses", ArrayOf(ref("EndpointAddress")), "Addresses not ready yet.", list_type="atomic"),
    Field("ports", ArrayOf(ref("EndpointPort")), "Ports of these addresses.", list_type="atomic"),
])
define(P + "Endpoints", "The addresses backing a service (legacy API; see EndpointSlice).", [
    *meta_v1.type_meta_fields(),
    Field("subsets", ArrayOf(ref("EndpointSubset")), "Groups of addresses and ports.", list_type="atomic"),
], gvk=("", "v1", "Endpoints"))

SERVICE_TYPES = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]
NODE_PORT_TYPES = ("NodePort", "LoadBalancer")
SOURCE_RANGES_ANNOTATION = "service.beta.kubernetes.io/load-balancer-source-ranges"
PROTOCOLS = ["SCTP", "TCP", "UDP"]
_IP_MSG = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"


def default_service(spec: Obj) -> None:
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    if spec["sessionAffinity"] == "ClientIP":
        cfg = spec.setdefault("sessionAffinityConfig", {}).setdefault("clientIP", {})
        cfg.setdefault("timeoutSeconds", 10800)
    for port in spec.get("ports") or []:
        if not isinstance(port, dict):
            continue
        if not port.get("protocol"):
            port["protocol"] = "TCP"
        if port.get("targetPort") in (None, 0, ""):
            port["targetPort"] = port.get("port")
    kind = spec["type"]
    if kind in NODE_PORT_TYPES:
        spec.setdefault("externalTrafficPolicy", "Cluster")
    if kind == "LoadBalancer":
        spec.setdefault("allocateLoadBalancerNodePorts", True)
    if kind != "ExternalName":
        spec.setdefault("internalTrafficPolicy", "Cluster")
        if spec.get("clusterIP") and not spec.get("clusterIPs"):
            spec["clusterIPs"] = [spec["clusterIP"]]
        elif spec.get("clusterIPs") and not spec.get("clusterIP"):
            spec["clusterIP"] = spec["clusterIPs"][0]
        spec.setdefault("ipFamilyPolicy", "SingleStack")
        spec.setdefault("ipFamilies", ["IPv4"])


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _go_service_port(port: Obj) -> str:
    return (f'core.ServicePort{{Name:"", Protocol:"{port.get("protocol", "")}", AppProtocol:(*string)(nil), '
            f'Port:{port.get("port", 0)}, TargetPort:intstr.IntOrString{{Type:0, IntVal:0, StrVal:""}}, NodePort:0}}')


def _validate_port(port: Obj, p: str, *, require_name: bool, port_names: set[str]) -> list[FieldError]:
    errs: list[FieldError] = []
    name = port.get("name") or ""
    if require_name and not name:
        errs.append(required(p + ".name"))
    elif name:
        errs += [invalid(p + ".name", name, m) for m in names.is_dns1123_label(name)]
        if name in port_names:
            errs.append(FieldError(DUPLICATE, p + ".name", "", name, True))
        port_names.add(name)
    errs += [invalid(p + ".port", port.get("port"), m) for m in names.is_valid_port_num(port.get("port"))]
    proto = port.get("protocol") or ""
    if not proto:
        errs.append(required(p + ".protocol"))
    elif proto not in PROTOCOLS:
        errs.append(not_supported(p + ".protocol", proto, PROTOCOLS))
    return errs + validate_port_num_or_name(port.get("targetPort"), p + ".targetPort")


def _validate_type_specific(spec: Obj) -> list[FieldError]:
    kind = spec.get("type")
    errs: list[FieldError] = []
    if kind in NODE_PORT_TYPES and spec.get("clusterIP") == "None":
        errs.append(invalid("spec.clusterIP", "None", f"may not be set to 'None' for {kind} services"))
    elif kind == "ExternalName":
        if spec.get("clusterIP"):
            errs.append(forbidden("spec.clusterIP", "must be empty for ExternalName services"))
        ext = spec.get("externalName") or ""
        if not ext:
            errs.append(required("spec.externalName"))
        else:
            errs += [invalid("spec.externalName", ext, m) for m in names.is_dns1123_subdomain(ext.rstrip("."))]
    return errs


def _validate_duplicates(ports: list[Obj], kind: Any) -> list[FieldError]:
    errs: list[FieldError] = []
    if kind in ("ClusterIP", "ExternalName"):
        for i, port in enumerate(ports):
            if port.get("nodePort"):
                errs.append(forbidden(f"spec.ports[{i}].nodePort", f"may not be used when `type` is '{kind}'"))
    node_ports: set[tuple[Any, Any]] = set()
    for i, port in enumerate(ports):
        node_port = port.get("nodePort")
        if not node_port:
            continue
        if kind in NODE_PORT_TYPES:
            errs += [invalid(f"spec.ports[{i}].nodePort", node_port, m) for m in names.is_valid_port_num(node_port)]
        if (port.get("protocol"), node_port) in node_ports:
            errs.append(FieldError(DUPLICATE, f"spec.ports[{i}].nodePort", "", node_port, True))
        node_ports.add((port.get("protocol"), node_port))
    seen: set[tuple[Any, Any]] = set()
    for i, port in enumerate(ports):
        key = (port.get("protocol"), port.get("port"))
        if key in seen:
            errs.append(FieldError(DUPLICATE, f"spec.ports[{i}]", _go_service_port(port)))
        seen.add(key)
    return errs


def validate_service_spec(spec: Obj, annotations: Obj | None = None) -> list[FieldError]:
    """ValidateService's checks, in upstream's order (it decides the order of messages)."""
    errs: list[FieldError] = []
    ports = spec.get("ports") or []
    kind = spec.get("type") or ""
    if not ports and spec.get("clusterIP") != "None" and kind != "ExternalName":
        errs.append(required("spec.ports"))
    errs += _validate_type_specific(spec)
    port_names: set[str] = set()
    for i, port in enumerate(ports):
        errs += _validate_port(port, f"spec.ports[{i}]", require_name=len(ports) > 1, port_names=port_names)
    errs += meta_v1.validate_labels(spec.get("selector"), "spec.selector")
    affinity = spec.get("sessionAffinity") or ""
    if not affinity:
        errs.append(required("spec.sessionAffinity"))
    elif affinity not in ("ClientIP", "None"):
        errs.append(not_supported("spec.sessionAffinity", affinity, ["ClientIP", "None"]))
    ips = spec.get("clusterIPs") or []
    for i, ip in enumerate(ips):
        if not ((i == 0 and ip == "None") or _is_ip(ip)):
            errs.append(invalid(f"spec.clusterIPs[{i}]", ip, _IP_MSG))
    if spec.get("clusterIP") and ips and spec["clusterIP"] != ips[0]:
        errs.append(invalid("spec.clusterIPs", ips, "first value must match `clusterIP`"))
    for i, ip in enumerate(spec.get("externalIPs") or []):
        if not _is_ip(ip):
            errs.append(invalid(f"spec.externalIPs[{i}]", ip, _IP_MSG))
    if not kind:
        errs.append(required("spec.type"))
    elif kind not in SERVICE_TYPES:
        errs.append(not_supported("spec.type", kind, SERVICE_TYPES))
    errs += _validate_duplicates(ports, kind)
    errs += _validate_source_ranges(spec, annotations or {}, kind)
    return errs + _validate_traffic_policies(spec, kind)


def _validate_source_ranges(spec: Obj, annotations: Obj, kind: str) -> list[FieldError]:
    """loadBalancerSourceRanges (or the older annotation, read only when the field is empty):
    LoadBalancer Services only, and every entry a CIDR.  The path's capital L and the value
    as Go prints a string slice are upstream's."""
    ranges = spec.get("loadBalancerSourceRanges") or []
    annotation = annotations.get(SOURCE_RANGES_ANNOTATION) or ""
    if not ranges and not annotation:
        return []
    if ranges:
        path, shown = "spec.LoadBalancerSourceRanges", "[" + " ".join(str(r) for r in ranges) + "]"
        entries = ranges
    else:
        path, shown = f"metadata.annotations[{SOURCE_RANGES_ANNOTATION}]", annotation
        entries = annotation.split(",") if annotation.strip() else []
    errs: list[FieldError] = []
    if kind != "LoadBalancer":
        errs.append(forbidden(path, "may only be used when `type` is 'LoadBalancer'"))
    if not all(isinstance(e, str) and _is_cidr(e.strip()) for e in entries):
        errs.append(invalid(path, shown, "must be a list of IP ranges. For example, 10.240.0.0/24,10.250.0.0/24 "))
    return errs


def _is_cidr(text: str) -> bool:
    if "/" not in text:
        return False
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        return False
    return True


def _validate_traffic_policies(spec: Obj, kind: str) -> list[FieldError]:
    errs: list[FieldError] = []
    etp = spec.get("externalTrafficPolicy")
    if etp and kind not in NODE_PORT_TYPES:
        errs.append(invalid("spec.externalTrafficPolicy", etp, "may only be set when `type` is 'NodePort' or "
                                                               "'LoadBalancer'"))
    elif etp and etp not in ("Cluster", "Local"):
        errs.append(not_supported("spec.externalTrafficPolicy", etp, ["Cluster", "Local"]))
    itp = spec.get("internalTrafficPolicy")
    if itp and itp not in ("Cluster", "Local"):
        errs.append(not_supported("spec.internalTrafficPolicy", itp, ["Cluster", "Local"]))
    return errs


def _carry_allocations(new: Obj, old: Obj) -> None:
    """Keep IPs and node ports the store allocated when an update leaves them out."""
    if new.get("type") == "ExternalName" or old.get("type") == "ExternalName":
        return
    if not new.get("clusterIP") and not new.get("clusterIPs"):
        for key in ("clusterIP", "clusterIPs"):
            if old.get(key):
                new[key] = old[key]
    if new.get("type") in NODE_PORT_TYPES:
        old_ports = {(p.get("port"), p.get("protocol") or "TCP"): p.get("nodePort")
                     for p in old.get("ports") or []}
        for port in new.get("ports") or []:
            if not port.get("nodePort"):
                node_port = old_ports.get((port.get("port"), port.get("protocol") or "TCP"))
                if node_port:
                    port["nodePort"] = node_port
        if new.get("externalTrafficPolicy") == "Local" and not new.get("healthCheckNodePort"):
            if old.get("healthCheckNodePort"):
                new["healthCheckNodePort"] = old["healthCheckNodePort"]


def _drop_type_dependent(new: Obj, old: Obj) -> None:
    """Switching away from NodePort/LoadBalancer drops what only they use, if unchanged."""
    if new.get("type") in NODE_PORT_TYPES or old.get("type") not in NODE_PORT_TYPES:
        return
    old_ports = {(p.get("port"), p.get("protocol")): p.get("nodePort") for p in old.get("ports") or []}
    for port in new.get("ports") or []:
        if port.get("nodePort") and old_ports.get((port.get("port"), port.get("protocol"))) == port["nodePort"]:
            del port["nodePort"]
    for key in ("externalTrafficPolicy", "healthCheckNodePort", "allocateLoadBalancerNodePorts"):
        if key in new and new.get(key) == old.get(key):
            del new[key]


def _go_strings(values: list[str]) -> str:
    return "[]string{" + ", ".join(json.dumps(v) for v in values) + "}"


def _cluster_ips(spec: Obj) -> list[str]:
    return list(spec.get("clusterIPs") or ([spec["clusterIP"]] if spec.get("clusterIP") else []))


def validate_service_update(new: Obj, old: Obj) -> list[FieldError]:
    errs: list[FieldError] = []
    if "ExternalName" in (new.get("type"), old.get("type")):
        return errs
    old_ips, new_ips = _cluster_ips(old), _cluster_ips(new)
    for i, ip in enumerate(old_ips):
        if i < len(new_ips) and new_ips[i] != ip or (i == 0 and not new_ips):
            errs.append(FieldError(("FieldValueInvalid", "Invalid value"), f"spec.clusterIPs[{i}]",
                                   f"{_go_strings(new_ips)}: may not change once set"))
    if new.get("ipFamilies") and old.get("ipFamilies") and new["ipFamilies"][0] != old["ipFamilies"][0]:
        errs.append(invalid("spec.ipFamilies[0]", new["ipFamilies"][0], "may not change once set"))
    return errs


def default_service_status(obj: Obj) -> None:
    """LoadBalancerIPMode (on by default): ingress IPs default to ipMode VIP."""
    if (obj.get("spec") or {}).get("type") != "LoadBalancer":
        return
    for ing in ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []:
        if isinstance(ing, dict) and ing.get("ip") and not ing.get("ipMode"):
            ing["ipMode"] = "VIP"


class ServiceStrategy(Strategy):
    return_deleted_object = True
    tracks_generation = False

    def default(self, obj: Obj) -> None:
        default_service(spec_of(obj))
        default_service_status(obj)

    def prepare_for_create(self, obj: Obj) -> None:
        obj["status"] = {"loadBalancer": {}}

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        super().prepare_for_update(new, old)
        new_spec, old_spec = spec_of(new), old.get("spec") or {}
        _carry_allocations(new_spec, old_spec)
        _drop_type_dependent(new_spec, old_spec)

    def validate(self, obj: Obj) -> list[FieldError]:
        errs = meta_v1.validate_object_meta(obj, namespaced=True, name_fn=names.is_dns1035_label)
        return errs + validate_service_spec(spec_of(obj), (obj.get("metadata") or {}).get("annotations"))

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        errs = meta_v1.validate_object_meta_update(new, old)
        errs += validate_service_spec(spec_of(new), (new.get("metadata") or {}).get("annotations"))
        return errs + validate_service_update(spec_of(new), old.get("spec") or {})

    def validate_status_update(self, new: Obj, old: Obj) -> list[FieldError]:
        return meta_v1.validate_object_meta_update(new, old)


class EndpointsStrategy(Strategy):
    allow_create_on_update = True
    has_status = False
    tracks_generation = False

    def default(self, obj: Obj) -> None:
        for subset in obj.get("subsets") or []:
            for port in subset.get("ports") or []:
                if isinstance(port, dict) and not port.get("protocol"):
                    port["protocol"] = "TCP"

    def validate(self, obj: Obj) -> list[FieldError]:
        errs = meta_v1.validate_object_meta(obj, namespaced=True)
        for i, subset in enumerate(obj.get("subsets") or []):
            p = f"subsets[{i}]"
            if not subset.get("addresses") and not subset.get("notReadyAddresses"):
                errs.append(required(p, "must specify `addresses` or `notReadyAddresses`"))
            for key in ("addresses", "notReadyAddresses"):
                for j, addr in enumerate(subset.get(key) or []):
                    if not _is_ip(addr.get("ip") or ""):
                        errs.append(invalid(f"{p}.{key}[{j}].ip", addr.get("ip", ""), _IP_MSG))
            for j, port in enumerate(subset.get("ports") or []):
                errs += [invalid(f"{p}.ports[{j}].port", port.get("port"), m)
                         for m in names.is_valid_port_num(port.get("port"))]
        return errs

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        errs = meta_v1.validate_object_meta_update(new, old)
        return errs + [e for e in self.validate(new) if not e.field.startswith("metadata")]


SERVICES = register_kind(kind="Service", plural="services", namespaced=True, strategy=ServiceStrategy(),
                         short_names=("svc",), categories=("all",), subresources=("status", "proxy"))
ENDPOINTS = register_kind(kind="Endpoints", plural="endpoints", namespaced=True, strategy=EndpointsStrategy(),
                          short_names=("ep",), list_desc="endpoints objects")
