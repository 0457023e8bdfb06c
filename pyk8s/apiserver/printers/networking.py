"""Rows for networking.k8s.io (Ingress, IngressClass, NetworkPolicy) and
discovery.k8s.io EndpointSlice.  Long lists show three entries, then
``+ N more...``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pyk8s.apiserver.printers.cells import NONE, Obj, dig, format_selector, name_of
from pyk8s.apiserver.printers.duration import since
from pyk8s.apiserver.printers.table import Column, age_column, name_column, register

MAX_LISTED = 3


def _age(obj: Obj, now: datetime) -> str:
    return since(dig(obj, "metadata", "creationTimestamp"), now)


def _limited(items: list[str], count: int, empty: str) -> str:
    text = ",".join(items[:MAX_LISTED])
    if count > MAX_LISTED:
        return f"{text} + {count - MAX_LISTED} more..."
    return text or empty


def ingress_hosts(rules: list[Obj] | None) -> str:
    """Up to three hosts; once three are listed any further rule adds ``+ N more...``."""
    rules = rules or []
    hosts: list[str] = []
    more = False
    for rule in rules:
        if len(hosts) == MAX_LISTED:
            more = True
        if not more and rule.get("host"):
            hosts.append(rule["host"])
    if not hosts:
        return "*"
    if more:
        return f"{','.join(hosts)} + {len(rules) - MAX_LISTED} more..."
    return ",".join(hosts)


def _lb(ingress: list[Obj] | None) -> str:
    """Load-balancer addresses as kubectl's ADDRESS column: IP (else hostname), unique and sorted."""
    seen = {entry.get("ip") or entry.get("hostname") for entry in ingress or []}
    return ",".join(sorted(v for v in seen if v))


@register(
    "networking.k8s.io",
    "Ingress",
    [
        name_column(),
        Column("Class", description="The IngressClass that handles this ingress."),
        Column("Hosts", description="Host names the rules match."),
        Column("Address", description="Addresses of the load balancer serving the ingress."),
        Column("Ports", description="Ports the ingress listens on."),
        age_column(),
    ],
)
def ingress_row(ing: Obj, now: datetime) -> list[Any]:
    spec = ing.get("spec") or {}
    return [
        name_of(ing),
        spec.get("ingressClassName") or NONE,
        ingress_hosts(spec.get("rules")),
        _lb(dig(ing, "status", "loadBalancer", "ingress")),
        "80, 443" if spec.get("tls") else "80",
        _age(ing, now),
    ]


@register(
    "networking.k8s.io",
    "IngressClass",
    [
        name_column(),
        Column("Controller", description="Controller that implements this class."),
        Column("Parameters", description="Resource holding extra configuration for the controller."),
        age_column(),
    ],
)
def ingressclass_row(ic: Obj, now: datetime) -> list[Any]:
    params = dig(ic, "spec", "parameters")
    text = NONE
    if params:
        text = str(params.get("kind", ""))
        if params.get("apiGroup"):
            text += "." + params["apiGroup"]
        text += "/" + str(params.get("name", ""))
    return [name_of(ic), dig(ic, "spec", "controller", default=""), text, _age(ic, now)]


@register(
    "networking.k8s.io",
    "NetworkPolicy",
    [name_column(), Column("Pod-Selector", description="Pods the policy applies to."), age_column()],
)
def networkpolicy_row(np: Obj, now: datetime) -> list[Any]:
    return [name_of(np), format_selector(dig(np, "spec", "podSelector")), _age(np, now)]


def slice_ports(ports: list[Obj] | None) -> str:
    items = []
    for port in ports or []:
        if port.get("port") is not None:
            items.append(str(port["port"]))
        elif port.get("name") is not None:
            items.append(str(port["name"]))
        else:
            items.append("*")
    return _limited(items, len(items), "<unset>")


def slice_endpoints(endpoints: list[Obj] | None) -> str:
    items = [addr for ep in endpoints or [] for addr in ep.get("addresses") or []]
    return _limited(items, len(items), "<unset>")


@register(
    "discovery.k8s.io",
    "EndpointSlice",
    [
        name_column(),
        Column("AddressType", description="IPv4, IPv6 or FQDN."),
        Column("Ports", description="Ports of the endpoints."),
        Column("Endpoints", description="Addresses of the endpoints."),
        age_column(),
    ],
)
def endpointslice_row(es: Obj, now: datetime) -> list[Any]:
    return [
        name_of(es),
        es.get("addressType", ""),
        slice_ports(es.get("ports")),
        slice_endpoints(es.get("endpoints")),
        _age(es, now),
    ]
