"""Ingress model: hosts, path types and their order, conflicts, default backends, missing backends, TLS."""

from __future__ import annotations

from typing import Any

import pytest

from pyk8s.ingress.certs import check_certificate
from pyk8s.ingress.model import CATCH_ALL, Inputs, Model, build, host_covers, location_keys, server_name
from pyk8s.testing.selfsigned import self_signed, tls_secret

Obj = dict[str, Any]


def service(name: str, *ports: tuple[str, int], kind: str = "ClusterIP") -> Obj:
    return {"metadata": {"name": name, "namespace": "ns"},
            "spec": {"type": kind, "ports": [{"name": n, "port": p, "protocol": "TCP"} for n, p in ports]}}


def endpoint_slice(svc: str, port_name: str, target: int, *ips: str, ready: bool = True) -> Obj:
    return {"metadata": {"name": f"{svc}-x", "namespace": "ns", "labels": {"kubernetes.io/service-name": svc}},
            "addressType": "IPv4", "ports": [{"name": port_name, "port": target, "protocol": "TCP"}],
            "endpoints": [{"addresses": [ip], "conditions": {"ready": ready}} for ip in ips]}


def backend(name: str, port: int | str = 80) -> Obj:
    return {"service": {"name": name, "port": {"number": port} if isinstance(port, int) else {"name": port}}}


def path(p: str, svc: str, ptype: str = "Prefix", port: int | str = 80) -> Obj:
    return {"path": p, "pathType": ptype, "backend": backend(svc, port)}


def ingress(name: str, *rules: Obj, created: str = "2026-01-01T00:00:00Z", **spec: Any) -> Obj:
    return {"metadata": {"name": name, "namespace": "ns", "creationTimestamp": created},
            "spec": {"rules": list(rules), **spec}}


def rule(host: str | None, *paths: Obj) -> Obj:
    out: Obj = {"http": {"paths": list(paths)}}
    if host:
        out["host"] = host
    return out


class World:
    def __init__(self) -> None:
        self.services = {"web": service("web", ("http", 80)), "api": service("api", ("", 8080))}
        self.slices = {"web": [endpoint_slice("web", "http", 8080, "10.244.0.5", "10.244.0.6"),
                               endpoint_slice("web", "http", 8080, "10.244.0.7", ready=False)],
                       "api": [endpoint_slice("api", "", 9000, "10.244.0.9")]}
        self.secrets: dict[str, Obj] = {}

    def build(self, *ingresses: Obj) -> Model:
        return build(Inputs(list(ingresses), service=lambda ns, n: self.services.get(n),
                            slices=lambda ns, n: self.slices.get(n, []),
                            secret=lambda ns, n: self.secrets.get(n), check_certificate=check_certificate))


def routes(m: Model, host: str) -> dict[str, str]:
    server = m.servers[host]
    out = {("=" if loc.exact else "") + loc.path: loc.backend.upstream or str(loc.backend.status)
           for loc in server.sorted_locations()}
    out["fallback"] = server.fallback.upstream or str(server.fallback.status)
    return out


# --- paths ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("p", "ptype", "want"), [
    ("/foo", "Exact", [(True, "/foo")]),
    ("/foo/", "Exact", [(True, "/foo/")]),
    ("/foo", "Prefix", [(True, "/foo"), (False, "/foo/")]),
    ("/foo/", "Prefix", [(True, "/foo"), (False, "/foo/")]),  # a trailing slash is ignored
    ("/", "Prefix", [(False, "/")]),
    ("/a/b", "ImplementationSpecific", [(True, "/a/b"), (False, "/a/b/")]),  # treated as Prefix
    ("", "ImplementationSpecific", [(False, "/")]),
])
def test_location_keys_match_element_wise(p: str, ptype: str, want: list) -> None:
    assert location_keys(p, ptype) == want


def test_two_hosts_and_a_path_route_to_pod_ips() -> None:
    w = World()
    m = w.build(ingress("site", rule("a.example.com", path("/", "web")),
                        rule("b.example.com", path("/api", "api", port=8080), path("/", "web"))))
    assert routes(m, "a.example.com") == {"/": "ns_web_80", "fallback": "404"}
    assert routes(m, "b.example.com") == {"/api/": "ns_api_8080", "=/api": "ns_api_8080", "/": "ns_web_80",
                                          "fallback": "404"}
    assert m.upstreams == {"ns_web_80": ("10.244.0.5:8080", "10.244.0.6:8080"), "ns_api_8080": ("10.244.0.9:9000",)}
    assert m.warnings == []


def test_locations_are_longest_first_and_exact_beats_prefix_of_same_path() -> None:
    w = World()
    m = w.build(ingress("old", rule("h.example.com", path("/foo", "web"), path("/foo/bar", "api", port=8080))),
                ingress("new", rule("h.example.com", path("/foo", "api", "Exact", port=8080)),
                        created="2026-02-01T00:00:00Z"))
    locs = m.servers["h.example.com"].sorted_locations()
    assert [(loc.exact, loc.path) for loc in locs] == [(False, "/foo/bar/"), (True, "/foo/bar"), (False, "/foo/"),
                                                       (True, "/foo")]
    # The younger Ingress's Exact /foo replaces the exact half of the older Prefix /foo.
    assert locs[-1].backend.upstream == "ns_api_8080" and locs[-1].source == "ns/new"


def test_the_oldest_ingress_wins_a_conflict() -> None:
    w = World()
    young = ingress("young", rule("h.example.com", path("/x", "api", port=8080)), created="2026-03-01T00:00:00Z")
    old = ingress("old", rule("h.example.com", path("/x", "web")), created="2026-01-01T00:00:00Z")
    m = w.build(young, old)
    assert routes(m, "h.example.com")["/x/"] == "ns_web_80"


def test_hostless_rules_and_default_backends() -> None:
    w = World()
    m = w.build(ingress("d", rule(None, path("/web", "web")), rule("h.example.com", path("/only", "web")),
                        defaultBackend=backend("api", 8080)))
    assert routes(m, CATCH_ALL) == {"/web/": "ns_web_80", "=/web": "ns_web_80", "fallback": "ns_api_8080"}
    assert routes(m, "h.example.com")["fallback"] == "ns_api_8080"


def test_missing_service_port_and_endpoints_answer_503_with_warnings() -> None:
    w = World()
    w.slices["web"] = []
    m = w.build(ingress("broken", rule("h.example.com", path("/gone", "nosuch"), path("/port", "api", port=81),
                                       path("/noeps", "web"))))
    assert routes(m, "h.example.com") == {"/port/": "503", "=/port": "503", "/noeps/": "503", "=/noeps": "503",
                                          "/gone/": "503", "=/gone": "503", "fallback": "404"}
    assert [(r, msg) for _, r, msg in m.warnings] == [
        ("ServiceNotFound", 'spec.rules[0].http.paths[0]: service "ns/nosuch" not found; answering 503'),
        ("ServicePortNotFound", 'spec.rules[0].http.paths[1]: service "ns/api" has no port 81; answering 503')]


def test_named_service_ports_and_external_name() -> None:
    w = World()
    w.services["ext"] = service("ext", ("http", 80), kind="ExternalName")
    m = w.build(ingress("n", rule("h.example.com", path("/n", "web", port="http"), path("/e", "ext"))))
    assert routes(m, "h.example.com")["/n/"] == "ns_web_http"
    assert routes(m, "h.example.com")["/e/"] == "503"
    assert m.warnings[0][1] == "UnsupportedBackend"


# --- hosts and TLS ------------------------------------------------------------------------------

def test_wildcards_cover_exactly_one_label() -> None:
    assert host_covers("*.example.com", "a.example.com")
    assert not host_covers("*.example.com", "a.b.example.com")
    assert not host_covers("*.example.com", "example.com")
    assert server_name("*.example.com") == '"~^[^.]+\\.example\\.com$"'
    assert server_name("a.example.com") == "a.example.com"


def test_tls_hosts_get_the_secret_certificate_and_bad_secrets_are_reported() -> None:
    w = World()
    cert, key = self_signed("secure.example.com")
    other_cert, _ = self_signed("x.example.com")
    w.secrets["good"] = tls_secret("good", "ns", cert, key)
    w.secrets["mismatch"] = tls_secret("mismatch", "ns", other_cert, key)
    m = w.build(ingress("t", rule("secure.example.com", path("/", "web")), rule("plain.example.com", path("/", "web")),
                        rule("bad.example.com", path("/", "web")),
                        tls=[{"hosts": ["secure.example.com"], "secretName": "good"},
                             {"hosts": ["bad.example.com"], "secretName": "mismatch"},
                             {"hosts": ["missing.example.com"], "secretName": "nope"}]))
    tls = m.servers["secure.example.com"].tls
    assert tls is not None and tls.pem.startswith(cert.rstrip(b"\n")) and tls.pem.endswith(key)
    assert m.servers["plain.example.com"].tls is None and m.servers["bad.example.com"].tls is None
    assert sorted(r for _, r, _ in m.warnings) == ["InvalidCertificate", "SecretNotFound"]
    assert any("tls.key does not match the certificate" in msg for _, _, msg in m.warnings)
