"""``pyk8s proxy --cleanup`` removes what both modes installed (in a namespace of the test's own)."""

from __future__ import annotations

import subprocess
import sys

from pyk8s.testing.cluster import server_binary

PROGRAM = """
from pyk8s.proxy.backends.iptables import IptablesProvider
from pyk8s.proxy.backends.nftables import NftablesProvider
from pyk8s.proxy.interface import Endpoint, ProxyConfig, ServicePort, ServicePortName
cfg = ProxyConfig(node_name="n", node_ips=("192.0.2.2",), cluster_cidr="10.244.0.0/16")
name = ServicePortName("default", "web", "http", "TCP")
sp = ServicePort(name, "10.96.0.10", 80, node_port=30080, affinity_timeout=60,
                 endpoints=(Endpoint("10.244.0.5", 8080),))
empty = ServicePortName("default", "empty", "", "UDP")
services = {name: sp, empty: ServicePort(empty, "10.96.0.11", 53)}
NftablesProvider(cfg).sync(services, None)
IptablesProvider(cfg).sync(services, None)
"""
CHECK = "nft list ruleset; iptables-save"
SCRIPT = f"""set -e
{sys.executable} -c '{PROGRAM}'
echo ---installed; {CHECK}
{server_binary()} proxy --cleanup
echo ---cleaned; {CHECK}
"""


def test_cleanup_removes_both_modes_rules() -> None:
    out = subprocess.run(["unshare", "--net", "--", "sh", "-c", SCRIPT], capture_output=True, text=True,
                         timeout=60, check=True).stdout
    installed, _, cleaned = out.partition("---cleaned")
    installed, _, removed = installed.partition("removed ")
    assert "table ip kube-proxy" in installed and ":KUBE-SVC-" in installed and "-j KUBE-SERVICES" in installed
    assert "nftables table ip kube-proxy" in removed and "iptables -t nat chain KUBE-SERVICES" in removed
    assert "kube-proxy" not in cleaned and "KUBE-" not in cleaned
