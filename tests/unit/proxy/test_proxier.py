from __future__ import annotations

import logging

import pytest

from pyk8s.proxy.proxier import Proxier, ProxyOptions
from pyk8s.proxy.servicemodel import service_ports
from tests.unit.proxy.fixtures import NODE, service


def test_load_balancer_source_ranges_are_warned_about_once(caplog: pytest.LogCaptureFixture) -> None:
    proxier = Proxier(None, ProxyOptions(hostname=NODE))  # type: ignore[arg-type]
    svc = service("lb", "10.96.0.30", type="LoadBalancer", loadBalancerSourceRanges=["192.0.2.0/24"],
                  ports=[{"name": "http", "port": 80, "nodePort": 30090}])
    [sp] = service_ports(svc, [], NODE)
    with caplog.at_level(logging.WARNING):
        proxier._warn_unsupported({sp.name: sp}, {sp.name})
        proxier._warn_unsupported({sp.name: sp}, {sp.name})
    warnings = [r.getMessage() for r in caplog.records if "loadBalancerSourceRanges" in r.getMessage()]
    assert warnings == ["Service default/lb: loadBalancerSourceRanges 192.0.2.0/24 are not enforced by pyk8s "
                        "proxy; every source can reach its load balancer address"]
