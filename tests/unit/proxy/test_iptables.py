"""The iptables-restore input for given states."""

from __future__ import annotations

import subprocess

import pytest

from pyk8s.proxy.backends import iptables
from pyk8s.proxy.backends.names import iptables_chain
from pyk8s.proxy.interface import Endpoint, ProxyConfig, ServicePort, ServicePortName

CONFIG = ProxyConfig(node_name="node-a", node_ips=("192.168.1.2",), cluster_cidr="10.244.0.0/16")
WEB = ServicePortName("default", "web", "http", "TCP")
EPS = [Endpoint(f"10.244.0.{i}", 8080, node="node-a", local=i == 1) for i in (1, 2, 3)]
SVC = iptables_chain("KUBE-SVC", WEB)


def web(*eps: Endpoint, **kw: object) -> ServicePort:
    return ServicePort(WEB, "10.96.0.10", 80, endpoints=eps, **kw)  # type: ignore[arg-type]


def test_chain_names_are_prefix_plus_16_hash_characters() -> None:
    assert SVC.startswith("KUBE-SVC-") and len(SVC) == len("KUBE-SVC-") + 16
    assert iptables_chain("KUBE-SEP", WEB, EPS[0]) != iptables_chain("KUBE-SEP", WEB, EPS[1])


def test_random_pick_probabilities_and_the_last_rule_always_matches() -> None:
    r = iptables.render_service(web(*EPS), CONFIG)
    seps = [iptables_chain("KUBE-SEP", WEB, e) for e in EPS]
    assert r.chains[SVC] == [
        "! -s 10.244.0.0/16 -d 10.96.0.10/32 -p tcp -m tcp --dport 80 -j KUBE-MARK-MASQ",
        f"-m statistic --mode random --probability 0.3333333333 -j {seps[0]}",
        f"-m statistic --mode random --probability 0.5000000000 -j {seps[1]}",
        f"-j {seps[2]}"]
    assert r.chains[seps[0]] == ["-s 10.244.0.1/32 -j KUBE-MARK-MASQ",
                                 "-p tcp -m tcp -j DNAT --to-destination 10.244.0.1:8080"]
    assert r.nat_services == [f'-m comment --comment "default/web:http" -d 10.96.0.10/32 -p tcp -m tcp --dport 80 -j {SVC}']


def test_affinity_with_the_recent_match() -> None:
    r = iptables.render_service(web(*EPS[:2], affinity_timeout=300), CONFIG)
    sep = iptables_chain("KUBE-SEP", WEB, EPS[0])
    assert r.chains[SVC][1] == (f"-m recent --name {sep} --mask 255.255.255.255 --rsource --rcheck --seconds 300 "
                                f"--reap -j {sep}")
    assert f"-m recent --name {sep} --mask 255.255.255.255 --rsource --set" in r.chains[sep][1]


def test_no_endpoints_is_a_filter_reject() -> None:
    r = iptables.render_service(web(node_port=30080), CONFIG)
    assert r.chains == {} and r.nat_services == []
    assert r.filter_services == ['-m comment --comment "default/web:http" -d 10.96.0.10/32 -p tcp -m tcp --dport 80 '
                                 "-j REJECT --reject-with icmp-port-unreachable"]
    assert r.filter_external == ['-m comment --comment "default/web:http" -m addrtype --dst-type LOCAL -p tcp -m tcp '
                                 "--dport 30080 -j REJECT --reject-with icmp-port-unreachable"]


def test_node_port_and_external_policy_local() -> None:
    ext, svl = iptables_chain("KUBE-EXT", WEB), iptables_chain("KUBE-SVL", WEB)
    r = iptables.render_service(web(*EPS, node_port=30080), CONFIG)
    assert r.nat_nodeports == [f'-m comment --comment "default/web:http" -p tcp -m tcp --dport 30080 -j {ext}']
    assert r.chains[ext] == ["-j KUBE-MARK-MASQ", f"-j {SVC}"]
    r = iptables.render_service(web(*EPS, node_port=30080, external_local=True), CONFIG)
    assert r.chains[ext] == [f"-s 10.244.0.0/16 -j {SVC}", "-m addrtype --src-type LOCAL -j KUBE-MARK-MASQ",
                             f"-m addrtype --src-type LOCAL -j {SVC}", f"-j {svl}"]
    assert r.chains[svl] == [f"-j {iptables_chain('KUBE-SEP', WEB, EPS[0])}"]  # the one local endpoint
    r = iptables.render_service(web(*EPS[1:], node_port=30080, external_local=True), CONFIG)
    assert r.filter_external[0].endswith("--dport 30080 -j DROP")


def test_restore_script_declares_before_use_and_nodeports_come_last() -> None:
    rendered = [iptables.render_service(web(*EPS), CONFIG)]
    script = iptables.restore_script(rendered, CONFIG, rewrite=rendered[0].chains, stale=["KUBE-SVC-OLD"])
    lines = script.splitlines()
    nat = lines[lines.index("*nat"):]
    first_rule = next(i for i, line in enumerate(nat) if line.startswith("-A"))
    assert all(not line.startswith(":") for line in nat[first_rule:])
    services = [line for line in nat if line.startswith("-A KUBE-SERVICES")]
    assert services[-1].endswith("-m addrtype --dst-type LOCAL -j KUBE-NODEPORTS")
    assert ":KUBE-SVC-OLD - [0:0]" in nat and nat[-2:] == ["-X KUBE-SVC-OLD", "COMMIT"]
    assert "-A KUBE-POSTROUTING -j MASQUERADE --random-fully" in script.replace(
        '-m comment --comment "kubernetes service traffic requiring SNAT" ', "")


def test_nodeport_addresses_narrow_the_nodeports_jump() -> None:
    cfg = ProxyConfig(node_name="n", nodeport_ips=("192.168.1.2",))
    assert iptables.nodeport_jumps(cfg) == ["-d 192.168.1.2/32 -j KUBE-NODEPORTS"]


def test_partial_sync_rewrites_only_changed_chains(monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[str] = []

    def run(args: list[str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        if args[0] == "iptables-restore":
            sent.append(stdin or "")
        return subprocess.CompletedProcess(args, 0, "", "")

    monkeypatch.setattr(iptables, "_run", run)
    monkeypatch.setattr(iptables, "_route_localnet", lambda: None)
    other = ServicePortName("default", "other", "", "TCP")
    p = iptables.IptablesProvider(CONFIG)
    p.sync({WEB: web(*EPS), other: ServicePort(other, "10.96.0.11", 80, endpoints=(EPS[0],))}, None)
    p.sync({WEB: web(*EPS[:2]), other: ServicePort(other, "10.96.0.11", 80, endpoints=(EPS[0],))}, {WEB})
    script = sent[-1]
    gone = iptables_chain("KUBE-SEP", WEB, EPS[2])
    assert f"-X {gone}" in script
    assert iptables_chain("KUBE-SVC", other) not in script.split("*nat")[1].replace(
        f"-j {iptables_chain('KUBE-SVC', other)}", "")  # only referenced from KUBE-SERVICES, not rewritten
    assert f":{SVC} - [0:0]" in script


def lb(*eps: Endpoint, ranges: tuple[str, ...] = ("198.51.100.0/24",)) -> ServicePort:
    return web(*eps, node_port=30080, load_balancer_ips=("192.168.1.50",), source_ranges=ranges)


def test_source_ranges_as_upstream_fw_chain_and_proxy_firewall_drop() -> None:
    fw, ext = iptables_chain("KUBE-FW", WEB), iptables_chain("KUBE-EXT", WEB)
    r = iptables.render_service(lb(*EPS), CONFIG)
    # The LB address goes through the firewall chain; the NodePort does not.
    assert f'-m comment --comment "default/web:http" -d 192.168.1.50/32 -p tcp -m tcp --dport 80 -j {fw}' \
        in r.nat_services
    assert r.nat_nodeports == [f'-m comment --comment "default/web:http" -p tcp -m tcp --dport 30080 -j {ext}']
    assert r.chains[fw] == [f"-s 198.51.100.0/24 -j {ext}",
                            '-m comment --comment "other traffic to default/web:http loadbalancer IP will be '
                            'dropped by KUBE-PROXY-FIREWALL"']
    # What was not DNATed still has the LB address as destination when it reaches the filter table.
    assert r.filter_firewall == [f'-m comment --comment "default/web:http traffic not accepted by {fw}" '
                                 "-d 192.168.1.50/32 -p tcp -m tcp --dport 80 -j DROP"]
    script = iptables.restore_script([r], CONFIG, rewrite=r.chains, stale=[])
    assert ":KUBE-PROXY-FIREWALL - [0:0]" in script.split("*nat")[0]
    assert ("filter", "INPUT", ["-m", "conntrack", "--ctstate", "NEW", *iptables.FIREWALL],
            "KUBE-PROXY-FIREWALL") in iptables.JUMPS


def test_source_ranges_holding_a_node_ip_also_admit_the_load_balancer_ips() -> None:
    fw, ext = iptables_chain("KUBE-FW", WEB), iptables_chain("KUBE-EXT", WEB)
    r = iptables.render_service(lb(*EPS, ranges=("192.168.1.0/24",)), CONFIG)
    assert r.chains[fw][:2] == [f"-s 192.168.1.0/24 -j {ext}", f"-s 192.168.1.50/32 -j {ext}"]


def test_source_ranges_without_endpoints_drop_everything_to_the_lb_ip() -> None:
    r = iptables.render_service(lb(), CONFIG)
    assert iptables_chain("KUBE-FW", WEB) not in r.chains  # no KUBE-EXT to pass allowed sources to
    assert r.filter_firewall and r.filter_firewall[0].endswith("--dport 80 -j DROP")


def test_jumps_to_service_chains_are_written_in_descending_chain_order() -> None:
    names = [ServicePortName("default", f"s{i}", "", "TCP") for i in range(20)]
    rendered = [iptables.render_service(ServicePort(n, f"10.96.1.{i}", 80, endpoints=(EPS[0],)), CONFIG)
                for i, n in enumerate(names)]
    script = iptables.restore_script(rendered, CONFIG, rewrite={}, stale=[])
    targets = [line.rsplit(" -j ", 1)[1] for line in script.split("*nat")[1].splitlines()
               if line.startswith("-A KUBE-SERVICES") and "KUBE-SVC-" in line]
    assert len(targets) == 20 and targets == sorted(targets, reverse=True)


def test_many_chains_are_written_in_batches_before_the_top_level_chains(monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[str] = []

    def run(args: list[str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        if args[0] == "iptables-restore":
            sent.append(stdin or "")
        return subprocess.CompletedProcess(args, 0, "", "")

    monkeypatch.setattr(iptables, "_run", run)
    monkeypatch.setattr(iptables, "_route_localnet", lambda: None)
    monkeypatch.setattr(iptables, "BATCH_CHAINS", 10)
    names = [ServicePortName("default", f"s{i}", "", "TCP") for i in range(12)]
    services = {n: ServicePort(n, f"10.96.1.{i}", 80, endpoints=tuple(EPS[:2])) for i, n in enumerate(names)}
    iptables.IptablesProvider(CONFIG).sync(services, None)
    *chains, top = sent
    assert len(chains) == 4  # 12 Services x 3 chains, at most 10 chains (3 Services) per run
    for script in chains:
        assert "-A KUBE-SERVICES" not in script and "*filter" not in script
        declared = [line[1:].split()[0] for line in script.splitlines() if line.startswith(":KUBE-SVC-")]
        for svc in declared:  # each Service's endpoint chains travel with its service chain
            rules = [line for line in script.splitlines() if line.startswith(f"-A {svc} ")]
            assert all(f":{line.rsplit(' -j ', 1)[1]} - [0:0]" in script for line in rules if "KUBE-SEP-" in line)
    assert top.count("-A KUBE-SERVICES") == 13 and ":KUBE-SVC-" not in top


def test_top_level_chains_are_written_only_when_they_change(monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[str] = []

    def run(args: list[str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        if args[0] == "iptables-restore":
            sent.append(stdin or "")
        return subprocess.CompletedProcess(args, 0, "", "")

    monkeypatch.setattr(iptables, "_run", run)
    monkeypatch.setattr(iptables, "_route_localnet", lambda: None)
    other = ServicePortName("default", "other", "", "TCP")
    p = iptables.IptablesProvider(CONFIG)
    p.sync({WEB: web(*EPS)}, None)
    assert "-A KUBE-SERVICES" in sent[-1]
    p.sync({WEB: web(*EPS[:2])}, {WEB})  # endpoints only: the Service's own chains, not KUBE-SERVICES
    assert ":KUBE-SERVICES" not in sent[-1] and f":{SVC} - [0:0]" in sent[-1]
    assert f"-X {iptables_chain('KUBE-SEP', WEB, EPS[2])}" in sent[-1]
    count = len(sent)
    p.sync({WEB: web(*EPS[:2])}, set())  # the 30 s resync with nothing changed writes nothing
    assert len(sent) == count
    p.sync({WEB: web(*EPS[:2]), other: ServicePort(other, "10.96.0.11", 80)}, {other})  # no endpoints: filter
    assert "*nat" not in sent[-1] and "-A KUBE-SERVICES" in sent[-1] and "REJECT" in sent[-1]
    p.sync({WEB: web(*EPS[:2]), other: ServicePort(other, "10.96.0.11", 80, endpoints=(EPS[0],))}, {other})
    nat = sent[-1].split("*nat")[1]
    assert ":KUBE-SERVICES - [0:0]" in nat and iptables_chain("KUBE-SVC", other) in nat
    p.sync({WEB: web(*EPS[:2]), other: ServicePort(other, "10.96.0.11", 80, endpoints=(EPS[0],))}, None)
    assert ":KUBE-NODEPORTS - [0:0]" in sent[-1]  # a full rewrite writes every chain again
