"""Where the proxy subresources send a request: upstream's ``ResourceLocation`` of pods, Services and nodes.

The name in the URL may carry a scheme and a port (``[scheme:]name[:port]``,
the scheme ``http`` or ``https``): anything else is 400 ``invalid pod request
"x"`` (``service``, ``node`` alike).  Then, as upstream decides:

* a pod: its first IP (``status.podIPs``), at the port given or else the first
  container port declared; an address that is not global unicast (none yet,
  loopback, link-local) is 400 ``address not allowed``;
* a Service: a port number is looked up among the Service's ports (503 ``no
  service port N found for service "s"``) and stands for that port's name; then
  a ready address of the Service's Endpoints with a port of that name, that
  belongs to a pod of the namespace (``targetRef``) which has that IP; none is
  503 ``no endpoints available for service "s"``;
* a node: its kubelet (scheme ``https``, the kubelet-client certificate) when
  no port or the kubelet's port is asked, else the node's address at that port
  over the plain proxy transport, if the address may be proxied to.

A port that is not a number from 1 to 65535 (or, for a Service, a port name)
is 400 ``invalid port "x"``: upstream would fail later, dialling it.
"""

from __future__ import annotations

import ipaddress
import random
from dataclasses import dataclass
from typing import Any, Protocol

from pyk8s.machinery.errors import StatusError, bad_request

Obj = dict[str, Any]
VALID_SCHEMES = ("", "http", "https")
NODE_ADDRESS_PREFERENCE = ("InternalIP", "Hostname", "ExternalIP")


class Getter(Protocol):
    async def get(self, namespace: str, name: str) -> Obj: ...


@dataclass(frozen=True, slots=True)
class Location:
    scheme: str  # http or https
    host: str
    port: int
    kubelet: bool = False  # dial with the kubelet-client certificate

    @property
    def url(self) -> str:
        shown = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{shown}:{self.port}"


def split_scheme_name_port(ident: str) -> tuple[str, str, str] | None:
    """``[scheme:]name[:port]`` apart, or None when it is not that shape (upstream's SplitSchemeNamePort)."""
    parts = ident.split(":")
    if len(parts) == 1:
        scheme, name, port = "", parts[0], ""
    elif len(parts) == 2:
        scheme, name, port = "", parts[0], parts[1]
    elif len(parts) == 3:
        scheme, name, port = parts
    else:
        return None
    if not name or scheme not in VALID_SCHEMES:
        return None
    return scheme, name, port


def _split(kind: str, ident: str) -> tuple[str, str, str]:
    parsed = split_scheme_name_port(ident)
    if parsed is None:
        raise bad_request(f'invalid {kind} request "{ident}"')
    return parsed


def _port_number(port: str) -> int:
    if port.isdigit() and 0 < int(port) < 65536:
        return int(port)
    raise bad_request(f'invalid port "{port}"')


def _global_unicast(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return not (ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_unspecified
                or (ip.version == 4 and ip == ipaddress.IPv4Address("255.255.255.255")))


def pod_ip(pod: Obj) -> str:
    status = pod.get("status") or {}
    ips = status.get("podIPs") or []
    if ips and isinstance(ips[0], dict):
        return str(ips[0].get("ip") or "")
    return str(status.get("podIP") or "")


async def pod_location(pods: Getter, namespace: str, ident: str) -> Location:
    scheme, name, port = _split("pod", ident)
    pod = await pods.get(namespace, name)
    if not port:
        declared = [p.get("containerPort") for c in (pod.get("spec") or {}).get("containers") or []
                    for p in c.get("ports") or []]
        port = str(declared[0]) if declared else ""
    address = pod_ip(pod)
    if not _global_unicast(address):
        raise bad_request("address not allowed")
    scheme = scheme or "http"
    return Location(scheme, address, _port_number(port) if port else (443 if scheme == "https" else 80))


async def service_location(services: Getter, endpoints: Getter, pods: Getter, namespace: str,
                           ident: str) -> Location:
    scheme, name, port_name = _split("service", ident)
    if port_name.isdigit():
        svc = await services.get(namespace, name)
        number = int(port_name)
        match = next((p for p in (svc.get("spec") or {}).get("ports") or [] if p.get("port") == number), None)
        if match is None:
            raise StatusError(503, "ServiceUnavailable", f'no service port {number} found for service "{name}"')
        port_name = str(match.get("name") or "")
    eps = await endpoints.get(namespace, name)
    subsets = list(eps.get("subsets") or [])
    if not subsets:
        raise StatusError(503, "ServiceUnavailable", f'no endpoints available for service "{name}"')
    random.shuffle(subsets)
    for subset in subsets:
        port = next((p for p in subset.get("ports") or [] if (p.get("name") or "") == port_name), None)
        if port is None:
            continue
        addresses = list(subset.get("addresses") or [])
        random.shuffle(addresses)
        for addr in addresses:
            if await _is_pod_address(pods, namespace, addr):
                return Location(scheme or "http", str(addr["ip"]), int(port["port"]))
    raise StatusError(503, "ServiceUnavailable", f'no endpoints available for service "{ident}"')


async def _is_pod_address(pods: Getter, namespace: str, addr: Obj) -> bool:
    """Only addresses of pods are proxied to (upstream's isValidAddress): a Service's Endpoints written by
    hand must not turn the API server into a proxy to anywhere."""
    ref = addr.get("targetRef") or {}
    if ref.get("kind") != "Pod" or (ref.get("namespace") or namespace) != namespace or not ref.get("name"):
        return False
    try:
        pod = await pods.get(namespace, str(ref["name"]))
    except StatusError:
        return False
    ips = [i.get("ip") for i in (pod.get("status") or {}).get("podIPs") or [] if isinstance(i, dict)]
    return addr.get("ip") in (ips or [pod_ip(pod)])


def node_address(node: Obj) -> str:
    by_type = {a.get("type"): a.get("address") for a in (node.get("status") or {}).get("addresses") or []}
    return next((str(by_type[t]) for t in NODE_ADDRESS_PREFERENCE if by_type.get(t)), "")


async def node_location(nodes: Getter, ident: str) -> Location:
    scheme, name, port = _split("node", ident)
    node = await nodes.get("", name)
    host = node_address(node)
    kubelet_port = ((node.get("status") or {}).get("daemonEndpoints") or {}).get("kubeletEndpoint", {}).get("Port")
    if not host or not kubelet_port:
        raise StatusError(503, "ServiceUnavailable", f'no kubelet endpoint is known for node "{name}"')
    if not port or port == str(kubelet_port):
        return Location("https", host, int(kubelet_port), kubelet=True)
    if not _global_unicast(host):
        raise bad_request("address not allowed")
    return Location(scheme or "http", host, _port_number(port))

