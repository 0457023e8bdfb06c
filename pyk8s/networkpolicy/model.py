"""What each pod on this node may receive and send, as NetworkPolicy defines it.

Upstream's semantics (kubernetes.io/docs/concepts/services-networking/network-policies):

* a pod is isolated for ingress (egress) once any policy in its namespace
  selects it and lists ``Ingress`` (``Egress``) in ``policyTypes``; a pod no
  policy selects in a direction is not isolated there;
* the allows of every selecting policy add up; there is no deny rule;
* within a rule, peers are ORed and ports are ORed; an empty (absent) peer
  list means every source/destination, an empty port list every port;
* a peer with only ``podSelector`` picks pods of the policy's namespace, with
  only ``namespaceSelector`` every pod of the selected namespaces, with both
  the pods matching ``podSelector`` in the selected namespaces; ``ipBlock``
  picks addresses (minus ``except``);
* a named port is resolved against the pod that receives the traffic: the
  target pod for ingress, each destination pod for egress (so an ipBlock peer
  never matches a named port);
* replies of an allowed connection always pass (the renderer accepts
  established traffic through conntrack).

``PortMatch.port`` None means any port of that protocol.  ``Allow.sources``
None means any address; an empty tuple never occurs (a rule whose peers
select nothing is dropped, since it allows nothing).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pyk8s.machinery import labels

Obj = dict[str, Any]


@dataclass(frozen=True)
class Pod:
    namespace: str
    name: str
    ips: tuple[str, ...]
    labels: Mapping[str, str]
    node: str
    named_ports: Mapping[str, tuple[tuple[str, int], ...]] = field(default_factory=dict)  # name -> (proto, port)s


@dataclass(frozen=True)
class IPBlock:
    cidr: str
    excepts: tuple[str, ...] = ()


@dataclass(frozen=True)
class PortMatch:
    protocol: str  # TCP, UDP or SCTP
    port: int | None = None
    end_port: int | None = None


@dataclass(frozen=True)
class Allow:
    """Traffic from (ingress) or to (egress) ``peers`` on ``ports`` is allowed; None = anything."""
    peers: tuple[str | IPBlock, ...] | None
    ports: tuple[PortMatch, ...] | None


@dataclass
class PodRules:
    """A local pod's isolation: ``ingress``/``egress`` None when that direction is not isolated."""
    pod: Pod
    ingress: list[Allow] | None = None
    egress: list[Allow] | None = None
    policies: list[str] = field(default_factory=list)  # ns/name of the policies selecting it


def pod_from_object(obj: Obj) -> Pod | None:
    """The pod as policies see it, or None when it has no pod-network address (pending, host network, done)."""
    spec, status, meta = obj.get("spec") or {}, obj.get("status") or {}, obj.get("metadata") or {}
    if spec.get("hostNetwork") or status.get("phase") in ("Succeeded", "Failed"):
        return None
    ips = tuple(p.get("ip", "") for p in status.get("podIPs") or [] if p.get("ip")) or (
        (status["podIP"],) if status.get("podIP") else ())
    if not ips:
        return None
    named: dict[str, list[tuple[str, int]]] = {}
    for container in spec.get("containers") or []:
        for port in container.get("ports") or []:
            if port.get("name") and port.get("containerPort"):
                named.setdefault(port["name"], []).append((port.get("protocol") or "TCP", int(port["containerPort"])))
    return Pod(meta.get("namespace", ""), meta.get("name", ""), ips, dict(meta.get("labels") or {}),
               spec.get("nodeName", ""), {k: tuple(v) for k, v in named.items()})


def policy_types(spec: Obj) -> list[str]:
    """``policyTypes`` as the API server defaults it (Ingress always, Egress when egress rules exist)."""
    return list(spec.get("policyTypes") or (["Ingress"] + (["Egress"] if spec.get("egress") else [])))


class Resolver:
    """Selectors and named ports evaluated against one snapshot of pods and namespace labels."""

    def __init__(self, pods: Iterable[Pod], namespaces: Mapping[str, Mapping[str, str]]) -> None:
        self.pods = list(pods)
        self.namespaces = namespaces

    def _namespaces(self, selector: Obj | None, own: str) -> list[str]:
        if selector is None:
            return [own]
        return [ns for ns, lbls in self.namespaces.items() if labels.matches_label_selector(selector, lbls)]

    def peer_pods(self, peer: Obj, policy_ns: str) -> list[Pod]:
        namespaces = set(self._namespaces(peer.get("namespaceSelector"), policy_ns))
        pod_selector = peer.get("podSelector")
        return [p for p in self.pods if p.namespace in namespaces
                and (pod_selector is None or labels.matches_label_selector(pod_selector, p.labels))]

    def selected(self, spec: Obj, policy_ns: str) -> list[Pod]:
        return [p for p in self.pods if p.namespace == policy_ns
                and labels.matches_label_selector(spec.get("podSelector") or {}, p.labels)]


def _numeric_ports(ports: list[Obj]) -> tuple[list[PortMatch], list[tuple[str, str]]]:
    """Splits a rule's ports into numeric matches and (protocol, name) pairs still to resolve."""
    numeric: list[PortMatch] = []
    named: list[tuple[str, str]] = []
    for port in ports:
        protocol = port.get("protocol") or "TCP"
        value = port.get("port")
        if isinstance(value, str) and not value.isdigit():
            named.append((protocol, value))
        elif value is None:
            numeric.append(PortMatch(protocol))
        else:
            end = port.get("endPort")
            numeric.append(PortMatch(protocol, int(value), int(end) if end is not None else None))
    return numeric, named


def _resolve_named(pod: Pod, named: list[tuple[str, str]]) -> list[PortMatch]:
    return [PortMatch(proto, number) for proto, name in named
            for (p, number) in pod.named_ports.get(name, ()) if p == proto]


def _peers(resolver: Resolver, rule_peers: list[Obj], policy_ns: str) -> tuple[list[Pod], list[IPBlock]]:
    pods: dict[tuple[str, str], Pod] = {}
    blocks: list[IPBlock] = []
    for peer in rule_peers:
        block = peer.get("ipBlock")
        if block is not None:
            blocks.append(IPBlock(block.get("cidr", ""), tuple(block.get("except") or ())))
            continue
        for pod in resolver.peer_pods(peer, policy_ns):
            pods[(pod.namespace, pod.name)] = pod
    return list(pods.values()), blocks


def _ips(pods: Iterable[Pod]) -> tuple[str, ...]:
    return tuple(sorted({ip for p in pods for ip in p.ips}, key=_ip_key))


def _ip_key(ip: str) -> tuple[int, int]:
    addr = ipaddress.ip_address(ip)
    return addr.version, int(addr)


def ingress_allows(resolver: Resolver, rule: Obj, policy_ns: str, target: Pod) -> list[Allow]:
    numeric, named = _numeric_ports(rule.get("ports") or [])
    ports: tuple[PortMatch, ...] | None = None
    if rule.get("ports"):
        ports = tuple(numeric + _resolve_named(target, named))
        if not ports:
            return []  # only named ports, none of them on this pod: the rule allows nothing here
    if not rule.get("from"):
        return [Allow(None, ports)]
    pods, blocks = _peers(resolver, rule["from"], policy_ns)
    peers: tuple[str | IPBlock, ...] = (*_ips(pods), *blocks)
    return [Allow(peers, ports)] if peers else []


def egress_allows(resolver: Resolver, rule: Obj, policy_ns: str) -> list[Allow]:
    numeric, named = _numeric_ports(rule.get("ports") or [])
    if rule.get("to"):
        pods, blocks = _peers(resolver, rule["to"], policy_ns)
        peers: tuple[str | IPBlock, ...] | None = (*_ips(pods), *blocks)
        if not peers:
            return []
    else:
        pods, blocks, peers = resolver.pods, [], None
    if not rule.get("ports"):
        return [Allow(peers, None)]
    allows = [Allow(peers, tuple(numeric))] if numeric else []
    # A named port means a different number per destination pod: group the pods by what it resolves to.
    by_port: dict[PortMatch, list[Pod]] = {}
    for pod in pods:
        for match in _resolve_named(pod, named):
            by_port.setdefault(match, []).append(pod)
    allows += [Allow(_ips(group), (match,)) for match, group in sorted(by_port.items(), key=lambda kv: repr(kv[0]))]
    return allows


def compute(policies: Iterable[Obj], pods: Iterable[Pod], namespaces: Mapping[str, Mapping[str, str]],
            node: str) -> list[PodRules]:
    """The rules of every pod on ``node`` that some policy isolates (pods no policy selects are absent)."""
    resolver = Resolver(pods, namespaces)
    rules: dict[tuple[str, str], PodRules] = {}
    for policy in sorted(policies, key=lambda p: (p["metadata"].get("namespace", ""), p["metadata"]["name"])):
        meta, spec = policy["metadata"], policy.get("spec") or {}
        ns, types = meta.get("namespace", ""), policy_types(spec)
        for pod in resolver.selected(spec, ns):
            if pod.node != node:
                continue
            entry = rules.setdefault((pod.namespace, pod.name), PodRules(pod))
            entry.policies.append(f"{ns}/{meta['name']}")
            if "Ingress" in types:
                entry.ingress = entry.ingress or []
                for rule in spec.get("ingress") or []:
                    entry.ingress += ingress_allows(resolver, rule or {}, ns, pod)
            if "Egress" in types:
                entry.egress = entry.egress or []
                for rule in spec.get("egress") or []:
                    entry.egress += egress_allows(resolver, rule or {}, ns)
    return sorted(rules.values(), key=lambda r: (r.pod.namespace, r.pod.name))
