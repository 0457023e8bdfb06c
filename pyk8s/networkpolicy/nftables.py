"""``PodRules`` rendered as one nftables table, ``inet pyk8s-netpol``, replaced atomically.

The table is pyk8s's own, so it never fights the service proxy's ``ip
kube-proxy`` table.  Its one base chain hooks ``forward``: pod-to-pod traffic
on the node's CNI bridge reaches it through br_netfilter (bridged IPv4 is
passed to the IP hooks, conntrack included), and traffic routed to or from
another node passes it anyway.  Traffic between a pod and its own node (the
kubelet's probes, hostNetwork) goes through input/output and is never
filtered, as upstream requires.  The proxy DNATs in prerouting, so policies
see the chosen endpoint, not the Service IP.

    chain forward {
        type filter hook forward priority filter; policy accept;
        ct state established,related accept          # replies of allowed connections
        ip saddr vmap { <pod ip> : jump egress-N }   # isolated for egress: allows "return"
        ip daddr vmap { <pod ip> : jump ingress-N }  # isolated for ingress: allows "accept"
    }

Each per-pod chain ends in ``drop``.  Egress allows ``return`` (not accept) so
that the destination's ingress rules, when it is a pod of this node, are
still checked.  The script starts with ``add table``/``delete table`` so ``nft
-f`` swaps the whole table in one transaction.
"""

from __future__ import annotations

import ipaddress

from pyk8s.networkpolicy.model import Allow, IPBlock, PodRules, PortMatch

TABLE = "pyk8s-netpol"
FAMILY = "inet"


def _family(address: str) -> str:
    return "ip6" if ipaddress.ip_network(address, strict=False).version == 6 else "ip"


def _set(items: list[str]) -> str:
    return items[0] if len(items) == 1 else "{ " + ", ".join(items) + " }"


def _peer_matches(peers: tuple[str | IPBlock, ...] | None, direction: str) -> list[str]:
    """One nft match expression per peer group (pod IPs of one family together; each ipBlock alone)."""
    if peers is None:
        return [""]
    field = "saddr" if direction == "ingress" else "daddr"
    by_family: dict[str, list[str]] = {}
    out: list[str] = []
    for peer in peers:
        if isinstance(peer, IPBlock):
            fam = _family(peer.cidr)
            expr = f"{fam} {field} {ipaddress.ip_network(peer.cidr, strict=False)}"
            excepts = [str(ipaddress.ip_network(e, strict=False)) for e in peer.excepts]
            if excepts:
                expr += f" {fam} {field} != {_set(excepts)}"
            out.append(expr)
        else:
            by_family.setdefault(_family(peer), []).append(peer)
    return [f"{fam} {field} {_set(ips)}" for fam, ips in sorted(by_family.items())] + out


def _port_match(port: PortMatch) -> str:
    expr = f"meta l4proto {port.protocol.lower()}"
    if port.port is not None:
        expr += f" th dport {port.port}"
        if port.end_port is not None and port.end_port != port.port:
            expr += f"-{port.end_port}"
    return expr


def _allow_rules(allow: Allow, direction: str, verdict: str) -> list[str]:
    ports = [""] if allow.ports is None else [_port_match(p) for p in allow.ports]
    return [" ".join(part for part in (peer, port, verdict) if part)
            for peer in _peer_matches(allow.peers, direction) for port in ports]


def pod_chain(name: str, rules: PodRules, direction: str) -> list[str]:
    allows = rules.ingress if direction == "ingress" else rules.egress
    verdict = "accept" if direction == "ingress" else "return"
    pod = rules.pod
    lines = [f"\tchain {name} {{", f'\t\tcomment "{direction} of {pod.namespace}/{pod.name}"']
    for allow in allows or []:
        lines += [f"\t\t{rule}" for rule in _allow_rules(allow, direction, verdict)]
    lines += ["\t\tcounter drop", "\t}"]
    return lines


def _vmap(field: str, entries: list[tuple[str, str]]) -> list[str]:
    lines = []
    for fam in ("ip", "ip6"):
        chosen = [f"{ip} : jump {chain}" for ip, chain in entries if _family(ip) == fam]
        if chosen:
            lines.append(f"\t\t{fam} {field} vmap {{ " + ", ".join(chosen) + " }")
    return lines


def render(pod_rules: list[PodRules], *, table: str = TABLE) -> str:
    """The ``nft -f`` script that replaces the table with these rules (an empty list keeps an empty chain)."""
    chains: list[str] = []
    egress: list[tuple[str, str]] = []
    ingress: list[tuple[str, str]] = []
    for index, rules in enumerate(pod_rules):
        for direction, entries in (("egress", egress), ("ingress", ingress)):
            if (rules.egress if direction == "egress" else rules.ingress) is None:
                continue
            name = f"{direction}-{index}"
            chains += pod_chain(name, rules, direction)
            entries += [(ip, name) for ip in rules.pod.ips]
    base = ["\tchain forward {", "\t\ttype filter hook forward priority filter; policy accept;",
            "\t\tct state established,related accept",
            *_vmap("saddr", egress), *_vmap("daddr", ingress), "\t}"]
    return "\n".join([f"add table {FAMILY} {table}", f"delete table {FAMILY} {table}",
                      f"table {FAMILY} {table} {{", *base, *chains, "}", ""])


def delete_script(*, table: str = TABLE) -> str:
    """Removes the table if it exists (``add`` first so the delete never fails)."""
    return f"add table {FAMILY} {table}\ndelete table {FAMILY} {table}\n"
