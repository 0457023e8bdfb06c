"""Rows for the core (v1) kinds other than Pod and volumes.

Each function takes one object and the current time and returns its cells in
column order.  Counts are integers and everything else is a string, as the
column types say; kubectl prints ``<none>`` and friends verbatim.
"""

from __future__ import annotations

import ipaddress
from datetime import datetime
from typing import Any

from pyk8s.apiserver.printers.cells import (
    NONE,
    Obj,
    container_cells,
    dig,
    format_labels,
    name_of,
)
from pyk8s.apiserver.printers.duration import rfc3339, since
from pyk8s.apiserver.printers.table import Column, age_column, name_column, register, wide

CREATED_AT = Column("Created At", "date", "When the object was created (metadata.creationTimestamp).")


def _age(obj: Obj, now: datetime) -> str:
    return since(dig(obj, "metadata", "creationTimestamp"), now)


# --- Service ---------------------------------------------------------------


def _lb_addresses(ingress: list[Obj] | None) -> list[str]:
    seen: list[str] = []
    for entry in ingress or []:
        value = entry.get("ip") or entry.get("hostname")
        if value and value not in seen:
            seen.append(value)
    return seen


def service_external_ip(svc: Obj) -> str:
    spec = svc.get("spec") or {}
    kind = spec.get("type", "")
    external = spec.get("externalIPs") or []
    if kind in ("ClusterIP", "NodePort"):
        return ",".join(external) if external else NONE
    if kind == "LoadBalancer":
        lb = _lb_addresses(dig(svc, "status", "loadBalancer", "ingress"))
        if external:
            return ",".join(lb + list(external))
        return ",".join(lb) if lb else "<pending>"
    if kind == "ExternalName":
        return str(spec.get("externalName", ""))
    return "<unknown>"


def service_ports(ports: list[Obj] | None) -> str:
    pieces = []
    for port in ports or []:
        proto = port.get("protocol") or "TCP"
        if port.get("nodePort"):
            pieces.append(f"{port.get('port')}:{port['nodePort']}/{proto}")
        else:
            pieces.append(f"{port.get('port')}/{proto}")
    return ",".join(pieces) or NONE


@register(
    "",
    "Service",
    [
        name_column(),
        Column("Type", description="How the service is exposed (ClusterIP, NodePort, LoadBalancer, ExternalName)."),
        Column("Cluster-IP", description="The virtual IP allocated to the service."),
        Column("External-IP", description="Addresses reachable from outside the cluster."),
        Column("Port(s)", description="Service ports, with node ports where allocated."),
        age_column(),
        wide("Selector", "Labels of the pods that back the service."),
    ],
)
def service_row(svc: Obj, now: datetime) -> list[Any]:
    spec = svc.get("spec") or {}
    cluster_ips = spec.get("clusterIPs") or ([spec["clusterIP"]] if spec.get("clusterIP") else [])
    return [
        name_of(svc),
        spec.get("type", ""),
        cluster_ips[0] if cluster_ips else NONE,
        service_external_ip(svc),
        service_ports(spec.get("ports")),
        _age(svc, now),
        format_labels(spec.get("selector")),
    ]


# --- Node ------------------------------------------------------------------

ROLE_PREFIX = "node-role.kubernetes.io/"
ROLE_LABEL = "kubernetes.io/role"


def node_roles(labels: dict[str, str] | None) -> str:
    roles: set[str] = set()
    for key, value in (labels or {}).items():
        if key.startswith(ROLE_PREFIX) and key[len(ROLE_PREFIX) :]:
            roles.add(key[len(ROLE_PREFIX) :])
        elif key == ROLE_LABEL and value:
            roles.add(value)
    return ",".join(sorted(roles)) or NONE


def node_status(node: Obj) -> str:
    parts = []
    for cond in dig(node, "status", "conditions", default=[]):
        if cond.get("type") == "Ready":
            parts = ["Ready" if cond.get("status") == "True" else "NotReady"]
    if not parts:
        parts = ["Unknown"]
    if dig(node, "spec", "unschedulable"):
        parts.append("SchedulingDisabled")
    return ",".join(parts)


def _node_address(node: Obj, kind: str) -> str:
    for addr in dig(node, "status", "addresses", default=[]):
        if addr.get("type") == kind:
            return str(addr.get("address", ""))
    return NONE


@register(
    "",
    "Node",
    [
        name_column(),
        Column("Status", description="Readiness of the node, and whether it takes new pods."),
        Column("Roles", description="Roles taken from the node-role labels."),
        age_column(),
        Column("Version", description="Version of the kubelet on the node."),
        wide("Internal-IP", "The node's internal address."),
        wide("External-IP", "The node's external address."),
        wide("OS-Image", "Operating system image reported by the node."),
        wide("Kernel-Version", "Kernel version reported by the node."),
        wide("Container-Runtime", "Container runtime and version reported by the node."),
    ],
)
def node_row(node: Obj, now: datetime) -> list[Any]:
    info = dig(node, "status", "nodeInfo", default={})
    return [
        name_of(node),
        node_status(node),
        node_roles(dig(node, "metadata", "labels")),
        _age(node, now),
        info.get("kubeletVersion", ""),
        _node_address(node, "InternalIP"),
        _node_address(node, "ExternalIP"),
        info.get("osImage") or "<unknown>",
        info.get("kernelVersion") or "<unknown>",
        info.get("containerRuntimeVersion") or "<unknown>",
    ]


# --- Small core kinds ------------------------------------------------------


@register("", "Namespace", [name_column(), Column("Status", description="Phase of the namespace."), age_column()])
def namespace_row(ns: Obj, now: datetime) -> list[Any]:
    return [name_of(ns), dig(ns, "status", "phase", default=""), _age(ns, now)]


@register(
    "", "ConfigMap", [name_column(), Column("Data", description="Number of data and binaryData keys."), age_column()]
)
def configmap_row(cm: Obj, now: datetime) -> list[Any]:
    return [name_of(cm), len(cm.get("data") or {}) + len(cm.get("binaryData") or {}), _age(cm, now)]


@register(
    "",
    "Secret",
    [
        name_column(),
        Column("Type", description="Type of the secret's contents."),
        Column("Data", description="Number of data keys."),
        age_column(),
    ],
)
def secret_row(secret: Obj, now: datetime) -> list[Any]:
    return [name_of(secret), secret.get("type", ""), len(secret.get("data") or {}), _age(secret, now)]


@register(
    "", "ServiceAccount", [name_column(), Column("Secrets", description="Number of secrets listed."), age_column()]
)
def serviceaccount_row(sa: Obj, now: datetime) -> list[Any]:
    return [name_of(sa), len(sa.get("secrets") or []), _age(sa, now)]


@register("", "LimitRange", [name_column(), CREATED_AT])
def limitrange_row(obj: Obj, now: datetime) -> list[Any]:
    return [name_of(obj), rfc3339(dig(obj, "metadata", "creationTimestamp"))]


@register(
    "",
    "ResourceQuota",
    [
        name_column(),
        age_column(),
        Column("Request", description="Used and hard amounts of requested resources."),
        Column("Limit", description="Used and hard amounts of resource limits."),
    ],
)
def resourcequota_row(quota: Obj, now: datetime) -> list[Any]:
    hard = dig(quota, "status", "hard", default={})
    used = dig(quota, "status", "used", default={})
    requests: list[str] = []
    limits: list[str] = []
    for resource in sorted(hard):
        target = limits if resource.split(".")[0] == "limits" and "." in resource else requests
        target.append(f"{resource}: {used.get(resource, '0')}/{hard[resource]}")
    return [name_of(quota), _age(quota, now), ", ".join(requests), ", ".join(limits)]


@register(
    "",
    "PodTemplate",
    [
        name_column(),
        Column("Containers", description="Names of the containers in the template."),
        Column("Images", description="Images of the containers in the template."),
        Column("Pod Labels", description="Labels of the pod template."),
    ],
)
def podtemplate_row(obj: Obj, now: datetime) -> list[Any]:
    names, images = container_cells(dig(obj, "template", "spec"))
    return [name_of(obj), names, images, format_labels(dig(obj, "template", "metadata", "labels"))]


@register(
    "",
    "ReplicationController",
    [
        name_column(),
        Column("Desired", "integer", "Desired number of replicas."),
        Column("Current", "integer", "Number of replicas that exist."),
        Column("Ready", "integer", "Number of ready replicas."),
        age_column(),
        wide("Containers", "Names of the containers in the template."),
        wide("Images", "Images of the containers in the template."),
        wide("Selector", "Labels that select the controlled pods."),
    ],
)
def replicationcontroller_row(rc: Obj, now: datetime) -> list[Any]:
    spec, status = rc.get("spec") or {}, rc.get("status") or {}
    names, images = container_cells(dig(rc, "spec", "template", "spec"))
    return [
        name_of(rc),
        int(spec.get("replicas") or 0),
        int(status.get("replicas") or 0),
        int(status.get("readyReplicas") or 0),
        _age(rc, now),
        names,
        images,
        format_labels(spec.get("selector")),
    ]


# --- Endpoints -------------------------------------------------------------

MAX_LISTED = 3


def _host_port(ip: str, port: Any) -> str:
    try:
        if isinstance(ipaddress.ip_address(ip), ipaddress.IPv6Address):
            return f"[{ip}]:{port}"
    except ValueError:
        pass
    return f"{ip}:{port}"


def format_endpoints(endpoints: Obj) -> str:
    """``ip:port,...`` for the first three addresses, then ``+ N more...``."""
    subsets = endpoints.get("subsets") or []
    if not subsets:
        return NONE
    listed: list[str] = []
    count = 0
    for subset in subsets:
        addresses = [a.get("ip", "") for a in subset.get("addresses") or []]
        ports = subset.get("ports") or []
        if not ports:
            count += len(addresses)
            listed.extend(addresses[: max(0, MAX_LISTED - len(listed))])
            continue
        for port in ports:
            count += len(addresses)
            room = max(0, MAX_LISTED - len(listed))
            listed.extend(_host_port(ip, port.get("port")) for ip in addresses[:room])
    text = ",".join(listed)
    if count > MAX_LISTED:
        return f"{text} + {count - MAX_LISTED} more..."
    return text


@register(
    "", "Endpoints", [name_column(), Column("Endpoints", description="Ready addresses with their ports."), age_column()]
)
def endpoints_row(ep: Obj, now: datetime) -> list[Any]:
    return [name_of(ep), format_endpoints(ep), _age(ep, now)]


# --- Event -----------------------------------------------------------------


def _event_source(event: Obj) -> str:
    component = dig(event, "source", "component") or event.get("reportingComponent") or ""
    host = dig(event, "source", "host") or event.get("reportingInstance") or ""
    return f"{component}, {host}" if host else component


@register(
    "",
    "Event",
    [
        Column("Last Seen", description="When the event was last observed."),
        Column("Type", description="Normal or Warning."),
        Column("Reason", description="Short machine-readable reason for the event."),
        Column("Object", description="The object the event is about (kind/name)."),
        wide("Subobject", "Field path of the part of the object concerned."),
        wide("Source", "Component (and host) that reported the event."),
        Column("Message", description="Human-readable description of the event."),
        wide("First Seen", "When the event was first observed."),
        wide("Count", "How many times the event was observed."),
        Column("Name", "string", "Name of the event object.", priority=1, format="name"),
    ],
)
def event_row(event: Obj, now: datetime) -> list[Any]:
    first = event.get("firstTimestamp")
    first_seen = since(first, now) if first else since(event.get("eventTime"), now)
    last = event.get("lastTimestamp")
    last_seen = since(last, now) if last else first_seen
    series = event.get("series")
    count = event.get("count") or 1
    if series:
        last_seen = since(series.get("lastObservedTime"), now)
        count = series.get("count") or 0
    involved = event.get("involvedObject") or {}
    kind = str(involved.get("kind", "")).lower()
    target = f"{kind}/{involved['name']}" if involved.get("name") else kind
    return [
        last_seen,
        event.get("type", ""),
        event.get("reason", ""),
        target,
        involved.get("fieldPath", ""),
        _event_source(event),
        str(event.get("message", "")).strip(),
        first_seen,
        int(count),
        name_of(event),
    ]
