"""discovery.k8s.io/v1: EndpointSlice, the scalable form of a Service's
endpoints.  ``kubectl describe service`` lists slices by the
``kubernetes.io/service-name`` label; the endpoints controller writes them.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from pyk8s.api import meta_v1, names
from pyk8s.api.kinds import OBJECT_REFERENCE, child, define_kind, immutable, register
from pyk8s.machinery.schema import BOOL, INT32, STRING, STRING_LIST, STRING_MAP, ArrayOf, Field, Ref, define
from pyk8s.machinery.scheme import Strategy
from pyk8s.machinery.validation import FieldError, invalid, not_supported, required

Obj = dict[str, Any]
P = "io.k8s.api.discovery.v1"
ADDRESS_TYPES = ["FQDN", "IPv4", "IPv6"]
MAX_ENDPOINTS = 1000
MAX_PORTS = 100
MAX_ADDRESSES = 100

define(f"{P}.EndpointConditions", "Readiness of one endpoint.", [
    Field("ready", BOOL, "Ready to receive traffic.", proto=1),
    Field("serving", BOOL, "Able to serve, even while terminating.", proto=2),
    Field("terminating", BOOL, "Shutting down.", proto=3),
])
define(f"{P}.ForZone", "A zone that should use an endpoint.", [
    Field("name", STRING, "Zone name.", required=True, proto=1),
])
define(f"{P}.EndpointHints", "Topology hints for consumers.", [
    Field("forZones", ArrayOf(Ref(f"{P}.ForZone")), "Zones that should use this endpoint.", list_type="atomic",
          proto=1),
])
define(f"{P}.Endpoint", "One backend of a Service.", [
    Field("addresses", STRING_LIST, "Addresses of the backend (one, in practice).", required=True, list_type="set",
          proto=1),
    Field("conditions", Ref(f"{P}.EndpointConditions"), "Readiness.", proto=2),
    Field("hostname", STRING, "DNS hostname of the backend.", proto=3),
    Field("targetRef", Ref(OBJECT_REFERENCE), "The object (usually a Pod) behind the endpoint.", proto=4),
    Field("deprecatedTopology", STRING_MAP, "Old topology labels; use nodeName and zone.", proto=5),
    Field("nodeName", STRING, "Node hosting the endpoint.", proto=6),
    Field("zone", STRING, "Zone of the endpoint.", proto=7),
    Field("hints", Ref(f"{P}.EndpointHints"), "Topology hints.", proto=8),
])
define(f"{P}.EndpointPort", "A port the endpoints serve.", [
    Field("name", STRING, "Port name (matches the Service port name).", proto=1),
    Field("protocol", STRING, "TCP, UDP or SCTP.", proto=2),
    Field("port", INT32, "Port number.", proto=3),
    Field("appProtocol", STRING, "Application protocol of the port.", proto=4),
])
define_kind(P, "EndpointSlice", ("discovery.k8s.io", "v1"), "A subset of the endpoints of a Service.", [
    Field("addressType", STRING, "IPv4, IPv6 or FQDN.", required=True, proto=4),
    Field("endpoints", ArrayOf(Ref(f"{P}.Endpoint")), "The endpoints.", required=True, list_type="atomic", proto=2),
    Field("ports", ArrayOf(Ref(f"{P}.EndpointPort")), "Ports served by every endpoint.", list_type="atomic", proto=3),
])


def _address_errors(address: str, kind: str, path: str) -> list[FieldError]:
    if kind == "FQDN":
        return [invalid(path, address, m) for m in names.is_dns1123_subdomain(address)]
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return [invalid(path, address, "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)")]
    want = 4 if kind == "IPv4" else 6
    if ip.version != want:
        return [invalid(path, address, f"must be an IP{'v4' if want == 4 else 'v6'} address")]
    return []


def _validate_endpoints(endpoints: list[Obj], kind: str) -> list[FieldError]:
    errs: list[FieldError] = []
    if len(endpoints) > MAX_ENDPOINTS:
        errs.append(FieldError(("FieldValueTooMany", "Too many"), "endpoints",
                               f"must have at most {MAX_ENDPOINTS} items"))
    for i, ep in enumerate(endpoints):
        path = f"endpoints[{i}]"
        addresses = ep.get("addresses") or []
        if not addresses:
            errs.append(required(path + ".addresses", "must contain at least 1 address"))
        elif len(addresses) > MAX_ADDRESSES:
            errs.append(FieldError(("FieldValueTooMany", "Too many"), path + ".addresses",
                                   f"must have at most {MAX_ADDRESSES} items"))
        for j, address in enumerate(addresses):
            errs += _address_errors(address, kind, f"{path}.addresses[{j}]")
        if ep.get("hostname"):
            errs += [invalid(path + ".hostname", ep["hostname"], m) for m in names.is_dns1123_label(ep["hostname"])]
    return errs


def _validate_ports(ports: list[Obj]) -> list[FieldError]:
    errs: list[FieldError] = []
    seen: set[str] = set()
    for i, port in enumerate(ports):
        path = f"ports[{i}]"
        name = port.get("name") or ""
        if name:
            errs += [invalid(path + ".name", name, m) for m in names.is_dns1123_label(name)]
        if name in seen:
            errs.append(FieldError(("FieldValueDuplicate", "Duplicate value"), path + ".name", "", name, True))
        seen.add(name)
        protocol = port.get("protocol")
        if protocol is not None and protocol not in ("SCTP", "TCP", "UDP"):
            errs.append(not_supported(path + ".protocol", protocol, ["SCTP", "TCP", "UDP"]))
        number = port.get("port")
        if isinstance(number, int):
            errs += [invalid(path + ".port", number, m) for m in names.is_valid_port_num(number)]
    return errs


def validate_endpoint_slice(obj: Obj) -> list[FieldError]:
    kind = obj.get("addressType") or ""
    errs: list[FieldError] = []
    if not kind:
        errs.append(required("addressType"))
    elif kind not in ADDRESS_TYPES:
        errs.append(not_supported("addressType", kind, ADDRESS_TYPES))
    errs += _validate_endpoints(obj.get("endpoints") or [], kind)
    return errs + _validate_ports(obj.get("ports") or [])


class EndpointSliceStrategy(Strategy):
    has_status = False

    def default(self, obj: Obj) -> None:
        for port in obj.get("ports") or []:
            if isinstance(port, dict):
                port.setdefault("protocol", "TCP")
                port.setdefault("name", "")
        obj.setdefault("endpoints", [])

    def prepare_for_create(self, obj: Obj) -> None:
        child(obj, "metadata")["generation"] = 1

    def validate(self, obj: Obj) -> list[FieldError]:
        return meta_v1.validate_object_meta(obj, namespaced=True) + validate_endpoint_slice(obj)

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        errs = meta_v1.validate_object_meta_update(new, old) + validate_endpoint_slice(new)
        return errs + immutable(new.get("addressType"), old.get("addressType"), "addressType")


register(group="discovery.k8s.io", version="v1", kind="EndpointSlice", plural="endpointslices", namespaced=True,
         strategy=EndpointSliceStrategy(), schema=f"{P}.EndpointSlice")
