"""Upstream selection from resolv.conf: loopback resolvers (127.0.0.53 and friends) and ourselves are skipped."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyk8s.dns.forward import Forwarder, parse_nameservers, upstreams


def test_parse_nameservers_ignores_comments_and_junk() -> None:
    text = "# comment\nnameserver 192.0.2.1\nnameserver bogus\nsearch a b\nnameserver fe80::1%eth0 ; x\n"
    assert parse_nameservers(text) == ["192.0.2.1", "fe80::1"]


def test_loopback_and_own_addresses_are_skipped(tmp_path: Path) -> None:
    conf = tmp_path / "resolv.conf"
    conf.write_text("nameserver 127.0.0.53\nnameserver ::1\nnameserver 0.0.0.0\nnameserver 192.0.2.1\n"
                    "nameserver 192.0.2.9\n")
    assert upstreams(str(conf), own=frozenset({"192.0.2.9"})) == ["192.0.2.1"]


def test_only_loopback_means_no_upstream(tmp_path: Path) -> None:
    conf = tmp_path / "resolv.conf"
    conf.write_text("nameserver 127.0.0.53\noptions edns0 trust-ad\n")
    assert upstreams(str(conf), resolved_conf=str(tmp_path / "none")) == []
    assert upstreams(str(tmp_path / "missing")) == []
    with pytest.raises(ValueError):
        Forwarder([])


def test_systemd_resolved_stub_is_replaced_by_the_servers_behind_it(tmp_path: Path) -> None:
    conf, resolved = tmp_path / "resolv.conf", tmp_path / "resolved.conf"
    conf.write_text("nameserver 127.0.0.53\nsearch lan\n")
    resolved.write_text("nameserver 192.0.2.53\nnameserver 127.0.0.1\n")
    assert upstreams(str(conf), resolved_conf=str(resolved)) == ["192.0.2.53"]
    # another loopback resolver (dnsmasq on 127.0.1.1) is not systemd-resolved: no guessing
    conf.write_text("nameserver 127.0.1.1\n")
    assert upstreams(str(conf), resolved_conf=str(resolved)) == []
