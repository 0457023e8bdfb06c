"""Metrics in Prometheus text format under CoreDNS's names."""

from __future__ import annotations

import dns.rcode
import dns.rdatatype

from pyk8s.dns.metrics import DNSMetrics


def test_render_counts_by_type_family_proto_and_rcode() -> None:
    m = DNSMetrics('dns://10.0.0.1:53')
    m.answered(udp=True, v6=False, qtype=dns.rdatatype.A, rcode=dns.rcode.NOERROR)
    m.answered(udp=True, v6=False, qtype=dns.rdatatype.A, rcode=dns.rcode.NXDOMAIN)
    m.answered(udp=False, v6=True, qtype=dns.rdatatype.SRV, rcode=dns.rcode.NOERROR)
    m.answered(udp=True, v6=False, qtype=dns.rdatatype.LOC, rcode=dns.rcode.NOERROR)  # not a named type
    m.cache_hits["success"] += 2
    m.cache_misses = 4
    m.forward_requests["192.0.2.1:53"] += 1
    m.forward_responses["192.0.2.1:53", dns.rcode.SERVFAIL] += 1
    text = m.render()
    s = 'server="dns://10.0.0.1:53"'
    assert f'coredns_dns_requests_total{{family="1",proto="udp",{s},type="A",view="",zone="."}} 2\n' in text
    assert f'coredns_dns_requests_total{{family="2",proto="tcp",{s},type="SRV",view="",zone="."}} 1\n' in text
    assert f'coredns_dns_requests_total{{family="1",proto="udp",{s},type="other",view="",zone="."}} 1\n' in text
    assert f'coredns_dns_responses_total{{plugin="",rcode="NOERROR",{s},view="",zone="."}} 3\n' in text
    assert f'coredns_dns_responses_total{{plugin="",rcode="NXDOMAIN",{s},view="",zone="."}} 1\n' in text
    assert f'coredns_cache_hits_total{{{s},type="success",view="",zones="."}} 2\n' in text
    assert f'coredns_cache_misses_total{{{s},view="",zones="."}} 4\n' in text
    assert 'coredns_forward_responses_total{rcode="SERVFAIL",to="192.0.2.1:53"} 1\n' in text
    assert "# TYPE coredns_dns_requests_total counter\n" in text
