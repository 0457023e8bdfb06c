"""Ingress ADDRESS as kubectl prints it: IP (else hostname) of each load-balancer entry, unique and sorted."""

from __future__ import annotations

from datetime import UTC, datetime

from pyk8s.apiserver.printers.networking import ingress_row


def test_ingress_address_is_unique_and_sorted() -> None:
    ing = {"metadata": {"name": "x", "creationTimestamp": "2026-01-01T00:00:00Z"},
           "spec": {"ingressClassName": "pyk8s", "rules": [{"host": "a.example.com"}]},
           "status": {"loadBalancer": {"ingress": [{"ip": "10.0.0.2"}, {"ip": "10.0.0.1"}, {"hostname": "lb.example"},
                                                   {"ip": "10.0.0.1"}, {}]}}}
    cells = ingress_row(ing, datetime(2026, 1, 1, 1, tzinfo=UTC))
    assert cells[:5] == ["x", "pyk8s", "a.example.com", "10.0.0.1,10.0.0.2,lb.example", "80"]
