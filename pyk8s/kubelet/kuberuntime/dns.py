"""A pod's resolv.conf settings (upstream ``pkg/kubelet/network/dns``).

* ClusterFirst (off the host network) and ClusterFirstWithHostNet: the
  cluster DNS servers only, search ``<ns>.svc.<domain> svc.<domain> <domain>``
  then the host's search list, ``options ndots:5``.  With no cluster DNS
  configured the pod falls back to Default and a MissingClusterDNS event says so.
* Default (and ClusterFirst on the host network): the host's resolv.conf.
* None: nothing but ``spec.dnsConfig``.

``spec.dnsConfig`` is appended last (servers and searches de-duplicated,
options merged by name), then the result is cut to 3 nameservers and 32
search domains / 2048 characters, with a DNSConfigForming event when cut.
"""

from __future__ import annotations

import pathlib
from dataclasses import dataclass, field
from typing import Any

from pyk8s.kubelet.runtime import interface as ri

Obj = dict[str, Any]
MAX_NAMESERVERS = 3
MAX_SEARCH_PATHS = 32
MAX_SEARCH_CHARS = 2048
DEFAULT_OPTIONS = ["ndots:5"]


@dataclass
class DNSResult:
    config: ri.DNSConfig
    warnings: list[tuple[str, str]] = field(default_factory=list)  # (reason, message) events


def parse_resolv_conf(text: str) -> ri.DNSConfig:
    cfg = ri.DNSConfig()
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split()
        if not fields:
            continue
        if fields[0] == "nameserver" and len(fields) > 1:
            cfg.servers.append(fields[1])
        elif fields[0] == "search":
            cfg.searches = [s.rstrip(".") for s in fields[1:] if s != "."]
        elif fields[0] == "options":
            cfg.options = _merge_options(cfg.options, fields[1:])
    return cfg


def _host_config(resolv_conf: str, node_ips: list[str]) -> ri.DNSConfig:
    if not resolv_conf:
        # An empty --resolv-conf disables lookups: the resolver's "local machine" default.
        servers = ["::1" if ":" in ip else "127.0.0.1" for ip in node_ips] or ["127.0.0.1"]
        return ri.DNSConfig(servers=servers, searches=["."])
    try:
        return parse_resolv_conf(pathlib.Path(resolv_conf).read_text())
    except OSError:
        return ri.DNSConfig()


def _dedupe(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _merge_options(existing: list[str], extra: list[str]) -> list[str]:
    merged: dict[str, str] = {}
    for op in [*existing, *extra]:
        name, _, value = op.partition(":")
        merged[name] = value
    return [f"{k}:{v}" if v else k for k, v in merged.items()]


def dns_type(pod: Obj) -> str:
    spec = pod.get("spec") or {}
    policy = spec.get("dnsPolicy") or "ClusterFirst"
    if policy == "None":
        return "none"
    if policy == "ClusterFirstWithHostNet" or (policy == "ClusterFirst" and not spec.get("hostNetwork")):
        return "cluster"
    return "host" if policy in ("ClusterFirst", "Default") else "cluster"


def pod_dns(pod: Obj, *, cluster_dns: list[str], cluster_domain: str, resolv_conf: str,
            node_ips: list[str]) -> DNSResult:
    meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
    result = DNSResult(_host_config(resolv_conf, node_ips))
    kind = dns_type(pod)
    if kind == "none":
        result.config = ri.DNSConfig()
    elif kind == "cluster" and cluster_dns:
        searches = result.config.searches
        if cluster_domain:
            ns = meta.get("namespace", "")
            searches = [f"{ns}.svc.{cluster_domain}", f"svc.{cluster_domain}", cluster_domain, *searches]
        result.config = ri.DNSConfig(servers=list(cluster_dns), searches=_dedupe(searches),
                                     options=list(DEFAULT_OPTIONS))
    elif kind == "cluster":
        msg = ('kubelet does not have ClusterDNS IP configured and cannot create Pod using "ClusterFirst" policy. '
               'Falling back to "Default" policy.')
        pod_ref = f"{meta.get('name', '')}_{meta.get('namespace', '')}({meta.get('uid', '')})"
        result.warnings.append(("MissingClusterDNS", f'pod: "{pod_ref}". {msg}'))
    extra = spec.get("dnsConfig")
    if extra:
        cfg = result.config
        cfg.servers = _dedupe([*cfg.servers, *(extra.get("nameservers") or [])])
        cfg.searches = _dedupe([*cfg.searches, *(extra.get("searches") or [])])
        options = [f"{o['name']}:{o['value']}" if o.get("value") else o["name"]
                   for o in extra.get("options") or [] if o.get("name")]
        cfg.options = _merge_options(cfg.options, options)
    _fit_limits(result)
    return result


def _fit_limits(result: DNSResult) -> None:
    cfg = result.config
    if len(cfg.servers) > MAX_NAMESERVERS:
        cfg.servers = cfg.servers[:MAX_NAMESERVERS]
        result.warnings.append(("DNSConfigForming", "Nameserver limits were exceeded, some nameservers have been "
                                f"omitted, the applied nameserver line is: {' '.join(cfg.servers)}"))
    searches = cfg.searches[:MAX_SEARCH_PATHS]
    while searches and len(" ".join(searches)) > MAX_SEARCH_CHARS:
        searches.pop()
    if searches != cfg.searches:
        cfg.searches = searches
        result.warnings.append(("DNSConfigForming", "Search Line limits were exceeded, some search paths have been "
                                f"omitted, the applied search line is: {' '.join(searches)}"))
