"""The ``iptables`` mode: KUBE-SERVICES, KUBE-SVC-*, KUBE-SEP-* chains through ``iptables-restore``.

The layout is upstream's (pkg/proxy/iptables):

* nat: ``PREROUTING``/``OUTPUT`` jump to ``KUBE-SERVICES``, which holds one
  rule per ClusterIP (to ``KUBE-SVC-<hash>``) and per external IP or
  LoadBalancer IP (to ``KUBE-EXT-<hash>``), then, last, a jump to
  ``KUBE-NODEPORTS`` for local destinations: a linear walk, O(Services).
  ``KUBE-SVC`` picks an endpoint with ``-m statistic --mode random
  --probability 1/(n-i)`` (the last rule always matches), after one ``-m
  recent --rcheck`` rule per endpoint when sessionAffinity is ClientIP;
  ``KUBE-SEP-<hash>`` marks hairpin traffic and DNATs (and ``--set``s the
  recent list).  ``KUBE-EXT`` masquerades (Cluster policy) or, for
  externalTrafficPolicy Local, sends pods and the node itself the cluster way
  and everyone else to ``KUBE-SVL-<hash>`` (local endpoints, client address
  kept).  ``KUBE-POSTROUTING`` masquerades packets carrying mark 0x4000
  (set by ``KUBE-MARK-MASQ``).
* filter: ``KUBE-SERVICES`` (from FORWARD and OUTPUT) and
  ``KUBE-EXTERNAL-SERVICES`` (from INPUT and FORWARD) REJECT new connections
  to Services without endpoints (DROP where only local endpoints would do);
  ``KUBE-FORWARD`` accepts marked and established forwarded traffic.

NodePorts answer on every local address, 127.0.0.1 included, for which the
mode sets ``net.ipv4.conf.all.route_localnet=1`` as upstream does.

Partial sync as upstream's MinimizeIPTablesRestore, one step further:
per-Service chains and top-level chains are written only when their rules
changed (upstream rewrites the top-level chains every time);
chains no longer needed are flushed and deleted (``-X``) in the same
``iptables-restore --noflush`` transaction.  A full rewrite (``changed is
None``: the first sync, after a failure, hourly) rewrites everything and also deletes KUBE-SVC/SEP/EXT/SVL chains it does not know
(leftovers of an earlier run).  The jumps from the built-in chains are
checked (``-C``) and inserted (``-I``) on full rewrites.
"""

from __future__ import annotations

import subprocess
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

SERVICE_PREFIXES = ("KUBE-SVC-", "KUBE-SEP-", "KUBE-EXT-", "KUBE-SVL-", "KUBE-FW-")
NAT_TOP = ("KUBE-SERVICES", "KUBE-NODEPORTS", "KUBE-POSTROUTING", "KUBE-MARK-MASQ")
FILTER_TOP = ("KUBE-SERVICES", "KUBE-EXTERNAL-SERVICES", "KUBE-FORWARD", "KUBE-PROXY-FIREWALL")
_NEW = ["-m", "conntrack", "--ctstate", "NEW"]
PORTALS = ["-m", "comment", "--comment", "kubernetes service portals"]
EXTERNAL = ["-m", "comment", "--comment", "kubernetes externally-visible service portals"]
FIREWALL = ["-m", "comment", "--comment", "kubernetes load balancer firewall"]
#: (table, built-in chain, match arguments, target): the jumps into our chains.
JUMPS: tuple[tuple[str, str, list[str], str], ...] = (
    ("nat", "PREROUTING", PORTALS, "KUBE-SERVICES"),
    ("nat", "OUTPUT", PORTALS, "KUBE-SERVICES"),
    ("nat", "POSTROUTING", ["-m", "comment", "--comment", "kubernetes postrouting rules"], "KUBE-POSTROUTING"),
    ("filter", "INPUT", [*_NEW, *EXTERNAL], "KUBE-EXTERNAL-SERVICES"),
    ("filter", "FORWARD", [*_NEW, *PORTALS], "KUBE-SERVICES"),
    ("filter", "FORWARD", [*_NEW, *EXTERNAL], "KUBE-EXTERNAL-SERVICES"),
    ("filter", "FORWARD", ["-m", "comment", "--comment", "kubernetes forwarding rules"], "KUBE-FORWARD"),
    ("filter", "OUTPUT", [*_NEW, *PORTALS], "KUBE-SERVICES"),
    # Last here, so inserted (-I) ahead of the jumps above, as upstream orders them.
    ("filter", "INPUT", [*_NEW, *FIREWALL], "KUBE-PROXY-FIREWALL"),
    ("filter", "FORWARD", [*_NEW, *FIREWALL], "KUBE-PROXY-FIREWALL"),
    ("filter", "OUTPUT", [*_NEW, *FIREWALL], "KUBE-PROXY-FIREWALL"),
)
REJECT = "-j REJECT --reject-with icmp-port-unreachable"


@dataclass
class Rendered:
    """One Service port's share: its own nat chains and its lines in the shared chains."""

    chains: dict[str, list[str]] = field(default_factory=dict)
    nat_services: list[str] = field(default_factory=list)
    nat_nodeports: list[str] = field(default_factory=list)
    filter_services: list[str] = field(default_factory=list)
    filter_external: list[str] = field(default_factory=list)
    filter_firewall: list[str] = field(default_factory=list)


def _match(sp: ServicePort, ip: str, port: int) -> str:
    proto = sp.protocol.lower()
    return f"-d {ip}/32 -p {proto} -m {proto} --dport {port}"


def _pick(sp: ServicePort, eps: list[Endpoint]) -> list[str]:
    sep = {ep.address: names.iptables_chain("KUBE-SEP", sp.name, ep) for ep in eps}
    rules = []
    if sp.affinity_timeout:
        rules += [f"-m recent --name {sep[ep.address]} --mask 255.255.255.255 --rsource --rcheck "
                  f"--seconds {sp.affinity_timeout} --reap -j {sep[ep.address]}" for ep in eps]
    for i, ep in enumerate(eps):
        left = len(eps) - i
        rules.append(f"-m statistic --mode random --probability {1 / left:0.10f} -j {sep[ep.address]}"
                     if left > 1 else f"-j {sep[ep.address]}")
    return rules


def _endpoint_chain(sp: ServicePort, ep: Endpoint) -> list[str]:
    proto = sp.protocol.lower()
    chain = names.iptables_chain("KUBE-SEP", sp.name, ep)
    recent = f"-m recent --name {chain} --mask 255.255.255.255 --rsource --set " if sp.affinity_timeout else ""
    return [f"-s {ep.ip}/32 -j KUBE-MARK-MASQ",
            f"-p {proto} {recent}-m {proto} -j DNAT --to-destination {ep.ip}:{ep.port}"]


def _external_chain(sp: ServicePort, svc: str, svl: str, config: ProxyConfig, has_cluster: bool) -> list[str]:
    if not sp.external_local:
        return ["-j KUBE-MARK-MASQ", f"-j {svc}"]
    rules = []
    if has_cluster:
        if config.cluster_cidr:
            rules.append(f"-s {config.cluster_cidr} -j {svc}")
        rules += ["-m addrtype --src-type LOCAL -j KUBE-MARK-MASQ", f"-m addrtype --src-type LOCAL -j {svc}"]
    return [*rules, f"-j {svl}"]


def render_service(sp: ServicePort, config: ProxyConfig) -> Rendered:
    out = Rendered()
    comment = f'-m comment --comment "{sp.name}"'
    svc = names.iptables_chain("KUBE-SVC", sp.name)
    cluster_eps = sp.cluster_endpoints()
    for ep in sp.reachable_endpoints():
        out.chains[names.iptables_chain("KUBE-SEP", sp.name, ep)] = _endpoint_chain(sp, ep)
    if cluster_eps:
        masq = [f"! -s {config.cluster_cidr} {_match(sp, sp.cluster_ip, sp.port)} -j KUBE-MARK-MASQ"] \
            if config.cluster_cidr else []
        out.chains[svc] = masq + _pick(sp, cluster_eps)
        out.nat_services.append(f"{comment} {_match(sp, sp.cluster_ip, sp.port)} -j {svc}")
    else:
        verdict = "-j DROP" if sp.internal_local else REJECT
        out.filter_services.append(f"{comment} {_match(sp, sp.cluster_ip, sp.port)} {verdict}")
    if sp.has_external:
        _render_external(sp, config, out, svc, bool(cluster_eps))
    return out


def _render_external(sp: ServicePort, config: ProxyConfig, out: Rendered, svc: str, has_cluster: bool) -> None:
    proto = sp.protocol.lower()
    comment = f'-m comment --comment "{sp.name}"'
    ext, svl = names.iptables_chain("KUBE-EXT", sp.name), names.iptables_chain("KUBE-SVL", sp.name)
    local_eps = sp.local_endpoints() if sp.external_local else []
    if sp.external_local:
        out.chains[svl] = _pick(sp, local_eps) if local_eps else []
    reachable = has_cluster or bool(local_eps)
    if reachable:
        out.chains[ext] = _external_chain(sp, svc, svl, config, has_cluster)
    # Nothing at all: reject; externalTrafficPolicy Local with no endpoint here: drop, as upstream.
    verdict = "-j DROP" if has_cluster or sp.external_local else REJECT
    fw = _render_firewall(sp, config, out, ext, reachable) if sp.uses_firewall else ext
    for ip in (*sp.external_ips, *sp.load_balancer_ips):
        if reachable:
            target = fw if ip in sp.load_balancer_ips else ext
            out.nat_services.append(f"{comment} {_match(sp, ip, sp.port)} -j {target}")
        if not reachable or (sp.external_local and not local_eps):
            out.filter_external.append(f"{comment} {_match(sp, ip, sp.port)} {verdict}")
    if sp.node_port:
        port_match = f"-p {proto} -m {proto} --dport {sp.node_port}"
        if reachable:
            out.nat_nodeports.append(f"{comment} {port_match} -j {ext}")
        if not reachable or (sp.external_local and not local_eps):
            out.filter_external.append(f"{comment} -m addrtype --dst-type LOCAL {port_match} {verdict}")


def _render_firewall(sp: ServicePort, config: ProxyConfig, out: Rendered, ext: str, reachable: bool) -> str:
    """loadBalancerSourceRanges as upstream: nat ``KUBE-FW`` passes allowed sources on to ``KUBE-EXT``; the
    rest is not DNATed, so it reaches the filter table still addressed to the load balancer IP and meets
    ``KUBE-PROXY-FIREWALL``'s DROP (which also drops everyone when there is no endpoint to go to)."""
    comment = f'-m comment --comment "{sp.name}'
    fw = names.iptables_chain("KUBE-FW", sp.name)
    if reachable:
        out.chains[fw] = [f"-s {src}{'' if '/' in src else '/32'} -j {ext}"
                          for src in firewall_sources(sp, config.node_ips)]
        out.chains[fw].append(f'-m comment --comment "other traffic to {sp.name} loadbalancer IP will be dropped '
                              'by KUBE-PROXY-FIREWALL"')
    out.filter_firewall += [f'{comment} traffic not accepted by {fw}" {_match(sp, ip, sp.port)} -j DROP'
                            for ip in sp.load_balancer_ips]
    return fw


def nodeport_jumps(config: ProxyConfig) -> list[str]:
    if config.nodeport_ips:
        return [f"-d {ip}/32 -j KUBE-NODEPORTS" for ip in config.nodeport_ips]
    local = "-m addrtype --dst-type LOCAL"
    if not config.localhost_nodeports:
        local += " ! -d 127.0.0.0/8"
    return [f'-m comment --comment "kubernetes service nodeports" {local} -j KUBE-NODEPORTS']


def fixed_nat(config: ProxyConfig) -> dict[str, list[str]]:
    mark = f"0x{config.masquerade_mark:x}"
    return {
        "KUBE-POSTROUTING": [f"-m mark ! --mark {mark}/{mark} -j RETURN", f"-j MARK --xor-mark {mark}",
                             '-m comment --comment "kubernetes service traffic requiring SNAT" '
                             "-j MASQUERADE --random-fully"],
        "KUBE-MARK-MASQ": [f"-j MARK --or-mark {mark}"],
    }


def fixed_forward(config: ProxyConfig) -> list[str]:
    mark = f"0x{config.masquerade_mark:x}"
    return [f'-m comment --comment "kubernetes forwarding rules" -m mark --mark {mark}/{mark} -j ACCEPT',
            "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"]


def _section(table: str, chains: dict[str, list[str]], stale: list[str] | None = None) -> list[str]:
    """One table's part: every chain declared (which flushes it) before any rule refers to it."""
    lines = [f"*{table}", *[f":{c} - [0:0]" for c in [*chains, *(stale or [])]]]
    lines += [f"-A {c} {r}" for c, rules in chains.items() for r in rules]
    return [*lines, *[f"-X {c}" for c in stale or []], "COMMIT"]


def _by_target(lines: list[str]) -> list[str]:
    """Jump rules ordered by target chain, descending (the rules match disjoint address/port pairs, so
    their order does not matter to packets).

    Why: iptables-nft (1.8.9) files every chain name a restore mentions into a sorted linked list
    (``cache_chain_list_insert``), walking it from the smallest name on each insert. Names arriving in
    descending order stop at the head; ascending order walks the whole list each time, which made a
    restore mentioning 10,000 Service chains quadratic in user time.
    """
    return sorted(lines, key=lambda line: line.rsplit(" -j ", 1)[-1], reverse=True)


def batches(rendered: list[Rendered], rewrite: dict[str, list[str]], size: int) -> list[dict[str, list[str]]]:
    """``rewrite`` split into groups of about ``size`` chains, a Service port's chains always together."""
    out: list[dict[str, list[str]]] = [{}]
    for r in rendered:
        mine = {c: rewrite[c] for c in r.chains if c in rewrite}
        if mine and len(out[-1]) + len(mine) > size and out[-1]:
            out.append({})
        out[-1].update(mine)
    return [b for b in out if b]


TopLevel = dict[str, dict[str, list[str]]]  # table -> chain -> rules


def top_level(rendered: list[Rendered], config: ProxyConfig) -> TopLevel:
    """The chains shared by every Service (and the fixed ones), per table."""
    nat = {"KUBE-SERVICES": _by_target([line for r in rendered for line in r.nat_services]) + nodeport_jumps(config),
           "KUBE-NODEPORTS": _by_target([line for r in rendered for line in r.nat_nodeports]),
           **fixed_nat(config)}
    filt = {"KUBE-SERVICES": [line for r in rendered for line in r.filter_services],
            "KUBE-EXTERNAL-SERVICES": [line for r in rendered for line in r.filter_external],
            "KUBE-FORWARD": fixed_forward(config),
            "KUBE-PROXY-FIREWALL": [line for r in rendered for line in r.filter_firewall]}
    return {"filter": filt, "nat": nat}


def script_for(top: TopLevel, *, rewrite: dict[str, list[str]], stale: list[str],
               previous: TopLevel | None = None) -> str:
    """The ``iptables-restore --noflush`` input: the top-level chains that differ from ``previous`` (all
    of them without it), ``rewrite`` chains, ``stale`` chains deleted; "" when there is nothing to write."""
    parts: list[str] = []
    for table in ("filter", "nat"):
        old = (previous or {}).get(table)
        chains = {c: rules for c, rules in top[table].items() if old is None or old.get(c) != rules}
        if table == "nat":
            chains.update(rewrite)
        gone = stale if table == "nat" else []
        if chains or gone:
            parts += _section(table, chains, gone)
    return "\n".join(parts) + "\n" if parts else ""


def restore_script(rendered: list[Rendered], config: ProxyConfig, *, rewrite: dict[str, list[str]],
                   stale: list[str]) -> str:
    """Every top-level chain, ``rewrite`` chains, ``stale`` deleted (what a full sync's last run sends)."""
    return script_for(top_level(rendered, config), rewrite=rewrite, stale=stale)


def _run(args: list[str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(args, input=stdin, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise ProxyError(f"iptables mode needs {args[0]} (Debian package iptables)") from None


def _restore(script: str) -> int:
    proc = _run(["iptables-restore", "--noflush", "-w", "5"], script)
    if proc.returncode != 0:
        raise ProxyError(f"iptables-restore failed: {proc.stderr.strip()[:2000]}")
    return script.count("\n")


def existing_chains(table: str) -> list[str]:
    out = _run(["iptables-save", "-t", table])
    return [line[1:].split()[0] for line in out.stdout.splitlines() if line.startswith(":KUBE-")]


#: Above this many per-Service chains to write, a sync writes them in several iptables-restore runs first.
BATCH_CHAINS = 1500


class IptablesProvider:
    """Chains of one Service port always go in one transaction, so each is consistent on its own; new
    chains are unreferenced until the last transaction rewrites KUBE-SERVICES, and chains are deleted
    only there, after nothing refers to them.  Splitting matters because iptables-nft's restore is
    quadratic in the chain names of one run (see ``_by_target``): 10,000 Services in one run took minutes.

    Between full rewrites, a top-level chain is written only when its rules changed.  Upstream's
    partial sync rewrites KUBE-SERVICES every time; here an endpoint change, which touches only its
    Service's chains, leaves the 10,000 jump rules of KUBE-SERVICES alone (iptables-restore handles
    each jump rule with two ``stat`` calls and a netlink round trip: about a CPU-second at 10,000).
    Drift in a chain nobody rewrites is repaired by the hourly full rewrite, as for the per-Service ones.
    """

    mode = "iptables"

    def __init__(self, config: ProxyConfig) -> None:
        self.config = config
        self.written: dict[str, list[str]] | None = None
        self.written_top: TopLevel | None = None
        self._cache: dict[ServicePortName, tuple[ServicePort, Rendered]] = {}

    def render(self, services: ServiceMap) -> list[Rendered]:
        cache: dict[ServicePortName, tuple[ServicePort, Rendered]] = {}
        for name in sorted(services):
            sp = services[name]
            hit = self._cache.get(name)
            cache[name] = (sp, hit[1] if hit is not None and hit[0] == sp else render_service(sp, self.config))
        self._cache = cache
        return [r for _, r in cache.values()]

    def sync(self, services: ServiceMap, changed: set[ServicePortName] | None) -> int:
        rendered = self.render(services)
        chains = {c: rules for r in rendered for c, rules in r.chains.items()}
        full = changed is None or self.written is None
        if full:
            known = set(chains)
            stale = [c for c in existing_chains("nat") if c.startswith(SERVICE_PREFIXES) and c not in known]
            rewrite = chains
        else:
            assert self.written is not None
            stale = [c for c in self.written if c not in chains]
            rewrite = {c: rules for c, rules in chains.items() if self.written.get(c) != rules}
        top, previous = top_level(rendered, self.config), None if full else self.written_top
        self.written = self.written_top = None  # unknown until iptables-restore says it worked
        lines = 0
        if len(rewrite) > BATCH_CHAINS:
            for batch in batches(rendered, rewrite, BATCH_CHAINS):
                lines += _restore("\n".join(_section("nat", {**fixed_nat(self.config), **batch})) + "\n")
            rewrite = {}
        script = script_for(top, rewrite=rewrite, stale=stale, previous=previous)
        if script:
            lines += _restore(script)
        if full:
            self._ensure_jumps()
            if self.config.localhost_nodeports and not self.config.nodeport_ips:
                _route_localnet()
        self.written, self.written_top = chains, top
        return lines

    def _ensure_jumps(self) -> None:
        for table, chain, match, target in JUMPS:
            rule = [*match, "-j", target]
            if _run(["iptables", "-w", "5", "-t", table, "-C", chain, *rule]).returncode != 0:
                proc = _run(["iptables", "-w", "5", "-t", table, "-I", chain, *rule])
                if proc.returncode != 0:
                    raise ProxyError(f"iptables -t {table} -I {chain}: {proc.stderr.strip()}")

    def cleanup(self) -> list[str]:
        """Remove the jumps, then flush and delete every chain this mode creates."""
        try:
            removed = []
            for table, chain, match, target in JUMPS:
                while _run(["iptables", "-w", "5", "-t", table, "-D", chain, *match, "-j", target]).returncode == 0:
                    removed.append(f"iptables -t {table} {chain} -> {target}")
            for table, top in (("nat", NAT_TOP), ("filter", FILTER_TOP)):
                ours = [c for c in existing_chains(table) if c in top or c.startswith(SERVICE_PREFIXES)]
                if ours:
                    script = "\n".join([f"*{table}", *[f":{c} - [0:0]" for c in ours],
                                        *[f"-X {c}" for c in ours], "COMMIT"]) + "\n"
                    proc = _run(["iptables-restore", "--noflush", "-w", "5"], script)
                    if proc.returncode != 0:
                        raise ProxyError(f"iptables-restore (cleanup) failed: {proc.stderr.strip()[:2000]}")
                    removed += [f"iptables -t {table} chain {c}" for c in ours]
        except ProxyError as exc:
            if "needs" in str(exc):
                return []
            raise
        self.written, self.written_top, self._cache = None, None, {}
        return removed


def _route_localnet() -> None:
    """NodePorts on 127.0.0.1 need the kernel to route loopback-addressed packets out (upstream sets this)."""
    try:
        with open("/proc/sys/net/ipv4/conf/all/route_localnet", "w") as f:
            f.write("1")
    except OSError as exc:
        raise ProxyError(f"cannot set net.ipv4.conf.all.route_localnet=1: {exc}") from None
