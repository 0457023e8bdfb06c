"""networking.k8s.io/v1: Ingress, IngressClass and NetworkPolicy.

Protobuf note: upstream embeds ``IngressRuleValue`` (holding ``http``) as
message field 2 of ``IngressRule`` while JSON inlines it.  The schema DSL
cannot say "inline in JSON, nested in protobuf", so ``http`` carries no field
number here; ``pyk8s.api.protonumbers`` maps it to ``(2, 1)`` for the decoder.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from pyk8s.api import kinds, meta_v1, names
from pyk8s.api.kinds import LABEL_SELECTOR, child, define_kind, immutable, register, spec_of
from pyk8s.machinery.schema import INT32, STRING, STRING_LIST, ArrayOf, Field, IntOrString, Ref, define
from pyk8s.machinery.scheme import Strategy
from pyk8s.machinery.validation import FieldError, forbidden, invalid, not_supported, required, too_long

Obj = dict[str, Any]
P = "io.k8s.api.networking.v1"
GV = ("networking.k8s.io", "v1")

# ---------------------------------------------------------------- Ingress

define(f"{P}.ServiceBackendPort", "A port of the backend Service, by name or number.", [
    Field("name", STRING, "Port name.", proto=1),
    Field("number", INT32, "Port number.", proto=2),
])
define(f"{P}.IngressServiceBackend", "A Service that receives traffic.", [
    Field("name", STRING, "Service name (same namespace).", required=True, proto=1),
    Field("port", Ref(f"{P}.ServiceBackendPort"), "Service port.", proto=2),
])
define(f"{P}.IngressBackend", "Where matching traffic goes: a Service or another resource.", [
    Field("service", Ref(f"{P}.IngressServiceBackend"), "A Service backend.", proto=4),
    Field("resource", Ref("io.k8s.api.core.v1.TypedLocalObjectReference"), "A non-Service backend.", proto=3),
])
define(f"{P}.HTTPIngressPath", "A path and the backend it routes to.", [
    Field("path", STRING, "URL path to match.", proto=1),
    Field("pathType", STRING, "Exact, Prefix or ImplementationSpecific.", required=True, proto=3),
    Field("backend", Ref(f"{P}.IngressBackend"), "Where the traffic goes.", required=True, proto=2),
])
define(f"{P}.HTTPIngressRuleValue", "HTTP paths of one host rule.", [
    Field("paths", ArrayOf(Ref(f"{P}.HTTPIngressPath")), "Path rules.", required=True, list_type="atomic",
          proto=1),
])
define(f"{P}.IngressRule", "Routing for one host (or all hosts).", [
    Field("host", STRING, "Host name to match; wildcards like *.example.com allowed.", proto=1),
    Field("http", Ref(f"{P}.HTTPIngressRuleValue"), "HTTP routing for the host."),
])
define(f"{P}.IngressTLS", "TLS for a set of hosts.", [
    Field("hosts", STRING_LIST, "Hosts the certificate covers.", list_type="atomic", proto=1),
    Field("secretName", STRING, "Secret holding the certificate and key.", proto=2),
])
define(f"{P}.IngressSpec", "Desired routing of an Ingress.", [
    Field("ingressClassName", STRING, "The IngressClass that implements this Ingress.", proto=4),
    Field("defaultBackend", Ref(f"{P}.IngressBackend"), "Backend for traffic no rule matches.", proto=1),
    Field("tls", ArrayOf(Ref(f"{P}.IngressTLS")), "TLS settings.", list_type="atomic", proto=2),
    Field("rules", ArrayOf(Ref(f"{P}.IngressRule")), "Host rules.", list_type="atomic", proto=3),
])
define(f"{P}.IngressPortStatus", "State of one load-balancer port.", [
    Field("port", INT32, "Port number.", required=True, proto=1),
    Field("protocol", STRING, "TCP, UDP or SCTP.", required=True, proto=2),
    Field("error", STRING, "Problem with the port, if any.", proto=3),
])
define(f"{P}.IngressLoadBalancerIngress", "One address of the load balancer.", [
    Field("ip", STRING, "IP address.", proto=1),
    Field("hostname", STRING, "DNS name.", proto=2),
    Field("ports", ArrayOf(Ref(f"{P}.IngressPortStatus")), "Port states.", list_type="atomic", proto=4),
])
define(f"{P}.IngressLoadBalancerStatus", "Addresses of the load balancer.", [
    Field("ingress", ArrayOf(Ref(f"{P}.IngressLoadBalancerIngress")), "The addresses.", list_type="atomic",
          proto=1),
])
define(f"{P}.IngressStatus", "Observed state of an Ingress.", [
    Field("loadBalancer", Ref(f"{P}.IngressLoadBalancerStatus"), "Load-balancer addresses.", proto=1),
])
define_kind(P, "Ingress", GV, "HTTP routing from outside the cluster to Services.", [
    Field("spec", Ref(f"{P}.IngressSpec"), "Desired routing.", proto=2),
    Field("status", Ref(f"{P}.IngressStatus"), "Observed state.", proto=3),
])

# ---------------------------------------------------------------- IngressClass

define(f"{P}.IngressClassParametersReference", "Extra configuration for an IngressClass.", [
    Field("apiGroup", STRING, "Group of the referenced resource.", proto=1),
    Field("kind", STRING, "Kind of the referenced resource.", required=True, proto=2),
    Field("name", STRING, "Name of the referenced resource.", required=True, proto=3),
    Field("scope", STRING, "Cluster or Namespace.", proto=4),
    Field("namespace", STRING, "Namespace when scope is Namespace.", proto=5),
])
define(f"{P}.IngressClassSpec", "Which controller implements the class.", [
    Field("controller", STRING, "Controller name, e.g. example.com/ingress-controller.", proto=1),
    Field("parameters", Ref(f"{P}.IngressClassParametersReference"), "Controller configuration.", proto=2),
])
define_kind(P, "IngressClass", GV, "A kind of Ingress and the controller serving it.", [
    Field("spec", Ref(f"{P}.IngressClassSpec"), "Desired state.", proto=2),
])

# ---------------------------------------------------------------- NetworkPolicy

define(f"{P}.IPBlock", "A CIDR, minus some sub-ranges.", [
    Field("cidr", STRING, "The range, e.g. 10.0.0.0/8.", required=True, proto=1),
    Field("except", STRING_LIST, "Sub-ranges to leave out.", list_type="atomic", proto=2),
])
define(f"{P}.NetworkPolicyPeer", "Pods, namespaces or addresses traffic may come from or go to.", [
    Field("podSelector", Ref(LABEL_SELECTOR), "Pods selected by label.", proto=1),
    Field("namespaceSelector", Ref(LABEL_SELECTOR), "Namespaces selected by label.", proto=2),
    Field("ipBlock", Ref(f"{P}.IPBlock"), "An address range.", proto=3),
])
define(f"{P}.NetworkPolicyPort", "A port (or port range) traffic may use.", [
    Field("protocol", STRING, "TCP, UDP or SCTP (default TCP).", proto=1),
    Field("port", IntOrString(),
          "Port number or named port.", proto=2),
    Field("endPort", INT32, "Last port of a range starting at port.", proto=3),
])
define(f"{P}.NetworkPolicyIngressRule", "Allowed incoming traffic.", [
    Field("ports", ArrayOf(Ref(f"{P}.NetworkPolicyPort")), "Allowed ports.", list_type="atomic", proto=1),
    Field("from", ArrayOf(Ref(f"{P}.NetworkPolicyPeer")), "Allowed sources.", list_type="atomic", proto=2),
])
define(f"{P}.NetworkPolicyEgressRule", "Allowed outgoing traffic.", [
    Field("ports", ArrayOf(Ref(f"{P}.NetworkPolicyPort")), "Allowed ports.", list_type="atomic", proto=1),
    Field("to", ArrayOf(Ref(f"{P}.NetworkPolicyPeer")), "Allowed destinations.", list_type="atomic", proto=2),
])
define(f"{P}.NetworkPolicySpec", "Which pods the policy covers and what it allows.", [
    Field("podSelector", Ref(LABEL_SELECTOR), "Pods the policy applies to (empty: all in the namespace).",
          required=True, proto=1),
    Field("ingress", ArrayOf(Ref(f"{P}.NetworkPolicyIngressRule")), "Allowed incoming traffic.",
          list_type="atomic", proto=2),
    Field("egress", ArrayOf(Ref(f"{P}.NetworkPolicyEgressRule")), "Allowed outgoing traffic.",
          list_type="atomic", proto=3),
    Field("policyTypes", STRING_LIST, "Ingress, Egress or both.", list_type="atomic", proto=4),
])
define_kind(P, "NetworkPolicy", GV, "Which traffic pods may send and receive.", [
    Field("spec", Ref(f"{P}.NetworkPolicySpec"), "Desired policy.", proto=2),
])

# ---------------------------------------------------------------- Ingress validation

_PATH_TYPES = ["Exact", "ImplementationSpecific", "Prefix"]
_BAD_SEQUENCES = ("//", "/./", "/../", "%2f", "%2F")
_BAD_SUFFIXES = ("/..", "/.")


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _host_errors(host: str, path: str) -> list[FieldError]:
    if _is_ip(host):
        return [invalid(path, host, "must be a DNS name, not an IP address")]
    if host.startswith("*."):
        return [invalid(path, host, m) for m in names.is_dns1123_subdomain(host[2:])]
    return [invalid(path, host, m) for m in names.is_dns1123_subdomain(host)]


def validate_backend(backend: Obj, path: str) -> list[FieldError]:
    service, resource = backend.get("service"), backend.get("resource")
    if service is not None and resource is not None:
        return [invalid(path, "", "cannot set both resource and service backends")]
    if resource is not None:
        missing = [] if resource.get("kind") else [required(path + ".resource.kind")]
        return missing + ([] if resource.get("name") else [required(path + ".resource.name")])
    if service is None:
        return [invalid(path, "", "resource or service backend is required")]
    errs: list[FieldError] = []
    name = service.get("name") or ""
    if not name:
        errs.append(required(path + ".service.name"))
    else:
        errs += [invalid(path + ".service.name", name, m) for m in names.is_dns1035_label(name)]
    port = service.get("port") or {}
    pname, pnum = port.get("name") or "", port.get("number") or 0
    if pname and pnum:
        errs.append(invalid(path, "", "cannot set both port name & port number"))
    elif pname:
        errs += [invalid(path + ".service.port.name", pname, m) for m in names.is_valid_port_name(pname)]
    elif pnum:
        errs += [invalid(path + ".service.port.number", pnum, m) for m in names.is_valid_port_num(pnum)]
    else:
        errs.append(required(path, "port name or number is required"))
    return errs


def _validate_http_path(item: Obj, path: str) -> list[FieldError]:
    ptype, value = item.get("pathType"), item.get("path") or ""
    if ptype is None:
        return [required(path + ".pathType", "pathType must be specified")]
    errs: list[FieldError] = []
    if ptype in ("Exact", "Prefix"):
        if not value.startswith("/"):
            errs.append(invalid(path + ".path", value, "must be an absolute path"))
        for seq in _BAD_SEQUENCES:
            if seq in value:
                errs.append(invalid(path + ".path", value, f"must not contain '{seq}'"))
        for suffix in _BAD_SUFFIXES:
            if value.endswith(suffix):
                errs.append(invalid(path + ".path", value, f"cannot end with '{suffix}'"))
    elif ptype == "ImplementationSpecific":
        if value and not value.startswith("/"):
            errs.append(invalid(path + ".path", value, "must be an absolute path"))
    else:
        errs.append(not_supported(path + ".pathType", ptype, _PATH_TYPES))
    return errs + validate_backend(item.get("backend") or {}, path + ".backend")


def _validate_rules(rules: list[Obj], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, rule in enumerate(rules):
        rpath = f"{path}[{i}]"
        if rule.get("host"):
            errs += _host_errors(rule["host"], rpath + ".host")
        http = rule.get("http")
        if http is None:
            continue
        paths = http.get("paths") or []
        if not paths:
            errs.append(required(rpath + ".http.paths"))
        for j, item in enumerate(paths):
            errs += _validate_http_path(item, f"{rpath}.http.paths[{j}]")
    return errs


def validate_ingress_spec(spec: Obj, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    rules = spec.get("rules") or []
    if not rules and spec.get("defaultBackend") is None:
        errs.append(kinds.invalid_go(path, "[]networking.IngressRule(nil)",
                                     "either `defaultBackend` or `rules` must be specified"))
    if spec.get("defaultBackend") is not None:
        errs += validate_backend(spec["defaultBackend"], path + ".defaultBackend")
    errs += _validate_rules(rules, path + ".rules")
    for i, tls in enumerate(spec.get("tls") or []):
        for j, host in enumerate(tls.get("hosts") or []):
            errs += _host_errors(host, f"{path}.tls[{i}].hosts[{j}]")
    cls = spec.get("ingressClassName")
    if cls is not None:
        errs += [invalid(path + ".ingressClassName", cls, m) for m in names.is_dns1123_subdomain(cls)]
    return errs


class IngressStrategy(Strategy):
    def prepare_for_create(self, obj: Obj) -> None:
        obj["status"] = {"loadBalancer": {}}
        child(obj, "metadata")["generation"] = 1

    def validate(self, obj: Obj) -> list[FieldError]:
        errs = meta_v1.validate_object_meta(obj, namespaced=True)
        return errs + validate_ingress_spec(obj.get("spec") or {}, "spec")

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        errs = meta_v1.validate_object_meta_update(new, old)
        return errs + validate_ingress_spec(new.get("spec") or {}, "spec")

    def validate_status_update(self, new: Obj, old: Obj) -> list[FieldError]:
        return meta_v1.validate_object_meta_update(new, old)


# ---------------------------------------------------------------- IngressClass


def _validate_ingress_class_spec(spec: Obj) -> list[FieldError]:
    errs: list[FieldError] = []
    controller = spec.get("controller") or ""
    if not controller:
        errs.append(required("spec.controller"))
    elif len(controller) > 250:
        errs.append(too_long("spec.controller", 250))
    params = spec.get("parameters")
    if isinstance(params, dict):
        ppath = "spec.parameters"
        if not params.get("kind"):
            errs.append(required(ppath + ".kind"))
        if not params.get("name"):
            errs.append(required(ppath + ".name"))
        scope = params.get("scope") or ""
        if scope not in ("Cluster", "Namespace"):
            errs.append(not_supported(ppath + ".scope", scope, ["Cluster", "Namespace"]))
        elif scope == "Namespace" and not params.get("namespace"):
            errs.append(required(ppath + ".namespace", "`parameters.scope` is set to 'Namespace'"))
        elif scope == "Cluster" and params.get("namespace"):
            errs.append(forbidden(ppath + ".namespace", "`parameters.scope` is set to 'Cluster'"))
    return errs


class IngressClassStrategy(Strategy):
    has_status = False

    def default(self, obj: Obj) -> None:
        params = spec_of(obj).get("parameters")
        if isinstance(params, dict) and params.get("scope") is None:
            params["scope"] = "Cluster"

    def prepare_for_create(self, obj: Obj) -> None:
        child(obj, "metadata")["generation"] = 1

    def validate(self, obj: Obj) -> list[FieldError]:
        errs = meta_v1.validate_object_meta(obj, namespaced=False)
        return errs + _validate_ingress_class_spec(obj.get("spec") or {})

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        errs = meta_v1.validate_object_meta_update(new, old)
        errs += _validate_ingress_class_spec(new.get("spec") or {})
        return errs + immutable((new.get("spec") or {}).get("controller"), (old.get("spec") or {}).get("controller"),
                                "spec.controller")


# ---------------------------------------------------------------- NetworkPolicy


def default_network_policy(obj: Obj) -> None:
    spec = spec_of(obj)
    for rule in (spec.get("ingress") or []) + (spec.get("egress") or []):
        for port in (rule or {}).get("ports") or []:
            if isinstance(port, dict) and not port.get("protocol"):
                port["protocol"] = "TCP"
    if not spec.get("policyTypes"):
        spec["policyTypes"] = ["Ingress"] + (["Egress"] if spec.get("egress") else [])


def _validate_port(port: Obj, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    protocol = port.get("protocol")
    if protocol is not None and protocol not in ("TCP", "UDP", "SCTP"):
        errs.append(not_supported(path + ".protocol", protocol, ["SCTP", "TCP", "UDP"]))
    value, end = port.get("port"), port.get("endPort")
    if isinstance(value, int):
        errs += [invalid(path + ".port", value, m) for m in names.is_valid_port_num(value)]
        if isinstance(end, int):
            if end < value:
                errs.append(invalid(path + ".endPort", end, "must be greater than or equal to `port`"))
            errs += [invalid(path + ".endPort", end, m) for m in names.is_valid_port_num(end)]
    elif isinstance(value, str):
        errs += [invalid(path + ".port", value, m) for m in names.is_valid_port_name(value)]
        if end is not None:
            errs.append(invalid(path + ".endPort", end, "may not be specified when `port` is non-numeric"))
    elif end is not None:
        errs.append(invalid(path + ".endPort", end, "may not be specified when `port` is not specified"))
    return errs


def _validate_peer(peer: Obj, path: str) -> list[FieldError]:
    present = [k for k in ("podSelector", "namespaceSelector", "ipBlock") if peer.get(k) is not None]
    if not present:
        return [required(path, "must specify a peer")]
    if "ipBlock" in present and len(present) > 1:
        return [forbidden(path, "may not specify both ipBlock and another peer")]
    errs: list[FieldError] = []
    for key in ("podSelector", "namespaceSelector"):
        errs += meta_v1.validate_label_selector(peer.get(key), f"{path}.{key}")
    block = peer.get("ipBlock")
    if isinstance(block, dict):
        errs += _validate_ip_block(block, path + ".ipBlock")
    return errs


def _validate_ip_block(block: Obj, path: str) -> list[FieldError]:
    cidr = block.get("cidr") or ""
    if not cidr:
        return [required(path + ".cidr")]
    try:
        net = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return [invalid(path + ".cidr", cidr, "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)")]
    errs: list[FieldError] = []
    for i, sub in enumerate(block.get("except") or []):
        try:
            subnet = ipaddress.ip_network(sub, strict=False)
        except ValueError:
            errs.append(invalid(f"{path}.except[{i}]", sub, "must be a valid CIDR value"))
            continue
        if subnet.version != net.version or not subnet.subnet_of(net):  # type: ignore[arg-type]
            errs.append(invalid(f"{path}.except[{i}]", sub, "must be a strict subset of `cidr`"))
    return errs


def validate_network_policy_spec(spec: Obj, path: str) -> list[FieldError]:
    errs = meta_v1.validate_label_selector(spec.get("podSelector"), path + ".podSelector")
    for direction, peers_key in (("ingress", "from"), ("egress", "to")):
        for i, rule in enumerate(spec.get(direction) or []):
            rpath = f"{path}.{direction}[{i}]"
            for j, port in enumerate((rule or {}).get("ports") or []):
                errs += _validate_port(port, f"{rpath}.ports[{j}]")
            for j, peer in enumerate((rule or {}).get(peers_key) or []):
                errs += _validate_peer(peer, f"{rpath}.{peers_key}[{j}]")
    types = spec.get("policyTypes") or []
    for i, value in enumerate(types):
        if value not in ("Ingress", "Egress"):
            errs.append(not_supported(f"{path}.policyTypes[{i}]", value, ["Ingress", "Egress"]))
    if len(types) > 2:
        errs.append(invalid(path + ".policyTypes", types, "may not specify more than two policyTypes"))
    return errs


class NetworkPolicyStrategy(Strategy):
    has_status = False

    def default(self, obj: Obj) -> None:
        default_network_policy(obj)

    def prepare_for_create(self, obj: Obj) -> None:
        child(obj, "metadata")["generation"] = 1

    def validate(self, obj: Obj) -> list[FieldError]:
        errs = meta_v1.validate_object_meta(obj, namespaced=True)
        return errs + validate_network_policy_spec(obj.get("spec") or {}, "spec")

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        errs = meta_v1.validate_object_meta_update(new, old)
        return errs + validate_network_policy_spec(new.get("spec") or {}, "spec")


# ---------------------------------------------------------------- registration

register(group="networking.k8s.io", version="v1", kind="Ingress", plural="ingresses", namespaced=True,
         strategy=IngressStrategy(), schema=f"{P}.Ingress", short_names=("ing",), subresources=("status",))
register(group="networking.k8s.io", version="v1", kind="IngressClass", plural="ingressclasses", namespaced=False,
         strategy=IngressClassStrategy(), schema=f"{P}.IngressClass")
register(group="networking.k8s.io", version="v1", kind="NetworkPolicy", plural="networkpolicies", namespaced=True,
         strategy=NetworkPolicyStrategy(), schema=f"{P}.NetworkPolicy", short_names=("netpol",))
