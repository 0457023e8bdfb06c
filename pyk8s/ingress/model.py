"""From Ingresses, Services, EndpointSlices and Secrets to the routing model nginx is rendered from (pure).

Rules, as upstream's Ingress API defines them and ingress-nginx builds them:

* One virtual server per host; rules without a host join the catch-all
  server ``_``.  A wildcard host ``*.example.com`` matches exactly one label
  (``a.example.com``, not ``a.b.example.com``); exact hosts win over wildcards.
* Paths: ``Exact`` matches the path alone.  ``Prefix`` matches element by
  element on ``/``: ``/foo`` (or ``/foo/``) matches ``/foo``, ``/foo/`` and
  ``/foo/bar`` but not ``/foobar``; it becomes an exact location for
  ``/foo`` plus a prefix location for ``/foo/``.  The longest match wins
  (nginx's longest-prefix rule) and an Exact path beats a Prefix path of the
  same length.  ``ImplementationSpecific`` is treated as ``Prefix``.
* Conflicts (the same host and path in two Ingresses, two certificates for
  one host) go to the oldest Ingress (creationTimestamp, then namespace/name),
  as ingress-nginx resolves them.
* A host's server falls back (``location /``) to the ``defaultBackend`` of
  the oldest Ingress naming that host, else 404; the catch-all server to the
  oldest Ingress's ``defaultBackend`` anywhere, else 404.
* A backend Service is resolved to its ready endpoints (EndpointSlices,
  ``conditions.ready`` not false) and nginx proxies to the pod IPs directly,
  as ingress-nginx does.  A missing Service, a port it does not have, an
  ExternalName Service or a resource backend answers 503 and leaves a
  warning for the Ingress; a Service with no ready endpoint answers 503.
* TLS: each ``spec.tls`` entry's hosts get the certificate of its
  ``kubernetes.io/tls`` Secret (same namespace; checked here so one bad
  Secret cannot break the whole configuration); plain HTTP to a TLS host
  is redirected with 308, as ingress-nginx's ``ssl-redirect`` default does.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

Obj = dict[str, Any]
CATCH_ALL = "_"
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
TLS_CERT_KEY, TLS_PRIVATE_KEY = "tls.crt", "tls.key"


@dataclass(frozen=True)
class Backend:
    """What a location does: proxy to an upstream, or answer ``status`` itself."""

    upstream: str = ""
    status: int = 0
    comment: str = ""


NOT_FOUND = Backend(status=404, comment="no rule matches")


@dataclass(frozen=True)
class Location:
    path: str
    exact: bool
    backend: Backend
    source: str  # ns/ingress that defined it
    #: The exact half of a Prefix path: an Exact path of the same value replaces it.
    weak: bool = False


@dataclass(frozen=True)
class Certificate:
    name: str  # a stable file name: ns-secret-<hash>
    pem: bytes  # certificate chain followed by the key


@dataclass
class Server:
    host: str
    locations: dict[tuple[bool, str], Location] = field(default_factory=dict)
    fallback: Backend = NOT_FOUND
    tls: Certificate | None = None

    def sorted_locations(self) -> list[Location]:
        return [self.locations[k] for k in sorted(self.locations, key=lambda k: (len(k[1]), k[1], k[0]),
                                                  reverse=True)]


@dataclass
class Model:
    servers: dict[str, Server] = field(default_factory=dict)
    upstreams: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: (ingress ns/name, reason, message) for events.
    warnings: list[tuple[str, str, str]] = field(default_factory=list)


@dataclass
class Inputs:
    ingresses: list[Obj]
    service: Callable[[str, str], Obj | None]
    slices: Callable[[str, str], list[Obj]]
    secret: Callable[[str, str], Obj | None]
    check_certificate: Callable[[bytes, bytes], str] = lambda _c, _k: ""


def ingress_key(ing: Obj) -> str:
    meta = ing.get("metadata") or {}
    return f"{meta.get('namespace', '')}/{meta.get('name', '')}"


def _age(ing: Obj) -> tuple[str, str]:
    return (str((ing.get("metadata") or {}).get("creationTimestamp") or ""), ingress_key(ing))


def location_keys(path: str, path_type: str) -> list[tuple[bool, str]]:
    """nginx locations for one Ingress path: (exact, path) pairs."""
    if path_type == "Exact":
        return [(True, path or "/")]
    base = (path or "/").rstrip("/")
    if not base:
        return [(False, "/")]
    return [(True, base), (False, base + "/")]


def upstream_name(namespace: str, service: str, port: str | int) -> str:
    return f"{namespace}_{service}_{port}"


def _service_port(svc: Obj, port: Obj) -> Obj | None:
    for p in (svc.get("spec") or {}).get("ports") or []:
        if port.get("number") and p.get("port") == port["number"]:
            return dict(p)
        if port.get("name") and p.get("name") == port["name"]:
            return dict(p)
    return None


def ready_endpoints(slices: Iterable[Obj], port_name: str) -> tuple[str, ...]:
    """``ip:port`` of ready endpoints for the Service port named ``port_name`` ("" if unnamed)."""
    out: set[str] = set()
    for es in slices:
        if es.get("addressType") not in ("IPv4", "IPv6"):
            continue
        numbers = [p.get("port") for p in es.get("ports") or []
                   if (p.get("name") or "") == port_name and (p.get("protocol") or "TCP") == "TCP" and p.get("port")]
        for ep in es.get("endpoints") or []:
            if (ep.get("conditions") or {}).get("ready") is False:
                continue
            for addr in ep.get("addresses") or []:
                for number in numbers:
                    out.add(f"[{addr}]:{number}" if ":" in addr else f"{addr}:{number}")
    return tuple(sorted(out))


class Builder:
    def __init__(self, inputs: Inputs) -> None:
        self.inputs = inputs
        self.model = Model()

    def warn(self, ing: Obj, reason: str, message: str) -> None:
        item = (ingress_key(ing), reason, message)
        if item not in self.model.warnings:
            self.model.warnings.append(item)

    def backend(self, ing: Obj, spec: Obj, where: str) -> Backend:
        ns = (ing.get("metadata") or {}).get("namespace") or ""
        if spec.get("resource") is not None:
            self.warn(ing, "UnsupportedBackend", f"{where}: resource backends are not supported; answering 503")
            return Backend(status=503, comment="resource backend")
        svc_ref = spec.get("service") or {}
        name, port = str(svc_ref.get("name") or ""), dict(svc_ref.get("port") or {})
        port_text = str(port.get("number") or port.get("name") or "")
        svc = self.inputs.service(ns, name)
        if svc is None:
            self.warn(ing, "ServiceNotFound", f'{where}: service "{ns}/{name}" not found; answering 503')
            return Backend(status=503, comment=f"service {ns}/{name} not found")
        if (svc.get("spec") or {}).get("type") == "ExternalName":
            self.warn(ing, "UnsupportedBackend", f'{where}: service "{ns}/{name}" is an ExternalName service, '
                                                 "which is not supported; answering 503")
            return Backend(status=503, comment=f"service {ns}/{name} is ExternalName")
        svc_port = _service_port(svc, port)
        if svc_port is None:
            self.warn(ing, "ServicePortNotFound",
                      f'{where}: service "{ns}/{name}" has no port {port_text}; answering 503')
            return Backend(status=503, comment=f"service {ns}/{name} has no port {port_text}")
        servers = ready_endpoints(self.inputs.slices(ns, name), str(svc_port.get("name") or ""))
        if not servers:
            return Backend(status=503, comment=f"service {ns}/{name} has no ready endpoints")
        upstream = upstream_name(ns, name, port_text)
        self.model.upstreams[upstream] = servers
        return Backend(upstream=upstream)

    def server(self, host: str) -> Server:
        return self.model.servers.setdefault(host, Server(host))

    def add_rules(self, ing: Obj) -> None:
        spec = ing.get("spec") or {}
        default = spec.get("defaultBackend")
        for i, rule in enumerate(spec.get("rules") or []):
            server = self.server(rule.get("host") or CATCH_ALL)
            if default is not None and server.host != CATCH_ALL and server.fallback is NOT_FOUND:
                server.fallback = self.backend(ing, default, "spec.defaultBackend")
            for j, item in enumerate((rule.get("http") or {}).get("paths") or []):
                where = f"spec.rules[{i}].http.paths[{j}]"
                backend = self.backend(ing, item.get("backend") or {}, where)
                ptype = str(item.get("pathType") or "")
                for exact, path in location_keys(str(item.get("path") or ""), ptype):
                    self._add_location(server, Location(path, exact, backend, ingress_key(ing),
                                                        weak=exact and ptype != "Exact"))
        if default is not None:
            catch_all = self.server(CATCH_ALL)
            if catch_all.fallback is NOT_FOUND:
                catch_all.fallback = self.backend(ing, default, "spec.defaultBackend")

    @staticmethod
    def _add_location(server: Server, loc: Location) -> None:
        key = (loc.exact, loc.path)
        held = server.locations.get(key)
        if held is None or (held.weak and not loc.weak):  # oldest wins; Exact beats Prefix's exact half
            server.locations[key] = loc

    def add_tls(self, ing: Obj) -> None:
        ns = (ing.get("metadata") or {}).get("namespace") or ""
        for i, tls in enumerate((ing.get("spec") or {}).get("tls") or []):
            hosts = [h for h in tls.get("hosts") or [] if h]
            name = str(tls.get("secretName") or "")
            if not hosts or not name:
                continue  # SNI passthrough and default certificates are not configured here
            cert = self.certificate(ing, ns, name, f"spec.tls[{i}]")
            if cert is None:
                continue
            for host in hosts:
                for server in self.model.servers.values():
                    if server.tls is None and host_covers(host, server.host):
                        server.tls = cert
                if host not in self.model.servers:
                    self.server(host).tls = cert

    def certificate(self, ing: Obj, ns: str, name: str, where: str) -> Certificate | None:
        secret = self.inputs.secret(ns, name)
        if secret is None:
            self.warn(ing, "SecretNotFound", f'{where}: secret "{ns}/{name}" not found; its hosts get no TLS')
            return None
        data = secret.get("data") or {}
        try:
            crt = base64.b64decode(data.get(TLS_CERT_KEY) or "", validate=True)
            key = base64.b64decode(data.get(TLS_PRIVATE_KEY) or "", validate=True)
        except (binascii.Error, ValueError):
            crt = key = b""
        problem = "" if crt and key else f"it has no {TLS_CERT_KEY} and {TLS_PRIVATE_KEY}"
        problem = problem or self.inputs.check_certificate(crt, key)
        if problem:
            self.warn(ing, "InvalidCertificate", f'{where}: secret "{ns}/{name}": {problem}; its hosts get no TLS')
            return None
        digest = hashlib.sha256(crt + b"\n" + key).hexdigest()[:16]
        return Certificate(f"{ns}-{name}-{digest}", crt.rstrip(b"\n") + b"\n" + key.rstrip(b"\n") + b"\n")


def host_covers(pattern: str, host: str) -> bool:
    """Whether a TLS host (maybe ``*.example.com``) covers a rule host."""
    if pattern == host:
        return True
    if pattern.startswith("*.") and not host.startswith("*."):
        head, _, rest = host.partition(".")
        return bool(head) and rest == pattern[2:]
    return False


def build(inputs: Inputs) -> Model:
    """The model for the Ingresses (already filtered to this controller's class)."""
    builder = Builder(inputs)
    ordered = sorted(inputs.ingresses, key=_age)
    for ing in ordered:
        builder.add_rules(ing)
    for ing in ordered:
        builder.add_tls(ing)
    builder.server(CATCH_ALL)
    return builder.model


_WILDCARD = re.compile(r"^\*\.")


def server_name(host: str) -> str:
    """nginx server_name for an Ingress host: wildcards match one label only (a regex)."""
    if host == CATCH_ALL:
        return CATCH_ALL
    if _WILDCARD.match(host):
        return '"~^[^.]+' + re.escape(host[1:]).replace("\\-", "-") + '$"'
    return host
