"""loadBalancerSourceRanges in the kernel: both modes' rules, applied in a namespace of the test's own.

A load balancer address, an endpoint and two client addresses (one inside the
ranges, one outside) all live on the namespace's loopback; the real backend
programs the Service and the clients connect from each address.  The one
outside the ranges gets no answer (the packet is dropped, so the connect
times out: no speed is asserted, only that nothing answers), the one inside
is served; without ranges both are.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

PROGRAM = """
import dataclasses, json, socket, subprocess, sys, threading
from pyk8s.proxy import backends
from pyk8s.proxy.interface import Endpoint, ProxyConfig, ServicePort, ServicePortName
mode = sys.argv[1]
subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
for a in ("192.168.1.2", "192.168.1.50", "198.51.100.1", "203.0.113.1", "10.244.0.5"):
    subprocess.run(["ip", "addr", "add", a + "/32", "dev", "lo"], check=True)
cfg = ProxyConfig(node_name="n", node_ips=("192.168.1.2",), cluster_cidr="10.244.0.0/16")
name = ServicePortName("default", "lb", "", "TCP")
sp = ServicePort(name, "10.96.0.10", 80, node_port=30080, load_balancer_ips=("192.168.1.50",),
                 source_ranges=("198.51.100.0/24",), endpoints=(Endpoint("10.244.0.5", 8080, node="n", local=True),))
srv = socket.socket()
srv.bind(("10.244.0.5", 8080))
srv.listen(8)
def serve():
    while True:
        conn, _ = srv.accept()
        conn.sendall(b"hi")
        conn.close()
threading.Thread(target=serve, daemon=True).start()
def reach(source, port=80, address="192.168.1.50"):
    s = socket.socket()
    s.settimeout(3)
    s.bind((source, 0))
    try:
        s.connect((address, port))
        return s.recv(2).decode()
    except OSError as exc:
        return type(exc).__name__
    finally:
        s.close()
provider = backends.new_provider(mode, cfg)
provider.sync({name: sp}, None)
out = {"inside": reach("198.51.100.1"), "outside": reach("203.0.113.1"),
       "outside_node_port": reach("203.0.113.1", 30080, "192.168.1.2")}
provider.sync({name: dataclasses.replace(sp, source_ranges=())}, {name})
out["outside_without_ranges"] = reach("203.0.113.1")
provider.sync({name: sp}, {name})
out["outside_again"] = reach("203.0.113.1")
provider.cleanup()
print(json.dumps(out))
"""


@pytest.mark.parametrize("mode", ["nftables", "iptables"])
def test_load_balancer_source_ranges_drop_other_sources(mode: str) -> None:
    proc = subprocess.run(["unshare", "--net", "--", sys.executable, "-c", PROGRAM, mode], capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout)
    assert seen["inside"] == "hi"
    assert seen["outside"] == "TimeoutError"  # dropped, not refused: as upstream
    assert seen["outside_without_ranges"] == "hi"
    assert seen["outside_again"] == "TimeoutError"
    assert seen["outside_node_port"] == "hi"  # the ranges filter the LB address only
