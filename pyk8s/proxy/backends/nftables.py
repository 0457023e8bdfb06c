"""The ``nftables`` mode: one ``ip kube-proxy`` table, dispatch by verdict maps (upstream's KEP-3866 layout).

Everything lives in the table ``ip kube-proxy``; nothing outside it is
touched, so other firewall tools may flush their own tables freely.

* Base chains hook in as upstream's do: ``filter-input``/``filter-forward``/
  ``filter-output`` (priority -110) send new connections to the no-endpoint
  checks; ``nat-prerouting``/``nat-output`` jump to ``services``;
  ``nat-postrouting`` jumps to ``masquerading``.
* ``services`` is two rules whatever the number of Services: one lookup of
  ``daddr . l4proto . dport`` in the verdict map ``service-ips`` and one of
  ``l4proto . dport`` in ``service-nodeports`` (for addresses in
  ``nodeport-ips``), so dispatch costs one map lookup instead of a rule walk.
* Per Service port: ``service-<H>-ns/name/proto/port`` picks an endpoint with
  ``numgen random`` (one rule per endpoint, see ``_pick`` for why not one
  vmap), after the affinity checks (one timeout set per endpoint, filled by
  ``update @set { ip saddr }``);
  ``external-<H>-...`` handles NodePort/externalIP/LB traffic (masquerade, or
  for externalTrafficPolicy Local: pods and the node itself go the cluster
  way, others only to ``local-<H>-...`` with the client address kept);
  ``endpoint-<H>-.../ip/port`` marks hairpin traffic and DNATs.
* A Service with no endpoints gets an entry in ``no-endpoint-services`` /
  ``no-endpoint-nodeports`` going to ``reject-chain`` (ICMP port unreachable,
  so clients fail at once), or ``drop`` for internalTrafficPolicy Local.
* loadBalancerSourceRanges: ``filter-prerouting`` and ``filter-output``
  (priority -110, before DNAT, so the destination is still the load
  balancer IP) look new connections up in ``firewall-ips``; a listed load
  balancer IP and port goes to ``firewall-<H>-...``, which drops sources
  outside the ranges (upstream's layout).
* Off-cluster sources reaching a ClusterIP, and all NodePort traffic under
  the Cluster policy, are marked (``mark-for-masquerade``: ``mark | 0x4000``)
  and masqueraded in ``masquerading``.

Writes are text through ``nft -f -``: one atomic transaction per sync.  The
provider keeps what it wrote last and sends only the difference (chains whose
rules changed, map elements added or removed); a full rewrite (``changed is
None``: hourly, see ``FULL_REWRITE_PERIOD``) rewrites every chain and map
but keeps the affinity sets, so clients stay stuck to their endpoint.  The first sync deletes and recreates the table.
Localhost NodePorts are not supported in this mode, as upstream.
"""

from __future__ import annotations

import ipaddress
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field

from pyk8s.proxy.backends import names
from pyk8s.proxy.interface import (
    Endpoint,
    ProxyConfig,
    ProxyError,
    ServiceMap,
    ServicePort,
    ServicePortName,
    firewall_sources,
)

TABLE = "ip kube-proxy"
FILTER_PRIORITY = -110
MAPS = {
    "service-ips": "ipv4_addr . inet_proto . inet_service : verdict",
    "service-nodeports": "inet_proto . inet_service : verdict",
    "no-endpoint-services": "ipv4_addr . inet_proto . inet_service : verdict",
    "no-endpoint-nodeports": "inet_proto . inet_service : verdict",
    "firewall-ips": "ipv4_addr . inet_proto . inet_service : verdict",
}
BASE_CHAINS = {
    "filter-prerouting": f"type filter hook prerouting priority {FILTER_PRIORITY} ; policy accept ;",
    "filter-input": f"type filter hook input priority {FILTER_PRIORITY} ; policy accept ;",
    "filter-forward": f"type filter hook forward priority {FILTER_PRIORITY} ; policy accept ;",
    "filter-output": f"type filter hook output priority {FILTER_PRIORITY} ; policy accept ;",
    "nat-prerouting": "type nat hook prerouting priority dstnat ; policy accept ;",
    "nat-output": "type nat hook output priority -100 ; policy accept ;",
    "nat-postrouting": "type nat hook postrouting priority srcnat ; policy accept ;",
}


@dataclass
class Ruleset:
    """What a sync writes besides the fixed chains: per-Service chains, affinity sets, map elements."""

    chains: dict[str, list[str]] = field(default_factory=dict)
    sets: dict[str, int] = field(default_factory=dict)  # affinity set -> timeout seconds
    elements: dict[str, dict[str, str]] = field(default_factory=lambda: {m: {} for m in MAPS})

    def merge(self, other: Ruleset) -> None:
        self.chains.update(other.chains)
        self.sets.update(other.sets)
        for m, elems in other.elements.items():
            self.elements[m].update(elems)


def fixed_chains(config: ProxyConfig) -> dict[str, list[str]]:
    """The chains every sync has, whatever the Services (their rules depend on the config only)."""
    mark = f"0x{config.masquerade_mark:x}"
    return {
        "filter-input": ["ct state new jump nodeport-endpoints-check", "ct state new jump service-endpoints-check"],
        "filter-forward": ["ct state new jump service-endpoints-check"],
        "filter-prerouting": ["ct state new jump firewall-check"],
        "filter-output": ["ct state new jump service-endpoints-check", "ct state new jump firewall-check"],
        "nat-prerouting": ["jump services"],
        "nat-output": ["jump services"],
        "nat-postrouting": ["jump masquerading"],
        "reject-chain": ["reject"],
        "mark-for-masquerade": [f"meta mark set meta mark | {mark}"],
        "masquerading": [f"meta mark & {mark} == 0 return", f"meta mark set meta mark ^ {mark}",
                         "masquerade fully-random"],
        "service-endpoints-check": ["ip daddr . meta l4proto . th dport vmap @no-endpoint-services"],
        "firewall-check": ["ip daddr . meta l4proto . th dport vmap @firewall-ips"],
        "nodeport-endpoints-check": ["ip daddr @nodeport-ips meta l4proto . th dport vmap @no-endpoint-nodeports"],
        "services": ["ip daddr . meta l4proto . th dport vmap @service-ips",
                     "ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports"],
    }


def _pick(chain_of: dict[str, str], eps: list[Endpoint], affinity: int, sets: dict[str, int]) -> list[str]:
    """Rules choosing one of ``eps``: affinity lookups first, then a random pick."""
    rules = []
    if affinity:
        for ep in eps:
            rules.append(f"ip saddr @affinity-{chain_of[ep.address]} goto endpoint-{chain_of[ep.address]}")
            sets[f"affinity-{chain_of[ep.address]}"] = affinity
    # One ``numgen random`` rule per endpoint, rule i matching with probability 1/(n-i) (the last always),
    # rather than upstream's single ``numgen random mod n vmap { ... }``: each such vmap is an anonymous
    # set, and the kernel names anonymous sets by scanning every set of the table, so 10,000 Services
    # took 42 s to load that way against about 3 s this way.  The choice stays uniform.
    for i, ep in enumerate(eps):
        left = len(eps) - i
        target = f"goto endpoint-{chain_of[ep.address]}"
        rules.append(f"numgen random mod {left} == 0 {target}" if left > 1 else target)
    return rules


def _external_rules(sp: ServicePort, base: str, config: ProxyConfig) -> list[str]:
    if not sp.external_local:
        return ["jump mark-for-masquerade", f"goto service-{base}"]
    rules = []
    if config.cluster_cidr:
        rules.append(f"ip saddr {config.cluster_cidr} goto service-{base}")  # pods go the cluster way
    rules += ["fib saddr type local jump mark-for-masquerade", f"fib saddr type local goto service-{base}",
              f"goto local-{base}"]
    return rules


def render_service(sp: ServicePort, config: ProxyConfig) -> Ruleset:
    """The chains, sets and map entries one Service port contributes."""
    out = Ruleset()
    base, proto = names.nft_base(sp.name), sp.protocol.lower()
    cluster_eps = sp.cluster_endpoints()
    chain_of = {ep.address: names.nft_endpoint_base(sp.name, ep) for ep in sp.reachable_endpoints()}
    for ep in sp.reachable_endpoints():
        rules = [f"ip saddr {ep.ip} jump mark-for-masquerade"]
        if sp.affinity_timeout:
            rules.append(f"update @affinity-{chain_of[ep.address]} {{ ip saddr }}")
        rules.append(f"meta l4proto {proto} dnat to {ep.ip}:{ep.port}")
        out.chains[f"endpoint-{chain_of[ep.address]}"] = rules
    no_endpoint = "drop" if sp.internal_local else "goto reject-chain"
    if cluster_eps:
        rules = [f"ip daddr {sp.cluster_ip} {proto} dport {sp.port} ip saddr != {config.cluster_cidr} "
                 "jump mark-for-masquerade"] if config.cluster_cidr else []
        out.chains[f"service-{base}"] = rules + _pick(chain_of, cluster_eps, sp.affinity_timeout, out.sets)
        out.elements["service-ips"][f"{sp.cluster_ip} . {proto} . {sp.port}"] = f"goto service-{base}"
    else:
        out.elements["no-endpoint-services"][f"{sp.cluster_ip} . {proto} . {sp.port}"] = no_endpoint
    if sp.has_external:
        _render_external(sp, config, out, base, chain_of)
    return out


def _render_external(sp: ServicePort, config: ProxyConfig, out: Ruleset, base: str, chain_of: dict[str, str]) -> None:
    proto = sp.protocol.lower()
    reachable = bool(sp.cluster_endpoints()) or (sp.external_local and bool(sp.local_endpoints()))
    if sp.external_local:
        local_eps = sp.local_endpoints()
        out.chains[f"local-{base}"] = _pick(chain_of, local_eps, sp.affinity_timeout, out.sets) if local_eps \
            else ["drop"]
    if reachable:
        out.chains[f"external-{base}"] = _external_rules(sp, base, config)
    for ip in (*sp.external_ips, *sp.load_balancer_ips):
        key = f"{ip} . {proto} . {sp.port}"
        if reachable:
            out.elements["service-ips"][key] = f"goto external-{base}"
        else:
            out.elements["no-endpoint-services"][key] = "goto reject-chain"
    if sp.uses_firewall:
        out.chains[f"firewall-{base}"] = [firewall_rule(sp, config)]
        for ip in sp.load_balancer_ips:
            out.elements["firewall-ips"][f"{ip} . {proto} . {sp.port}"] = f"goto firewall-{base}"
    if sp.node_port:
        key = f"{proto} . {sp.node_port}"
        if reachable:
            out.elements["service-nodeports"][key] = f"goto external-{base}"
        else:
            out.elements["no-endpoint-nodeports"][key] = "goto reject-chain"


def firewall_rule(sp: ServicePort, config: ProxyConfig) -> str:
    """The rule of ``firewall-<service>``: runs before DNAT, so the destination is still the load balancer IP."""
    return f"ip saddr != {{ {', '.join(firewall_sources(sp, config.node_ips))} }} drop"


def nodeport_ips(config: ProxyConfig) -> list[str]:
    """Addresses NodePorts answer on: --nodeport-addresses, else the node IPs; never loopback here."""
    chosen = config.nodeport_ips or config.node_ips
    return sorted({ip for ip in chosen if not ipaddress.ip_address(ip).is_loopback})


def _elements(name: str, items: Iterable[str], verb: str = "add") -> list[str]:
    items = list(items)
    out = []
    for i in range(0, len(items), 1000):  # keep single statements a reasonable size
        out.append(f"{verb} element {TABLE} {name} {{ {', '.join(items[i:i + 1000])} }}")
    return out


def full_header(config: ProxyConfig, *, recreate: bool) -> list[str]:
    """Table, maps, sets and base chains (idempotent ``add``), with the fixed chains' rules rewritten."""
    lines = [f"add table {TABLE} {{ comment \"rules for kube-proxy\" ; }}"]
    if recreate:
        lines += [f"delete table {TABLE}", f"add table {TABLE} {{ comment \"rules for kube-proxy\" ; }}"]
    lines += [f"add map {TABLE} {name} {{ type {spec} ; }}" for name, spec in MAPS.items()]
    lines.append(f"add set {TABLE} nodeport-ips {{ type ipv4_addr ; }}")
    lines.append(f"flush set {TABLE} nodeport-ips")
    lines += _elements("nodeport-ips", nodeport_ips(config))
    for chain in fixed_chains(config):
        hook = f" {{ {BASE_CHAINS[chain]} }}" if chain in BASE_CHAINS else ""
        lines += [f"add chain {TABLE} {chain}{hook}", f"flush chain {TABLE} {chain}"]
    for chain, rules in fixed_chains(config).items():
        lines += [f"add rule {TABLE} {chain} {rule}" for rule in rules]
    return lines


def diff(old: Ruleset | None, new: Ruleset, config: ProxyConfig) -> list[str]:
    """The ``nft -f`` script taking the table from ``old`` (None: unknown, rebuild) to ``new``."""
    full = old is None
    prev = old or Ruleset()
    lines = full_header(config, recreate=full) if full else []
    for m in MAPS:  # stale or changed elements out first (they may point at chains about to go)
        gone = [k for k, v in prev.elements[m].items() if new.elements[m].get(k) != v]
        lines += _elements(m, gone, "delete")
    lines += [f"add set {TABLE} {s} {{ type ipv4_addr ; flags dynamic,timeout ; timeout {t}s ; }}"
              for s, t in new.sets.items() if prev.sets.get(s) != t]
    rewrite = [c for c, rules in new.chains.items() if full or prev.chains.get(c) != rules]
    lines += [f"add chain {TABLE} {c}" for c in rewrite]
    for c in rewrite:
        lines.append(f"flush chain {TABLE} {c}")
        lines += [f"add rule {TABLE} {c} {rule}" for rule in new.chains[c]]
    for m in MAPS:
        added = [f"{k} : {v}" for k, v in new.elements[m].items() if prev.elements[m].get(k) != v]
        lines += _elements(m, added)
    stale = [c for c in prev.chains if c not in new.chains]
    lines += [f"flush chain {TABLE} {c}" for c in stale]
    lines += [f"delete chain {TABLE} {c}" for c in stale]
    lines += [f"delete set {TABLE} {s}" for s in prev.sets if s not in new.sets]
    return lines


def run_nft(script: str) -> None:
    try:
        proc = subprocess.run(["nft", "-f", "-"], input=script, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise ProxyError("nftables mode needs the nft command (Debian package nftables)") from None
    if proc.returncode != 0:
        raise ProxyError(f"nft -f failed: {proc.stderr.strip()[:2000]}")


class NftablesProvider:
    mode = "nftables"

    def __init__(self, config: ProxyConfig) -> None:
        self.config = config
        self.written: Ruleset | None = None
        self._cache: dict[ServicePortName, tuple[ServicePort, Ruleset]] = {}

    def render(self, services: ServiceMap) -> Ruleset:
        result = Ruleset()
        cache: dict[ServicePortName, tuple[ServicePort, Ruleset]] = {}
        for name, sp in services.items():
            hit = self._cache.get(name)
            rendered = hit[1] if hit is not None and hit[0] == sp else render_service(sp, self.config)
            cache[name] = (sp, rendered)
            result.merge(rendered)
        self._cache = cache
        return result

    def sync(self, services: ServiceMap, changed: set[ServicePortName] | None) -> int:
        new = self.render(services)
        if changed is None and self.written is not None:
            # Full resync: every chain and map rewritten, affinity sets kept.
            lines = full_header(self.config, recreate=False)
            lines += [f"flush map {TABLE} {m}" for m in MAPS]
            stripped = Ruleset(chains={c: [] for c in self.written.chains}, sets=dict(self.written.sets))
            lines += diff(stripped, new, self.config)
        else:
            lines = diff(self.written, new, self.config)
        if lines:
            self.written = None  # unknown until nft says it worked
            run_nft("\n".join(lines) + "\n")
        self.written = new
        return len(lines)

    def cleanup(self) -> list[str]:
        try:
            proc = subprocess.run(["nft", "delete", "table", *TABLE.split()], capture_output=True, text=True,
                                  check=False)
        except FileNotFoundError:
            return []
        self.written, self._cache = None, {}
        return [f"nftables table {TABLE}"] if proc.returncode == 0 else []
